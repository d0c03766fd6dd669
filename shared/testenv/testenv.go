// Package testenv is the test support every store, object and server test
// uses: the configuration of the local emulators, and a platform with a table
// and a bucket of its own, created for one test and removed after it.
//
// Tests that need the emulators fail (never skip) when they are not running,
// so that a green run always means the store code was exercised. Run them with
// `make test`, or by hand:
//
//	scripts/emulators.sh --mode test run-with -- go test ./shared/...
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamotypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"rampart/shared/config"
	"rampart/shared/platform"
)

// HowToRun is what a test without emulators is told.
const HowToRun = "run through `make test` (or scripts/emulators.sh --mode test run-with -- go test ...)"

// CheckEmulators reports why the emulators cannot be used, or nil: the
// settings scripts/emulators.sh exports must be present, and the endpoints
// must be on 127.0.0.1 so that no test ever reaches AWS.
func CheckEmulators() error {
	if os.Getenv("RAMPART_TEST_EMULATORS") != "1" {
		return errors.New("the local emulators are not configured (RAMPART_TEST_EMULATORS is not 1): " + HowToRun)
	}
	for _, key := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3"} {
		v := os.Getenv(key)
		u, err := url.Parse(v)
		if v == "" || err != nil || !isLoopback(u.Hostname()) {
			return fmt.Errorf("%s=%q must point at an emulator on 127.0.0.1: %s", key, v, HowToRun)
		}
	}
	if v := os.Getenv("AWS_ENDPOINT_URL"); v != "" {
		if u, err := url.Parse(v); err != nil || !isLoopback(u.Hostname()) {
			return fmt.Errorf("AWS_ENDPOINT_URL=%q must be unset or on 127.0.0.1 in tests", v)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// Emulators returns the configuration for the local emulators, read from the
// environment scripts/emulators.sh exports. It fails the test when they are
// not configured. Request logs are at warn level unless RAMPART_LOG_LEVEL
// says otherwise.
func Emulators(t testing.TB) config.Config {
	t.Helper()
	if err := CheckEmulators(); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(func(key string) (string, bool) {
		if key == "AWS_LAMBDA_FUNCTION_NAME" {
			return "", false
		}
		return os.LookupEnv(key)
	})
	if err != nil {
		t.Fatalf("emulator configuration: %v", err)
	}
	return quiet(t, cfg)
}

// quiet keeps what a test writes out of the repository (data directory, local
// signing key) and request logs at warn level unless RAMPART_LOG_LEVEL says
// otherwise.
func quiet(t testing.TB, cfg config.Config) config.Config {
	cfg.DataDir = t.TempDir()
	cfg.Auth.KeyFile = filepath.Join(cfg.DataDir, "jwt-signing-key.pem")
	if _, ok := os.LookupEnv("RAMPART_LOG_LEVEL"); !ok {
		cfg.LogLevel = "warn"
	}
	return cfg
}

// Config returns the default configuration (what `make run` uses, not read
// from the environment) with a temporary data directory, for tests that need
// no emulator.
func Config(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.Parse(config.FromMap(nil))
	if err != nil {
		t.Fatalf("default configuration: %v", err)
	}
	return quiet(t, cfg)
}

// Offline builds a platform from cfg for tests that need no emulator (routing,
// documents, Lambda events). Its AWS clients point at a closed port of
// 127.0.0.1, so a request that reaches for DynamoDB or S3 fails at once and
// never leaves the machine.
func Offline(t testing.TB, cfg config.Config) *platform.Platform {
	t.Helper()
	p, err := platform.FromConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("platform: %v", err)
	}
	const nowhere = "http://127.0.0.1:1"
	p.AWS.DynamoDB = dynamodb.NewFromConfig(p.AWS.AWS, func(o *dynamodb.Options) {
		o.BaseEndpoint, o.RetryMaxAttempts = aws.String(nowhere), 1
	})
	p.AWS.S3 = s3.NewFromConfig(p.AWS.AWS, func(o *s3.Options) {
		o.BaseEndpoint, o.RetryMaxAttempts, o.UsePathStyle = aws.String(nowhere), 1, true
	})
	return p
}

// UniqueName returns a name no other test uses, valid both as a DynamoDB
// table name and as an S3 bucket name, with a readable part taken from the
// test's name.
func UniqueName(t testing.TB) string { return NewName(t.Name()) }

// NewName returns a unique name for a table or a bucket (lowercase letters,
// digits and hyphens, at most 50 characters) with a readable part from hint.
func NewName(hint string) string {
	var slug strings.Builder
	dash := false
	for _, r := range strings.ToLower(hint) {
		if slug.Len() >= 24 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			slug.WriteRune(r)
			dash = false
		case !dash && slug.Len() > 0:
			slug.WriteByte('-')
			dash = true
		}
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := "rampart-t-"
	if s := strings.TrimSuffix(slug.String(), "-"); s != "" {
		name += s + "-"
	}
	return name + hex.EncodeToString(b)
}

// Platform builds a platform on the emulators with a table and a bucket of its
// own (both named by UniqueName), created by platform.Bootstrap and deleted,
// with every object in the bucket, when the test ends. The cleanup uses the
// clients as they were built, so a test may swap p.AWS clients (to simulate a
// dependency that is down) without leaking the table or the bucket.
func Platform(t testing.TB) *platform.Platform {
	t.Helper()
	cfg := Emulators(t)
	name := UniqueName(t)
	cfg.Table, cfg.Bucket = name, name
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := platform.FromConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("platform: %v", err)
	}
	db, objects := p.AWS.DynamoDB, p.AWS.S3
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := Drop(ctx, db, objects, name, name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := p.Bootstrap(ctx); err != nil {
		t.Fatalf("bootstrap table and bucket %s: %v", name, err)
	}
	return p
}

// Drop deletes a table and a bucket with every object in it; either may
// already be gone.
func Drop(ctx context.Context, db *dynamodb.Client, objects *s3.Client, table, bucket string) error {
	var errs []error
	if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &table}); err != nil {
		var missing *dynamotypes.ResourceNotFoundException
		if !errors.As(err, &missing) {
			errs = append(errs, fmt.Errorf("delete table %s: %w", table, err))
		}
	}
	if err := dropBucket(ctx, objects, bucket); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func dropBucket(ctx context.Context, c *s3.Client, bucket string) error {
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			var missing *s3types.NoSuchBucket
			if errors.As(err, &missing) {
				return nil
			}
			return fmt.Errorf("list bucket %s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key}); err != nil {
				return fmt.Errorf("delete %s/%s: %w", bucket, *o.Key, err)
			}
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
		return fmt.Errorf("delete bucket %s: %w", bucket, err)
	}
	return nil
}
