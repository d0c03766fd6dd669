package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// RegisterLegacy answers unversioned /api/... paths: until sunset a 308 to the
// /api/v1/ successor with Deprecation and Sunset headers, after it 410 Gone
// naming the successor. Unknown /api/v1/ paths also land here (chi's catch-all)
// and get the envelope's 404 or 405.
func (s *Server) RegisterLegacy(sunset time.Time) {
	sunsetHeader := sunset.UTC().Format(http.TimeFormat)
	s.Router.HandleFunc(legacyPattern, func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, "/api/")
		if rest == "v1" || strings.HasPrefix(rest, "v1/") {
			s.unmatched(w, r)
			return
		}
		// The escaped form keeps the Location a valid URI reference ("%20",
		// never a raw space or line break).
		successor := "/api/v1/" + strings.TrimPrefix(r.URL.EscapedPath(), "/api/")
		if s.opts.Stage != "" {
			successor = "/" + s.opts.Stage + successor
		}
		if r.URL.RawQuery != "" {
			successor += "?" + r.URL.RawQuery
		}
		if s.opts.Clock().Before(sunset) {
			w.Header().Set("Location", successor)
			w.Header().Set("Deprecation", "true")
			w.Header().Set("Sunset", sunsetHeader)
			writeJSON(w, http.StatusPermanentRedirect, map[string]string{
				"detail": "moved to " + successor + " (unversioned paths are deprecated)",
			})
			return
		}
		w.Header().Set("Link", "<"+successor+`>; rel="successor-version"`)
		WriteError(w, &ErrorBody{status: http.StatusGone,
			Detail: "unversioned /api/ paths were retired on " + sunsetHeader + "; use " + successor})
	})
}

// legacyPattern is the catch-all of unversioned paths; it matches every
// method, so it never counts as a route that exists.
const legacyPattern = "/api/*"

var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// unmatched tells a path no route has (404) from a route that exists with
// other methods (405, with Allow), which chi's catch-all hides.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range probeMethods {
		if m == r.Method {
			continue
		}
		if p := s.Router.Find(chi.NewRouteContext(), m, r.URL.Path); p != "" && p != legacyPattern {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		WriteError(w, &ErrorBody{status: http.StatusMethodNotAllowed, Detail: "method not allowed on this route"})
		return
	}
	WriteError(w, &ErrorBody{status: http.StatusNotFound, Detail: "no such route"})
}
