package main

import (
	"context"
	"testing"
	"time"

	"rampart/events"
	"rampart/shared/domain"
	"rampart/shared/schedules"
	"rampart/shared/testenv"
)

// TestHandlerWithScheduleTick drives the Lambda handler with the sample
// EventBridge "Scheduled Event" against DynamoDB Local: a schedule due at
// the tick gets one scan, however often the tick is delivered.
func TestHandlerWithScheduleTick(t *testing.T) {
	tick := events.CloudWatch(t, "schedule-tick")
	if tick.DetailType != "Scheduled Event" || tick.Source != "aws.events" || len(tick.Resources) != 1 {
		t.Fatalf("sample event %+v", tick)
	}
	p := testenv.Platform(t)
	p.Config.Scan.DNSServer = "127.0.0.1:9"
	p.Config.Scan.Ports = "none"
	p.Config.Scan.AllowLoopback = false
	p.Config.Scan.TargetTimeout = 2 * time.Second
	t.Cleanup(func() {
		if p.LocalBus != nil {
			p.LocalBus.Wait()
		}
	})
	ctx := context.Background()
	id, err := p.Identity(true)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := id.Register(ctx, "owner@example.com", "a long enough password", "Owner", "Dispatch org")
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.Store().GetUser(ctx, sess.UserID)
	if err != nil {
		t.Fatal(err)
	}
	org := u.DefaultOrgID
	// A private address the organization does not allow: the worker's guard
	// refuses it, nothing leaves the machine.
	now := tick.Time.Add(-12 * time.Hour)
	asset := domain.Asset{ID: domain.NewIDAt(now), Type: "ip", Target: "10.255.255.1", Name: "private", Tags: []string{},
		CreatedAt: now, UpdatedAt: now}
	if err := p.Store().CreateAsset(ctx, org, asset); err != nil {
		t.Fatal(err)
	}
	// Created the evening before, due at the tick (01:00 UTC).
	svc, err := p.ScheduleService(func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	admin := domain.Principal{OrgID: org, UserID: sess.UserID, Role: domain.RoleAdmin}
	s, err := svc.Create(ctx, admin, schedules.Input{Name: ptr("nightly"), Cron: ptr("0 1 * * *"), AssetIDs: &[]string{asset.ID}})
	if err != nil {
		t.Fatal(err)
	}
	notYet, err := svc.Create(ctx, admin, schedules.Input{Name: ptr("later"), Cron: ptr("0 2 * * *"), AssetIDs: &[]string{asset.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if !s.NextRunAt.Equal(tick.Time) {
		t.Fatalf("next_run_at %s, want the tick's time %s", s.NextRunAt, tick.Time)
	}

	// The dispatcher's clock runs a few seconds after the event's time, as
	// Lambda does.
	d, err := p.Dispatcher(func() time.Time { return tick.Time.Add(3 * time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	h := handler(d)
	for range 2 { // EventBridge delivers at least once: a duplicate changes nothing
		if err := h(ctx, tick); err != nil {
			t.Fatal(err)
		}
	}
	p.LocalBus.Wait()
	list, err := p.Store().ListScans(ctx, org, "", domain.PageRequest{Page: 1, PerPage: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].ScheduleID != s.ID || list.Items[0].CreatedBy != "schedule:"+s.ID {
		t.Fatalf("scans %+v, want one of schedule %s", list.Items, s.ID)
	}
	got, err := p.Store().GetSchedule(ctx, org, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastScanID != list.Items[0].ID || !got.NextRunAt.Equal(tick.Time.Add(24*time.Hour)) {
		t.Fatalf("schedule after the tick: %+v", got)
	}
	if later, _ := p.Store().GetSchedule(ctx, org, notYet.ID); later.LastRunAt != nil {
		t.Fatalf("a schedule not yet due ran: %+v", later)
	}

	// Another kind of event is not a tick: ignored, no error (a retry would
	// not make it one).
	other := tick
	other.DetailType, other.Source = "ScanRequested", "rampart.scans"
	if err := h(ctx, other); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }
