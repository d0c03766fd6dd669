package schedules_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/schedules"
)

func TestDispatcherDueAndNotDue(t *testing.T) {
	e := newEnv(t)
	t0 := utc("2026-03-02T09:00:00Z")
	e.clock.Set(t0.Add(-90 * time.Minute))                                                       // created 07:30
	hourly := e.create(schedules.Input{Cron: ptr("0 * * * *")})                                  // due 08:00
	atNine := e.create(schedules.Input{Cron: ptr("0 9 * * *")})                                  // due 09:00 = now
	atTen := e.create(schedules.Input{Cron: ptr("0 10 * * *")})                                  // due 10:00: not yet
	off := e.create(schedules.Input{Cron: ptr("* * * * *"), Enabled: ptr(false)})                // disabled
	berlin := e.create(schedules.Input{Cron: ptr("0 10 * * *"), Timezone: ptr("Europe/Berlin")}) // 10:00 CET = 09:00Z
	d := e.dispatcher()

	rep := e.run(d, t0)
	if rep.Due != 3 || rep.Started != 3 || rep.Skipped != 0 || rep.Failed != 0 {
		t.Fatalf("report %+v, want 3 due and started", rep)
	}
	cases := []struct {
		name  string
		s     schedules.Schedule
		scans int
		next  string
	}{
		{"hourly, due before now", hourly, 1, "2026-03-02T10:00:00Z"},
		{"daily, due now", atNine, 1, "2026-03-03T09:00:00Z"},
		{"daily, not yet due", atTen, 0, "2026-03-02T10:00:00Z"},
		{"disabled", off, 0, ""},
		{"in a zone, due now", berlin, 1, "2026-03-03T09:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := e.get(c.s.ID)
			started := e.scansOf(c.s.ID)
			if len(started) != c.scans {
				t.Fatalf("%d scans, want %d", len(started), c.scans)
			}
			next := ""
			if got.NextRunAt != nil {
				next = got.NextRunAt.Format(time.RFC3339)
			}
			if next != c.next {
				t.Fatalf("next_run_at %q, want %q", next, c.next)
			}
			if c.scans == 0 {
				if got.LastRunAt != nil || got.LastScanID != "" {
					t.Fatalf("not run, but last run %v scan %q", got.LastRunAt, got.LastScanID)
				}
				return
			}
			sc := started[0]
			if sc.ScheduleID != c.s.ID || sc.CreatedBy != "schedule:"+c.s.ID || sc.Status != domain.ScanPending || !sc.CreatedAt.Equal(t0) {
				t.Fatalf("scan %+v", sc)
			}
			if got.LastScanID != sc.ID || got.LastRunAt == nil || !got.LastRunAt.Equal(t0) || got.LastError != "" || !got.Enabled {
				t.Fatalf("after the run: %+v", got)
			}
		})
	}
	if e.bus.count() != 3 {
		t.Fatalf("%d scan requests published, want 3", e.bus.count())
	}

	// The same run again, and one a little later: nothing more is due.
	for _, at := range []time.Time{t0, t0.Add(30 * time.Second), t0.Add(59 * time.Minute)} {
		if rep := e.run(d, at); rep.Started != 0 {
			t.Fatalf("run at %s started %d", at, rep.Started)
		}
	}
	// At 10:00 the hourly one and the one due at 10:00 run.
	if rep := e.run(d, utc("2026-03-02T10:00:00Z")); rep.Started != 2 {
		t.Fatalf("10:00 run: %+v", rep)
	}
	if n := len(e.scansOf(hourly.ID)); n != 2 {
		t.Fatalf("hourly: %d scans", n)
	}
}

