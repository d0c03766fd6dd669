package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events/lambdatest"
	"rampart/shared/assets"
	"rampart/shared/clients"
	"rampart/shared/domain"
	"rampart/shared/testenv"
)

// TestLambdaEvents serves every sample event of the assets function through
// the Lambda adapter, against DynamoDB Local, as the admin of one
// organization: creation, the SSRF guard, the CSV import as a base64
// multipart body, lists, and another organization's asset out of reach.
// Every target is an IP literal or has no network type, so the guard
// decides without a DNS lookup.
func TestLambdaEvents(t *testing.T) {
	p := testenv.Platform(t)
	srv, err := newServer(p)
	if err != nil {
		t.Fatal(err)
	}
	token, user, org := lambdatest.Register(t, p, "owner@example.com", "Stadtwerke Nord")
	_, otherUser, otherOrg := lambdatest.Register(t, p, "someone@elsewhere.example", "Elsewhere")
	admin := domain.Principal{OrgID: org, UserID: user, Role: domain.RoleAdmin}
	client, err := p.ClientRoutes().Service.Create(t.Context(), admin, clients.Input{Name: lambdatest.Ptr("Stadtwerke Nord GmbH")})
	if err != nil {
		t.Fatal(err)
	}
	svc := p.AssetService()
	asset, err := svc.Create(t.Context(), admin, assets.Input{Type: lambdatest.Ptr("ip"), Target: lambdatest.Ptr("185.199.110.153"), ClientID: &client.ID})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := svc.Create(t.Context(), domain.Principal{OrgID: otherOrg, UserID: otherUser, Role: domain.RoleAdmin},
		assets.Input{Type: lambdatest.Ptr("ip"), Target: lambdatest.Ptr("185.199.111.153")})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]lambdatest.Case{
		"assets/create": {Status: 201, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			tags, _ := json.Marshal(body["tags"])
			if body["type"] != "ip" || body["target"] != "185.199.108.153" || body["client_id"] != client.ID ||
				body["name"] != "Customer portal edge" || string(tags) != `["prod","edge"]` {
				t.Fatalf("asset %s", r.Body)
			}
			if lambdatest.Header(r, "ETag") == "" {
				t.Error("no ETag")
			}
		}},
		"assets/create-metadata-address": {Status: 422, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			lambdatest.FieldError("body.target")(t, r, body)
			if !strings.Contains(r.Body, "169.254.169.254") {
				t.Errorf("the refusal does not name the address: %s", r.Body)
			}
		}},
		"assets/get-foreign": {Status: 404},
		"assets/import": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			if body["created"] != 2.0 || body["skipped"] != 0.0 || len(body["errors"].([]any)) != 0 {
				t.Fatalf("import %s", r.Body)
			}
			page, err := svc.List(t.Context(), admin, assets.Filter{Tag: "web"}, domain.PageRequest{Page: 1, PerPage: 10})
			if err != nil || len(page.Items) != 1 || page.Items[0].Type != "web_application" || page.Items[0].Name != "Customer portal" {
				t.Errorf("imported web application: %+v (%v)", page.Items, err)
			}
		}},
		"assets/list": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			items, _ := body["items"].([]any)
			var ids []any
			for _, it := range items {
				a := it.(map[string]any)
				if a["client_id"] != client.ID {
					t.Errorf("asset of another client listed: %v", a)
				}
				ids = append(ids, a["id"])
			}
			if !slices.Contains(ids, any(asset.ID)) || body["total"] != float64(len(items)) || body["per_page"] != 50.0 {
				t.Fatalf("page %s, want %s in it", r.Body, asset.ID)
			}
		}},
	}
	lambdatest.Serve(t, "assets", srv, map[string]string{"token": token, "client_id": client.ID, "foreign_asset_id": foreign.ID}, cases)
}
