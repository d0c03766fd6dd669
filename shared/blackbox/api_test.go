package blackbox

import (
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"rampart/shared/testenv"
)

func TestHealth(t *testing.T) {
	c := client()
	for _, path := range []string{"/api/v1/health", "/api/v1/health/live"} {
		r := c.Get(t, path)
		if r.Status != http.StatusOK || !reflect.DeepEqual(r.JSON, map[string]any{"status": "ok"}) {
			t.Errorf("%s: %d %s, want 200 {\"status\":\"ok\"}", path, r.Status, r.Body)
		}
	}
}

func TestReady(t *testing.T) {
	r := client().Get(t, "/api/v1/health/ready")
	if r.Status != http.StatusOK {
		t.Fatalf("ready: %d %s", r.Status, r.Body)
	}
	m := r.Object(t)
	checks, _ := m["checks"].(map[string]any)
	if m["status"] != "ok" || checks["dynamodb"] != "ok" || checks["s3"] != "ok" {
		t.Errorf("ready body %s", r.Body)
	}
}

func TestRequestID(t *testing.T) {
	r := client().Do(t, http.MethodGet, "/api/v1/health", nil, map[string]string{"X-Request-ID": "blackbox-42"})
	if got := r.Header.Get("X-Request-ID"); got != "blackbox-42" {
		t.Errorf("X-Request-ID = %q, want it echoed", got)
	}
}

var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

func TestDocsPages(t *testing.T) {
	c := client()
	for _, path := range []string{"/api/v1/docs", "/docs", "/api/v1/redoc", "/redoc"} {
		t.Run(path, func(t *testing.T) {
			r := c.Get(t, path)
			if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("%d %s", r.Status, r.Header.Get("Content-Type"))
			}
			if strings.Contains(string(r.Body), "://") {
				t.Errorf("page refers to another host:\n%s", r.Body)
			}
			csp := r.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP = %q", csp)
			}
			refs := assetRef.FindAllStringSubmatch(string(r.Body), -1)
			if len(refs) == 0 {
				t.Fatalf("page loads nothing:\n%s", r.Body)
			}
			for _, ref := range refs {
				if !strings.HasPrefix(ref[1], "/api/v1/docs/assets/") {
					t.Errorf("page loads %s", ref[1])
					continue
				}
				a := c.Get(t, ref[1])
				want := "text/javascript"
				if strings.HasSuffix(ref[1], ".css") {
					want = "text/css"
				}
				if a.Status != http.StatusOK || !strings.HasPrefix(a.Header.Get("Content-Type"), want) || len(a.Body) == 0 {
					t.Errorf("%s: %d %q, %d bytes", ref[1], a.Status, a.Header.Get("Content-Type"), len(a.Body))
				}
			}
		})
	}
}

func TestOpenAPI(t *testing.T) {
	r := client().Get(t, "/api/v1/openapi.json")
	if r.Status != http.StatusOK {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	doc := r.Object(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Errorf("openapi = %v, want 3.1.x", doc["openapi"])
	}
	testenv.ValidateOpenAPI(t, r.Body)
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/health", "/api/v1/health/ready", "/api/v1/openapi.json"} {
		if paths[p] == nil {
			t.Errorf("document lacks %s", p)
		}
	}
}

