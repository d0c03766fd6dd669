package objects

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"rampart/shared/domain"
)

// Tag keys and values the stack's lifecycle rules select objects by. An object
// tagged upload expires (a day after it was written); an object tagged
// attachment is kept. Rampart writes every object tagged upload first and
// re-tags it only once the record that makes it reachable exists, so anything
// a failure leaves behind expires on its own.
const (
	TagKind       = "rampart-kind"
	KindUpload    = "upload"
	KindAttach    = "attachment"
	maxObjectSize = 5 << 30 // S3's single PUT and CopyObject ceiling
)

// ErrNotFound reports a missing object.
var ErrNotFound = errors.New("object not found")

// Bucket is the one bucket of a deployment, with presigned transfers.
type Bucket struct {
	client  *s3.Client
	presign *s3.PresignClient
	name    string
}

// NewBucket returns the bucket name reached through c.
func NewBucket(c *s3.Client, name string) *Bucket {
	return &Bucket{client: c, presign: s3.NewPresignClient(c), name: name}
}

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.name }

// Meta is what an object is stored with.
type Meta struct {
	ContentType        string
	ContentDisposition string
	Tags               map[string]string
	// SHA256, when set, is the raw digest of the body: S3 verifies it on
	// arrival and refuses a body that does not match.
	SHA256 []byte
}

// Info describes a stored object.
type Info struct {
	Size        int64
	ContentType string
}

// Put stores body (size bytes, seekable: over plain HTTP the SDK refuses
// unseekable bodies) under key.
func (b *Bucket) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, m Meta) error {
	in := &s3.PutObjectInput{
		Bucket: &b.name, Key: &key, Body: body, ContentLength: aws.Int64(size),
		ContentType: optional(m.ContentType), ContentDisposition: optional(m.ContentDisposition),
		Tagging: optional(EncodeTags(m.Tags)),
	}
	if len(m.SHA256) > 0 {
		in.ChecksumSHA256 = aws.String(base64.StdEncoding.EncodeToString(m.SHA256))
	}
	_, err := b.client.PutObject(ctx, in)
	return classify(err, "store object")
}

// Head reads an object's size and type.
func (b *Bucket) Head(ctx context.Context, key string) (Info, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return Info{}, classify(err, "read object")
	}
	return Info{Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType)}, nil
}

// Open streams an object's body; the caller closes it.
func (b *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return nil, Info{}, classify(err, "read object")
	}
	return out.Body, Info{Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType)}, nil
}

// Copy copies src to dst inside the bucket with new metadata and tags (both
// replaced, not copied).
func (b *Bucket) Copy(ctx context.Context, src, dst string, m Meta) error {
	_, err := b.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: &b.name, Key: &dst, CopySource: aws.String(url.PathEscape(b.name) + "/" + escapeKey(src)),
		MetadataDirective: types.MetadataDirectiveReplace, TaggingDirective: types.TaggingDirectiveReplace,
		ContentType: optional(m.ContentType), ContentDisposition: optional(m.ContentDisposition),
		Tagging: optional(EncodeTags(m.Tags)),
	})
	return classify(err, "copy object")
}

// SetTags replaces an object's tags.
func (b *Bucket) SetTags(ctx context.Context, key string, tags map[string]string) error {
	set := make([]types.Tag, 0, len(tags))
	for _, k := range sortedKeys(tags) {
		set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	_, err := b.client.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
		Bucket: &b.name, Key: &key, Tagging: &types.Tagging{TagSet: set},
	})
	return classify(err, "tag object")
}

// Tags reads an object's tags.
func (b *Bucket) Tags(ctx context.Context, key string) (map[string]string, error) {
	out, err := b.client.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return nil, classify(err, "read object tags")
	}
	m := make(map[string]string, len(out.TagSet))
	for _, t := range out.TagSet {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m, nil
}

// Delete removes an object; a missing object is not an error.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.name, Key: &key})
	if err = classify(err, "delete object"); errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// DeleteMany removes objects, up to 1000 per request; missing objects are
