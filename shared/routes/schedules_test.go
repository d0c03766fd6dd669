package routes_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"rampart/shared/domain"
)

// scheduleEnv is the assessment test server with the schedule routes, and
// scans that never leave the machine (private targets the organization does
// not allow; no DNS, no port probes).
func newScheduleEnv(t *testing.T) *asmEnv {
	t.Helper()
	e := newAsmEnv(t)
	e.p.Config.Scan.DNSServer = "127.0.0.1:9"
	e.p.Config.Scan.Ports = "none"
	e.p.Config.Scan.AllowLoopback = false
	e.p.Config.Scan.TargetTimeout = 2 * time.Second
	r, err := e.p.ScheduleRoutes()
	if err != nil {
		t.Fatal(err)
	}
	r.Register(e.srv.API)
	t.Cleanup(func() {
		if e.p.LocalBus != nil {
			e.p.LocalBus.Wait() // scans finish before the table goes
		}
	})
	return e
}

// storeAsset writes an asset straight to the store (no SSRF check).
func (e *asmEnv) storeAsset(org, typ, target string, tags ...string) string {
	e.t.Helper()
	now := time.Now().UTC()
	if tags == nil {
		tags = []string{}
	}
	a := domain.Asset{ID: domain.NewIDAt(now), Type: typ, Target: target, Name: typ + " " + target, Tags: tags, CreatedAt: now, UpdatedAt: now}
	if err := e.p.Store().CreateAsset(context.Background(), org, a); err != nil {
		e.t.Fatal(err)
	}
	return a.ID
}

type scheduleJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Cron       string     `json:"cron"`
	Timezone   string     `json:"timezone"`
	TargetMode string     `json:"target_mode"`
	AssetIDs   []string   `json:"asset_ids"`
	Tag        *string    `json:"tag"`
	All        bool       `json:"all"`
	Enabled    bool       `json:"enabled"`
	NextRunAt  *time.Time `json:"next_run_at"`
	LastRunAt  *time.Time `json:"last_run_at"`
	LastScanID *string    `json:"last_scan_id"`
	LastError  *string    `json:"last_error"`
	CreatedBy  string     `json:"created_by"`
}

func (r *asmResp) schedule(t *testing.T) scheduleJSON {
	t.Helper()
	var s scheduleJSON
	r.decode(t, &s)
	return s
}

