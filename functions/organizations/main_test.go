package main

import (
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events/lambdatest"
	"rampart/shared/testenv"
)

// TestLambdaEvents serves every sample event of the organizations function
// through the Lambda adapter, against DynamoDB Local, as the admin of one
// organization; another organization is out of reach.
func TestLambdaEvents(t *testing.T) {
	p := testenv.Platform(t)
	srv, err := newServer(p)
	if err != nil {
		t.Fatal(err)
	}
	token, _, org := lambdatest.Register(t, p, "owner@example.com", "Stadtwerke Nord")
	_, _, foreignOrg := lambdatest.Register(t, p, "someone@elsewhere.example", "Elsewhere")
	cases := map[string]lambdatest.Case{
		"organizations/get-foreign": {Status: 404},
		"organizations/invite": {Status: 201, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			inv, _ := body["invitation"].(map[string]any)
			if body["status"] != "invited" || inv["email"] != "new.member@example.com" || inv["role"] != "viewer" || inv["token"] == "" {
				t.Fatalf("invitation %s", r.Body)
			}
		}},
		"organizations/invite-malformed": {Status: 400},
		"organizations/list": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			items, _ := body["items"].([]any)
			if body["total"] != 1.0 || len(items) != 1 {
				t.Fatalf("page %s", r.Body)
			}
			if o := items[0].(map[string]any); o["id"] != org || o["role"] != "admin" {
				t.Errorf("organization %v", o)
			}
		}},
		"organizations/update-settings": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			settings, _ := body["settings"].(map[string]any)
			if body["id"] != org || body["name"] != "Stadtwerke Nord Security" || settings["allow_private_targets"] != true {
				t.Fatalf("organization %s", r.Body)
			}
			if o, err := p.Store().GetOrg(t.Context(), org); err != nil || !o.Settings.AllowPrivateTargets {
				t.Errorf("stored organization %+v (%v)", o, err)
			}
		}},
	}
	lambdatest.Serve(t, "organizations", srv, map[string]string{"token": token, "org_id": org, "foreign_org_id": foreignOrg}, cases)
}
