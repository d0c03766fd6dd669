package faults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/platform"
	"rampart/shared/testenv"
)

const password = "faults correct horse battery 42"

// env is a platform on this test's own emulators, served over HTTP with the
// route groups functions/local composes.
type env struct {
	t       *testing.T
	ddb, s3 *emulator
	p       *platform.Platform
	api     *httptest.Server
	table   string
}

// newEnv starts the emulators, points the SDK at them and builds the
// platform; setenv runs first (scan settings).
func newEnv(t *testing.T, setenv map[string]string) *env {
	t.Helper()
	if err := testenv.CheckEmulators(); err != nil {
		t.Fatal(err)
	}
	ddb := startDynamo(t)
	s3 := startMinio(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.endpoint())
	t.Setenv("AWS_ENDPOINT_URL_S3", s3.endpoint())
	t.Setenv("RAMPART_S3_PATH_STYLE", "true")
	for k, v := range setenv {
		t.Setenv(k, v)
	}
	p := testenv.Platform(t)
	srv, err := p.LocalServer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(srv)
	t.Cleanup(api.Close)
	// Executions in flight end before the emulators stop (bounded).
	t.Cleanup(func() {
		waitFor(t, "report workflows", 90*time.Second, p.LocalReports().Wait)
		if p.LocalBus != nil {
			waitFor(t, "scan deliveries", 90*time.Second, p.LocalBus.Wait)
		}
	})
	return &env{t: t, ddb: ddb, s3: s3, p: p, api: api, table: p.Config.Table}
}

// waitFor runs f and fails the test when it takes longer than d.
func waitFor(t *testing.T, what string, d time.Duration, f func()) bool {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		t.Errorf("%s did not end within %s", what, d)
		return false
	}
}

var seq atomic.Int64

// admin registers a user with a new organization over HTTP (private targets
// allowed) and returns its token, email and organization.
func (e *env) admin(prefix string) (token, email, org string) {
	e.t.Helper()
	email = fmt.Sprintf("%s-%d-%s@example.com", prefix, seq.Add(1), strings.ToLower(domain.NewID()[20:]))
	r := e.call(http.MethodPost, "/api/v1/auth/register", "", map[string]any{
		"email": email, "password": password, "name": prefix, "organization_name": prefix + " org"})
	if r.code/100 != 2 {
		e.t.Fatalf("register: %d %s", r.code, r.body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.decode(e.t, &tok)
	u, err := e.p.Store().GetUserByEmail(context.Background(), email)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.p.Store().UpdateOrg(context.Background(), u.DefaultOrgID, func(o *domain.Organization) error {
		o.Settings.AllowPrivateTargets = true
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return tok.AccessToken, email, u.DefaultOrgID
}

type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (r resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d %s: %v", r.code, r.body, err)
	}
}

func (r resp) id(t *testing.T) string {
	t.Helper()
	var v struct {
		ID string `json:"id"`
	}
	r.decode(t, &v)
	if v.ID == "" {
		t.Fatalf("no id in %s", r.body)
	}
	return v.ID
}

var client = &http.Client{Timeout: 90 * time.Second}

// call sends a JSON body (nil for none) with a bearer token ("" for none).
func (e *env) call(method, path, token string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	return e.raw(method, path, token, "application/json", rd)
}

func (e *env) raw(method, path, token, contentType string, body io.Reader) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.api.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, header: res.Header, body: b}
}

func (e *env) mustCreate(path, token string, body any) string {
	e.t.Helper()
	r := e.call(http.MethodPost, path, token, body)
	if r.code != http.StatusCreated {
		e.t.Fatalf("POST %s: %d %s", path, r.code, r.body)
	}
	return r.id(e.t)
}

// unavailable checks a 503 answer: the envelope, and nothing internal in it
// (no stack trace, table or bucket name, endpoint).
func (e *env) unavailable(what string, r resp) {
	e.t.Helper()
	if r.code != http.StatusServiceUnavailable {
		e.t.Errorf("%s: status %d, want 503: %s", what, r.code, r.body)
		return
	}
	var env map[string]any
	if err := json.Unmarshal(r.body, &env); err != nil {
		e.t.Errorf("%s: body is not JSON: %s", what, r.body)
		return
	}
	if d, _ := env["detail"].(string); d == "" {
		e.t.Errorf("%s: no detail in %s", what, r.body)
	}
	e.internals(what, string(r.body))
}

func (e *env) internals(what, body string) {
	e.t.Helper()
	for _, leak := range []string{e.table, e.p.Config.Bucket, e.ddb.endpoint(), e.s3.endpoint(), "127.0.0.1",
		fmt.Sprint(e.ddb.port), fmt.Sprint(e.s3.port), "goroutine", ".go:", "panic", "operation error", "api error",
		"dial tcp", "connection refused", "RequestID", "request id"} {
		if strings.Contains(strings.ToLower(body), strings.ToLower(leak)) {
			e.t.Errorf("%s: the answer shows %q: %s", what, leak, body)
		}
	}
}

// eventually polls f every 200ms until it is true or d passes.
func eventually(d time.Duration, f func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}
