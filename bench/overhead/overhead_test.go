// Package overhead measures the request overhead of Rampart's own HTTP code
// (routing, middleware, authorization, validation, encoding) with no
// DynamoDB round trip:
//
//	go test ./bench/overhead -run '^$' -bench . -benchmem -count 5
//
// The server is the real one (httpapi.New with its middleware chain:
// request id, request log, panic recovery, security headers, body cap; huma
// validation; the authorization middleware) and the tokens are real EdDSA
// access tokens verified by auth.Tokens. Only the membership read is
// replaced: memAuth verifies the token exactly as identity.Authenticator
// does and then looks the membership up in a map instead of DynamoDB. So
// these numbers are verification + routing + validation + encoding, not the
// membership read (one GetItem in production) nor the handler's own store
// calls.
//
// The operations mirror the real findings routes in shape (a JSON body of a
// dozen validated fields; a list with repeated query filters and a page of
// 25 items) but their handlers only build the answer in memory.
package overhead

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/auth"
	"rampart/shared/domain"
	"rampart/shared/health"
	"rampart/shared/httpapi"
)

// memAuth is identity.Authenticator without DynamoDB: the same token
// verification, then a membership from a map.
type memAuth struct {
	tokens      *auth.Tokens
	defaultOrg  map[string]string               // user -> default organization
	memberships map[[2]string]domain.Membership // (org, user) -> membership
}

func (a *memAuth) Authenticate(ctx context.Context, bearer string, needOrg bool, orgID string) (domain.Principal, error) {
	claims, err := a.tokens.Verify(ctx, bearer)
	if err != nil {
		return domain.Principal{}, err
	}
	p := domain.Principal{UserID: claims.Subject, SessionID: claims.SessionID}
	if !needOrg {
		return p, nil
	}
	if orgID == "" {
		orgID = a.defaultOrg[p.UserID]
	}
	m, ok := a.memberships[[2]string{orgID, p.UserID}]
	if !ok {
		return domain.Principal{}, domain.NotFound("organization")
	}
	if !m.Active {
		return domain.Principal{}, domain.E(domain.KindForbidden, "your membership of this organization is deactivated")
	}
	p.OrgID, p.Role, p.ClientID = m.OrgID, m.Role, m.ClientID
	return p, nil
}

// --- a create operation shaped like POST /api/v1/findings -------------------

type findingBody struct {
	SessionID   string   `json:"session_id" maxLength:"64" required:"true"`
	AssetID     string   `json:"asset_id" maxLength:"64" required:"true"`
	Title       string   `json:"title" minLength:"1" maxLength:"300"`
	Severity    string   `json:"severity" enum:"critical,high,medium,low,info"`
	Status      string   `json:"status,omitempty" enum:"open,in_progress,resolved,accepted_risk,false_positive"`
	Category    string   `json:"category,omitempty" maxLength:"64"`
	Description string   `json:"description,omitempty" maxLength:"20000"`
	Remediation string   `json:"remediation,omitempty" maxLength:"20000"`
	Evidence    string   `json:"evidence,omitempty" maxLength:"50000"`
	CVSSVector  string   `json:"cvss_vector,omitempty" maxLength:"512"`
	References  []string `json:"references,omitempty" maxItems:"20"`
}

