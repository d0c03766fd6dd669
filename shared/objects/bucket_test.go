package objects_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"rampart/shared/objects"
	"rampart/shared/testenv"
)

func TestEnsureBucket(t *testing.T) {
	p := testenv.Platform(t) // Bootstrap ran EnsureBucket once
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, bucket := p.AWS.S3, p.Config.Bucket
	for i := 0; i < 2; i++ {
		if err := objects.EnsureBucket(ctx, c, bucket); err != nil {
			t.Fatalf("call %d: %v", i+2, err)
		}
	}
	// Objects survive a second EnsureBucket.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: new("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatal(err)
	}
	if err := objects.EnsureBucket(ctx, c, bucket); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: new("k")}); err != nil {
		t.Errorf("object gone after EnsureBucket: %v", err)
	}
	if err := objects.Ping(ctx, c, bucket); err != nil {
		t.Errorf("ping: %v", err)
	}
	if err := objects.Ping(ctx, c, testenv.UniqueName(t)); err == nil {
		t.Error("ping of a missing bucket succeeded")
	}
}
