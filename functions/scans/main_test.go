package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events"
	"rampart/shared/domain"
	"rampart/shared/httpapi"
	"rampart/shared/platform"
	"rampart/shared/testenv"
)

// TestLambdaEvents serves every sample event of the scans function through
// the Lambda adapter, against DynamoDB Local, as the admin of one
// organization. Scans run on the in-process bus; their only targets are
// private addresses the organizations do not allow, so the scanner's guard
// refuses them and nothing leaves the machine.
func TestLambdaEvents(t *testing.T) {
	p := testenv.Platform(t)
	p.Config.Scan.DNSServer = "127.0.0.1:9"
	p.Config.Scan.Ports = "none"
	p.Config.Scan.AllowLoopback = false
	p.Config.Scan.TargetTimeout = 2 * time.Second
	srv, err := newServer(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.LocalBus.Wait) // before the table is dropped
	token, user, org := register(t, p, "owner@example.com", "Stadtwerke Nord")
	_, otherUser, otherOrg := register(t, p, "someone@elsewhere.example", "Elsewhere")
	asset := privateAsset(t, p, org, "10.0.0.1")
	foreignAsset := privateAsset(t, p, otherOrg, "10.0.0.2")
	r, err := p.ScanRoutes()
	if err != nil {
		t.Fatal(err)
	}
	done, err := r.Scans.Create(t.Context(), domain.Principal{OrgID: org, UserID: user, Role: domain.RoleAdmin}, []string{asset}, "")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := r.Scans.Create(t.Context(), domain.Principal{OrgID: otherOrg, UserID: otherUser, Role: domain.RoleAdmin}, []string{foreignAsset}, "")
	if err != nil {
		t.Fatal(err)
	}
	p.LocalBus.Wait()

	cases := map[string]lambdaCase{
		"scans/checks": {status: 200, check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, _ map[string]any) {
			var checks []map[string]any
			if err := json.Unmarshal([]byte(r.Body), &checks); err != nil || len(checks) == 0 {
				t.Fatalf("catalogue %s (%v)", r.Body, err)
			}
			for _, c := range checks {
				if c["id"] == "" || c["id"] == nil {
					t.Errorf("check without id: %v", c)
				}
			}
		}},
		"scans/create": {status: 202, check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			progress, _ := body["progress"].(map[string]any)
			id, _ := body["id"].(string)
			if id == "" || body["status"] != "pending" || progress["total"] != 1.0 || body["created_by"] != user {
				t.Fatalf("scan %s", r.Body)
			}
			p.LocalBus.Wait()
			if s, err := p.Store().GetScan(t.Context(), org, id); err != nil || s.Status != domain.ScanCompleted || s.Score != nil {
				t.Errorf("the queued scan, run: %+v (%v)", s, err)
			}
		}},
		"scans/create-foreign-asset": {status: 422, check: fieldError("body.asset_ids[0]")},
		"scans/get": {status: 200, check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			progress, _ := body["progress"].(map[string]any)
			score, hasScore := body["score"]
			if body["id"] != done.ID || body["status"] != "completed" || !hasScore || score != nil ||
				body["score_reason"] == "" || body["score_reason"] == nil || progress["done"] != 1.0 || body["live_hosts"] != 0.0 {
				t.Fatalf("scan %s", r.Body)
			}
		}},
		"scans/get-foreign": {status: 404},
	}
	serveEvents(t, "scans", srv, map[string]string{"token": token, "asset_id": asset, "foreign_asset_id": foreignAsset,
		"scan_id": done.ID, "foreign_scan_id": foreign.ID}, cases)
}

// privateAsset writes an ip asset through the store: the API would refuse
// a private address the organization does not allow.
func privateAsset(t *testing.T, p *platform.Platform, org, ip string) string {
	t.Helper()
	now := time.Now().UTC()
	a := domain.Asset{ID: domain.NewIDAt(now), Type: "ip", Target: ip, Name: "private " + ip, Tags: []string{},
		CreatedAt: now, UpdatedAt: now}
	if err := p.Store().CreateAsset(t.Context(), org, a); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

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
