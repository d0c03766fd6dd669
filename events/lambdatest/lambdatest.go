// Package lambdatest drives a function's HTTP handler with the sample events
// of events/http through the adapter Lambda uses, for the functions' tests.
package lambdatest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events"
	"rampart/shared/httpapi"
	"rampart/shared/platform"
)

// Case is how the function must answer one sample event.
type Case struct {
	Status int
	Check  func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any)
}

// Serve feeds every sample event of the function, its placeholders filled
// from vars, through the adapter Lambda uses, in file name order. An event
// file without a case, or a case without an event file, fails the test.
// Every answer carries the security headers; every error answer is the
// envelope {"detail": ...}.
func Serve(t *testing.T, function string, srv http.Handler, vars map[string]string, cases map[string]Case) {
	t.Helper()
	names := events.HTTPNames(t, function)
	for name := range cases {
		if !slices.Contains(names, name) {
			t.Errorf("case %s has no event file events/http/%s.json", name, name)
		}
	}
	handle := httpapi.LambdaHandler(srv)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			c, ok := cases[name]
			if !ok {
				t.Fatalf("events/http/%s.json has no case in this test", name)
			}
			res, err := handle(t.Context(), events.HTTPWith(t, name, vars))
			if err != nil {
				t.Fatalf("adapter: %v", err)
			}
			if res.StatusCode != c.Status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.Status, res.Body)
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
				if got := Header(res, k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			var body map[string]any
			if res.StatusCode != http.StatusNoContent {
				if ct := Header(res, "Content-Type"); !strings.HasPrefix(ct, "application/json") || res.IsBase64Encoded {
					t.Fatalf("Content-Type %q (base64 %v), want JSON", ct, res.IsBase64Encoded)
				}
				var v any
				if err := json.Unmarshal([]byte(res.Body), &v); err != nil {
					t.Fatalf("body is not JSON: %v: %q", err, res.Body)
				}
				body, _ = v.(map[string]any)
			}
			if res.StatusCode >= 400 {
				if d, _ := body["detail"].(string); d == "" {
					t.Fatalf("error answer without the envelope: %s", res.Body)
				}
			}
			if c.Check != nil {
				c.Check(t, res, body)
			}
		})
	}
}

// Header finds a response header whatever its case.
func Header(r awsevents.APIGatewayV2HTTPResponse, name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// FieldError checks that a 4xx envelope names the field at fault.
func FieldError(location string) func(*testing.T, awsevents.APIGatewayV2HTTPResponse, map[string]any) {
	return func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
		t.Helper()
		errs, _ := body["errors"].([]any)
		for _, e := range errs {
			if m, _ := e.(map[string]any); m["location"] == location {
				return
			}
		}
		t.Errorf("errors do not name %s: %s", location, r.Body)
	}
}

// DetailHas checks that the envelope's detail mentions a text.
func DetailHas(text string) func(*testing.T, awsevents.APIGatewayV2HTTPResponse, map[string]any) {
	return func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
		t.Helper()
		if d, _ := body["detail"].(string); !strings.Contains(strings.ToLower(d), strings.ToLower(text)) {
			t.Errorf("detail does not mention %q: %s", text, r.Body)
		}
	}
}

// Unauthenticated checks the challenge of an answer without a token.
func Unauthenticated(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, _ map[string]any) {
	t.Helper()
	if got := Header(r, "WWW-Authenticate"); got != `Bearer realm="rampart"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
}

// Password is the password of the accounts Register makes.
const Password = "correct horse battery staple"

// Register signs up a user with an organization of their own (seeded with
// the built-in taxonomy and templates) and returns an access token, the
// user's id and the organization's id.
func Register(t *testing.T, p *platform.Platform, email, orgName string) (token, userID, orgID string) {
	t.Helper()
	id, err := p.Identity(true)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := id.Register(t.Context(), email, Password, "Owner of "+orgName, orgName)
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.Store().GetUser(t.Context(), sess.UserID)
	if err != nil {
		t.Fatal(err)
	}
	return sess.AccessToken, sess.UserID, u.DefaultOrgID
}

// Ptr returns a pointer to v (optional fields of service inputs).
func Ptr[T any](v T) *T { return &v }
