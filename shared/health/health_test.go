package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"rampart/shared/health"
	"rampart/shared/httpapi"
	"rampart/shared/platform"
	"rampart/shared/testenv"
)

type status struct {
	Status string            `json:"status"`
	Detail string            `json:"detail"`
	Checks map[string]string `json:"checks"`
}

func serve(t *testing.T, checks map[string]health.Check, path string) (int, status) {
	t.Helper()
	srv := httpapi.New(httpapi.Options{})
	health.Register(srv.API, checks)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var s status
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatalf("%s: body %q: %v", path, rec.Body.String(), err)
	}
	return rec.Code, s
}

var (
	up   health.Check = func(context.Context) error { return nil }
	down health.Check = func(context.Context) error { return errors.New("connection refused") }
	hung health.Check = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
)

func TestReadyWithFakeChecks(t *testing.T) {
	cases := []struct {
		name   string
		checks map[string]health.Check
		code   int
		want   status
	}{
		{"all up", map[string]health.Check{"dynamodb": up, "s3": up}, 200,
			status{"ok", "", map[string]string{"dynamodb": "ok", "s3": "ok"}}},
		{"dynamodb down", map[string]health.Check{"dynamodb": down, "s3": up}, 503,
			status{"unavailable", "dynamodb unavailable", map[string]string{"dynamodb": "unavailable", "s3": "ok"}}},
		{"s3 down", map[string]health.Check{"dynamodb": up, "s3": down}, 503,
			status{"unavailable", "s3 unavailable", map[string]string{"dynamodb": "ok", "s3": "unavailable"}}},
		{"both down, named in order", map[string]health.Check{"s3": down, "dynamodb": down}, 503,
			status{"unavailable", "dynamodb, s3 unavailable", map[string]string{"dynamodb": "unavailable", "s3": "unavailable"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, got := serve(t, c.checks, "/api/v1/health/ready")
			if code != c.code || got.Status != c.want.Status || got.Detail != c.want.Detail || !maps.Equal(got.Checks, c.want.Checks) {
				t.Errorf("got %d %+v, want %d %+v", code, got, c.code, c.want)
			}
		})
	}
}

// A dependency that hangs is down once the probe's time is up.
func TestReadyHungDependency(t *testing.T) {
	t.Parallel()
	start := time.Now()
	code, got := serve(t, map[string]health.Check{"dynamodb": hung, "s3": up}, "/api/v1/health/ready")
	if code != 503 || got.Detail != "dynamodb unavailable" {
		t.Errorf("got %d %+v", code, got)
	}
	if d := time.Since(start); d > health.Timeout+time.Second {
		t.Errorf("took %s", d)
	}
}

// Liveness and the plain health route touch no dependency.
func TestLiveTouchesNothing(t *testing.T) {
	touched := false
	checks := map[string]health.Check{"dynamodb": func(context.Context) error { touched = true; return errors.New("down") }}
	for _, path := range []string{"/api/v1/health", "/api/v1/health/live"} {
		code, got := serve(t, checks, path)
		if code != 200 || got.Status != "ok" || got.Checks != nil || got.Detail != "" {
			t.Errorf("%s: %d %+v", path, code, got)
		}
	}
	if touched {
		t.Error("a dependency was checked")
	}
}

// closedEndpoint is an address on 127.0.0.1 where nothing listens.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// withDown returns a copy of p whose DynamoDB or S3 client talks to a closed
// port, as if that dependency were down.
func withDown(t *testing.T, p *platform.Platform, service string) *platform.Platform {
	endpoint := closedEndpoint(t)
	clients := *p.AWS
	switch service {
	case "dynamodb":
		clients.DynamoDB = dynamodb.NewFromConfig(p.AWS.AWS, func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String(endpoint)
			o.RetryMaxAttempts = 1
		})
	case "s3":
		clients.S3 = s3.NewFromConfig(p.AWS.AWS, func(o *s3.Options) {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
			o.RetryMaxAttempts = 1
		})
	}
	return &platform.Platform{Config: p.Config, Log: p.Log, AWS: &clients}
}

func TestReadyAgainstEmulators(t *testing.T) {
	p := testenv.Platform(t)
	cases := []struct {
		name   string
		p      *platform.Platform
		code   int
		detail string
		checks map[string]string
	}{
		{"up", p, 200, "", map[string]string{"dynamodb": "ok", "s3": "ok"}},
		{"dynamodb down", withDown(t, p, "dynamodb"), 503, "dynamodb unavailable", map[string]string{"dynamodb": "unavailable", "s3": "ok"}},
		{"s3 down", withDown(t, p, "s3"), 503, "s3 unavailable", map[string]string{"dynamodb": "ok", "s3": "unavailable"}},
		{"both down", withDown(t, withDown(t, p, "s3"), "dynamodb"), 503, "dynamodb, s3 unavailable", map[string]string{"dynamodb": "unavailable", "s3": "unavailable"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, got := serve(t, c.p.HealthChecks(), "/api/v1/health/ready")
			if code != c.code || got.Detail != c.detail || !maps.Equal(got.Checks, c.checks) {
				t.Errorf("got %d %+v, want %d %q %v", code, got, c.code, c.detail, c.checks)
			}
		})
	}
	// A table or bucket that does not exist is down too.
	missing := &platform.Platform{Config: p.Config, Log: p.Log, AWS: p.AWS}
	missing.Config.Table = testenv.UniqueName(t)
	if code, got := serve(t, missing.HealthChecks(), "/api/v1/health/ready"); code != 503 || got.Detail != "dynamodb unavailable" {
		t.Errorf("missing table: %d %+v", code, got)
	}
}
