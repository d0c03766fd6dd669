package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
)

// serverCap is the server-wide body cap of the test servers; thingsCap is the
// lower cap of the one write operation.
const (
	serverCap = 4096
	thingsCap = 256
)

// logBuffer collects the JSON log lines of one server.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns every log record as a map.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakeAuth implements httpapi.Authenticator with fixed tokens: "<role>-token"
// is a member with that role; anything else is an invalid token. The
// organization "other" is one the caller does not belong to.
type fakeAuth struct {
	mu    sync.Mutex
	calls []authCall
}

type authCall struct {
	Bearer  string
	NeedOrg bool
	OrgID   string
}

func (a *fakeAuth) Authenticate(_ context.Context, bearer string, needOrg bool, orgID string) (domain.Principal, error) {
	a.mu.Lock()
	a.calls = append(a.calls, authCall{bearer, needOrg, orgID})
	a.mu.Unlock()
	role, ok := strings.CutSuffix(bearer, "-token")
	if !ok {
		return domain.Principal{}, domain.E(domain.KindUnauthenticated, "invalid token")
	}
	r, err := domain.ParseRole(role)
	if err != nil {
		return domain.Principal{}, domain.E(domain.KindUnauthenticated, "invalid token")
	}
	p := domain.Principal{UserID: "user-1"}
	if needOrg {
		switch orgID {
		case "other":
			return domain.Principal{}, domain.NotFound("organization")
		case "":
			orgID = "default-org"
		}
		p.OrgID, p.Role = orgID, r
	}
	return p, nil
}

func (a *fakeAuth) last() authCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.calls) == 0 {
		return authCall{}
	}
	return a.calls[len(a.calls)-1]
}

type thingBody struct {
	Name  string `json:"name" minLength:"1" maxLength:"40"`
	Count int    `json:"count" minimum:"0"`
	Kind  string `json:"kind" enum:"alpha,beta"`
	Note  string `json:"note,omitempty"`
}

type thingOutput struct {
	Body thingBody
}

type principalOutput struct {
	Body struct {
		UserID string `json:"user_id"`
		OrgID  string `json:"org_id"`
		Role   string `json:"role"`
	}
}

type okOutput struct {
	Body struct {
		OK bool `json:"ok"`
	}
}

func principalOf(ctx context.Context) *principalOutput {
	p := httpapi.PrincipalFrom(ctx)
	out := &principalOutput{}
	out.Body.UserID, out.Body.OrgID, out.Body.Role = p.UserID, p.OrgID, string(p.Role)
	return out
}

// register adds the test operations.
func register(api huma.API) {
	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "ping", Method: http.MethodGet, Path: "/api/v1/ping", Summary: "Ping",
	}, func(context.Context, *struct{}) (*okOutput, error) {
		out := &okOutput{}
		out.Body.OK = true
		return out, nil
	})
	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "create-thing", Method: http.MethodPost, Path: "/api/v1/things", Summary: "Create a thing",
		MaxBodyBytes: thingsCap,
	}, func(_ context.Context, in *struct{ Body thingBody }) (*thingOutput, error) {
		return &thingOutput{Body: in.Body}, nil
	})
	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "upload", Method: http.MethodPost, Path: "/api/v1/upload", Summary: "Raw upload",
		MaxBodyBytes: 1 << 20,
	}, func(_ context.Context, in *struct{ RawBody []byte }) (*okOutput, error) {
		out := &okOutput{}
		out.Body.OK = len(in.RawBody) > 0
		return out, nil
	})
	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "list-things", Method: http.MethodGet, Path: "/api/v1/things", Summary: "List things",
	}, func(_ context.Context, in *struct {
		httpapi.PageQuery
		Total int `query:"total" minimum:"0"`
	}) (*httpapi.PageOutput[string], error) {
		req := in.Request()
		p := domain.Page[int]{Total: in.Total, Request: req}
		for i := (req.Page - 1) * req.PerPage; i < in.Total && len(p.Items) < req.PerPage; i++ {
			p.Items = append(p.Items, i)
		}
		return httpapi.NewPage(p, func(i int) string { return "thing-" + string(rune('a'+i%26)) }), nil
	})
	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "fail", Method: http.MethodGet, Path: "/api/v1/fail/{kind}", Summary: "Fail with a domain error",
	}, func(_ context.Context, in *struct {
		Kind int `path:"kind"`
	}) (*okOutput, error) {
		if in.Kind < 0 {
			return nil, errors.New("unclassified: secret connection string")
		}
		k := domain.Kind(in.Kind)
		e := &domain.Error{Kind: k, Message: "failed: " + k.String(), Err: errors.New("secret cause")}
		if k == domain.KindThrottled {
			e.RetryAfterSeconds = 7
		}
		if k == domain.KindInvalid {
			e.Fields = []domain.FieldError{{Location: "body.email", Message: "not an email"}}
		}
		return nil, e
	})
	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "panic", Method: http.MethodGet, Path: "/api/v1/panic", Summary: "Panic",
	}, func(context.Context, *struct{}) (*okOutput, error) {
		panic("secret internal state: boom")
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "auditor-only", Method: http.MethodGet, Path: "/api/v1/private", Summary: "Auditors",
	}, func(ctx context.Context, _ *struct{}) (*principalOutput, error) { return principalOf(ctx), nil })
	httpapi.Register(api, httpapi.Authenticated, huma.Operation{
		OperationID: "me", Method: http.MethodGet, Path: "/api/v1/me", Summary: "Any token",
	}, func(ctx context.Context, _ *struct{}) (*principalOutput, error) { return principalOf(ctx), nil })
	httpapi.Register(api, httpapi.Viewer.InOrgParam("org_id"), huma.Operation{
		OperationID: "org-thing", Method: http.MethodGet, Path: "/api/v1/orgs/{org_id}/thing", Summary: "Org from path",
	}, func(ctx context.Context, _ *struct {
		OrgID string `path:"org_id"`
	}) (*principalOutput, error) {
		return principalOf(ctx), nil
	})
}

