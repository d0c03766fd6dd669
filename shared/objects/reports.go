package objects

import (
	"context"
	"encoding/base64"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// KindReport tags report artifacts (rampart-kind=report): the stack's
// lifecycle rule expires them after the report retention, as DynamoDB's TTL
// removes their export records.
const KindReport = "report"

// PutWithMetadata is Put with user metadata (x-amz-meta-*): report artifacts
// carry their export id and SHA-256.
func (b *Bucket) PutWithMetadata(ctx context.Context, key string, body io.ReadSeeker, size int64, m Meta, metadata map[string]string) error {
	in := &s3.PutObjectInput{
		Bucket: &b.name, Key: &key, Body: body, ContentLength: aws.Int64(size),
		ContentType: optional(m.ContentType), ContentDisposition: optional(m.ContentDisposition),
		Tagging: optional(EncodeTags(m.Tags)), Metadata: metadata,
	}
	if len(m.SHA256) > 0 {
		in.ChecksumSHA256 = aws.String(base64.StdEncoding.EncodeToString(m.SHA256))
	}
	_, err := b.client.PutObject(ctx, in)
	return classify(err, "store object")
}

// Metadata reads an object's user metadata.
func (b *Bucket) Metadata(ctx context.Context, key string) (map[string]string, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return nil, classify(err, "read object")
	}
	return out.Metadata, nil
}
