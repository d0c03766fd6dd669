package main

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart"
	"rampart/events"
	"rampart/shared/config"
	"rampart/shared/httpapi"
	"rampart/shared/platform"
	"rampart/shared/testenv"
)

// scenario is one way of serving a sample event: the configuration of the
// function, and what the answer must be.
type scenario struct {
	name      string
	configure func(*config.Config)
	emulators bool // the event reaches DynamoDB and S3
	status    int
	check     func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse)
}

// header finds a response header whatever its case (the adapter passes Go's
// canonical names, API Gateway's events use lower case).
func header(r awsevents.APIGatewayV2HTTPResponse, name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func jsonBody(t *testing.T, r awsevents.APIGatewayV2HTTPResponse) map[string]any {
	t.Helper()
	if r.IsBase64Encoded {
		t.Fatalf("JSON answer is base64-encoded")
	}
	if ct := header(r, "Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("body is not JSON: %v: %q", err, r.Body)
	}
	return m
}

func bodyIs(want string) func(*testing.T, awsevents.APIGatewayV2HTTPResponse) {
	return func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse) {
		t.Helper()
		var w map[string]any
		_ = json.Unmarshal([]byte(want), &w)
		if got := jsonBody(t, r); !reflect.DeepEqual(got, w) {
			t.Errorf("body = %s, want %s", r.Body, want)
		}
	}
}

// envelope checks the error envelope, and that it names what it should.
func envelope(mentions ...string) func(*testing.T, awsevents.APIGatewayV2HTTPResponse) {
	return func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse) {
		t.Helper()
		m := jsonBody(t, r)
		detail, _ := m["detail"].(string)
		if detail == "" {
			t.Fatalf("no detail: %s", r.Body)
		}
		for _, s := range mentions {
			if !strings.Contains(detail, s) {
				t.Errorf("detail %q does not mention %q", detail, s)
			}
		}
	}
}

func headers(want map[string]string, then func(*testing.T, awsevents.APIGatewayV2HTTPResponse)) func(*testing.T, awsevents.APIGatewayV2HTTPResponse) {
	return func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse) {
		t.Helper()
		for k, v := range want {
			if got := header(r, k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if then != nil {
			then(t, r)
		}
	}
}

var future = func(c *config.Config) { c.LegacySunset = time.Now().AddDate(1, 0, 0).UTC().Truncate(time.Second) }

// scenarios lists, for every event in events/http/health, how the health
// function must answer it.
var scenarios = map[string][]scenario{
	"health/health": {{name: "ok", status: 200, check: bodyIs(`{"status":"ok"}`)}},
	"health/live":   {{name: "ok", status: 200, check: bodyIs(`{"status":"ok"}`)}},
	"health/ready": {{name: "dependencies up", emulators: true, status: 200,
		check: bodyIs(`{"status":"ok","checks":{"dynamodb":"ok","s3":"ok"}}`)}},
	"health/openapi": {{name: "committed snapshot", status: 200, check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse) {
		var want any
		if err := json.Unmarshal(rampart.OpenAPISnapshot, &want); err != nil {
			t.Fatal(err)
		}
		if got := any(jsonBody(t, r)); !reflect.DeepEqual(got, want) {
			t.Error("openapi.json differs from openapi.generated.json")
		}
		testenv.ValidateOpenAPI(t, []byte(r.Body))
	}}, {name: "token required", status: 401,
		configure: func(c *config.Config) { c.DocsRequireAuth = true },
		check:     headers(map[string]string{"WWW-Authenticate": `Bearer realm="rampart"`}, envelope()),
	}},
	"health/docs": {{name: "swagger ui", status: 200, check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse) {
		if ct := header(r, "Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		for _, s := range []string{`src="/api/v1/docs/assets/swagger-ui-bundle.js"`, `href="/api/v1/docs/assets/swagger-ui.css"`} {
			if !strings.Contains(r.Body, s) {
				t.Errorf("page lacks %s", s)
			}
		}
		if strings.Contains(r.Body, "://") {
			t.Error("page refers to another host")
		}
		if csp := header(r, "Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") {
			t.Errorf("CSP = %q", csp)
		}
	}}},
	"health/docs-asset": {{name: "stylesheet", status: 200, check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse) {
		if ct := header(r, "Content-Type"); ct != "text/css; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		if r.IsBase64Encoded || !strings.Contains(r.Body, ".swagger-ui") {
			t.Errorf("not the stylesheet (base64 %v, %d bytes)", r.IsBase64Encoded, len(r.Body))
		}
	}}},
	"health/legacy": {{
		name: "after the default sunset", status: 410,
		check: headers(map[string]string{"Link": `</api/v1/health?verbose=1&q=a%20b>; rel="successor-version"`, "Location": ""},
			envelope("/api/v1/health?verbose=1&q=a%20b")),
	}, {
		name: "before sunset", configure: future, status: 308,
		check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse) {
			headers(map[string]string{"Location": "/api/v1/health?verbose=1&q=a%20b", "Deprecation": "true"}, nil)(t, r)
			if _, err := time.Parse(time.RFC1123, header(r, "Sunset")); err != nil || !strings.HasSuffix(header(r, "Sunset"), " GMT") {
				t.Errorf("Sunset = %q is not an HTTP-date", header(r, "Sunset"))
			}
		},
	}},
	"health/not-found":    {{name: "envelope", status: 404, check: envelope()}},
	"health/wrong-method": {{name: "envelope", status: 405, check: headers(map[string]string{"Allow": "GET"}, envelope())}},
	"health/stage-prod": {
		{name: "stage configured", configure: func(c *config.Config) { c.Stage = "prod" }, status: 200, check: bodyIs(`{"status":"ok"}`)},
		{name: "stage not configured", status: 404, check: envelope()},
	},
}

func TestLambdaEvents(t *testing.T) {
	names := events.HTTPNames(t, "health")
	for name := range scenarios {
		if !slices.Contains(names, name) {
			t.Errorf("scenario for %s, which has no event file", name)
		}
	}
	for _, name := range names {
		list, ok := scenarios[name]
		if !ok {
			t.Errorf("events/http/%s.json has no scenario in this test", name)
			continue
		}
		for _, sc := range list {
			t.Run(name+"/"+sc.name, func(t *testing.T) {
				var p *platform.Platform
				if sc.emulators {
					p = testenv.Platform(t)
				} else {
					cfg := testenv.Config(t)
					if sc.configure != nil {
						sc.configure(&cfg)
					}
					p = testenv.Offline(t, cfg)
				}
				srv, err := newServer(p)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := httpapi.LambdaHandler(srv)(context.Background(), events.HTTP(t, name))
				if err != nil {
					t.Fatalf("adapter: %v", err)
				}
				if resp.StatusCode != sc.status {
					t.Fatalf("status = %d, want %d: %s", resp.StatusCode, sc.status, resp.Body)
				}
				if got := header(resp, "X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options = %q", got)
				}
				if header(resp, "X-Request-ID") == "" {
					t.Error("no X-Request-ID")
				}
				wantCache := "no-store"
				if strings.Contains(name, "asset") {
					wantCache = "public, max-age=86400"
				}
				if got := header(resp, "Cache-Control"); got != wantCache {
					t.Errorf("Cache-Control = %q, want %q", got, wantCache)
				}
				sc.check(t, resp)
			})
		}
	}
}
