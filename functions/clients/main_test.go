package main

import (
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events/lambdatest"
	"rampart/shared/clients"
	"rampart/shared/domain"
	"rampart/shared/testenv"
)

// TestLambdaEvents serves every sample event of the clients function
// through the Lambda adapter, against DynamoDB Local, as the admin of one
// organization; another organization's client is out of reach.
func TestLambdaEvents(t *testing.T) {
	p := testenv.Platform(t)
	srv, err := newServer(p)
	if err != nil {
		t.Fatal(err)
	}
	token, user, org := lambdatest.Register(t, p, "owner@example.com", "Stadtwerke Nord")
	_, otherUser, otherOrg := lambdatest.Register(t, p, "someone@elsewhere.example", "Elsewhere")
	svc := p.ClientRoutes().Service
	client, err := svc.Create(t.Context(), domain.Principal{OrgID: org, UserID: user, Role: domain.RoleAdmin},
		clients.Input{Name: lambdatest.Ptr("Stadtwerke Nord GmbH")})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := svc.Create(t.Context(), domain.Principal{OrgID: otherOrg, UserID: otherUser, Role: domain.RoleAdmin},
		clients.Input{Name: lambdatest.Ptr("Stadtwerke Elsewhere")})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]lambdatest.Case{
		"clients/create": {Status: 201, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			if body["name"] != "Hafenbetriebe Süd AG" || body["contact_email"] != "j.krueger@hafen-sued.example" || body["id"] == "" {
				t.Fatalf("client %s", r.Body)
			}
			if lambdatest.Header(r, "ETag") == "" {
				t.Error("no ETag")
			}
		}},
		"clients/create-no-token": {Status: 401, Check: lambdatest.Unauthenticated},
		"clients/get": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			if body["id"] != client.ID || body["name"] != "Stadtwerke Nord GmbH" || lambdatest.Header(r, "ETag") != clients.ETag(client) {
				t.Fatalf("client %s (ETag %q)", r.Body, lambdatest.Header(r, "ETag"))
			}
		}},
		"clients/get-foreign": {Status: 404},
		"clients/list": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			items, _ := body["items"].([]any)
			if body["total"] != 1.0 || len(items) != 1 || items[0].(map[string]any)["id"] != client.ID {
				t.Fatalf("page %s, want only %s", r.Body, client.ID)
			}
		}},
	}
	lambdatest.Serve(t, "clients", srv, map[string]string{"token": token, "client_id": client.ID, "foreign_client_id": foreign.ID}, cases)
}