// TestDispatchersRacing: concurrent dispatchers over the same due schedules
// start exactly one scan per schedule and due time.
func TestDispatchersRacing(t *testing.T) {
	e := newEnv(t)
	t0 := utc("2026-03-02T09:00:00Z")
	e.clock.Set(t0.Add(-30 * time.Second))
	var ids []string
	for range 6 {
		ids = append(ids, e.create(schedules.Input{Cron: ptr("* * * * *")}).ID)
	}
	const dispatchers, rounds = 4, 3
	for round := range rounds {
		now := t0.Add(time.Duration(round) * time.Minute)
		e.clock.Set(now)
		var wg sync.WaitGroup
		reports := make([]schedules.Report, dispatchers)
		for i := range dispatchers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := e.dispatcher()
				d.Workers = 3
				rep, err := d.Run(context.Background(), now)
				if err != nil {
					t.Error(err)
				}
				reports[i] = rep
			}()
		}
		wg.Wait()
		started := 0
		for _, r := range reports {
			started += r.Started
		}
		if started != len(ids) {
			t.Fatalf("round %d: %d scans started by %d dispatchers, want %d (%+v)", round, started, dispatchers, len(ids), reports)
		}
		for _, id := range ids {
			if n := len(e.scansOf(id)); n != round+1 {
				t.Fatalf("round %d: schedule %s has %d scans, want %d", round, id, n, round+1)
			}
			if s := e.get(id); !s.NextRunAt.Equal(now.Add(time.Minute)) {
				t.Fatalf("round %d: next_run_at %s", round, s.NextRunAt)
			}
		}
	}
	if e.bus.count() != len(ids)*rounds {
		t.Fatalf("%d events published, want %d", e.bus.count(), len(ids)*rounds)
	}
}

// TestDispatcherCatchUp: after an outage that missed three due times, one
// scan runs and the schedule is due at its next future time.
func TestDispatcherCatchUp(t *testing.T) {
	e := newEnv(t)
	e.clock.Set(utc("2026-03-02T10:10:00Z"))
	s := e.create(schedules.Input{Cron: ptr("0 * * * *")}) // due 11:00, 12:00, 13:00 missed
	d := e.dispatcher()
	late := utc("2026-03-02T13:30:00Z")
	if rep := e.run(d, late); rep.Started != 1 || rep.Due != 1 {
		t.Fatalf("late run: %+v", rep)
	}
	got := e.get(s.ID)
	if !got.NextRunAt.Equal(utc("2026-03-02T14:00:00Z")) || !got.NextRunAt.After(late) || !got.LastRunAt.Equal(late) {
		t.Fatalf("after the catch-up: next %s last %s", got.NextRunAt, got.LastRunAt)
	}
	for _, at := range []time.Time{late, late.Add(time.Minute), late.Add(29 * time.Minute)} {
		e.run(d, at)
	}
	if n := len(e.scansOf(s.ID)); n != 1 {
		t.Fatalf("%d scans after the outage, want 1", n)
	}
	e.run(d, utc("2026-03-02T14:00:00Z"))
	if n := len(e.scansOf(s.ID)); n != 2 {
		t.Fatalf("%d scans at 14:00, want 2", n)
	}
}