// TestLegacyPaths: the local server runs with the default sunset
// (2026-06-01), which has passed, so unversioned paths are gone (410); a
// deployment may still be before its sunset (308).
func TestLegacyPaths(t *testing.T) {
	c := client()
	cases := []struct{ method, path, successor string }{
		{http.MethodGet, "/api/health", "/api/v1/health"},
		{http.MethodGet, "/api/findings?severity=high&page=2", "/api/v1/findings?severity=high&page=2"},
		{http.MethodPost, "/api/auth/login", "/api/v1/auth/login"},
	}
	sunsetPassed := time.Now().After(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := c.Do(t, tc.method, tc.path, nil, nil)
			if localServer && sunsetPassed && r.Status != http.StatusGone {
				t.Fatalf("status = %d, want 410 after the default sunset: %s", r.Status, r.Body)
			}
			switch r.Status {
			case http.StatusGone:
				detail := Envelope(t, r, http.StatusGone)
				if !strings.Contains(detail, tc.successor) {
					t.Errorf("detail %q does not name %s", detail, tc.successor)
				}
				if got, want := r.Header.Get("Link"), `<`+tc.successor+`>; rel="successor-version"`; !strings.HasSuffix(got, want) && got != want {
					t.Errorf("Link = %q, want %q", got, want)
				}
			case http.StatusPermanentRedirect:
				if got := r.Header.Get("Location"); !strings.HasSuffix(got, tc.successor) {
					t.Errorf("Location = %q, want %s", got, tc.successor)
				}
				if r.Header.Get("Deprecation") != "true" {
					t.Errorf("Deprecation = %q", r.Header.Get("Deprecation"))
				}
				if _, err := http.ParseTime(r.Header.Get("Sunset")); err != nil {
					t.Errorf("Sunset = %q: %v", r.Header.Get("Sunset"), err)
				}
			default:
				t.Fatalf("status = %d, want 410 or 308: %s", r.Status, r.Body)
			}
		})
	}
}

// errorCase is one request that must be answered with the error envelope.
type errorCase struct {
	name         string
	method, path string
	body         any // nil, raw string/[]byte, or a value sent as JSON
	headers      map[string]string
	status       int
	// location, when set, must be among the errors[].location of the answer.
	location string
	// allow, when set, is the Allow header a 405 must carry.
	allow string
}

// errorCases: every route group adds its error answers here, one line each
// (malformed JSON → 400, invalid values → 422 with a location, protected
// route without a token → 401, wrong method → 405, ...).
var errorCases = []errorCase{
	// Routing.
	{name: "unknown route", method: "GET", path: "/api/v1/nope", status: 404},
	{name: "unknown route under health", method: "GET", path: "/api/v1/health/nope", status: 404},
	{name: "unknown root path", method: "GET", path: "/nope", status: 404},
	{name: "POST on a GET route", method: "POST", path: "/api/v1/health", body: `{}`, status: 405, allow: "GET"},
	{name: "DELETE on the document", method: "DELETE", path: "/api/v1/openapi.json", status: 405, allow: "GET"},
	{name: "PUT on a docs page", method: "PUT", path: "/api/v1/docs", status: 405, allow: "GET"},
	{name: "unknown docs asset", method: "GET", path: "/api/v1/docs/assets/nope.js", status: 404},

	// Request bodies (auth routes are the first JSON routes).
	{name: "malformed JSON", method: "POST", path: "/api/v1/auth/login", body: `{"email":`, status: 400},
	{name: "unknown field", method: "POST", path: "/api/v1/auth/login", body: `{"email":"a@example.com","password":"x","admin":true}`, status: 422, location: "body.admin"},
	{name: "wrong type", method: "POST", path: "/api/v1/auth/login", body: `{"email":1,"password":"x"}`, status: 422, location: "body.email"},

	// Authentication.
	{name: "profile without token", method: "GET", path: "/api/v1/users/me", status: 401},
	{name: "profile with a forged token", method: "GET", path: "/api/v1/auth/me", headers: map[string]string{"Authorization": "Bearer forged.token.value"}, status: 401},
	{name: "organizations without token", method: "GET", path: "/api/v1/organizations", status: 401},
}

func TestErrorEnvelope(t *testing.T) {
	c := client()
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do(t, tc.method, tc.path, tc.body, tc.headers)
			Envelope(t, r, tc.status)
			if tc.location != "" {
				found := false
				for _, e := range r.Object(t)["errors"].([]any) {
					found = found || e.(map[string]any)["location"] == tc.location
				}
				if !found {
					t.Errorf("no error at %s: %s", tc.location, r.Body)
				}
			}
			if tc.allow != "" && r.Header.Get("Allow") != tc.allow {
				t.Errorf("Allow = %q, want %q", r.Header.Get("Allow"), tc.allow)
			}
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
			}
			if tc.status >= 500 || strings.Contains(string(r.Body), "goroutine") {
				t.Errorf("internal answer: %s", r.Body)
			}
		})
	}
}
