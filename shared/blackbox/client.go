// Package blackbox is Rampart's black-box API suite: it speaks HTTP to a
// running Rampart and knows nothing of its code, so the same tests check the
// local server, a LocalStack deployment and a real AWS stack.
//
// # Running
//
// Locally (what `make test` does): with RAMPART_BASE_URL unset, TestMain
// builds ./functions/local, starts it on a free port of 127.0.0.1 against the
// emulators with a table and a bucket of its own, runs the suite and stops it:
//
//	scripts/emulators.sh --mode test run-with -- go test ./shared/blackbox/
//
// Against a deployed stack (LocalStack through cdklocal, or AWS), point the
// suite at the API's base URL, including the stage when it is not $default:
//
//	RAMPART_BASE_URL=https://abc123.execute-api.eu-central-1.amazonaws.com \
//	  go test ./shared/blackbox/ -count=1 -v
//
// No emulator is needed then. Routes the deployment sends nowhere (API
// Gateway's own 404 instead of Rampart's envelope) fail the envelope cases:
// the stack must route /api/{proxy+} and the documentation aliases to the
// health function. Tests that need to sign in read the admin credentials from
// RAMPART_ADMIN_EMAIL and RAMPART_ADMIN_PASSWORD (or RAMPART_BLACKBOX_EMAIL
// and RAMPART_BLACKBOX_PASSWORD); locally the suite
// seeds that admin itself.
//
// # Adding cases
//
// Use a Client: Do sends a request and checks the headers every answer must
// carry; the tables in api_test.go (errorCases and the like) take new routes
// as one line each.
package blackbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Client talks to one Rampart deployment.
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// OrgID, when set, is sent as X-Organization-ID.
	OrgID string
}

// NewClient returns a client for baseURL that does not follow redirects (the
// suite checks them) and gives up on a request after 30 seconds.
func NewClient(baseURL string) *Client {
	return &Client{
		BaseURL: strings.TrimRight(baseURL, "/"),
		HTTP: &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// WithToken returns a copy of c that sends token as its bearer token. Login
// (once the auth routes are in) returns such a client.
func (c *Client) WithToken(token string) *Client {
	cc := *c
	cc.Token = token
	return &cc
}

// Response is one answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// JSON is the decoded body when it is JSON, else nil.
	JSON any
}

// Object returns the body as a JSON object, failing the test otherwise.
func (r *Response) Object(t testing.TB) map[string]any {
	t.Helper()
	m, ok := r.JSON.(map[string]any)
	if !ok {
		t.Fatalf("body is not a JSON object: %.300s", r.Body)
	}
	return m
}

// Do sends one request. body is nil (none), []byte or string (sent as is:
// malformed JSON, CSV...), or anything else (encoded as JSON); a body goes
// with Content-Type application/json unless headers set one. Every answer is
// checked for the headers that all answers carry (see CheckCommonHeaders).
func (c *Client) Do(t testing.TB, method, path string, body any, headers map[string]string) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, c.BaseURL+path, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.OrgID != "" {
		req.Header.Set("X-Organization-ID", c.OrgID)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if Record != nil {
		Record(method, path, r.Status)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.JSON); err != nil {
			t.Errorf("%s %s: Content-Type says JSON, body is not: %v: %.300s", method, path, err, raw)
		}
	}
	CheckCommonHeaders(t, method+" "+path, r)
	return r
}

// Record, when set, is told of every answer Do gets (the request's method,
// its path as given, query included, and the status): the suite uses it to
// prove that every documented route was exercised.
var Record func(method, path string, status int)

// Login signs in with email and password (JSON body of POST
// /api/v1/auth/login) and returns a copy of c that sends the access token.
func (c *Client) Login(t testing.TB, email, password string) *Client {
	t.Helper()
	r := c.Do(t, http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": password}, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("login as %s: %d %.300s", email, r.Status, r.Body)
	}
	tok, _ := r.Object(t)["access_token"].(string)
	if tok == "" {
		t.Fatalf("login as %s: no access_token in %.300s", email, r.Body)
	}
	return c.WithToken(tok)
}

// Get is Do for a GET without body or extra headers.
func (c *Client) Get(t testing.TB, path string) *Response {
	t.Helper()
	return c.Do(t, http.MethodGet, path, nil, nil)
}

// CheckCommonHeaders fails the test unless r carries what every answer of
// Rampart carries: nosniff, a request id, and Cache-Control no-store (docs
// assets are cacheable instead).
func CheckCommonHeaders(t testing.TB, what string, r *Response) {
	t.Helper()
	if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options = %q, want nosniff", what, got)
	}
	if r.Header.Get("X-Request-ID") == "" {
		t.Errorf("%s: no X-Request-ID", what)
	}
	cache := r.Header.Get("Cache-Control")
	if strings.Contains(what, "/api/v1/docs/assets/") && r.Status == http.StatusOK {
		if !strings.Contains(cache, "max-age=") {
			t.Errorf("%s: Cache-Control = %q, want a cacheable asset", what, cache)
		}
	} else if cache != "no-store" {
		t.Errorf("%s: Cache-Control = %q, want no-store", what, cache)
	}
}

// Envelope fails the test unless r is the contract's error envelope with the
// given status, and returns its detail.
func Envelope(t testing.TB, r *Response, status int) string {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %.300s", r.Status, status, r.Body)
	}
	m := r.Object(t)
	detail, _ := m["detail"].(string)
	if detail == "" {
		t.Fatalf("no detail in %s", r.Body)
	}
	for k := range m {
		if k != "detail" && k != "errors" {
			t.Errorf("unexpected key %q in the envelope %s", k, r.Body)
		}
	}
	if errs, ok := m["errors"]; ok {
		list, _ := errs.([]any)
		for _, e := range list {
			f, _ := e.(map[string]any)
			if _, ok := f["location"].(string); !ok {
				t.Errorf("field error without location: %s", r.Body)
			}
		}
	}
	return detail
}
