package routes_test

// Test support of the taxonomy and template route tests: a server with both
// groups (as functions/local registers them) on a table of its own, and
// organizations whose members are written to the store directly, with
// access tokens minted by the platform's key (no password hashing, so the
// tests stay fast). Names start with "cat" to keep clear of other groups'
// test helpers in this package.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
	"rampart/shared/platform"
	"rampart/shared/testenv"
)

type catEnv struct {
	t   *testing.T
	p   *platform.Platform
	srv *httpapi.Server
}

// catOrg is an organization seeded as OrgCreated seeds it, with one member of
// each role; the values are access tokens.
type catOrg struct {
	ID                             string
	AdminID                        string
	Admin, Auditor, Viewer, Client string
}

func newCatEnv(t *testing.T) *catEnv {
	t.Helper()
	p := testenv.Platform(t)
	p.Config.Auth.KeyFile = filepath.Join(t.TempDir(), "jwt-signing-key.pem")
	srv, err := p.Server()
	if err != nil {
		t.Fatal(err)
	}
	p.TaxonomyRoutes().Register(srv.API)
	p.TemplateRoutes().Register(srv.API)
	return &catEnv{t: t, p: p, srv: srv}
}

func catCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// org creates an organization with an admin, an auditor, a viewer and a
// client member, and seeds it through the platform's OrgCreated.
func (e *catEnv) org(name string) catOrg {
	e.t.Helper()
	ctx := catCtx(e.t)
	st := e.p.Store()
	now := time.Now().UTC().Truncate(time.Millisecond)
	org := domain.Organization{ID: domain.NewIDAt(now), Name: name, CreatedAt: now, UpdatedAt: now}
	svc, err := e.p.Identity(true)
	if err != nil {
		e.t.Fatal(err)
	}
	out := catOrg{ID: org.ID}
	for i, role := range []domain.Role{domain.RoleAdmin, domain.RoleAuditor, domain.RoleViewer, domain.RoleClient} {
		u := domain.User{ID: domain.NewID(), Email: string(role) + "-" + domain.NewID() + "@example.com", Name: string(role),
			PasswordHash: "$argon2id$unused", DefaultOrgID: org.ID, CreatedAt: now, UpdatedAt: now}
		m := domain.Membership{OrgID: org.ID, UserID: u.ID, Role: role, Active: true, CreatedAt: now, UpdatedAt: now}
		if role == domain.RoleClient {
			m.ClientID = domain.NewID()
		}
		var o *domain.Organization
		if i == 0 {
			o = &org
		}
		if err := st.CreateUser(ctx, u, o, m); err != nil {
			e.t.Fatalf("create %s: %v", role, err)
		}
		tok, _, err := svc.Tokens.Mint(ctx, u.ID, domain.NewID())
		if err != nil {
			e.t.Fatal(err)
		}
		switch role {
		case domain.RoleAdmin:
			out.Admin, out.AdminID = tok, u.ID
		case domain.RoleAuditor:
			out.Auditor = tok
		case domain.RoleViewer:
			out.Viewer = tok
		case domain.RoleClient:
			out.Client = tok
		}
	}
	if err := e.p.OrgCreated(ctx, org.ID); err != nil {
		e.t.Fatalf("seed %s: %v", name, err)
	}
	return out
}

// catResp is an answer of the API.
type catResp struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r *catResp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

type catErrBody struct {
	Detail string              `json:"detail"`
	Errors []domain.FieldError `json:"errors"`
}

// call serves one request as the holder of token (no token when ""). body
// is nil, a string (sent as is) or a value encoded as JSON. headers are
// name, value pairs.
func (e *catEnv) call(token, method, path string, body any, headers ...string) *catResp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return &catResp{Code: res.StatusCode, Header: res.Header, Body: b}
}

// expect fails the test unless r has the status.
func (e *catEnv) expect(r *catResp, code int, what string) {
	e.t.Helper()
	if r.Code != code {
		e.t.Fatalf("%s: status %d, want %d: %s", what, r.Code, code, r.Body)
	}
}

// expectInvalid fails the test unless r is a 422 naming location.
func (e *catEnv) expectInvalid(r *catResp, location, what string) {
	e.t.Helper()
	e.expect(r, http.StatusUnprocessableEntity, what)
	var body catErrBody
	r.decode(e.t, &body)
	if body.Detail == "" || !slices.ContainsFunc(body.Errors, func(f domain.FieldError) bool { return f.Location == location }) {
		e.t.Fatalf("%s: no error at %s: %s", what, location, r.Body)
	}
}