type setup struct {
	opts   httpapi.Options
	noAuth bool // leave Options.Auth nil
	legacy *time.Time
	docs   *httpapi.DocsOptions
}

type testServer struct {
	*httpapi.Server
	logs *logBuffer
	auth *fakeAuth
}

// newServer builds a server with the test operations; options of s override
// the defaults (fake authenticator, small body cap, captured logs).
func newServer(t *testing.T, s setup) *testServer {
	t.Helper()
	logs := &logBuffer{}
	auth := &fakeAuth{}
	opts := s.opts
	if opts.Auth == nil && !s.noAuth {
		opts.Auth = auth
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = serverCap
	}
	opts.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	srv := httpapi.New(opts)
	register(srv.API)
	if s.docs != nil {
		d := *s.docs
		if d.Spec == nil {
			d.Spec = httpapi.LiveSpec(srv.API)
		}
		srv.RegisterDocs(d)
	}
	if s.legacy != nil {
		srv.RegisterLegacy(*s.legacy)
	}
	return &testServer{Server: srv, logs: logs, auth: auth}
}

type response struct {
	*httptest.ResponseRecorder
	t *testing.T
}

// do serves one request; headers are name/value pairs.
func do(t *testing.T, h http.Handler, method, target string, body io.Reader, headers ...string) response {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{rec, t}
}

func get(t *testing.T, h http.Handler, target string, headers ...string) response {
	t.Helper()
	return do(t, h, http.MethodGet, target, nil, headers...)
}

// json decodes the body as a JSON object.
func (r response) json() map[string]any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body.Bytes(), &m); err != nil {
		r.t.Fatalf("body is not a JSON object: %v: %q", err, r.Body.String())
	}
	return m
}

// envelope checks that the answer is the contract's error envelope with the
// given status, and returns its detail and field errors.
func (r response) envelope(status int) (string, []map[string]any) {
	r.t.Helper()
	if r.Code != status {
		r.t.Fatalf("status = %d, want %d; body %s", r.Code, status, r.Body.String())
	}
	if ct := r.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		r.t.Errorf("Content-Type = %q, want application/json", ct)
	}
	m := r.json()
	detail, ok := m["detail"].(string)
	if !ok || detail == "" {
		r.t.Fatalf("envelope without detail: %s", r.Body.String())
	}
	var fields []map[string]any
	for k, v := range m {
		switch k {
		case "detail":
		case "errors":
			list, ok := v.([]any)
			if !ok {
				r.t.Fatalf("errors is not a list: %s", r.Body.String())
			}
			for _, e := range list {
				f, ok := e.(map[string]any)
				if !ok || f["location"] == nil || f["message"] == nil {
					r.t.Fatalf("field error without location and message: %s", r.Body.String())
				}
				fields = append(fields, f)
			}
		default:
			r.t.Errorf("envelope has unexpected key %q: %s", k, r.Body.String())
		}
	}
	return detail, fields
}

// locations lists the location of every field error.
func locations(fields []map[string]any) []string {
	var out []string
	for _, f := range fields {
		out = append(out, f["location"].(string))
	}
	return out
}

// securityHeaders checks the headers every answer carries.
func (r response) securityHeaders() {
	r.t.Helper()
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
	} {
		if got := r.Header().Get(name); got != want {
			r.t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if r.Header().Get("Content-Security-Policy") == "" {
		r.t.Error("no Content-Security-Policy")
	}
	if r.Header().Get("X-Request-ID") == "" {
		r.t.Error("no X-Request-ID")
	}
}
