package main

import (
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events/lambdatest"
	"rampart/shared/domain"
	"rampart/shared/testenv"
)

// TestLambdaEvents serves every sample event of the users function through
// the Lambda adapter, against DynamoDB Local, as the admin of one
// organization; another organization's user is out of reach.
func TestLambdaEvents(t *testing.T) {
	p := testenv.Platform(t)
	srv, err := newServer(p)
	if err != nil {
		t.Fatal(err)
	}
	token, _, org := lambdatest.Register(t, p, "owner@example.com", "Stadtwerke Nord")
	_, foreignUser, foreignOrg := lambdatest.Register(t, p, "someone@elsewhere.example", "Elsewhere")
	cases := map[string]lambdatest.Case{
		"users/create": {Status: 201, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			if body["email"] != "ada.auditor@example.com" || body["name"] != "Ada Auditor" || body["role"] != "auditor" || body["active"] != true {
				t.Fatalf("member %s", r.Body)
			}
			m, err := p.Store().GetMembership(t.Context(), org, body["id"].(string))
			if err != nil || m.Role != domain.RoleAuditor {
				t.Fatalf("membership %+v (%v)", m, err)
			}
		}},
		"users/create-unknown-role": {Status: 422, Check: lambdatest.FieldError("body.role")},
		"users/list": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			items, _ := body["items"].([]any)
			if body["total"] != 1.0 || body["per_page"] != 20.0 || len(items) != 1 {
				t.Fatalf("page %s", r.Body)
			}
			if m := items[0].(map[string]any); m["email"] != "owner@example.com" || m["role"] != "admin" {
				t.Errorf("member %v", m)
			}
		}},
		"users/update-foreign": {Status: 404, Check: func(t *testing.T, _ awsevents.APIGatewayV2HTTPResponse, _ map[string]any) {
			if m, err := p.Store().GetMembership(t.Context(), foreignOrg, foreignUser); err != nil || m.Role != domain.RoleAdmin {
				t.Errorf("the other organization's admin changed: %+v (%v)", m, err)
			}
		}},
	}
	lambdatest.Serve(t, "users", srv, map[string]string{"token": token, "foreign_user_id": foreignUser}, cases)
}
