package main

import (
	"strings"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events/lambdatest"
	"rampart/shared/assets"
	"rampart/shared/clients"
	"rampart/shared/cvss"
	"rampart/shared/domain"
	"rampart/shared/findings"
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
	token, user, org := lambdatest.Register(t, p, "owner@example.com", "Stadtwerke Nord")
	_, otherUser, otherOrg := lambdatest.Register(t, p, "someone@elsewhere.example", "Elsewhere")
	admin := domain.Principal{OrgID: org, UserID: user, Role: domain.RoleAdmin}
	own := seed(t, p, admin, "185.199.108.153")
	outside, err := p.AssetService().Create(t.Context(), admin, assets.Input{Type: lambdatest.Ptr("ip"), Target: lambdatest.Ptr("185.199.109.153")})
	if err != nil {
		t.Fatal(err)
	}
	foreign := seed(t, p, domain.Principal{OrgID: otherOrg, UserID: otherUser, Role: domain.RoleAdmin}, "185.199.110.153")
	_, wantScore, err := cvss.Parse("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]lambdatest.Case{
		"findings/create": {Status: 201, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			if body["title"] != "TLS 1.0 still offered" || body["severity"] != "high" || body["category"] != "tls" ||
				body["nis2"] != "h" || body["status"] != "open" || body["source"] != "manual" ||
				body["session_id"] != own.session || body["asset_id"] != own.asset || body["client_id"] != own.client ||
				body["cvss_score"] != wantScore || body["cvss_version"] != "3.1" || body["created_by"] != user {
				t.Fatalf("finding %s", r.Body)
			}
			if got := lambdatest.Header(r, "ETag"); got != `"v1"` {
				t.Errorf("ETag %q", got)
			}
		}},
		"findings/create-out-of-scope": {Status: 422, Check: lambdatest.FieldError("body.asset_id")},
		"findings/get-foreign":         {Status: 404},
		"findings/list-unknown-severity": {Status: 422, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			lambdatest.FieldError("query.severity")(t, r, body)
			if !strings.Contains(r.Body, "urgent") {
				t.Errorf("the answer does not name the unknown value: %s", r.Body)
			}
		}},
		"findings/stats": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
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
	lambdatest.Serve(t, "findings", srv, map[string]string{"token": token, "session_id": own.session, "asset_id": own.asset,
		"other_asset_id": outside.ID, "foreign_finding_id": foreign.finding}, cases)
}

type seeded struct{ client, asset, session, finding string }

// seed creates a client, an asset of it (an IP literal: no DNS lookup), a
// session over that asset and a high finding in it, in the principal's
// organization.
func seed(t *testing.T, p *platform.Platform, admin domain.Principal, ip string) seeded {
	t.Helper()
	c, err := p.ClientRoutes().Service.Create(t.Context(), admin, clients.Input{Name: lambdatest.Ptr("Stadtwerke Nord GmbH")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.AssetService().Create(t.Context(), admin, assets.Input{Type: lambdatest.Ptr("ip"), Target: &ip, ClientID: &c.ID})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.SessionRoutes().Service.Create(t.Context(), admin, sessions.Input{Name: lambdatest.Ptr("Annual review"), ClientID: &c.ID,
		AssetIDs: &[]string{a.ID}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.Findings().Create(t.Context(), admin, findings.NewFinding{SessionID: s.ID, AssetID: a.ID,
		Fields: findings.Fields{Title: lambdatest.Ptr("Weak cipher suites"), Severity: lambdatest.Ptr("high")}})
	if err != nil {
		t.Fatal(err)
	}
	return seeded{client: c.ID, asset: a.ID, session: s.ID, finding: f.ID}
}