func TestScheduleRoutes(t *testing.T) {
	e := newScheduleEnv(t)
	const base = "/api/v1/schedules"
	web := e.storeAsset(e.org, "ip", "10.255.255.1", "web")
	other := e.storeAsset(e.org, "domain", "private.example.internal")
	doc := e.storeAsset(e.org, "document", "")
	foreign := e.mustCreate(base, e.other, map[string]any{"name": "theirs", "cron": "@daily", "asset_ids": []string{e.otherAsset}})
	nightly := e.mustCreate(base, e.auditor, map[string]any{"name": "Nightly", "cron": "30 2 * * *",
		"timezone": "Europe/Berlin", "asset_ids": []string{web, other}})
	nightlyPath := base + "/" + nightly

	future := func(t *testing.T, s scheduleJSON, within time.Duration) {
		t.Helper()
		if s.NextRunAt == nil || !s.NextRunAt.After(time.Now()) || s.NextRunAt.After(time.Now().Add(within)) {
			t.Fatalf("next_run_at %v, want within %s from now", s.NextRunAt, within)
		}
	}

	e.run(t, []asmCase{
		// Create.
		{name: "auditor creates with assets", method: "POST", path: base, user: e.auditor, code: 201,
			body: map[string]any{"name": " Weekdays ", "cron": "0  6 * * MON-FRI", "asset_ids": []string{web}},
			check: func(t *testing.T, r *asmResp) {
				s := r.schedule(t)
				if s.Name != "Weekdays" || s.Cron != "0 6 * * mon-fri" || s.Timezone != "UTC" || !s.Enabled ||
					s.TargetMode != "assets" || !slices.Equal(s.AssetIDs, []string{web}) || s.Tag != nil || s.All ||
					s.LastRunAt != nil || s.LastScanID != nil || s.LastError != nil || s.CreatedBy != e.auditor.ID ||
					r.Header.Get("ETag") == "" {
					t.Fatalf("created %+v, ETag %q", s, r.Header.Get("ETag"))
				}
				future(t, s, 4*24*time.Hour)
				if h := s.NextRunAt.UTC(); h.Hour() != 6 || h.Minute() != 0 || h.Weekday() == time.Saturday || h.Weekday() == time.Sunday {
					t.Fatalf("next_run_at %s is not a weekday at 06:00 UTC", h)
				}
			}},
		{name: "admin creates by tag, in a zone", method: "POST", path: base, user: e.admin, code: 201,
			body: map[string]any{"name": "Web", "cron": "@daily", "timezone": "America/New_York", "tag": "Web"},
			check: func(t *testing.T, r *asmResp) {
				s := r.schedule(t)
				ny, _ := time.LoadLocation("America/New_York")
				if s.TargetMode != "tag" || s.Tag == nil || *s.Tag != "web" || len(s.AssetIDs) != 0 || s.Timezone != "America/New_York" {
					t.Fatalf("created %+v", s)
				}
				future(t, s, 25*time.Hour)
				if l := s.NextRunAt.In(ny); l.Hour() != 0 || l.Minute() != 0 {
					t.Fatalf("next_run_at %s is not midnight in New York", l)
				}
			}},
		{name: "disabled, all assets", method: "POST", path: base, user: e.admin, code: 201,
			body: map[string]any{"name": "Off", "cron": "@hourly", "all": true, "enabled": false},
			check: func(t *testing.T, r *asmResp) {
				s := r.schedule(t)
				if s.Enabled || s.NextRunAt != nil || s.TargetMode != "all" || !s.All {
					t.Fatalf("created %+v", s)
				}
				if !strings.Contains(string(r.Body), `"next_run_at":null`) {
					t.Fatalf("next_run_at is not null: %s", r.Body)
				}
			}},
		{name: "invalid cron", method: "POST", path: base, user: e.admin, code: 422, locs: []string{"body.cron"},
			body: map[string]any{"name": "X", "cron": "61 * * * *", "all": true}, detail: "minute"},
		{name: "six fields", method: "POST", path: base, user: e.admin, code: 422, locs: []string{"body.cron"},
			body: map[string]any{"name": "X", "cron": "0 0 * * * *", "all": true}},
		{name: "@every is refused", method: "POST", path: base, user: e.admin, code: 422, locs: []string{"body.cron"},
			body: map[string]any{"name": "X", "cron": "@every 1h", "all": true}},
		{name: "a date that never comes", method: "POST", path: base, user: e.admin, code: 422, locs: []string{"body.cron"},
			body: map[string]any{"name": "X", "cron": "0 0 30 2 *", "all": true}},
		{name: "cron required", method: "POST", path: base, user: e.admin, code: 422, locs: []string{"body.cron"},
			body: map[string]any{"name": "X", "all": true}},
		{name: "invalid zone", method: "POST", path: base, user: e.admin, code: 422, locs: []string{"body.timezone"},
			body: map[string]any{"name": "X", "cron": "@daily", "timezone": "Mars/Olympus", "all": true}},
		{name: "Local is not a zone", method: "POST", path: base, user: e.admin, code: 422, locs: []string{"body.timezone"},
			body: map[string]any{"name": "X", "cron": "@daily", "timezone": "Local", "all": true}},
		{name: "everything wrong at once", method: "POST", path: base, user: e.admin, code: 422,
			locs: []string{"body.name", "body.cron", "body.timezone", "body.asset_ids"},
			body: map[string]any{"name": " ", "cron": "nope", "timezone": "Nowhere/City"}},
		{name: "no targets", method: "POST", path: base, user: e.admin, code: 422, locs: []string{"body.asset_ids"},
			body: map[string]any{"name": "X", "cron": "@daily", "asset_ids": []string{}, "all": false}},
		{name: "two kinds of targets", method: "POST", path: base, user: e.admin, code: 422, locs: []string{"body.tag"},
			body: map[string]any{"name": "X", "cron": "@daily", "asset_ids": []string{web}, "tag": "web"}},
		{name: "unknown, junk, foreign and unscannable assets", method: "POST", path: base, user: e.admin, code: 422,
			locs: []string{"body.asset_ids[0]", "body.asset_ids[1]", "body.asset_ids[3]", "body.asset_ids[4]"},
			body: map[string]any{"name": "X", "cron": "@daily", "asset_ids": []string{domain.NewID(), "junk", web, e.otherAsset, doc}}},
		{name: "invalid tag", method: "POST", path: base, user: e.admin, code: 422, locs: []string{"body.tag"},
			body: map[string]any{"name": "X", "cron": "@daily", "tag": "no spaces"}},
		{name: "unknown field", method: "POST", path: base, user: e.admin, code: 422,
			body: map[string]any{"name": "X", "cron": "@daily", "all": true, "every": "1h"}},
		{name: "viewer cannot create", method: "POST", path: base, user: e.viewer, code: 403,
			body: map[string]any{"name": "X", "cron": "@daily", "all": true}},
		{name: "client member cannot create", method: "POST", path: base, user: e.member, code: 403,
			body: map[string]any{"name": "X", "cron": "@daily", "all": true}},
		{name: "no token", method: "POST", path: base, code: 401, body: map[string]any{"name": "X", "cron": "@daily", "all": true}},
		// Read.
		{name: "viewer reads", method: "GET", path: nightlyPath, user: e.viewer, code: 200, check: func(t *testing.T, r *asmResp) {
			s := r.schedule(t)
			if s.ID != nightly || s.Cron != "30 2 * * *" || s.Timezone != "Europe/Berlin" || r.Header.Get("ETag") == "" {
				t.Fatalf("got %+v", s)
			}
			future(t, s, 25*time.Hour)
		}},
		{name: "client member cannot read", method: "GET", path: nightlyPath, user: e.member, code: 403},
		{name: "foreign id", method: "GET", path: base + "/" + foreign, user: e.admin, code: 404},
		{name: "unknown id", method: "GET", path: base + "/" + domain.NewID(), user: e.admin, code: 404},
		{name: "junk id", method: "GET", path: base + "/junk", user: e.admin, code: 404},
		// Writes by role and tenant.
		{name: "viewer cannot update", method: "PATCH", path: nightlyPath, user: e.viewer, body: map[string]any{"name": "X"}, code: 403},
		{name: "viewer cannot delete", method: "DELETE", path: nightlyPath, user: e.viewer, code: 403},
		{name: "viewer cannot run", method: "POST", path: nightlyPath + "/run", user: e.viewer, code: 403},
		{name: "client member cannot run", method: "POST", path: nightlyPath + "/run", user: e.member, code: 403},
		{name: "update foreign", method: "PATCH", path: base + "/" + foreign, user: e.admin, body: map[string]any{"name": "X"}, code: 404},
		{name: "run foreign", method: "POST", path: base + "/" + foreign + "/run", user: e.admin, code: 404},
		{name: "delete foreign", method: "DELETE", path: base + "/" + foreign, user: e.admin, code: 404},
		{name: "update validates", method: "PATCH", path: nightlyPath, user: e.admin, code: 422,
			body: map[string]any{"cron": "* * *", "timezone": "Europe/Nowhere"}, locs: []string{"body.cron", "body.timezone"}},
		{name: "update validates targets", method: "PATCH", path: nightlyPath, user: e.admin, code: 422,
			body: map[string]any{"tag": "web", "all": true}, locs: []string{"body.all"}},
		{name: "stale If-Match", method: "PATCH", path: nightlyPath, user: e.admin, body: map[string]any{"name": "X"},
			headers: []string{"If-Match", `"999"`}, code: 412},
	})

	t.Run("nothing was written by refused requests", func(t *testing.T) {
		s := e.call("GET", nightlyPath, e.admin, nil).schedule(t)
		if s.Name != "Nightly" || s.Cron != "30 2 * * *" || s.Timezone != "Europe/Berlin" || s.TargetMode != "assets" {
			t.Fatalf("changed: %+v", s)
		}
		if r := e.call("GET", base+"/"+foreign, e.other, nil); r.Code != 200 || r.schedule(t).Name != "theirs" {
			t.Fatalf("foreign schedule: %d %s", r.Code, r.Body)
		}
	})

	t.Run("patch recomputes next_run_at, disable and enable", func(t *testing.T) {
		tag := e.etag(t, nightlyPath)
		r := e.call("PATCH", nightlyPath, e.auditor, map[string]any{"cron": "15 4 * * *", "timezone": "UTC"}, "If-Match", tag)
		if r.Code != 200 || r.Header.Get("ETag") == tag {
			t.Fatalf("%d %s, ETag %q (was %q)", r.Code, r.Body, r.Header.Get("ETag"), tag)
		}
		s := r.schedule(t)
		future(t, s, 25*time.Hour)
		if h := s.NextRunAt.UTC(); h.Hour() != 4 || h.Minute() != 15 || s.Name != "Nightly" || len(s.AssetIDs) != 2 {
			t.Fatalf("after the cron change: %+v", s)
		}
		if r := e.call("PATCH", nightlyPath, e.auditor, map[string]any{"name": "again"}, "If-Match", tag); r.Code != 412 {
			t.Fatalf("reused ETag: %d", r.Code)
		}
		s = e.call("PATCH", nightlyPath, e.admin, map[string]any{"enabled": false}).schedule(t)
		if s.Enabled || s.NextRunAt != nil {
			t.Fatalf("disabled: %+v", s)
		}
		due, _, err := e.p.Store().DueSchedules(context.Background(), time.Now().Add(48*time.Hour), 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range due {
			if d.ID == nightly {
				t.Fatal("a disabled schedule is in the due index")
			}
		}
		s = e.call("PATCH", nightlyPath, e.admin, map[string]any{"name": "renamed"}).schedule(t)
		if s.Enabled || s.NextRunAt != nil || s.Name != "renamed" {
			t.Fatalf("renamed while disabled: %+v", s)
		}
		s = e.call("PATCH", nightlyPath, e.admin, map[string]any{"enabled": true, "all": true}).schedule(t)
		if !s.Enabled || s.TargetMode != "all" || !s.All || len(s.AssetIDs) != 0 {
			t.Fatalf("enabled: %+v", s)
		}
		future(t, s, 25*time.Hour)
		before := *s.NextRunAt
		s = e.call("PATCH", nightlyPath, e.admin, map[string]any{"asset_ids": []string{web}}).schedule(t)
		if s.TargetMode != "assets" || !s.NextRunAt.Equal(before) {
			t.Fatalf("a change of targets moved next_run_at: %+v", s)
		}
	})

	t.Run("run now", func(t *testing.T) {
		before := e.call("GET", nightlyPath, e.admin, nil).schedule(t)
		r := e.call("POST", nightlyPath+"/run", e.auditor, nil)
		if r.Code != 202 {
			t.Fatalf("run: %d %s", r.Code, r.Body)
		}
		m := r.json(t)
		if m["schedule_id"] != nightly || m["status"] != "pending" || m["created_by"] != e.auditor.ID {
			t.Fatalf("scan %v", m)
		}
		after := e.call("GET", nightlyPath, e.admin, nil).schedule(t)
		if !after.NextRunAt.Equal(*before.NextRunAt) || after.LastRunAt != nil || after.LastScanID != nil {
			t.Fatalf("run now changed the schedule: %+v", after)
		}
		scan, err := e.p.Store().GetScan(context.Background(), e.org, m["id"].(string))
		if err != nil || scan.ScheduleID != nightly || scan.Targets != 1 {
			t.Fatalf("stored scan %+v, %v", scan, err)
		}
		// Targets gone: 409, nothing queued.
		gone := e.mustCreate(base, e.admin, map[string]any{"name": "gone", "cron": "@daily", "asset_ids": []string{other}})
		if err := e.p.Store().DeleteAsset(context.Background(), e.org, other); err != nil {
			t.Fatal(err)
		}
		if r := e.call("POST", base+"/"+gone+"/run", e.admin, nil); r.Code != 409 {
			t.Fatalf("run without targets: %d %s", r.Code, r.Body)
		}
	})

	t.Run("list and pagination", func(t *testing.T) {
		p := e.list(t, base, e.viewer)
		// nightly, Weekdays, Web, Off, gone: newest first.
		if p.Total != 5 || len(p.Items) != 5 || p.Pages != 1 || p.Items[4].ID != nightly || p.Items[0].Name != "gone" {
			t.Fatalf("list = %v total %d", p.names(), p.Total)
		}
		p1 := e.list(t, base+"?per_page=2", e.admin)
		p2 := e.list(t, base+"?per_page=2&page=2", e.admin)
		p3 := e.list(t, base+"?per_page=2&page=3", e.admin)
		if len(p1.Items) != 2 || len(p2.Items) != 2 || len(p3.Items) != 1 || p3.Pages != 3 || p3.Total != 5 || p1.NextCursor == "" {
			t.Fatalf("pages %v / %v / %v", p1.names(), p2.names(), p3.names())
		}
		if pc := e.list(t, base+"?per_page=2&cursor="+p1.NextCursor, e.admin); !slices.Equal(pc.ids(), p2.ids()) {
			t.Fatalf("cursor page %v, want %v", pc.names(), p2.names())
		}
		if p := e.list(t, base+"?page=4&per_page=2", e.admin); len(p.Items) != 0 || p.Total != 5 {
			t.Fatalf("beyond the end: %+v", p)
		}
		for _, q := range []string{"per_page=101", "per_page=0", "page=0", "cursor=bogus"} {
			if r := e.call("GET", base+"?"+q, e.admin, nil); r.Code != 422 {
				t.Fatalf("%s: %d %s", q, r.Code, r.Body)
			}
		}
		if r := e.call("GET", base, e.member, nil); r.Code != 403 {
			t.Fatalf("client member list: %d", r.Code)
		}
		if p := e.list(t, base, e.other); p.Total != 1 || len(p.Items) != 1 || p.Items[0].ID != foreign {
			t.Fatalf("other organization's list: %v", p.names())
		}
	})

	t.Run("delete", func(t *testing.T) {
		if r := e.call("DELETE", nightlyPath, e.auditor, nil); r.Code != 204 {
			t.Fatalf("delete: %d %s", r.Code, r.Body)
		}
		if r := e.call("GET", nightlyPath, e.admin, nil); r.Code != 404 {
			t.Fatalf("get after delete: %d", r.Code)
		}
		if r := e.call("DELETE", nightlyPath, e.admin, nil); r.Code != 404 {
			t.Fatalf("second delete: %d", r.Code)
		}
		if r := e.call("POST", nightlyPath+"/run", e.admin, nil); r.Code != 404 {
			t.Fatalf("run after delete: %d", r.Code)
		}
		if p := e.list(t, base, e.admin); p.Total != 4 || len(p.Items) != 4 {
			t.Fatalf("after delete: total %d, %d items", p.Total, len(p.Items))
		}
	})
}