// not errors.
func (b *Bucket) DeleteMany(ctx context.Context, keys []string) error {
	for start := 0; start < len(keys); start += 1000 {
		batch := keys[start:min(start+1000, len(keys))]
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		out, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &b.name, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return classify(err, "delete objects")
		}
		for _, e := range out.Errors {
			if aws.ToString(e.Code) != "NoSuchKey" {
				return domain.Wrap(domain.KindUnavailable,
					fmt.Errorf("delete %s: %s %s", aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message)),
					"storage unavailable")
			}
		}
	}
	return nil
}

// PutRequest is what a presigned upload is bound to: the client must send
// exactly this many bytes, this content type and this SHA-256.
type PutRequest struct {
	ContentType string
	Size        int64
	SHA256      []byte
	Tags        map[string]string
}

// Presigned is a presigned request: the client sends Method to URL with
// every header of Headers, unchanged.
type Presigned struct {
	Method    string
	URL       string
	Headers   map[string]string
	ExpiresAt time.Time
}

// PresignPut signs a PUT of key valid for ttl. Content-Length, Content-Type,
// x-amz-checksum-sha256 and x-amz-tagging are signed headers: a body of
// another length or digest, or another type, is refused by S3.
func (b *Bucket) PresignPut(ctx context.Context, key string, r PutRequest, ttl time.Duration, now time.Time) (Presigned, error) {
	if r.Size <= 0 || r.Size > maxObjectSize || len(r.SHA256) == 0 {
		return Presigned{}, domain.E(domain.KindInternal, "presigned upload without size or checksum")
	}
	req, err := b.presign.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: &b.name, Key: &key, ContentLength: aws.Int64(r.Size), ContentType: optional(r.ContentType),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(r.SHA256)),
		Tagging:        optional(EncodeTags(r.Tags)),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return Presigned{}, classify(err, "sign upload")
	}
	headers := map[string]string{}
	for name, vs := range req.SignedHeader {
		if strings.EqualFold(name, "Host") || len(vs) == 0 {
			continue
		}
		headers[http.CanonicalHeaderKey(name)] = strings.Join(vs, ",")
	}
	return Presigned{Method: req.Method, URL: req.URL, Headers: headers, ExpiresAt: now.Add(ttl)}, nil
}

// PresignGet signs a GET of key valid for ttl whose answer carries the given
// Content-Type and Content-Disposition instead of the stored ones.
func (b *Bucket) PresignGet(ctx context.Context, key, contentType, disposition string, ttl time.Duration) (string, error) {
	req, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket: &b.name, Key: &key,
		ResponseContentType: optional(contentType), ResponseContentDisposition: optional(disposition),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", classify(err, "sign download")
	}
	return req.URL, nil
}

// EncodeTags is the x-amz-tagging form of tags (a URL query, sorted).
func EncodeTags(tags map[string]string) string {
	v := url.Values{}
	for k, val := range tags {
		v.Set(k, val)
	}
	return v.Encode()
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// escapeKey escapes each segment of a key for CopySource.
func escapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// classify turns S3 errors into domain errors: a missing object wraps
// ErrNotFound, a storage that cannot be reached or throttles is Unavailable
// (503), anything else is a bug.
func classify(err error, op string) error {
	if err == nil {
		return nil
	}
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return fmt.Errorf("%s: %w", op, ErrNotFound)
		case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "NoSuchBucket":
			return domain.Wrap(domain.KindUnavailable, err, "storage unavailable")
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return domain.Wrap(domain.KindUnavailable, err, "storage unavailable")
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return domain.Wrap(domain.KindUnavailable, err, "storage unavailable")
	}
	var retry interface{ RetryableError() bool }
	if errors.As(err, &retry) && retry.RetryableError() {
		return domain.Wrap(domain.KindUnavailable, err, "storage unavailable")
	}
	return domain.Wrap(domain.KindInternal, err, op)
}