// TestDispatcherAcrossDST ticks a dispatcher every minute through the night
// of a daylight-saving change: the local time fires exactly once, when the
// rule of Cron.Next says.
func TestDispatcherAcrossDST(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, zone, cron string
		created          string // UTC
		from, to         string // ticks, UTC
		fire             string // the one scan, UTC
		after            string // next_run_at after the night
	}{
		{"Europe/Berlin spring forward: 02:30 does not exist, fires at 03:00 CEST", "Europe/Berlin", "30 2 * * *",
			"2026-03-28T22:00:00Z", "2026-03-28T23:00:00Z", "2026-03-29T03:00:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"},
		{"Europe/Berlin fall back: 02:30 occurs twice, fires at the first (CEST)", "Europe/Berlin", "30 2 * * *",
			"2026-10-24T22:00:00Z", "2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
		{"America/New_York spring forward: 02:30 does not exist, fires at 03:00 EDT", "America/New_York", "30 2 * * *",
			"2026-03-08T04:00:00Z", "2026-03-08T05:00:00Z", "2026-03-08T09:00:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"},
		{"America/New_York fall back: 01:30 occurs twice, fires at the first (EDT)", "America/New_York", "30 1 * * *",
			"2026-11-01T03:00:00Z", "2026-11-01T04:00:00Z", "2026-11-01T08:00:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.clock.Set(utc(c.created))
			s := e.create(schedules.Input{Cron: ptr(c.cron), Timezone: ptr(c.zone)})
			if !s.NextRunAt.Equal(utc(c.fire)) {
				t.Fatalf("next_run_at at creation %s, want %s", s.NextRunAt, c.fire)
			}
			d := e.dispatcher()
			for at := utc(c.from); !at.After(utc(c.to)); at = at.Add(time.Minute) {
				e.run(d, at)
			}
			got := e.scansOf(s.ID)
			if len(got) != 1 {
				var at []string
				for _, sc := range got {
					at = append(at, sc.CreatedAt.Format(time.RFC3339))
				}
				t.Fatalf("%d scans (%v), want exactly 1", len(got), at)
			}
			if !got[0].CreatedAt.Equal(utc(c.fire)) {
				t.Fatalf("scan at %s, want %s", got[0].CreatedAt, c.fire)
			}
			if after := e.get(s.ID); !after.NextRunAt.Equal(utc(c.after)) {
				t.Fatalf("next_run_at after the night %s, want %s", after.NextRunAt, c.after)
			}
		})
	}
}

// TestDispatcherTargetsGone: a schedule whose targets no longer exist starts
// no scan, says why in last_error, stays enabled and moves on to its next
// time; when targets exist again it runs and last_error clears.
func TestDispatcherTargetsGone(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.clock.Set(utc("2026-03-02T08:30:00Z"))
	a1, a2, keep := e.asset("10.0.0.1"), e.asset("10.0.0.2"), e.asset("10.0.0.3")
	listed := e.create(schedules.Input{Name: ptr("listed"), Cron: ptr("0 9 * * *"), AssetIDs: &[]string{a1, a2}})
	tagged := e.create(schedules.Input{Name: ptr("tagged"), Cron: ptr("0 9 * * *"), Tag: ptr("Web")})
	everything := e.create(schedules.Input{Name: ptr("everything"), Cron: ptr("0 9 * * *"), All: ptr(true)})
	for _, id := range []string{a1, a2} {
		if err := e.st.DeleteAsset(ctx, e.org, id); err != nil {
			t.Fatal(err)
		}
	}
	// A change naming a deleted asset is refused; the dispatcher has to
	// live with assets deleted after the schedule was written.
	if _, err := e.svc.Update(ctx, e.user, listed.ID, schedules.Input{AssetIDs: &[]string{a1}}, ""); !domain.Is(err, domain.KindInvalid) {
		t.Fatalf("update with a deleted asset: %v", err)
	}
	d := e.dispatcher()
	nine := utc("2026-03-02T09:00:00Z")
	if rep := e.run(d, nine); rep.Due != 3 || rep.Started != 1 || rep.Failed != 2 {
		t.Fatalf("report %+v", rep)
	}
	cases := []struct {
		name  string
		s     schedules.Schedule
		scans int
		err   string
	}{
		{"listed assets deleted", listed, 0, "none of its 2 assets exists"},
		{"tag matching nothing", tagged, 0, `no scannable asset carries the tag "web"`},
		{"all: the asset that is left", everything, 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := e.get(c.s.ID)
			if n := len(e.scansOf(c.s.ID)); n != c.scans {
				t.Fatalf("%d scans, want %d", n, c.scans)
			}
			if (c.err == "") != (got.LastError == "") || !strings.Contains(got.LastError, c.err) {
				t.Fatalf("last_error %q, want %q", got.LastError, c.err)
			}
			if !got.Enabled || !got.NextRunAt.Equal(nine.Add(24*time.Hour)) || !got.LastRunAt.Equal(nine) {
				t.Fatalf("after the run: %+v", got)
			}
		})
	}

	// Some listed assets gone: a scan of the others, with a note.
	e.clock.Set(nine.Add(time.Hour))
	gone := e.asset("10.0.0.5")
	some := e.create(schedules.Input{Name: ptr("some"), Cron: ptr("0 11 * * *"), AssetIDs: &[]string{keep, gone}})
	if err := e.st.DeleteAsset(ctx, e.org, gone); err != nil {
		t.Fatal(err)
	}
	e.run(d, utc("2026-03-02T11:00:00Z"))
	got := e.get(some.ID)
	started := e.scansOf(some.ID)
	if len(started) != 1 || started[0].Targets != 1 || got.LastScanID != started[0].ID ||
		!strings.Contains(got.LastError, "1 of the schedule's 2 assets") {
		t.Fatalf("partial: %d scans, last_error %q", len(started), got.LastError)
	}

	// An asset tagged web appears: the tag schedule runs at its next time
	// and its last_error clears.
	e.asset("10.0.0.6", "web")
	e.run(d, utc("2026-03-03T09:00:00Z"))
	if got := e.get(tagged.ID); got.LastError != "" || len(e.scansOf(tagged.ID)) != 1 || got.LastScanID == "" {
		t.Fatalf("tag schedule once tagged assets exist: %+v", got)
	}
	if got := e.get(listed.ID); !strings.Contains(got.LastError, "no longer exist") || len(e.scansOf(listed.ID)) != 0 {
		t.Fatalf("listed schedule on the second day: %+v", got)
	}
}

