package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/httpapi"
)

func TestAuthorization(t *testing.T) {
	srv := newServer(t, setup{})
	cases := []struct {
		name, path string
		headers    []string
		status     int
		role, org  string // of the principal the handler saw
		askedOrg   string // the organization the authenticator was asked for
	}{
		{"no token", "/api/v1/private", nil, http.StatusUnauthorized, "", "", ""},
		{"empty bearer", "/api/v1/private", []string{"Authorization", "Bearer  "}, http.StatusUnauthorized, "", "", ""},
		{"basic scheme", "/api/v1/private", []string{"Authorization", "Basic dXNlcjpwYXNz"}, http.StatusUnauthorized, "", "", ""},
		{"invalid token", "/api/v1/private", []string{"Authorization", "Bearer forged"}, http.StatusUnauthorized, "", "", ""},
		{"role too low", "/api/v1/private", []string{"Authorization", "Bearer viewer-token"}, http.StatusForbidden, "", "", ""},
		{"client member is below auditor", "/api/v1/private", []string{"Authorization", "Bearer client-token"}, http.StatusForbidden, "", "", ""},
		{"auditor", "/api/v1/private", []string{"Authorization", "Bearer auditor-token"}, http.StatusOK, "auditor", "default-org", ""},
		{"reviewer is auditor", "/api/v1/private", []string{"Authorization", "Bearer reviewer-token"}, http.StatusOK, "auditor", "default-org", ""},
		{"admin", "/api/v1/private", []string{"Authorization", "Bearer admin-token"}, http.StatusOK, "admin", "default-org", ""},
		{"organization from the header", "/api/v1/private", []string{"Authorization", "Bearer admin-token", httpapi.OrgHeader, "org-7"}, http.StatusOK, "admin", "org-7", "org-7"},
		{"organization the caller is not in", "/api/v1/private", []string{"Authorization", "Bearer admin-token", httpapi.OrgHeader, "other"}, http.StatusNotFound, "", "", "other"},
		{"any token, no organization", "/api/v1/me", []string{"Authorization", "Bearer viewer-token"}, http.StatusOK, "", "", ""},
		{"any token, no token", "/api/v1/me", nil, http.StatusUnauthorized, "", "", ""},
		{"organization from the path", "/api/v1/orgs/org-9/thing", []string{"Authorization", "Bearer viewer-token", httpapi.OrgHeader, "org-7"}, http.StatusOK, "viewer", "org-9", "org-9"},
		{"path organization the caller is not in", "/api/v1/orgs/other/thing", []string{"Authorization", "Bearer viewer-token"}, http.StatusNotFound, "", "", "other"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := get(t, srv, c.path, c.headers...)
			r.securityHeaders()
			if c.status != http.StatusOK {
				r.envelope(c.status)
				wantAuth := ""
				if c.status == http.StatusUnauthorized {
					wantAuth = `Bearer realm="rampart"`
				}
				if got := r.Header().Get("WWW-Authenticate"); got != wantAuth {
					t.Errorf("WWW-Authenticate = %q, want %q", got, wantAuth)
				}
			} else {
				if r.Code != http.StatusOK {
					t.Fatalf("status = %d: %s", r.Code, r.Body.String())
				}
				m := r.json()
				if m["role"] != c.role || m["org_id"] != c.org || m["user_id"] != "user-1" {
					t.Errorf("principal = %v, want role %q org %q", m, c.role, c.org)
				}
			}
			if c.askedOrg != "" && srv.auth.last().OrgID != c.askedOrg {
				t.Errorf("authenticator asked for organization %q, want %q", srv.auth.last().OrgID, c.askedOrg)
			}
		})
	}
}

// A server built without an Authenticator (a function with only public
// routes) refuses every token on a protected route.
func TestNoAuthenticatorRefusesTokens(t *testing.T) {
	srv := newServer(t, setup{noAuth: true})
	for _, token := range []string{"", "Bearer admin-token"} {
		r := get(t, srv, "/api/v1/me", "Authorization", token)
		r.envelope(http.StatusUnauthorized)
		if r.Header().Get("WWW-Authenticate") == "" {
			t.Error("no WWW-Authenticate")
		}
	}
	if r := get(t, srv, "/api/v1/ping"); r.Code != http.StatusOK {
		t.Errorf("public route: %d", r.Code)
	}
}

// Every operation in the document declares its access rule, and protected
// ones declare the bearer scheme and their 401.
func TestAccessInDocument(t *testing.T) {
	srv := newServer(t, setup{})
	for path, item := range srv.API.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			a, ok := httpapi.AccessOf(op)
			if !ok {
				t.Errorf("%s %s has no access rule", op.Method, path)
				continue
			}
			if a.Public != (len(op.Security) == 0) {
				t.Errorf("%s %s: public=%v but security %v", op.Method, path, a.Public, op.Security)
			}
			if !a.Public && op.Responses["401"] == nil {
				t.Errorf("%s %s: protected without a documented 401", op.Method, path)
			}
		}
	}
}
