package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
)

func TestRoutingErrors(t *testing.T) {
	sunset := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	servers := map[string]setup{
		"plain":       {},
		"with legacy": {legacy: &sunset}, // /api/* catch-all must not hide 404 and 405
	}
	cases := []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"unknown path", http.MethodGet, "/nope", http.StatusNotFound, ""},
		{"unknown api path", http.MethodGet, "/api/v1/nope", http.StatusNotFound, ""},
		{"unknown nested api path", http.MethodDelete, "/api/v1/things/1/2/3", http.StatusNotFound, ""},
		{"wrong method", http.MethodDelete, "/api/v1/ping", http.StatusMethodNotAllowed, "GET"},
		{"wrong method on a route with two", http.MethodPut, "/api/v1/things", http.StatusMethodNotAllowed, "GET, POST"},
		{"wrong method on a route with a parameter", http.MethodPost, "/api/v1/fail/3", http.StatusMethodNotAllowed, "GET"},
	}
	for sname, s := range servers {
		srv := newServer(t, s)
		for _, c := range cases {
			t.Run(sname+"/"+c.name, func(t *testing.T) {
				r := do(t, srv, c.method, c.path, nil)
				detail, _ := r.envelope(c.status)
				r.securityHeaders()
				if c.status == http.StatusNotFound && detail != "no such route" {
					t.Errorf("detail = %q", detail)
				}
				if got := r.Header().Get("Allow"); got != c.allow {
					t.Errorf("Allow = %q, want %q", got, c.allow)
				}
			})
		}
	}
}

func TestPanicIsInternalError(t *testing.T) {
	srv := newServer(t, setup{})
	r := get(t, srv, "/api/v1/panic")
	r.envelope(http.StatusInternalServerError)
	r.securityHeaders()
	if got := strings.TrimSpace(r.Body.String()); got != `{"detail":"internal error"}` {
		t.Errorf("body = %s", got)
	}
	for _, leak := range []string{"secret", "boom", "goroutine", ".go:"} {
		if strings.Contains(r.Body.String(), leak) {
			t.Errorf("body leaks %q: %s", leak, r.Body.String())
		}
	}
	// The stack goes to the log, with the request id.
	logs := srv.logs.String()
	if !strings.Contains(logs, "boom") || !strings.Contains(logs, r.Header().Get("X-Request-ID")) {
		t.Errorf("panic not logged with its request id: %s", logs)
	}
	// The server keeps serving.
	if r := get(t, srv, "/api/v1/ping"); r.Code != http.StatusOK {
		t.Errorf("after a panic: %d", r.Code)
	}
}

// chunked hides the length of a body, as a chunked request does.
type chunked struct{ io.Reader }

func TestBodyLimits(t *testing.T) {
	srv := newServer(t, setup{})
	big := func(n int) string { return `{"name":"` + strings.Repeat("x", n) + `"}` }
	cases := []struct {
		name    string
		path    string
		body    string
		chunked bool
		status  int
	}{
		{"declared length over the server cap", "/api/v1/things", big(serverCap), false, http.StatusRequestEntityTooLarge},
		{"declared length over the operation cap", "/api/v1/things", big(thingsCap), false, http.StatusRequestEntityTooLarge},
		{"chunked over the operation cap", "/api/v1/things", big(thingsCap * 2), true, http.StatusRequestEntityTooLarge},
		{"chunked over the server cap, under the operation cap", "/api/v1/upload", big(serverCap * 2), true, http.StatusRequestEntityTooLarge},
		{"declared length over the server cap, under the operation cap", "/api/v1/upload", big(serverCap * 2), false, http.StatusRequestEntityTooLarge},
		{"under both caps", "/api/v1/things", `{"name":"a","count":1,"kind":"alpha"}`, true, http.StatusOK},
		{"raw body under both caps", "/api/v1/upload", big(serverCap / 2), true, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(c.body)
			if c.chunked {
				body = chunked{body}
			}
			req := httptest.NewRequest(http.MethodPost, c.path, body)
			req.Header.Set("Content-Type", "application/json")
			if c.chunked {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			r := response{rec, t}
			if c.status != http.StatusOK {
				r.envelope(c.status)
				r.securityHeaders()
			} else if r.Code != c.status {
				t.Fatalf("status = %d: %s", r.Code, r.Body.String())
			}
		})
	}
}

// TestChunkedBodyOverTheWire sends a chunked body over the server cap through
// a real connection.
func TestChunkedBodyOverTheWire(t *testing.T) {
	ts := httptest.NewServer(newServer(t, setup{}))
	defer ts.Close()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/upload",
		chunked{bytes.NewReader(bytes.Repeat([]byte("x"), serverCap*4))})
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), `"detail"`) {
		t.Fatalf("status %d, body %s", resp.StatusCode, b)
	}
}

func TestRequestID(t *testing.T) {
	srv := newServer(t, setup{})
	cases := []struct {
		name, sent string
		echoed     bool
	}{
		{"echoed", "abc-123_X.y", true},
		{"generated when absent", "", false},
		{"replaced when too long", strings.Repeat("a", 65), false},
		{"replaced when it has odd characters", "a b<script>", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.sent != "" {
				hdr = []string{"X-Request-ID", c.sent}
			}
			for _, target := range []string{"/api/v1/ping", "/api/v1/nope"} {
				got := get(t, srv, target, hdr...).Header().Get("X-Request-ID")
				switch {
				case c.echoed && got != c.sent:
					t.Errorf("%s: X-Request-ID = %q, want %q", target, got, c.sent)
				case !c.echoed && !domain.ValidID(got):
					t.Errorf("%s: X-Request-ID = %q, want a generated id", target, got)
				}
			}
		})
	}
	a := get(t, srv, "/api/v1/ping").Header().Get("X-Request-ID")
	b := get(t, srv, "/api/v1/ping").Header().Get("X-Request-ID")
	if a == b {
		t.Errorf("two requests got the same id %s", a)
	}
}

func TestStagePrefix(t *testing.T) {
	srv := newServer(t, setup{opts: httpapi.Options{Stage: "prod"}})
	cases := []struct {
		path   string
		status int
	}{
		{"/prod/api/v1/ping", http.StatusOK},
		{"/api/v1/ping", http.StatusOK}, // a custom domain mapping strips the stage itself
		{"/production/api/v1/ping", http.StatusNotFound},
		{"/prod", http.StatusNotFound},
		{"/prod/api/v1/nope", http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			r := get(t, srv, c.path)
			if r.Code != c.status {
				t.Fatalf("status = %d, want %d: %s", r.Code, c.status, r.Body.String())
			}
		})
	}
	// The route in the log is the pattern, not the staged path.
	lines := srv.logs.lines(t)
	if len(lines) == 0 || lines[0]["route"] != "/api/v1/ping" {
		t.Errorf("first log line = %v", lines)
	}
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	sunset := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := newServer(t, setup{legacy: &sunset, docs: &httpapi.DocsOptions{}})
	cases := []struct {
		method, path, body string
		headers            []string
		status             int
		cache              string
	}{
		{"GET", "/api/v1/ping", "", nil, 200, "no-store"},
		{"GET", "/api/v1/things?page=0", "", nil, 422, "no-store"},
		{"POST", "/api/v1/things", "{", nil, 400, "no-store"},
		{"GET", "/api/v1/nope", "", nil, 404, "no-store"},
		{"GET", "/nope", "", nil, 404, "no-store"},
		{"PATCH", "/api/v1/ping", "", nil, 405, "no-store"},
		{"GET", "/api/v1/panic", "", nil, 500, "no-store"},
		{"GET", "/api/v1/private", "", nil, 401, "no-store"},
		{"GET", "/api/v1/private", "", []string{"Authorization", "Bearer viewer-token"}, 403, "no-store"},
		{"GET", "/api/v1/fail/10", "", nil, 429, "no-store"},
		{"GET", "/api/ping", "", nil, 308, "no-store"},
		{"GET", "/api/v1/openapi.json", "", nil, 200, "no-store"},
		{"GET", "/api/v1/docs", "", nil, 200, "no-store"},
		{"GET", "/api/v1/docs/assets/swagger-ui.css", "", nil, 200, "public, max-age=86400"},
		{"GET", "/api/v1/docs/assets/nope.js", "", nil, 404, "no-store"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			r := do(t, srv, c.method, c.path, body, c.headers...)
			if r.Code != c.status {
				t.Fatalf("status = %d, want %d: %s", r.Code, c.status, r.Body.String())
			}
			r.securityHeaders()
			if got := r.Header().Get("Cache-Control"); got != c.cache {
				t.Errorf("Cache-Control = %q, want %q", got, c.cache)
			}
		})
	}
}

func TestRequestLog(t *testing.T) {
	srv := newServer(t, setup{})
	get(t, srv, "/api/v1/ping", "X-Request-ID", "req-ok")
	get(t, srv, "/api/v1/nope", "X-Request-ID", "req-404")
	get(t, srv, "/api/v1/fail/3", "X-Request-ID", "req-403")
	get(t, srv, "/api/v1/panic", "X-Request-ID", "req-500")

	byID := map[string]map[string]any{}
	for _, l := range srv.logs.lines(t) {
		if l["msg"] == "request" {
			byID[l["request_id"].(string)] = l
		}
	}
	want := []struct {
		id, route, level string
		status           float64
	}{
		{"req-ok", "/api/v1/ping", "INFO", 200},
		{"req-404", "unmatched", "INFO", 404},
		{"req-403", "/api/v1/fail/{kind}", "INFO", 403},
		{"req-500", "/api/v1/panic", "ERROR", 500},
	}
	for _, w := range want {
		l, ok := byID[w.id]
		if !ok {
			t.Errorf("no request log line for %s in %s", w.id, srv.logs.String())
			continue
		}
		if l["method"] != "GET" || l["route"] != w.route || l["status"] != w.status || l["level"] != w.level {
			t.Errorf("%s: log line %v", w.id, l)
		}
		if ms, ok := l["latency_ms"].(float64); !ok || ms < 0 {
			t.Errorf("%s: latency_ms = %v", w.id, l["latency_ms"])
		}
		if _, ok := l["time"]; !ok {
			t.Errorf("%s: no time", w.id)
		}
	}
}