// staleIndex serves the due entries read before the test changed the
// schedules, as a lagging index would.
type staleIndex struct {
	schedules.Store
	due []schedules.Due
}

func (s staleIndex) DueSchedules(context.Context, time.Time, int, *schedules.Due) ([]schedules.Due, *schedules.Due, error) {
	return s.due, nil, nil
}

// claimHook runs a function just before each claim.
type claimHook struct {
	schedules.Store
	before func(id string)
}

func (s claimHook) ClaimSchedule(ctx context.Context, org, id string, read time.Time, next *time.Time, now time.Time) (bool, error) {
	s.before(id)
	return s.Store.ClaimSchedule(ctx, org, id, read, next, now)
}

// TestDispatcherScheduleDeletedWhileDue: a schedule deleted while due starts
// no scan, whether the index still lists it or it goes between the read and
// the claim.
func TestDispatcherScheduleDeletedWhileDue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.clock.Set(utc("2026-03-02T08:30:00Z"))
	first := e.create(schedules.Input{Cron: ptr("0 9 * * *")})
	second := e.create(schedules.Input{Cron: ptr("0 9 * * *")})
	nine := utc("2026-03-02T09:00:00Z")
	due, _, err := e.st.DueSchedules(ctx, nine, 10, nil)
	if err != nil || len(due) != 2 {
		t.Fatalf("due %v, %v", due, err)
	}

	t.Run("deleted, the index lags", func(t *testing.T) {
		if err := e.svc.Delete(ctx, e.user, first.ID); err != nil {
			t.Fatal(err)
		}
		svc := *e.svc
		svc.Store = staleIndex{Store: e.st, due: due[:1]}
		d := &schedules.Dispatcher{Service: &svc, Clock: e.clock.Now, Log: quiet}
		if rep := e.run(d, nine); rep.Due != 1 || rep.Skipped != 1 || rep.Started != 0 {
			t.Fatalf("report %+v", rep)
		}
		if n := len(e.scansOf(first.ID)); n != 0 {
			t.Fatalf("%d scans of a deleted schedule", n)
		}
	})
	t.Run("deleted between the read and the claim", func(t *testing.T) {
		svc := *e.svc
		svc.Store = claimHook{Store: e.st, before: func(id string) {
			if err := e.svc.Delete(ctx, e.user, id); err != nil {
				t.Error(err)
			}
		}}
		d := &schedules.Dispatcher{Service: &svc, Clock: e.clock.Now, Log: quiet}
		if rep := e.run(d, nine); rep.Due != 1 || rep.Skipped != 1 || rep.Started != 0 {
			t.Fatalf("report %+v", rep)
		}
		if n := len(e.scansOf(second.ID)); n != 0 {
			t.Fatalf("%d scans of a deleted schedule", n)
		}
		if _, err := e.st.GetSchedule(ctx, e.org, second.ID); !domain.Is(err, domain.KindNotFound) {
			t.Fatalf("the claim brought the schedule back: %v", err)
		}
	})
	if e.bus.count() != 0 {
		t.Fatalf("%d scan requests published", e.bus.count())
	}
}

