package blackbox

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Route coverage: every request Do sends is matched against the route
// templates of the committed OpenAPI document (openapi.generated.json at the
// repository root, which a unit test keeps equal to the live one). When the
// whole suite ran (no -run, -skip or -short), TestMain fails unless every
// documented method + template got at least one success (2xx/3xx) and one
// failure (4xx with the error envelope, asserted where it is sent).

// coverageExempt lists routes that cannot succeed against a stack without
// outside parties: the OIDC routes need a configured identity provider (the
// local server has none; their failure answers are still required).
var coverageExempt = map[string]bool{
	"GET /api/v1/auth/oidc/login":    true,
	"GET /api/v1/auth/oidc/callback": true,
}

type routeTemplate struct {
	method, path string
	re           *regexp.Regexp
	literals     int
}

type coverageSeen struct{ success, failure bool }

var coverage = struct {
	sync.Mutex
	routes []routeTemplate
	seen   map[string]*coverageSeen // "METHOD template"
	// paths405 holds templates that answered 405: the failure case of a
	// route whose only documented answer is success (health, document).
	paths405  map[string]bool
	unmatched map[string]int
	loadErr   error
}{seen: map[string]*coverageSeen{}, paths405: map[string]bool{}, unmatched: map[string]int{}}

func init() {
	coverage.routes, coverage.loadErr = loadRoutes("../../openapi.generated.json")
	Record = recordRoute
}

func loadRoutes(file string) ([]routeTemplate, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	param := regexp.MustCompile(`\{[^/}]+\}`)
	var out []routeTemplate
	for path, ops := range doc.Paths {
		// Parameters become one segment; the rest matches literally.
		expr := strings.ReplaceAll(regexp.QuoteMeta(param.ReplaceAllString(path, "\x00")), "\x00", "[^/]+")
		re := regexp.MustCompile("^" + expr + "$")
		lit := 0
		for _, seg := range strings.Split(path, "/") {
			if !strings.HasPrefix(seg, "{") {
				lit++
			}
		}
		for m := range ops {
			switch m {
			case "get", "post", "put", "patch", "delete", "head", "options":
				out = append(out, routeTemplate{method: strings.ToUpper(m), path: path, re: re, literals: lit})
			}
		}
	}
	return out, nil
}

// match returns the template of method + path ("" when none), preferring the
// template with the most literal segments (/findings/stats over
// /findings/{id}); pathTmpl is a template the path matches under any method.
func match(method, path string) (tmpl string, pathTmpl string) {
	best := -1
	for _, r := range coverage.routes {
		if !r.re.MatchString(path) {
			continue
		}
		if pathTmpl == "" {
			pathTmpl = r.path
		}
		if r.method == method && r.literals > best {
			best, tmpl = r.literals, r.path
		}
	}
	return tmpl, pathTmpl
}

func recordRoute(method, path string, status int) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	coverage.Lock()
	defer coverage.Unlock()
	tmpl, pathTmpl := match(method, path)
	if tmpl == "" {
		if status == http.StatusMethodNotAllowed && pathTmpl != "" {
			coverage.paths405[pathTmpl] = true
		} else {
			coverage.unmatched[method+" "+path]++
		}
		return
	}
	s := coverage.seen[method+" "+tmpl]
	if s == nil {
		s = &coverageSeen{}
		coverage.seen[method+" "+tmpl] = s
	}
	switch {
	case status >= 200 && status < 400:
		s.success = true
	case status >= 400 && status < 500:
		s.failure = true
	}
}

// missingCoverage names every documented route without a success or a
// failure answer in this run.
func missingCoverage() []string {
	coverage.Lock()
	defer coverage.Unlock()
	if coverage.loadErr != nil {
		return []string{"route list: " + coverage.loadErr.Error()}
	}
	var out []string
	for _, r := range coverage.routes {
		key := r.method + " " + r.path
		s := coverage.seen[key]
		if s == nil {
			s = &coverageSeen{}
		}
		if !s.success && !coverageExempt[key] {
			out = append(out, key+": no success")
		}
		if !s.failure && !coverage.paths405[r.path] {
			out = append(out, key+": no failure")
		}
	}
	sort.Strings(out)
	return out
}

// checkCoverage runs after the tests: when they all passed and the whole
// suite ran, a documented route left unexercised fails the run.
func checkCoverage(code int) int {
	if code != 0 {
		return code
	}
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return code
		}
	}
	if f := flag.Lookup("test.short"); f != nil && f.Value.String() == "true" {
		return code
	}
	missing := missingCoverage()
	if len(missing) == 0 {
		fmt.Fprintf(os.Stderr, "blackbox: every documented route (%d) answered with a success and a failure\n", len(coverage.routes))
		return code
	}
	fmt.Fprintf(os.Stderr, "blackbox: FAIL: %d route answers not exercised by the suite:\n  %s\n",
		len(missing), strings.Join(missing, "\n  "))
	return 1
}

// TestRouteMatching: a concrete path is credited to the most literal template
// of its method, never to a parameterised sibling.
func TestRouteMatching(t *testing.T) {
	if coverage.loadErr != nil {
		t.Fatal(coverage.loadErr)
	}
	cases := []struct{ method, path, want string }{
		{"GET", "/api/v1/findings/stats", "/api/v1/findings/stats"},
		{"GET", "/api/v1/findings/01ABC", "/api/v1/findings/{id}"},
		{"PATCH", "/api/v1/users/me", "/api/v1/users/me"},
		{"PATCH", "/api/v1/users/01ABC", "/api/v1/users/{user_id}"},
		{"GET", "/api/v1/scans/checks", "/api/v1/scans/checks"},
		{"GET", "/api/v1/scans/a/compare/b", "/api/v1/scans/{scan_id}/compare/{other_id}"},
		{"POST", "/api/v1/assets/import", "/api/v1/assets/import"},
		{"GET", "/api/v1/assets/import", "/api/v1/assets/{asset_id}"},
		{"GET", "/api/v1/nope", ""},
		{"GET", "/api/v1/findings/a/b/c", ""},
	}
	for _, tc := range cases {
		if got, _ := match(tc.method, tc.path); got != tc.want {
			t.Errorf("%s %s → %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
