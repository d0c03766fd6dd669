package main

import (
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events/lambdatest"
	"rampart/shared/cvss"
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
	token, _, org := lambdatest.Register(t, p, "owner@example.com", "Stadtwerke Nord")
	_, _, otherOrg := lambdatest.Register(t, p, "someone@elsewhere.example", "Elsewhere")
	svc := p.TemplateService()
	own, err := svc.Create(t.Context(), org, templates.Fields{Title: lambdatest.Ptr("Outdated OpenSSH"), Severity: lambdatest.Ptr("high")})
	if err != nil {
		t.Fatal(err)
	}
	// Built-in templates keep their ids in every organization: the foreign
	// one is the other organization's own.
	theirs, err := svc.Create(t.Context(), otherOrg, templates.Fields{Title: lambdatest.Ptr("Their private template"), Severity: lambdatest.Ptr("low")})
	if err != nil {
		t.Fatal(err)
	}
	_, wantScore, err := cvss.Parse("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]lambdatest.Case{
		"templates/create": {Status: 201, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			id, _ := body["id"].(string)
			if id == "" || body["title"] != "Missing Strict-Transport-Security header" || body["severity"] != "medium" ||
				body["category"] != "http_headers" || body["built_in"] != false || body["cvss_version"] != "3.1" || body["cvss_score"] != wantScore {
				t.Fatalf("template %s", r.Body)
			}
			if lambdatest.Header(r, "Location") != "/api/v1/templates/"+id || lambdatest.Header(r, "ETag") != `"v1"` {
				t.Errorf("Location %q, ETag %q", lambdatest.Header(r, "Location"), lambdatest.Header(r, "ETag"))
			}
		}},
		"templates/get-foreign": {Status: 404},
		"templates/list": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
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
		"templates/update-stale": {Status: 412, Check: func(t *testing.T, _ awsevents.APIGatewayV2HTTPResponse, _ map[string]any) {
			if got, err := svc.Get(t.Context(), org, own.ID); err != nil || got.Severity != "high" || got.Version != 1 {
				t.Errorf("template after a stale change: %+v (%v)", got, err)
			}
		}},
	}
	lambdatest.Serve(t, "templates", srv, map[string]string{"token": token, "template_id": own.ID,
		"foreign_template_id": theirs.ID}, cases)
}