// TestDispatcherRetriesWhatMayPass: when the scan cannot be queued (the
// event bus is down) the due time is given back, and the next run starts the
// one scan.
func TestDispatcherRetriesWhatMayPass(t *testing.T) {
	e := newEnv(t)
	e.clock.Set(utc("2026-03-02T08:30:00Z"))
	s := e.create(schedules.Input{Cron: ptr("0 9 * * *")})
	d := e.dispatcher()
	e.bus.failures.Store(1)
	nine := utc("2026-03-02T09:00:00Z")
	if rep := e.run(d, nine); rep.Retried != 1 || rep.Started != 0 {
		t.Fatalf("report with the bus down: %+v", rep)
	}
	got := e.get(s.ID)
	if !got.NextRunAt.Equal(nine) || !strings.Contains(got.LastError, "retried") {
		t.Fatalf("after the failure: next %s, last_error %q", got.NextRunAt, got.LastError)
	}
	if rep := e.run(d, nine.Add(time.Minute)); rep.Started != 1 {
		t.Fatalf("retry: %+v", rep)
	}
	got = e.get(s.ID)
	if !got.NextRunAt.Equal(nine.Add(24*time.Hour)) || got.LastError != "" || e.bus.count() != 1 {
		t.Fatalf("after the retry: %+v, %d published", got, e.bus.count())
	}
	// The scan written before the publish failed is marked failed, not left
	// pending: one scan waits for the worker.
	pending := 0
	for _, sc := range e.scansOf(s.ID) {
		if sc.Status == domain.ScanPending {
			pending++
		}
	}
	if pending != 1 {
		t.Fatalf("%d pending scans, want 1", pending)
	}
}

// TestRunNow starts a scan with the schedule's targets, as the caller, and
// leaves the schedule's timing alone.
func TestRunNow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.clock.Set(utc("2026-03-02T08:30:00Z"))
	keep := e.asset("10.0.0.1")
	s := e.create(schedules.Input{Cron: ptr("0 9 * * *"), AssetIDs: &[]string{keep}})
	scan, err := e.svc.RunNow(ctx, e.user, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if scan.ScheduleID != s.ID || scan.CreatedBy != e.user.UserID || scan.Targets != 1 || scan.Status != domain.ScanPending {
		t.Fatalf("scan %+v", scan)
	}
	got := e.get(s.ID)
	if !got.NextRunAt.Equal(*s.NextRunAt) || got.LastRunAt != nil || got.LastScanID != "" || got.Version != s.Version {
		t.Fatalf("schedule changed by run-now: %+v", got)
	}
	if err := e.st.DeleteAsset(ctx, e.org, keep); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RunNow(ctx, e.user, s.ID); !domain.Is(err, domain.KindConflict) {
		t.Fatalf("run-now without targets: %v", err)
	}
	other := domain.Principal{OrgID: domain.NewID(), UserID: "x", Role: domain.RoleAdmin}
	if _, err := e.svc.RunNow(ctx, other, s.ID); !domain.Is(err, domain.KindNotFound) {
		t.Fatalf("run-now from another organization: %v", err)
	}
}
