package dynamo_test

import (
	"context"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/scans"
	"rampart/shared/testenv"
)

// A running scan's lease is an entry of the due index: expired leases are
// found across organizations, renewed or finished ones are not.
func TestScanLeases(t *testing.T) {
	store := testenv.Platform(t).Store()
	ctx := context.Background()
	now := time.Now().UTC()
	mk := func(org string) string {
		s := domain.Scan{ID: domain.NewIDAt(now), Status: domain.ScanPending, Targets: 1, CreatedAt: now, UpdatedAt: now}
		if err := store.CreateScan(ctx, org, s, []domain.ScanTarget{{AssetID: domain.NewID(), Type: "ip", Target: "10.0.0.1"}}); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := store.ClaimScan(ctx, org, s.ID, now, now.Add(time.Minute)); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		return s.ID
	}
	orgA, orgB := domain.NewID(), domain.NewID()
	dead, renewed, finished := mk(orgA), mk(orgB), mk(orgB)
	later := now.Add(2 * time.Minute) // every first lease has expired by then
	if err := store.SetLease(ctx, orgB, renewed, later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	at := now
	if err := store.FinishScan(ctx, orgB, domain.Scan{ID: finished, Status: domain.ScanCompleted, Counts: map[string]int{}, CompletedAt: &at}); err != nil {
		t.Fatal(err)
	}
	got, err := store.ExpiredLeases(ctx, later, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (scans.ScanRef{OrgID: orgA, ScanID: dead}) {
		t.Fatalf("expired leases %v, want only %s of %s", got, dead, orgA)
	}
	if none, _ := store.ExpiredLeases(ctx, now, 100); len(none) != 0 {
		t.Fatalf("leases expired before they end: %v", none)
	}
	// A claim after expiry takes the scan over.
	if _, ok, err := store.ClaimScan(ctx, orgA, dead, later, later.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("claim after expiry: %v %v", ok, err)
	}
}
