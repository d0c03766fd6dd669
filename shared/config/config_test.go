package config_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"rampart/shared/config"
)

func TestDefaults(t *testing.T) {
	c, err := config.Parse(config.FromMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Lambda", c.Lambda, false},
		{"Local", c.Local, false},
		{"Region", c.Region, "us-east-1"},
		{"Table", c.Table, "rampart"},
		{"Bucket", c.Bucket, "rampart-local"},
		{"S3PathStyle", c.S3PathStyle, true},
		{"Addr", c.Addr, "127.0.0.1:8080"},
		{"DataDir", c.DataDir, ".data"},
		{"Stage", c.Stage, ""},
		{"LogLevel", c.LogLevel, "info"},
		{"MaxBodyBytes", c.MaxBodyBytes, int64(1 << 20)},
		{"LegacySunset", c.LegacySunset, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
		{"DocsRequireAuth", c.DocsRequireAuth, false},
		{"CORSOrigins", len(c.CORSOrigins), 0},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestValues(t *testing.T) {
	c, err := config.Parse(config.FromMap(map[string]string{
		"RAMPART_LOCAL":             "true",
		"AWS_REGION":                "eu-central-1",
		"RAMPART_TABLE":             "  tbl  ",
		"RAMPART_BUCKET":            "bkt",
		"RAMPART_S3_PATH_STYLE":     "false",
		"RAMPART_ADDR":              "127.0.0.1:0",
		"RAMPART_DATA_DIR":          "/tmp/x",
		"RAMPART_STAGE":             "/prod/",
		"RAMPART_LOG_LEVEL":         "WARN",
		"RAMPART_MAX_BODY_BYTES":    "6291456",
		"RAMPART_LEGACY_SUNSET":     "2026-07-01T02:00:00+02:00",
		"RAMPART_DOCS_REQUIRE_AUTH": "1",
		"RAMPART_CORS_ORIGINS":      " https://a.example , ,https://b.example ",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Local || c.Region != "eu-central-1" || c.Table != "tbl" || c.Bucket != "bkt" || c.S3PathStyle ||
		c.Addr != "127.0.0.1:0" || c.DataDir != "/tmp/x" || c.Stage != "prod" || c.LogLevel != "warn" ||
		c.MaxBodyBytes != 6<<20 || !c.DocsRequireAuth {
		t.Errorf("config = %+v", c)
	}
	if want := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC); !c.LegacySunset.Equal(want) || c.LegacySunset.Location() != time.UTC {
		t.Errorf("LegacySunset = %v, want %v in UTC", c.LegacySunset, want)
	}
	if !slices.Equal(c.CORSOrigins, []string{"https://a.example", "https://b.example"}) {
		t.Errorf("CORSOrigins = %q", c.CORSOrigins)
	}
}

func TestStage(t *testing.T) {
	for in, want := range map[string]string{"": "", "$default": "", "prod": "prod", "/prod": "prod", " /v2/ ": "v2"} {
		c, err := config.Parse(config.FromMap(map[string]string{"RAMPART_STAGE": in}))
		if err != nil || c.Stage != want {
			t.Errorf("RAMPART_STAGE=%q: Stage = %q (%v), want %q", in, c.Stage, err, want)
		}
	}
}

// TestEveryInvalidValueAtOnce: a misconfigured deployment learns about every
// bad setting from one start.
func TestEveryInvalidValueAtOnce(t *testing.T) {
	bad := map[string]string{
		"RAMPART_LOCAL":             "maybe",
		"RAMPART_S3_PATH_STYLE":     "yes please",
		"RAMPART_LOG_LEVEL":         "loud",
		"RAMPART_MAX_BODY_BYTES":    "12",
		"RAMPART_LEGACY_SUNSET":     "2026-06-01",
		"RAMPART_DOCS_REQUIRE_AUTH": "sometimes",
		"RAMPART_ACCESS_TOKEN_TTL":  "5s",
	}
	_, err := config.Parse(config.FromMap(bad))
	if err == nil {
		t.Fatal("no error")
	}
	for key, val := range bad {
		if !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), val) {
			t.Errorf("error does not name %s=%q: %v", key, val, err)
		}
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != len(bad) {
		t.Errorf("want %d errors, got %v", len(bad), err)
	}
}

func TestMaxBodyBytesBounds(t *testing.T) {
	for v, ok := range map[string]bool{"1023": false, "1024": true, "6291456": true, "6291457": false, "1MB": false, "-1": false} {
		_, err := config.Parse(config.FromMap(map[string]string{"RAMPART_MAX_BODY_BYTES": v}))
		if (err == nil) != ok {
			t.Errorf("RAMPART_MAX_BODY_BYTES=%s: err = %v", v, err)
		}
	}
}

func TestLambdaRequiresTableAndBucket(t *testing.T) {
	lambda := map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "rampart-health"}
	_, err := config.Parse(config.FromMap(lambda))
	if err == nil {
		t.Fatal("no error without RAMPART_TABLE and RAMPART_BUCKET in Lambda")
	}
	for _, key := range []string{"RAMPART_TABLE", "RAMPART_BUCKET"} {
		if !strings.Contains(err.Error(), key+" is required") {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}

	lambda["RAMPART_TABLE"] = "rampart-prod"
	lambda["RAMPART_BUCKET"] = "rampart-prod-artifacts"
	c, err := config.Parse(config.FromMap(lambda))
	// Other settings may be required in Lambda too; table and bucket are not
	// among the complaints any more.
	if err != nil && (strings.Contains(err.Error(), "RAMPART_TABLE") || strings.Contains(err.Error(), "RAMPART_BUCKET")) {
		t.Errorf("still complains: %v", err)
	}
	if !c.Lambda || c.Table != "rampart-prod" || c.Bucket != "rampart-prod-artifacts" {
		t.Errorf("config = %+v", c)
	}
	if c.S3PathStyle {
		t.Error("path-style S3 by default in Lambda")
	}
	// An empty function name is not Lambda.
	if c, _ := config.Parse(config.FromMap(map[string]string{"AWS_LAMBDA_FUNCTION_NAME": ""})); c.Lambda {
		t.Error("empty AWS_LAMBDA_FUNCTION_NAME counts as Lambda")
	}
}
