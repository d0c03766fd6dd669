package testenv_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"rampart/shared/testenv"
)

// Valid as an S3 bucket name (and so as a DynamoDB table name).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

func TestNewName(t *testing.T) {
	seen := map[string]bool{}
	for _, hint := range []string{"", "TestX", "TestLambdaEvents/health/openapi/token_required", strings.Repeat("Ü-", 100), "--a--"} {
		for range 3 {
			n := testenv.NewName(hint)
			if !bucketName.MatchString(n) || strings.Contains(n, "--") || len(n) > 50 {
				t.Errorf("NewName(%q) = %q: not a valid bucket name", hint, n)
			}
			if seen[n] {
				t.Errorf("NewName(%q) = %q twice", hint, n)
			}
			seen[n] = true
		}
	}
	if n := testenv.UniqueName(t); !strings.HasPrefix(n, "rampart-t-testnewname-") {
		t.Errorf("UniqueName = %q does not carry the test name", n)
	}
}

// TestPlatformCleansUp runs Platform in a subtest and checks that the table
// and the bucket, with an object in it, are gone once the subtest ends.
func TestPlatformCleansUp(t *testing.T) {
	var table, bucket string
	var db *dynamodb.Client
	var objects *s3.Client
	t.Run("use", func(t *testing.T) {
		p := testenv.Platform(t)
		table, bucket, db, objects = p.Config.Table, p.Config.Bucket, p.AWS.DynamoDB, p.AWS.S3
		if table == "rampart" || bucket == "rampart-local" {
			t.Fatalf("shared names %s %s", table, bucket)
		}
		if _, err := objects.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &bucket, Key: new("a/b.txt"), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	_, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	var missing *types.ResourceNotFoundException
	if !errors.As(err, &missing) {
		t.Errorf("table %s still there (%v)", table, err)
	}
	if _, err := objects.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err == nil {
		t.Errorf("bucket %s still there", bucket)
	}
}

func TestCheckEmulatorsRefusesRemoteEndpoints(t *testing.T) {
	t.Setenv("RAMPART_TEST_EMULATORS", "1")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.eu-central-1.amazonaws.com")
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000")
	if err := testenv.CheckEmulators(); err == nil || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL_DYNAMODB") {
		t.Errorf("err = %v", err)
	}
	t.Setenv("RAMPART_TEST_EMULATORS", "")
	if err := testenv.CheckEmulators(); err == nil || !strings.Contains(err.Error(), "make test") {
		t.Errorf("err = %v", err)
	}
}
