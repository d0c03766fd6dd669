package main

import (
	"encoding/json"
	"slices"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events/lambdatest"
	"rampart/shared/assets"
	"rampart/shared/clients"
	"rampart/shared/domain"
	"rampart/shared/platform"
	"rampart/shared/sessions"
	"rampart/shared/testenv"
)

// TestLambdaEvents serves every sample event of the sessions function
// through the Lambda adapter, against DynamoDB Local, as the admin of one
// organization; another organization's session is out of reach.
func TestLambdaEvents(t *testing.T) {
	p := testenv.Platform(t)
	srv, err := newServer(p)
	if err != nil {
		t.Fatal(err)
	}
	token, user, org := lambdatest.Register(t, p, "owner@example.com", "Stadtwerke Nord")
	_, otherUser, otherOrg := lambdatest.Register(t, p, "someone@elsewhere.example", "Elsewhere")
	client, asset, session := seed(t, p, domain.Principal{OrgID: org, UserID: user, Role: domain.RoleAdmin}, "185.199.110.153")
	_, _, foreign := seed(t, p, domain.Principal{OrgID: otherOrg, UserID: otherUser, Role: domain.RoleAdmin}, "185.199.111.153")
	cases := map[string]lambdatest.Case{
		"sessions/create": {Status: 201, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			scope, _ := json.Marshal(body["asset_ids"])
			reviewers, _ := json.Marshal(body["reviewer_ids"])
			if body["name"] != "NIS2 baseline assessment Q3" || body["client_id"] != client || body["status"] != "planned" ||
				body["start_date"] != "2026-09-01" || body["end_date"] != "2026-09-30" ||
				string(scope) != `["`+asset+`"]` || string(reviewers) != `["`+user+`"]` {
				t.Fatalf("session %s", r.Body)
			}
			if lambdatest.Header(r, "ETag") == "" {
				t.Error("no ETag")
			}
		}},
		"sessions/create-end-before-start": {Status: 422, Check: lambdatest.FieldError("body.end_date")},
		"sessions/get": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			if body["id"] != session || body["client_id"] != client || lambdatest.Header(r, "ETag") == "" {
				t.Fatalf("session %s", r.Body)
			}
		}},
		"sessions/get-foreign": {Status: 404},
		"sessions/list": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			items, _ := body["items"].([]any)
			var ids []any
			for _, it := range items {
				s := it.(map[string]any)
				if s["status"] != "planned" {
					t.Errorf("session of another status listed: %v", s)
				}
				ids = append(ids, s["id"])
			}
			if !slices.Contains(ids, any(session)) || body["total"] != float64(len(items)) || body["per_page"] != 10.0 {
				t.Fatalf("page %s, want %s in it", r.Body, session)
			}
		}},
	}
	lambdatest.Serve(t, "sessions", srv, map[string]string{"token": token, "user_id": user, "client_id": client,
		"asset_id": asset, "session_id": session, "foreign_session_id": foreign}, cases)
}

// seed creates a client, an asset of it (an IP literal: no DNS lookup) and
// a planned session over that asset in the principal's organization.
func seed(t *testing.T, p *platform.Platform, admin domain.Principal, ip string) (client, asset, session string) {
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
	return c.ID, a.ID, s.ID
}
