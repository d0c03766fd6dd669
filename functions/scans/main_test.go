package main

import (
	"encoding/json"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events/lambdatest"
	"rampart/shared/domain"
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
	token, user, org := lambdatest.Register(t, p, "owner@example.com", "Stadtwerke Nord")
	_, otherUser, otherOrg := lambdatest.Register(t, p, "someone@elsewhere.example", "Elsewhere")
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

	cases := map[string]lambdatest.Case{
		"scans/checks": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, _ map[string]any) {
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
		"scans/create": {Status: 202, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
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
		"scans/create-foreign-asset": {Status: 422, Check: lambdatest.FieldError("body.asset_ids[0]")},
		"scans/get": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			progress, _ := body["progress"].(map[string]any)
			score, hasScore := body["score"]
			if body["id"] != done.ID || body["status"] != "completed" || !hasScore || score != nil ||
				body["score_reason"] == "" || body["score_reason"] == nil || progress["done"] != 1.0 || body["live_hosts"] != 0.0 {
				t.Fatalf("scan %s", r.Body)
			}
		}},
		"scans/get-foreign": {Status: 404},
	}
	lambdatest.Serve(t, "scans", srv, map[string]string{"token": token, "asset_id": asset, "foreign_asset_id": foreignAsset,
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
