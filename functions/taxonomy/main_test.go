package main

import (
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events/lambdatest"
	"rampart/shared/testenv"
)

// TestLambdaEvents serves every sample event of the taxonomy function
// through the Lambda adapter, against DynamoDB Local, as the admin of an
// organization seeded with the built-in version 1.
func TestLambdaEvents(t *testing.T) {
	p := testenv.Platform(t)
	srv, err := newServer(p)
	if err != nil {
		t.Fatal(err)
	}
	token, _, org := lambdatest.Register(t, p, "owner@example.com", "Stadtwerke Nord")
	unchanged := func(t *testing.T, _ awsevents.APIGatewayV2HTTPResponse, _ map[string]any) {
		t.Helper()
		v, err := p.TaxonomyService().Current(t.Context(), org)
		if err != nil || v.Taxonomy.Version != 1 {
			t.Errorf("current version %d (%v), want 1", v.Taxonomy.Version, err)
		}
	}
	cases := map[string]lambdatest.Case{
		"taxonomy/activate-unknown": {Status: 422, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			lambdatest.FieldError("body.version")(t, r, body)
			unchanged(t, r, body)
		}},
		"taxonomy/create-version-malformed": {Status: 400, Check: unchanged},
		"taxonomy/current": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			domains, _ := body["domains"].(map[string]any)
			risk, _ := domains["risk_level"].([]any)
			if body["version"] != 1.0 || body["active"] != true || body["created_by"] != "system" || len(risk) != 5 {
				t.Fatalf("taxonomy %s", r.Body)
			}
			if first := risk[0].(map[string]any); first["value"] != "critical" {
				t.Errorf("first severity %v, want critical", first)
			}
			for _, d := range []string{"remediation_status", "session_status", "asset_type", "category"} {
				if vs, _ := domains[d].([]any); len(vs) == 0 {
					t.Errorf("domain %s is empty", d)
				}
			}
		}},
		"taxonomy/versions": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			items, _ := body["items"].([]any)
			if body["total"] != 1.0 || body["per_page"] != 5.0 || len(items) != 1 || items[0].(map[string]any)["version"] != 1.0 {
				t.Fatalf("page %s", r.Body)
			}
		}},
		"taxonomy/versions-no-token": {Status: 401, Check: lambdatest.Unauthenticated},
	}
	lambdatest.Serve(t, "taxonomy", srv, map[string]string{"token": token}, cases)
}
