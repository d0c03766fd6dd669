package main

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events"
	"rampart/shared/domain"
	"rampart/shared/platform"
	"rampart/shared/testenv"
)

// TestScanRequestedEvents drives the Lambda handler with the sample
// EventBridge "scan requested" events against DynamoDB Local. The scan's
// only target is a private address its organization does not allow: the
// scanner's guard refuses it, so the scan completes at once without a
// score and nothing leaves the machine.
func TestScanRequestedEvents(t *testing.T) {
	// Every sample of this handler is used below.
	entries, err := os.ReadDir("../../events/eventbridge")
	if err != nil {
		t.Fatal(err)
	}
	used := []string{"scan-requested", "scan-requested-malformed"}
	for _, e := range entries {
		if name, _ := strings.CutSuffix(e.Name(), ".json"); strings.HasPrefix(name, "scan-requested") && !slices.Contains(used, name) {
			t.Errorf("events/eventbridge/%s is not used by this test", e.Name())
		}
	}

	p := testenv.Platform(t)
	p.Config.Scan.DNSServer = "127.0.0.1:9"
	p.Config.Scan.Ports = "none"
	p.Config.Scan.AllowLoopback = false
	p.Config.Scan.TargetTimeout = 2 * time.Second
	h, err := newHandler(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.LocalBus.Wait) // a continuation would run there; wait before the table is dropped
	ctx := t.Context()
	id, err := p.Identity(true)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := id.Register(ctx, "owner@example.com", "correct horse battery staple", "Owner", "Scan org")
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.Store().GetUser(ctx, sess.UserID)
	if err != nil {
		t.Fatal(err)
	}
	org := u.DefaultOrgID
	if o, err := p.Store().GetOrg(ctx, org); err != nil || o.Settings.AllowPrivateTargets {
		t.Fatalf("organization %+v (%v): private targets must not be allowed", o, err)
	}
	requested := newScan(t, p, org, sess.UserID, "10.0.0.1")
	untouched := newScan(t, p, org, sess.UserID, "10.0.0.2")

	e := cloudWatch(t, "scan-requested", map[string]string{"org_id": org, "scan_id": requested})
	if e.Source != "rampart.scans" || e.DetailType != "ScanRequested" {
		t.Fatalf("sample event %+v", e)
	}
	if err := h(ctx, e); err != nil {
		t.Fatal(err)
	}
	got, err := p.Store().GetScan(ctx, org, requested)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != domain.ScanCompleted || got.Score != nil || got.ScoreReason == "" || got.Done != 1 ||
		got.LiveHosts != 0 || got.Findings != 0 || got.CompletedAt == nil {
		t.Fatalf("scan after the event: %+v", got)
	}

	// EventBridge delivers at least once: a duplicate finds the scan
	// finished and changes nothing.
	if err := h(ctx, e); err != nil {
		t.Fatal(err)
	}
	again, err := p.Store().GetScan(ctx, org, requested)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, got) {
		t.Fatalf("a duplicate event changed the scan:\n%+v\n%+v", got, again)
	}

	// A detail without org_id and scan_id cannot get better on retry: the
	// handler drops it without an error, and no scan runs.
	bad := cloudWatch(t, "scan-requested-malformed", map[string]string{"org_id": org, "scan_id": untouched})
	if err := h(ctx, bad); err != nil {
		t.Fatalf("malformed event: %v, want it dropped", err)
	}
	if s, err := p.Store().GetScan(ctx, org, untouched); err != nil || s.Status != domain.ScanPending || s.StartedAt != nil {
		t.Fatalf("scan after a malformed event: %+v (%v), want it pending", s, err)
	}
}

// newScan writes a pending scan of one new ip asset through the store, as
// the API does before it publishes the event.
func newScan(t *testing.T, p *platform.Platform, org, user, ip string) string {
	t.Helper()
	now := time.Now().UTC()
	a := domain.Asset{ID: domain.NewIDAt(now), Type: "ip", Target: ip, Name: "private " + ip, Tags: []string{},
		CreatedAt: now, UpdatedAt: now}
	if err := p.Store().CreateAsset(t.Context(), org, a); err != nil {
		t.Fatal(err)
	}
	s := domain.Scan{ID: domain.NewIDAt(now), Status: domain.ScanPending, CreatedBy: user, Targets: 1,
		Counts: map[string]int{}, CreatedAt: now, UpdatedAt: now}
	if err := p.Store().CreateScan(t.Context(), org, s, []domain.ScanTarget{{AssetID: a.ID, Type: a.Type, Target: a.Target}}); err != nil {
		t.Fatal(err)
	}
	return s.ID
}

// cloudWatch loads events/eventbridge/<name>.json with the placeholders of
// its detail filled from vars; one without a value fails the test.
func cloudWatch(t *testing.T, name string, vars map[string]string) awsevents.CloudWatchEvent {
	t.Helper()
	e := events.CloudWatch(t, name)
	detail := string(e.Detail)
	for k, v := range vars {
		detail = strings.ReplaceAll(detail, "{{"+k+"}}", v)
	}
	if strings.Contains(detail, "{{") {
		t.Fatalf("event eventbridge/%s.json: a placeholder has no value: %s", name, detail)
	}
	e.Detail = []byte(detail)
	return e
}
