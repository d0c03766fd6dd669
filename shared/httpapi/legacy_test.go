package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"rampart/shared/httpapi"
)

func TestLegacyPaths(t *testing.T) {
	sunset := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	const sunsetHeader = "Mon, 01 Jun 2026 00:00:00 GMT"
	at := func(ts time.Time) func() time.Time { return func() time.Time { return ts } }
	before := newServer(t, setup{legacy: &sunset, opts: httpapi.Options{Clock: at(sunset.Add(-time.Second))}})
	atSunset := newServer(t, setup{legacy: &sunset, opts: httpapi.Options{Clock: at(sunset)}})
	after := newServer(t, setup{legacy: &sunset, opts: httpapi.Options{Clock: at(sunset.AddDate(1, 0, 0))}})
	staged := newServer(t, setup{legacy: &sunset, opts: httpapi.Options{Stage: "prod", Clock: at(sunset.Add(-time.Hour))}})
	stagedAfter := newServer(t, setup{legacy: &sunset, opts: httpapi.Options{Stage: "prod", Clock: at(sunset.Add(time.Hour))}})

	redirects := []struct {
		name       string
		srv        http.Handler
		method     string
		path, want string
	}{
		{"plain", before, http.MethodGet, "/api/things", "/api/v1/things"},
		{"query kept", before, http.MethodGet, "/api/things?page=2&q=a%20b", "/api/v1/things?page=2&q=a%20b"},
		{"nested", before, http.MethodGet, "/api/findings/01J/history", "/api/v1/findings/01J/history"},
		{"escapes kept", before, http.MethodGet, "/api/a%20b/c%0D%0Ad", "/api/v1/a%20b/c%0D%0Ad"},
		{"post keeps its method (308)", before, http.MethodPost, "/api/things", "/api/v1/things"},
		{"unknown successor still redirects", before, http.MethodGet, "/api/nothing-here", "/api/v1/nothing-here"},
		{"stage prefix kept", staged, http.MethodGet, "/prod/api/things?x=1", "/prod/api/v1/things?x=1"},
	}
	for _, c := range redirects {
		t.Run("before sunset/"+c.name, func(t *testing.T) {
			r := do(t, c.srv, c.method, c.path, nil)
			if r.Code != http.StatusPermanentRedirect {
				t.Fatalf("status = %d, want 308: %s", r.Code, r.Body.String())
			}
			if got := r.Header().Get("Location"); got != c.want {
				t.Errorf("Location = %q, want %q", got, c.want)
			}
			if got := r.Header().Get("Deprecation"); got != "true" {
				t.Errorf("Deprecation = %q", got)
			}
			if got := r.Header().Get("Sunset"); got != sunsetHeader {
				t.Errorf("Sunset = %q, want %q", got, sunsetHeader)
			}
			if _, err := http.ParseTime(r.Header().Get("Sunset")); err != nil {
				t.Errorf("Sunset is not an HTTP-date: %v", err)
			}
			if r.Header().Get("Link") != "" {
				t.Errorf("Link before sunset: %q", r.Header().Get("Link"))
			}
			r.securityHeaders()
		})
	}

	gone := []struct {
		name       string
		srv        http.Handler
		path, want string
	}{
		{"at the sunset instant", atSunset, "/api/things", "/api/v1/things"},
		{"after", after, "/api/things?page=2", "/api/v1/things?page=2"},
		{"after, nested", after, "/api/findings/01J/history", "/api/v1/findings/01J/history"},
		{"after, staged", stagedAfter, "/prod/api/things", "/prod/api/v1/things"},
	}
	for _, c := range gone {
		t.Run("gone/"+c.name, func(t *testing.T) {
			r := get(t, c.srv, c.path)
			detail, _ := r.envelope(http.StatusGone)
			if !strings.Contains(detail, c.want) {
				t.Errorf("detail %q does not name %s", detail, c.want)
			}
			if got, want := r.Header().Get("Link"), "<"+c.want+`>; rel="successor-version"`; got != want {
				t.Errorf("Link = %q, want %q", got, want)
			}
			for _, h := range []string{"Location", "Deprecation", "Sunset"} {
				if r.Header().Get(h) != "" {
					t.Errorf("%s after sunset: %q", h, r.Header().Get(h))
				}
			}
			r.securityHeaders()
		})
	}

	for name, srv := range map[string]http.Handler{"before": before, "after": after} {
		t.Run(name+"/versioned paths are not legacy", func(t *testing.T) {
			get(t, srv, "/api/v1/unknown").envelope(http.StatusNotFound)
			get(t, srv, "/api/v1").envelope(http.StatusNotFound)
			do(t, srv, http.MethodPatch, "/api/v1/ping", nil).envelope(http.StatusMethodNotAllowed)
			if r := get(t, srv, "/api/v1/ping"); r.Code != http.StatusOK {
				t.Errorf("/api/v1/ping: %d", r.Code)
			}
		})
	}
}