type finding struct {
	ID          string    `json:"id"`
	SessionID   string    `json:"session_id"`
	AssetID     string    `json:"asset_id"`
	ClientID    string    `json:"client_id,omitempty"`
	Title       string    `json:"title"`
	Severity    string    `json:"severity"`
	Status      string    `json:"status"`
	Category    string    `json:"category"`
	Description string    `json:"description,omitempty"`
	Remediation string    `json:"remediation,omitempty"`
	Evidence    string    `json:"evidence,omitempty"`
	CVSSVector  string    `json:"cvss_vector,omitempty"`
	References  []string  `json:"references"`
	NIS2        []string  `json:"nis2"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int       `json:"version"`
}

type createInput struct {
	DryRun bool `query:"dry_run"`
	Body   findingBody
}

type createOutput struct {
	ETag string `header:"ETag"`
	Body finding
}

// --- a list operation shaped like GET /api/v1/findings ----------------------

type listInput struct {
	httpapi.PageQuery
	Severity []string `query:"severity,explode" enum:"critical,high,medium,low,info" maxItems:"5"`
	Status   []string `query:"status,explode" maxItems:"5"`
	AssetID  string   `query:"asset_id" maxLength:"64"`
	Q        string   `query:"q" maxLength:"200"`
	Sort     string   `query:"sort" enum:"severity,created_at,updated_at" default:"created_at"`
	Order    string   `query:"order" enum:"asc,desc" default:"desc"`
}

var fixedTime = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func sampleFinding(i int, p domain.Principal) finding {
	return finding{
		ID: fmt.Sprintf("01JDBENCH%017d", i), SessionID: "01JDSESSION00000000000000", AssetID: "01JDASSET0000000000000000",
		Title: "TLS certificate expires within 14 days", Severity: "high", Status: "open", Category: "cryptography",
		Description: "The certificate presented on port 443 expires on 2026-12-05.",
		Remediation: "Renew the certificate and automate renewal.",
		References:  []string{"https://www.rfc-editor.org/rfc/rfc5280"}, NIS2: []string{"h"},
		CreatedBy: p.UserID, CreatedAt: fixedTime, UpdatedAt: fixedTime, Version: 1,
	}
}

func register(api huma.API) {
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "bench-create-finding", Method: http.MethodPost, Path: "/api/v1/bench/findings",
		DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *createInput) (*createOutput, error) {
		p := httpapi.PrincipalFrom(ctx)
		f := sampleFinding(0, p)
		b := in.Body
		f.SessionID, f.AssetID, f.Title, f.Severity = b.SessionID, b.AssetID, b.Title, b.Severity
		f.Description, f.Remediation, f.Evidence, f.CVSSVector = b.Description, b.Remediation, b.Evidence, b.CVSSVector
		if b.Category != "" {
			f.Category = b.Category
		}
		if b.References != nil {
			f.References = b.References
		}
		return &createOutput{ETag: `"v1"`, Body: f}, nil
	})
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "bench-list-findings", Method: http.MethodGet, Path: "/api/v1/bench/findings",
	}, func(ctx context.Context, in *listInput) (*httpapi.PageOutput[finding], error) {
		p := httpapi.PrincipalFrom(ctx)
		items := make([]finding, in.PerPage)
		for i := range items {
			items[i] = sampleFinding(i, p)
		}
		return &httpapi.PageOutput[finding]{Body: httpapi.Page[finding]{
			Items: items, Total: 1000, Page: in.Page, PerPage: in.PerPage, Pages: (1000 + in.PerPage - 1) / in.PerPage,
		}}, nil
	})
}

type fixture struct {
	srv   *httpapi.Server
	token string
	tok   *auth.Tokens
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	key, err := auth.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	tokens := &auth.Tokens{Keys: auth.NewStaticKeys(&key), Issuer: "rampart", Audience: "rampart-api",
		TTL: 15 * time.Minute, Clock: domain.SystemClock}
	const user, org = "01JDUSER00000000000000000", "01JDORG000000000000000000"
	token, _, err := tokens.Mint(context.Background(), user, "01JDSESS00000000000000000")
	if err != nil {
		tb.Fatal(err)
	}
	authn := &memAuth{tokens: tokens, defaultOrg: map[string]string{user: org},
		memberships: map[[2]string]domain.Membership{{org, user}: {OrgID: org, UserID: user, Role: domain.RoleAdmin, Active: true}}}
	// Request logs are formatted as in production (JSON, info) and discarded.
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv := httpapi.New(httpapi.Options{Auth: authn, Logger: log, MaxBodyBytes: 1 << 20})
	health.Register(srv.API, nil)
	register(srv.API)
	return &fixture{srv: srv, token: token, tok: tokens}
}

var createBody = func() []byte {
	b, _ := json.Marshal(findingBody{
		SessionID: "01JDSESSION00000000000000", AssetID: "01JDASSET0000000000000000",
		Title: "Missing Content-Security-Policy", Severity: "medium", Category: "web_security",
		Description: strings.Repeat("The response lacks a Content-Security-Policy header. ", 8),
		Remediation: "Send a restrictive Content-Security-Policy header on every HTML response.",
		Evidence:    "GET / HTTP/1.1 -> 200, headers: content-type, server, date",
		CVSSVector:  "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N",
		References:  []string{"https://developer.mozilla.org/docs/Web/HTTP/CSP", "https://owasp.org/www-project-secure-headers/"},
	})
	return b
}()

const listURL = "/api/v1/bench/findings?severity=high&severity=critical&status=open&per_page=25&sort=severity&order=desc"

func (f *fixture) do(method, target string, body []byte, token string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.RemoteAddr = "203.0.113.24:40000"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	return w
}

// TestFixture checks that the benchmarks measure the successful paths.
func TestFixture(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, method, target string
		body                 []byte
		token                string
		want                 int
	}{
		{"health", http.MethodGet, "/api/v1/health", nil, "", http.StatusOK},
		{"create", http.MethodPost, "/api/v1/bench/findings?dry_run=false", createBody, f.token, http.StatusCreated},
		{"list", http.MethodGet, listURL, nil, f.token, http.StatusOK},
		{"no token", http.MethodGet, listURL, nil, "", http.StatusUnauthorized},
		{"bad token", http.MethodGet, listURL, nil, f.token[:len(f.token)-4] + "AAAA", http.StatusUnauthorized},
		{"invalid body", http.MethodPost, "/api/v1/bench/findings", []byte(`{"session_id":"s","asset_id":"a","title":"t","severity":"urgent"}`), f.token, http.StatusUnprocessableEntity},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := f.do(c.method, c.target, c.body, c.token)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body)
			}
			if w.Header().Get("X-Request-ID") == "" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("middleware headers missing: %v", w.Header())
			}
		})
	}
	var page httpapi.Page[finding]
	if err := json.Unmarshal(f.do(http.MethodGet, listURL, nil, f.token).Body.Bytes(), &page); err != nil || len(page.Items) != 25 {
		t.Fatalf("list: %d items, %v", len(page.Items), err)
	}
}

func bench(b *testing.B, method, target string, body []byte, token string, want int) {
	f := newFixture(b)
	if token == "token" {
		token = f.token
	}
	if w := f.do(method, target, body, token); w.Code != want {
		b.Fatalf("status %d, want %d: %s", w.Code, want, w.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		if w := f.do(method, target, body, token); w.Code != want {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkHealth: GET /api/v1/health, public: routing, middleware, encoding.
func BenchmarkHealth(b *testing.B) {
	bench(b, http.MethodGet, "/api/v1/health", nil, "", http.StatusOK)
}

// BenchmarkCreateFinding: an authenticated POST with a 1 KB JSON body and a
// query parameter: token verification, membership (in memory), body
// decoding and validation, 201 with the entity.
func BenchmarkCreateFinding(b *testing.B) {
	bench(b, http.MethodPost, "/api/v1/bench/findings?dry_run=false", createBody, "token", http.StatusCreated)
}

// BenchmarkListFindings: an authenticated GET with repeated query filters and
// a page of 25 findings to encode (about 13 KB).
func BenchmarkListFindings(b *testing.B) {
	bench(b, http.MethodGet, listURL, nil, "token", http.StatusOK)
}

// BenchmarkUnauthenticated: the same list without a token: 401 before any
// verification.
func BenchmarkUnauthenticated(b *testing.B) {
	bench(b, http.MethodGet, listURL, nil, "", http.StatusUnauthorized)
}

// BenchmarkInvalidBody: a POST whose severity fails validation: 422 with
// field errors.
func BenchmarkInvalidBody(b *testing.B) {
	bench(b, http.MethodPost, "/api/v1/bench/findings", []byte(`{"session_id":"s","asset_id":"a","title":"t","severity":"urgent"}`), "token", http.StatusUnprocessableEntity)
}

// BenchmarkTokenVerify: auth.Tokens.Verify alone (EdDSA signature check and
// claims), the part of every authenticated request that is cryptography.
func BenchmarkTokenVerify(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.tok.Verify(ctx, f.token); err != nil {
			b.Fatal(err)
		}
	}
}
