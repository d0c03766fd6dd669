package main

import (
	"testing"
	"time"

	"rampart/events/lambdatest"
	"rampart/shared/domain"
	"rampart/shared/testenv"
)

// TestLambdaEvents serves the sample events of the reports function through
// the Lambda adapter: a report of a scan that has not completed is refused,
// bad input and a missing token get the envelope, another organization's
// task is 404.
func TestLambdaEvents(t *testing.T) {
	p := testenv.Platform(t)
	srv, err := newServer(p)
	if err != nil {
		t.Fatal(err)
	}
	token, _, org := lambdatest.Register(t, p, "owner@example.com", "Reports org")
	now := time.Now().UTC()
	scan := domain.Scan{ID: domain.NewIDAt(now), Status: domain.ScanPending, Targets: 1, CreatedAt: now, UpdatedAt: now}
	if err := p.Store().CreateScan(t.Context(), org, scan, []domain.ScanTarget{{AssetID: domain.NewID(), Type: "ip", Target: "10.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]lambdatest.Case{
		"reports/generate-scan-not-completed": {Status: 409, Check: lambdatest.DetailHas("completed")},
		"reports/generate-bad-format":         {Status: 422},
		"reports/generate-no-token":           {Status: 401, Check: lambdatest.Unauthenticated},
		"reports/status-foreign":              {Status: 404},
	}
	lambdatest.Serve(t, "reports", srv, map[string]string{"token": token, "scan_id": scan.ID, "foreign_id": domain.NewID()}, cases)
}
