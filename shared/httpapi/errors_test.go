package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
)

// TestDomainKindStatus covers every domain.Kind: the status it maps to, the
// detail the caller sees, and the headers some kinds add.
func TestDomainKindStatus(t *testing.T) {
	want := map[domain.Kind]int{
		domain.KindInternal:        http.StatusInternalServerError,
		domain.KindMalformed:       http.StatusBadRequest,
		domain.KindUnauthenticated: http.StatusUnauthorized,
		domain.KindForbidden:       http.StatusForbidden,
		domain.KindNotFound:        http.StatusNotFound,
		domain.KindConflict:        http.StatusConflict,
		domain.KindPrecondition:    http.StatusPreconditionFailed,
		domain.KindTooLarge:        http.StatusRequestEntityTooLarge,
		domain.KindUnsupported:     http.StatusUnsupportedMediaType,
		domain.KindInvalid:         http.StatusUnprocessableEntity,
		domain.KindThrottled:       http.StatusTooManyRequests,
		domain.KindUnavailable:     http.StatusServiceUnavailable,
		domain.KindGone:            http.StatusGone,
	}
	// Every kind has a name; a kind added to domain without a status here
	// shows up as the first unnamed one.
	for k := domain.Kind(0); k.String() != ""; k++ {
		if _, ok := want[k]; !ok {
			t.Errorf("kind %d (%s) has no expected status in this test", k, k)
		}
	}
	srv := newServer(t, setup{})
	for k, status := range want {
		t.Run(k.String(), func(t *testing.T) {
			if got := httpapi.StatusOf(k); got != status {
				t.Errorf("StatusOf = %d, want %d", got, status)
			}
			r := get(t, srv, fmt.Sprintf("/api/v1/fail/%d", int(k)))
			detail, fields := r.envelope(status)
			r.securityHeaders()
			if strings.Contains(r.Body.String(), "secret") {
				t.Errorf("the cause leaks: %s", r.Body.String())
			}
			wantDetail := "failed: " + k.String()
			if k == domain.KindInternal {
				wantDetail = "internal error"
			}
			if detail != wantDetail {
				t.Errorf("detail = %q, want %q", detail, wantDetail)
			}
			if k == domain.KindInvalid {
				if got := locations(fields); !slices.Equal(got, []string{"body.email"}) {
					t.Errorf("errors = %v", fields)
				}
			} else if fields != nil {
				t.Errorf("unexpected errors: %v", fields)
			}
			if got, want := r.Header().Get("Retry-After"), map[bool]string{true: "7"}[k == domain.KindThrottled]; got != want {
				t.Errorf("Retry-After = %q, want %q", got, want)
			}
			wantAuth := ""
			if k == domain.KindUnauthenticated {
				wantAuth = `Bearer realm="rampart"`
			}
			if got := r.Header().Get("WWW-Authenticate"); got != wantAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantAuth)
			}
		})
	}
	t.Run("unclassified error", func(t *testing.T) {
		r := get(t, srv, "/api/v1/fail/-1")
		r.envelope(http.StatusInternalServerError)
		if got := strings.TrimSpace(r.Body.String()); got != `{"detail":"internal error"}` {
			t.Errorf("body = %s", got)
		}
	})
}

// TestRequestValidation covers what huma rejects before a handler runs, in the
// contract's shape: 400 for a body that is not JSON, 422 with errors[].location
// for values that do not fit the schema.
func TestRequestValidation(t *testing.T) {
	srv := newServer(t, setup{})
	cases := []struct {
		name, body string
		status     int
		locations  []string // each must be among the field errors
	}{
		{"valid", `{"name":"a","count":2,"kind":"beta"}`, http.StatusOK, nil},
		{"valid with optional field", `{"name":"a","count":2,"kind":"beta","note":"n"}`, http.StatusOK, nil},
		{"malformed JSON", `{"name":`, http.StatusBadRequest, nil},
		{"not an object", `[1,2]`, http.StatusUnprocessableEntity, []string{"body"}},
		{"trailing garbage", `{"name":"a","count":2,"kind":"beta"} x`, http.StatusBadRequest, nil},
		{"empty body", ``, http.StatusBadRequest, nil},
		{"wrong type", `{"name":"a","count":"two","kind":"beta"}`, http.StatusUnprocessableEntity, []string{"body.count"}},
		{"unknown field", `{"name":"a","count":2,"kind":"beta","admin":true}`, http.StatusUnprocessableEntity, []string{"body.admin"}},
		{"unknown enum value", `{"name":"a","count":2,"kind":"gamma"}`, http.StatusUnprocessableEntity, []string{"body.kind"}},
		{"below minimum", `{"name":"a","count":-1,"kind":"beta"}`, http.StatusUnprocessableEntity, []string{"body.count"}},
		{"too short", `{"name":"","count":1,"kind":"beta"}`, http.StatusUnprocessableEntity, []string{"body.name"}},
		{"missing required", `{"count":2,"kind":"beta"}`, http.StatusUnprocessableEntity, []string{"body.name"}},
		{"several at once", `{"name":"","count":-1,"kind":"gamma"}`, http.StatusUnprocessableEntity, []string{"body.name", "body.count", "body.kind"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, srv, http.MethodPost, "/api/v1/things", strings.NewReader(c.body))
			if c.status == http.StatusOK {
				if r.Code != http.StatusOK {
					t.Fatalf("status = %d: %s", r.Code, r.Body.String())
				}
				return
			}
			detail, fields := r.envelope(c.status)
			r.securityHeaders()
			got := locations(fields)
			for _, want := range c.locations {
				if !slices.ContainsFunc(got, func(l string) bool {
					return l == want || strings.HasPrefix(l, want+".") || strings.HasPrefix(l, want+"[")
				}) {
					t.Errorf("no field error at %s: %s", want, r.Body.String())
				}
			}
			if c.status == http.StatusUnprocessableEntity && len(fields) > 0 && !strings.Contains(detail, fields[0]["location"].(string)) {
				t.Errorf("detail %q does not name the first field", detail)
			}
		})
	}
}

func TestMalformedJSONWithoutContentType(t *testing.T) {
	srv := newServer(t, setup{})
	r := do(t, srv, http.MethodPost, "/api/v1/things", strings.NewReader(`{"name":`), "Content-Type", "")
	r.envelope(http.StatusBadRequest)
}
