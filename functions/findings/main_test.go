package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events"
	"rampart/shared/assets"
	"rampart/shared/clients"
	"rampart/shared/cvss"
	"rampart/shared/domain"
	"rampart/shared/findings"
	"rampart/shared/httpapi"
	"rampart/shared/platform"
	"rampart/shared/sessions"
	"rampart/shared/testenv"
)

// TestLambdaEvents serves every sample event of the findings function
// through the Lambda adapter, against DynamoDB Local, as the admin of one
// organization; another organization's finding is out of reach.
func TestLambdaEvents(t *testing.T) {
	p := testenv.Platform(t)
	srv, err := newServer(p)
	if err != nil {
		t.Fatal(err)
	}
	token, user, org := register(t, p, "owner@example.com", "Stadtwerke Nord")
	_, otherUser, otherOrg := register(t, p, "someone@elsewhere.example", "Elsewhere")
	admin := domain.Principal{OrgID: org, UserID: user, Role: domain.RoleAdmin}
	own := seed(t, p, admin, "185.199.108.153")
	outside, err := p.AssetService().Create(t.Context(), admin, assets.Input{Type: ptr("ip"), Target: ptr("185.199.109.153")})
	if err != nil {
		t.Fatal(err)
	}
	foreign := seed(t, p, domain.Principal{OrgID: otherOrg, UserID: otherUser, Role: domain.RoleAdmin}, "185.199.110.153")
	_, wantScore, err := cvss.Parse("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]lambdaCase{
		"findings/create": {status: 201, check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			if body["title"] != "TLS 1.0 still offered" || body["severity"] != "high" || body["category"] != "tls" ||
				body["nis2"] != "h" || body["status"] != "open" || body["source"] != "manual" ||
				body["session_id"] != own.session || body["asset_id"] != own.asset || body["client_id"] != own.client ||
				body["cvss_score"] != wantScore || body["cvss_version"] != "3.1" || body["created_by"] != user {
				t.Fatalf("finding %s", r.Body)
			}
			if got := header(r, "ETag"); got != `"v1"` {
				t.Errorf("ETag %q", got)
			}
		}},
		"findings/create-out-of-scope": {status: 422, check: fieldError("body.asset_id")},
		"findings/get-foreign":         {status: 404},
		"findings/list-unknown-severity": {status: 422, check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			fieldError("query.severity")(t, r, body)
			if !strings.Contains(r.Body, "urgent") {
				t.Errorf("the answer does not name the unknown value: %s", r.Body)
			}
		}},
		"findings/stats": {status: 200, check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			by, _ := body["by_severity"].(map[string]any)
			for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
				if _, ok := by[sev]; !ok {
					t.Errorf("by_severity lacks %s: %s", sev, r.Body)
				}
			}
			// Every finding of the session is high: the seeded one, and the
			// one of the create event when it ran first.
			if total, _ := body["total"].(float64); total < 1 || by["high"] != total || body["by_status"].(map[string]any)["open"] != total {
				t.Errorf("stats %s", r.Body)
			}
		}},
	}
	serveEvents(t, "findings", srv, map[string]string{"token": token, "session_id": own.session, "asset_id": own.asset,
		"other_asset_id": outside.ID, "foreign_finding_id": foreign.finding}, cases)
}

type seeded struct{ client, asset, session, finding string }

// seed creates a client, an asset of it (an IP literal: no DNS lookup), a
// session over that asset and a high finding in it, in the principal's
// organization.
func seed(t *testing.T, p *platform.Platform, admin domain.Principal, ip string) seeded {
	t.Helper()
	c, err := p.ClientRoutes().Service.Create(t.Context(), admin, clients.Input{Name: ptr("Stadtwerke Nord GmbH")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.AssetService().Create(t.Context(), admin, assets.Input{Type: ptr("ip"), Target: &ip, ClientID: &c.ID})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.SessionRoutes().Service.Create(t.Context(), admin, sessions.Input{Name: ptr("Annual review"), ClientID: &c.ID,
		AssetIDs: &[]string{a.ID}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.Findings().Create(t.Context(), admin, findings.NewFinding{SessionID: s.ID, AssetID: a.ID,
		Fields: findings.Fields{Title: ptr("Weak cipher suites"), Severity: ptr("high")}})
	if err != nil {
		t.Fatal(err)
	}
	return seeded{client: c.ID, asset: a.ID, session: s.ID, finding: f.ID}
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
