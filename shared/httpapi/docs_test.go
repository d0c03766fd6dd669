package httpapi_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"rampart/shared/httpapi"
	"rampart/shared/testenv"
)

var (
	attrURL   = regexp.MustCompile(`(?i)\b(?:src|href|spec-url)\s*=\s*"([^"]*)"`)
	scriptTag = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	absURL    = regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9]`)
	// onload=, onclick= and the like run inline code.
	inlineHandler = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
)

// csp parses a Content-Security-Policy into its directives.
func csp(t *testing.T, header string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, d := range strings.Split(header, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		if _, dup := out[f[0]]; dup {
			t.Errorf("CSP directive %s twice", f[0])
		}
		out[f[0]] = f[1:]
	}
	return out
}

func TestDocsPages(t *testing.T) {
	srv := newServer(t, setup{docs: &httpapi.DocsOptions{}})
	pages := []struct {
		path, marker string
	}{
		{"/api/v1/docs", `id="swagger-ui"`},
		{"/docs", `id="swagger-ui"`},
		{"/api/v1/redoc", `<redoc spec-url="/api/v1/openapi.json">`},
		{"/redoc", `<redoc spec-url="/api/v1/openapi.json">`},
	}
	assets := map[string]bool{}
	for _, p := range pages {
		t.Run(p.path, func(t *testing.T) {
			r := get(t, srv, p.path)
			if r.Code != http.StatusOK {
				t.Fatalf("status = %d: %s", r.Code, r.Body.String())
			}
			if ct := r.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			page := r.Body.String()
			if !strings.Contains(page, p.marker) {
				t.Errorf("page lacks %s:\n%s", p.marker, page)
			}
			// Nothing from another host: no absolute or scheme-relative URL at all.
			if m := absURL.FindString(page); m != "" {
				t.Errorf("page refers to another host (%q):\n%s", m, page)
			}
			urls := attrURL.FindAllStringSubmatch(page, -1)
			if len(urls) == 0 {
				t.Fatalf("page loads nothing:\n%s", page)
			}
			for _, u := range urls {
				switch {
				case strings.HasPrefix(u[1], "/api/v1/docs/assets/"):
					assets[u[1]] = true
				case strings.EqualFold(u[0][:8], "spec-url") && u[1] == "/api/v1/openapi.json":
				default:
					t.Errorf("page refers to %q, outside /api/v1/docs/assets/", u[1])
				}
			}
			// No inline script: every script has a src and no body.
			for _, s := range scriptTag.FindAllStringSubmatch(page, -1) {
				if !strings.Contains(s[1], "src=") || strings.TrimSpace(s[2]) != "" {
					t.Errorf("inline script: %s", s[0])
				}
			}
			if inlineHandler.MatchString(page) {
				t.Errorf("inline event handler in page")
			}
			policy := csp(t, r.Header().Get("Content-Security-Policy"))
			if got := policy["script-src"]; !slices.Equal(got, []string{"'self'"}) {
				t.Errorf("script-src = %v, want only 'self'", got)
			}
			for _, d := range []string{"default-src", "frame-ancestors", "base-uri", "form-action"} {
				if got := policy[d]; !slices.Equal(got, []string{"'none'"}) {
					t.Errorf("%s = %v, want 'none'", d, got)
				}
			}
			for d, sources := range policy {
				for _, s := range sources {
					if s == "*" || strings.Contains(s, "://") || s == "https:" || s == "http:" || s == "'unsafe-eval'" {
						t.Errorf("CSP %s allows %s", d, s)
					}
					if s == "'unsafe-inline'" && d != "style-src" {
						t.Errorf("CSP %s allows 'unsafe-inline'", d)
					}
				}
			}
			r.securityHeaders()
		})
	}

	wantAssets := []string{
		"/api/v1/docs/assets/redoc.standalone.js",
		"/api/v1/docs/assets/swagger-init.js",
		"/api/v1/docs/assets/swagger-ui-bundle.js",
		"/api/v1/docs/assets/swagger-ui-standalone-preset.js",
		"/api/v1/docs/assets/swagger-ui.css",
	}
	var got []string
	for a := range assets {
		got = append(got, a)
	}
	slices.Sort(got)
	if !slices.Equal(got, wantAssets) {
		t.Errorf("pages load %v, want %v", got, wantAssets)
	}
	for _, a := range wantAssets {
		t.Run(a, func(t *testing.T) {
			r := get(t, srv, a)
			if r.Code != http.StatusOK || r.Body.Len() == 0 {
				t.Fatalf("status %d, %d bytes", r.Code, r.Body.Len())
			}
			want := "text/javascript; charset=utf-8"
			if strings.HasSuffix(a, ".css") {
				want = "text/css; charset=utf-8"
			}
			if got := r.Header().Get("Content-Type"); got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			if got := r.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
		})
	}
	t.Run("swagger start-up", func(t *testing.T) {
		js := get(t, srv, "/api/v1/docs/assets/swagger-init.js").Body.String()
		if !strings.Contains(js, `url: "/api/v1/openapi.json"`) {
			t.Errorf("swagger-init.js does not load /api/v1/openapi.json:\n%s", js)
		}
		if absURL.MatchString(js) {
			t.Errorf("swagger-init.js refers to another host:\n%s", js)
		}
		// Swagger UI otherwise shows a badge image from validator.swagger.io.
		if !strings.Contains(js, "validatorUrl: null") {
			t.Errorf("swagger-init.js leaves the online validator on:\n%s", js)
		}
	})
	for _, name := range []string{"nope.js", "..%2fdocs.go", "docs.go", "LICENSE.redoc.txt", "VERSIONS"} {
		t.Run("no asset "+name, func(t *testing.T) {
			get(t, srv, "/api/v1/docs/assets/"+name).envelope(http.StatusNotFound)
		})
	}
}

func TestOpenAPIDocument(t *testing.T) {
	srv := newServer(t, setup{docs: &httpapi.DocsOptions{}})
	r := get(t, srv, "/api/v1/openapi.json")
	if r.Code != http.StatusOK {
		t.Fatalf("status = %d: %s", r.Code, r.Body.String())
	}
	if ct := r.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	testenv.ValidateOpenAPI(t, r.Body.Bytes())
	doc := r.json()
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/api/v1/ping", "/api/v1/things", "/api/v1/private", "/api/v1/openapi.json"} {
		if paths[p] == nil {
			t.Errorf("document lacks %s", p)
		}
	}
	// The docs pages and legacy paths are not API operations.
	for _, p := range []string{"/api/v1/docs", "/docs", "/redoc", "/api/*"} {
		if paths[p] != nil {
			t.Errorf("document lists %s", p)
		}
	}
	schemes := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	if b, _ := schemes["bearer"].(map[string]any); b["scheme"] != "bearer" || b["type"] != "http" {
		t.Errorf("bearer scheme = %v", schemes)
	}
	// No $schema links in bodies: clients compare bodies.
	if strings.Contains(get(t, srv, "/api/v1/ping").Body.String(), "$schema") {
		t.Error("response body has $schema")
	}
}

func TestOpenAPIRequireAuth(t *testing.T) {
	srv := newServer(t, setup{docs: &httpapi.DocsOptions{RequireAuth: true}})
	r := get(t, srv, "/api/v1/openapi.json")
	r.envelope(http.StatusUnauthorized)
	if r.Header().Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate")
	}
	get(t, srv, "/api/v1/openapi.json", "Authorization", "Bearer forged").envelope(http.StatusUnauthorized)
	r = get(t, srv, "/api/v1/openapi.json", "Authorization", "Bearer viewer-token")
	if r.Code != http.StatusOK {
		t.Fatalf("with a token: %d %s", r.Code, r.Body.String())
	}
	testenv.ValidateOpenAPI(t, r.Body.Bytes())
	// The pages stay public: they load the document with the browser's token.
	if r := get(t, srv, "/api/v1/docs"); r.Code != http.StatusOK {
		t.Errorf("docs page: %d", r.Code)
	}
	// The document says the route needs the token.
	op := srv.API.OpenAPI().Paths["/api/v1/openapi.json"].Get
	if len(op.Security) == 0 {
		t.Error("openapi.json is documented as public")
	}
}

func TestOpenAPISpecError(t *testing.T) {
	srv := newServer(t, setup{docs: &httpapi.DocsOptions{Spec: func() ([]byte, error) {
		return nil, errFake
	}}})
	r := get(t, srv, "/api/v1/openapi.json")
	r.envelope(http.StatusInternalServerError)
	if strings.Contains(r.Body.String(), errFake.Error()) {
		t.Errorf("cause leaks: %s", r.Body.String())
	}
}

var errFake = fakeErr("secret spec failure")

type fakeErr string

func (e fakeErr) Error() string { return string(e) }
