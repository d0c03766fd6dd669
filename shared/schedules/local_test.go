package schedules_test

import (
	"context"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/platform"
	"rampart/shared/schedules"
	"rampart/shared/testenv"
)

// localPlatform is a platform as the local server builds it, with scans that
// never leave the machine: the asset has a private address the
// organization does not allow, so the scanner's guard refuses it.
func localPlatform(t *testing.T) (*platform.Platform, string, string) {
	t.Helper()
	t.Setenv("RAMPART_DISPATCH_INTERVAL", "200ms")
	p := testenv.Platform(t)
	if p.Config.DispatchInterval != 200*time.Millisecond {
		t.Fatalf("RAMPART_DISPATCH_INTERVAL read as %s", p.Config.DispatchInterval)
	}
	p.Config.Scan.DNSServer = "127.0.0.1:9"
	p.Config.Scan.Ports = "none"
	p.Config.Scan.AllowLoopback = false
	p.Config.Scan.TargetTimeout = 2 * time.Second
	ctx := context.Background()
	id, err := p.Identity(true)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := id.Register(ctx, "owner@example.com", "a long enough password", "Owner", "Scheduled org")
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.Store().GetUser(ctx, sess.UserID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	a := domain.Asset{ID: domain.NewIDAt(now), Type: "ip", Target: "10.255.255.1", Name: "private", Tags: []string{}, CreatedAt: now, UpdatedAt: now}
	if err := p.Store().CreateAsset(ctx, u.DefaultOrgID, a); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.LocalBus != nil {
			p.LocalBus.Wait() // scans finish before the table goes
		}
	})
	return p, u.DefaultOrgID, sess.UserID
}

// TestLocalDispatcherTicker: the local server's ticker runs the same
// dispatcher every RAMPART_DISPATCH_INTERVAL; a due schedule gets its scan
// through the in-process bus and the scan worker, and stop ends the ticker.
func TestLocalDispatcherTicker(t *testing.T) {
	p, org, user := localPlatform(t)
	ctx := context.Background()
	// Created two minutes ago with an every-minute expression: due a minute
	// ago.
	past, err := p.ScheduleService(func() time.Time { return time.Now().UTC().Add(-2 * time.Minute) })
	if err != nil {
		t.Fatal(err)
	}
	s, err := past.Create(ctx, domain.Principal{OrgID: org, UserID: user, Role: domain.RoleAdmin},
		schedules.Input{Name: ptr("every minute"), Cron: ptr("* * * * *"), All: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	stop, err := p.StartDispatcher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	var got schedules.Schedule
	for {
		if got, err = p.Store().GetSchedule(ctx, org, s.ID); err != nil {
			t.Fatal(err)
		}
		if got.LastScanID != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if got.LastScanID == "" {
		t.Fatalf("no scan within 15 s of ticks every 200ms: %+v", got)
	}
	if !got.NextRunAt.After(time.Now().Add(-time.Second)) {
		t.Fatalf("next_run_at %s is not in the future", got.NextRunAt)
	}
	p.LocalBus.Wait()
	scan, err := p.Store().GetScan(ctx, org, got.LastScanID)
	if err != nil {
		t.Fatal(err)
	}
	if scan.ScheduleID != s.ID || scan.CreatedBy != "schedule:"+s.ID || !scan.Finished() {
		t.Fatalf("scan %+v: want one of the schedule, created by it, run to its end by the worker", scan)
	}
	// Stopped: no more runs, even when the schedule is due again.
	if _, err := p.Store().UpdateSchedule(ctx, org, s.ID, func(sc *schedules.Schedule) error {
		due := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
		sc.NextRunAt = &due
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	if after, _ := p.Store().GetSchedule(ctx, org, s.ID); after.LastScanID != got.LastScanID {
		t.Fatalf("the stopped ticker still dispatched: %+v", after)
	}
}
