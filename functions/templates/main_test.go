package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events"
	"rampart/shared/cvss"
	"rampart/shared/domain"
	"rampart/shared/httpapi"
	"rampart/shared/platform"
	"rampart/shared/templates"
	"rampart/shared/testenv"
)

// TestLambdaEvents serves every sample event of the templates function
// through the Lambda adapter, against DynamoDB Local, as the admin of an
// organization seeded with the built-in templates; another organization's
// template is out of reach.
func TestLambdaEvents(t *testing.T) {
	p := testenv.Platform(t)
	srv, err := newServer(p)
	if err != nil {
		t.Fatal(err)
	}
	token, _, org := register(t, p, "owner@example.com", "Stadtwerke Nord")
	_, _, otherOrg := register(t, p, "someone@elsewhere.example", "Elsewhere")
	svc := p.TemplateService()
	own, err := svc.Create(t.Context(), org, templates.Fields{Title: ptr("Outdated OpenSSH"), Severity: ptr("high")})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := svc.List(t.Context(), otherOrg, templates.Filter{}, domain.PageRequest{Page: 1, PerPage: 1})
	if err != nil || len(theirs.Items) != 1 {
		t.Fatalf("built-in templates of the other organization: %v (%v)", theirs.Items, err)
	}
	_, wantScore, err := cvss.Parse("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]lambdaCase{
		"templates/create": {status: 201, check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			id, _ := body["id"].(string)
			if id == "" || body["title"] != "Missing Strict-Transport-Security header" || body["severity"] != "medium" ||
				body["category"] != "http_headers" || body["built_in"] != false || body["cvss_version"] != "3.1" || body["cvss_score"] != wantScore {
				t.Fatalf("template %s", r.Body)
			}
			if header(r, "Location") != "/api/v1/templates/"+id || header(r, "ETag") != `"v1"` {
				t.Errorf("Location %q, ETag %q", header(r, "Location"), header(r, "ETag"))
			}
		}},
		"templates/get-foreign": {status: 404},
		"templates/list": {status: 200, check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			items, _ := body["items"].([]any)
			builtIn := false
			for _, it := range items {
				tpl := it.(map[string]any)
				if tpl["severity"] != "high" {
					t.Errorf("template of another severity listed: %v", tpl)
				}
				builtIn = builtIn || tpl["built_in"] == true
			}
			if len(items) < 2 || !builtIn || body["total"] != float64(len(items)) {
				t.Fatalf("page %s, want the high built-in templates and %s", r.Body, own.ID)
			}
		}},
		"templates/update-stale": {status: 412, check: func(t *testing.T, _ awsevents.APIGatewayV2HTTPResponse, _ map[string]any) {
			if got, err := svc.Get(t.Context(), org, own.ID); err != nil || got.Severity != "high" || got.Version != 1 {
				t.Errorf("template after a stale change: %+v (%v)", got, err)
			}
		}},
	}
	serveEvents(t, "templates", srv, map[string]string{"token": token, "template_id": own.ID,
		"foreign_template_id": theirs.Items[0].ID}, cases)
}

func ptr[T any](v T) *T { return &v }

// lambdaCase is how the function must answer one sample event.
type lambdaCase struct {
	status int
	check  func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any)
}

// serveEvents feeds every sample event of the function, its placeholders
// filled from vars, through the adapter Lambda uses, in file name order. An
// event file without a case, or a case without an event file, fails the test.
// Every answer carries the security headers; every error answer is the
// envelope {"detail": ...}.
func serveEvents(t *testing.T, function string, srv http.Handler, vars map[string]string, cases map[string]lambdaCase) {
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
			if res.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.status, res.Body)
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
				if got := header(res, k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			var body map[string]any
			if res.StatusCode != http.StatusNoContent {
				if ct := header(res, "Content-Type"); !strings.HasPrefix(ct, "application/json") || res.IsBase64Encoded {
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
			if c.check != nil {
				c.check(t, res, body)
			}
		})
	}
}

// header finds a response header whatever its case.
func header(r awsevents.APIGatewayV2HTTPResponse, name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// fieldError checks that a 4xx envelope names the field at fault.
func fieldError(location string) func(*testing.T, awsevents.APIGatewayV2HTTPResponse, map[string]any) {
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

// detailHas checks that the envelope's detail mentions a text.
func detailHas(text string) func(*testing.T, awsevents.APIGatewayV2HTTPResponse, map[string]any) {
	return func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
		t.Helper()
		if d, _ := body["detail"].(string); !strings.Contains(strings.ToLower(d), strings.ToLower(text)) {
			t.Errorf("detail does not mention %q: %s", text, r.Body)
		}
	}
}

// unauthenticated checks the challenge of an answer without a token.
func unauthenticated(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, _ map[string]any) {
	t.Helper()
	if got := header(r, "WWW-Authenticate"); got != `Bearer realm="rampart"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
}

const password = "correct horse battery staple"

// register signs up a user with an organization of their own (seeded with
// the built-in taxonomy and templates) and returns an access token, the
// user's id and the organization's id.
func register(t *testing.T, p *platform.Platform, email, orgName string) (token, userID, orgID string) {
	t.Helper()
	id, err := p.Identity(true)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := id.Register(t.Context(), email, password, "Owner of "+orgName, orgName)
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.Store().GetUser(t.Context(), sess.UserID)
	if err != nil {
		t.Fatal(err)
	}
	return sess.AccessToken, sess.UserID, u.DefaultOrgID
}
