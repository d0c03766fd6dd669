// Package httpapi is the HTTP layer every function shares: routing, the error
// envelope, authorization, pagination, request limits, logs, the OpenAPI
// document and its documentation pages, and legacy paths.
package httpapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"

	"rampart/shared/domain"
)

// Options configure a Server.
type Options struct {
	// Auth establishes the principal of protected routes. Nil means every
	// protected route answers 401, which is what a function with only public
	// routes wants.
	Auth Authenticator
	// MaxBodyBytes caps every request body; routes may lower it.
	MaxBodyBytes int64
	// Stage is the API Gateway stage prefix stripped from paths ("" for none).
	Stage  string
	Logger *slog.Logger
	Clock  domain.Clock
}

// Server is one function's HTTP API: a chi router with huma operations on it.
type Server struct {
	Router chi.Router
	API    huma.API
	opts   Options
}

// Version of the API document.
const Version = "1.0.0"

// New builds the router, the huma API and the middleware chain.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = domain.SystemClock
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	r := chi.NewRouter()
	s := &Server{Router: r, opts: opts}
	r.Use(s.stripStage, s.requestID, s.logRequests, s.recoverPanics, securityHeaders, s.limitBody)
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		WriteError(w, &ErrorBody{status: http.StatusNotFound, Detail: "no such route"})
	})
	// unmatched answers 405 with the Allow header that chi's own handler sets.
	r.MethodNotAllowed(s.unmatched)

	cfg := huma.DefaultConfig("Rampart API", Version)
	cfg.Info.Description = "Security assessment and NIS2 compliance platform. " +
		"Errors are `{\"detail\": ...}` with optional `errors` naming invalid fields."
	cfg.OpenAPIPath, cfg.DocsPath, cfg.SchemasPath = "", "", ""
	cfg.CreateHooks = nil // no $schema links in responses: clients compare bodies
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		bearerScheme: {Type: "http", Scheme: "bearer", BearerFormat: "JWT"},
	}
	// The OAuth2 password form posts form-encoded bodies; huma needs a format
	// to read them for validation (the handler parses them itself).
	cfg.Formats["application/x-www-form-urlencoded"] = formFormat
	cfg.Formats["x-www-form-urlencoded"] = formFormat
	s.API = humachi.New(r, cfg)
	s.API.UseMiddleware(s.authorize)
	return s
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.Router.ServeHTTP(w, r) }

type ctxKey int

const (
	requestIDKey ctxKey = iota
	principalKey
	clientAddrKey
)

// ClientAddr is the caller's IP address: the TCP peer locally, API Gateway's
// sourceIp in Lambda (the adapter puts it in RemoteAddr). Forwarded headers
// are not trusted: a caller could set them to dodge login throttling.
func ClientAddr(ctx context.Context) string { s, _ := ctx.Value(clientAddrKey).(string); return s }

func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// RequestID returns the id of the request being served.
func RequestID(ctx context.Context) string { s, _ := ctx.Value(requestIDKey).(string); return s }

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !validRequestID.MatchString(id) {
			id = domain.NewID()
		}
		w.Header().Set("X-Request-ID", id)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, clientAddrKey, clientAddr(r))))
	})
}

// stripStage removes a named API Gateway stage from the path, so routes are
// written once whatever stage they are deployed under.
func (s *Server) stripStage(next http.Handler) http.Handler {
	if s.opts.Stage == "" {
		return next
	}
	prefix := "/" + s.opts.Stage
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := strings.CutPrefix(r.URL.Path, prefix); ok && (p == "" || p[0] == '/') {
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + strings.TrimPrefix(p, "/")
			r2.URL.RawPath = ""
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		s.opts.Logger.LogAttrs(r.Context(), level, "request",
			slog.String("request_id", RequestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", rec.status),
			slog.Int("bytes", rec.bytes),
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
		)
	})
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.opts.Logger.Error("panic", "request_id", RequestID(r.Context()),
					"panic", v, "stack", string(debug.Stack()))
				WriteError(w, &ErrorBody{status: http.StatusInternalServerError, Detail: "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders go on every answer; the docs pages replace the CSP with one
// that lets their own scripts run.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// limitBody caps what any route may read, before huma's per-operation limit:
// a body over the cap is refused by its declared length at once, and an
// undeclared one is cut off while reading.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.opts.MaxBodyBytes {
			WriteError(w, &ErrorBody{status: http.StatusRequestEntityTooLarge, Detail: "request body too large"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}
