package routes_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"rampart/shared/domain"
	"rampart/shared/identity"
)

func TestAssessmentSessionRoutes(t *testing.T) {
	e := newAsmEnv(t)
	const base = "/api/v1/sessions"
	other := e.mustCreate("/api/v1/clients", e.admin, map[string]any{"name": "Other"})
	mine := e.mustCreate("/api/v1/assets", e.admin, map[string]any{"type": "other", "name": "Mine", "client_id": e.client})
	shared := e.mustCreate("/api/v1/assets", e.admin, map[string]any{"type": "other", "name": "Shared infrastructure"})
	theirs := e.mustCreate("/api/v1/assets", e.admin, map[string]any{"type": "other", "name": "Theirs", "client_id": other})
	gone := e.addMember("auditor", "")
	off := false
	if _, err := e.id.UpdateMember(context.Background(), e.org, gone.ID, identity.MemberChange{Active: &off}); err != nil {
		t.Fatal(err)
	}

	var created string
	e.run(t, []asmCase{
		{name: "create", method: "POST", path: base, user: e.auditor, body: map[string]any{
			"name": " Q3 pentest ", "client_id": e.client, "asset_ids": []string{mine, shared, mine},
			"start_date": "2026-07-01", "end_date": "2026-07-14", "reviewer_ids": []string{e.admin.ID, e.auditor.ID},
			"description": "Scope: web"}, code: 201,
			check: func(t *testing.T, r *asmResp) {
				m := r.json(t)
				created, _ = m["id"].(string)
				if m["name"] != "Q3 pentest" || m["status"] != "planned" || m["client_id"] != e.client ||
					fmt.Sprint(m["asset_ids"]) != fmt.Sprint([]string{mine, shared}) || m["start_date"] != "2026-07-01" ||
					m["end_date"] != "2026-07-14" || fmt.Sprint(m["reviewer_ids"]) != fmt.Sprint([]string{e.admin.ID, e.auditor.ID}) ||
					r.Header.Get("ETag") == "" {
					t.Fatalf("created %v", m)
				}
			}},
		{name: "minimal", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "Other review", "client_id": other, "status": "in_progress"}, code: 201,
			check: func(t *testing.T, r *asmResp) {
				m := r.json(t)
				if m["start_date"] != nil || fmt.Sprint(m["asset_ids"]) != "[]" || fmt.Sprint(m["reviewer_ids"]) != "[]" || m["status"] != "in_progress" {
					t.Fatalf("created %v", m)
				}
			}},
		{name: "viewer cannot create", method: "POST", path: base, user: e.viewer, body: map[string]any{"name": "x", "client_id": e.client}, code: 403},
		{name: "client member cannot create", method: "POST", path: base, user: e.member, body: map[string]any{"name": "x", "client_id": e.client}, code: 403},
		{name: "name required", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "", "client_id": e.client}, code: 422, locs: []string{"body.name"}},
		{name: "client required", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "x"}, code: 422, locs: []string{"body.client_id"}},
		{name: "unknown client", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "x", "client_id": domain.NewID()}, code: 422, locs: []string{"body.client_id"}, detail: "no such client"},
		{name: "foreign client", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "x", "client_id": e.otherClient}, code: 422, locs: []string{"body.client_id"}, detail: "no such client"},
		{name: "asset of another client", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "x", "client_id": e.client, "asset_ids": []string{mine, theirs}}, code: 422, locs: []string{"body.asset_ids[1]"}},
		{name: "unknown, junk and foreign assets", method: "POST", path: base, user: e.admin,
			body: map[string]any{"name": "x", "client_id": e.client, "asset_ids": []string{domain.NewID(), "junk", e.otherAsset}}, code: 422,
			locs: []string{"body.asset_ids[0]", "body.asset_ids[1]", "body.asset_ids[2]"}, detail: "no such asset"},
		{name: "reviewers must be active admins or auditors", method: "POST", path: base, user: e.admin,
			body: map[string]any{"name": "x", "client_id": e.client, "reviewer_ids": []string{e.viewer.ID, e.member.ID, gone.ID, domain.NewID(), e.other.ID, e.auditor.ID}}, code: 422,
			locs: []string{"body.reviewer_ids[0]", "body.reviewer_ids[1]", "body.reviewer_ids[2]", "body.reviewer_ids[3]", "body.reviewer_ids[4]"}},
		{name: "bad date", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "x", "client_id": e.client, "start_date": "2026-02-30"}, code: 422, locs: []string{"body.start_date"}},
		{name: "date format", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "x", "client_id": e.client, "end_date": "1/2/2026"}, code: 422, locs: []string{"body.end_date"}},
		{name: "end before start", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "x", "client_id": e.client, "start_date": "2026-07-02", "end_date": "2026-07-01"}, code: 422, locs: []string{"body.end_date"}},
		{name: "unknown status", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "x", "client_id": e.client, "status": "paused"}, code: 422, locs: []string{"body.status"}},
		{name: "too many assets", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "x", "client_id": e.client, "asset_ids": make([]string, 501)}, code: 422},
	})
	path := base + "/" + created
	e.run(t, []asmCase{
		{name: "get", method: "GET", path: path, user: e.viewer, code: 200},
		{name: "client member gets its session", method: "GET", path: path, user: e.member, code: 200},
		{name: "unknown", method: "GET", path: base + "/" + domain.NewID(), user: e.admin, code: 404},
		{name: "foreign", method: "GET", path: base + "/" + e.otherSession, user: e.admin, code: 404},
		{name: "foreign patch", method: "PATCH", path: base + "/" + e.otherSession, user: e.admin, body: map[string]any{"name": "x"}, code: 404},
		{name: "patch status and dates", method: "PATCH", path: path, user: e.auditor, body: map[string]any{"status": "in_progress", "end_date": ""}, code: 200,
			check: func(t *testing.T, r *asmResp) {
				m := r.json(t)
				if m["status"] != "in_progress" || m["end_date"] != nil || m["start_date"] != "2026-07-01" || m["name"] != "Q3 pentest" {
					t.Fatalf("patched %v", m)
				}
			}},
		{name: "patch dates checked against the stored ones", method: "PATCH", path: path, user: e.admin, body: map[string]any{"end_date": "2026-06-30"}, code: 422, locs: []string{"body.end_date"}},
		{name: "patch scope", method: "PATCH", path: path, user: e.admin, body: map[string]any{"asset_ids": []string{shared}}, code: 200},
		{name: "patch scope with a foreign asset", method: "PATCH", path: path, user: e.admin, body: map[string]any{"asset_ids": []string{e.otherAsset}}, code: 422, locs: []string{"body.asset_ids[0]"}},
		{name: "patch reviewers", method: "PATCH", path: path, user: e.admin, body: map[string]any{"reviewer_ids": []string{e.viewer.ID}}, code: 422, locs: []string{"body.reviewer_ids[0]"}},
		{name: "patch bad status", method: "PATCH", path: path, user: e.admin, body: map[string]any{"status": "nope"}, code: 422, locs: []string{"body.status"}},
		{name: "patch empty name", method: "PATCH", path: path, user: e.admin, body: map[string]any{"name": " "}, code: 422, locs: []string{"body.name"}},
		{name: "viewer cannot patch", method: "PATCH", path: path, user: e.viewer, body: map[string]any{"name": "x"}, code: 403},
		{name: "client member cannot patch", method: "PATCH", path: path, user: e.member, body: map[string]any{"name": "x"}, code: 403},
		{name: "stale If-Match", method: "PATCH", path: path, user: e.admin, body: map[string]any{"name": "x"}, headers: []string{"If-Match", `"1"`}, code: 412},
	})

	t.Run("client change re-checks the scope", func(t *testing.T) {
		if r := e.call("PATCH", path, e.admin, map[string]any{"asset_ids": []string{mine, shared}}); r.Code != 200 {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
		r := e.call("PATCH", path, e.admin, map[string]any{"client_id": other})
		if r.Code != 422 || !slices.Equal(r.locations(), []string{"body.client_id"}) {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
		r = e.call("PATCH", path, e.admin, map[string]any{"client_id": other, "asset_ids": []string{shared, theirs}})
		if r.Code != 200 || r.json(t)["client_id"] != other {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
		// Now the client member no longer sees it.
		if r := e.call("GET", path, e.member, nil); r.Code != 404 {
			t.Fatalf("member: %d", r.Code)
		}
		if r := e.call("PATCH", path, e.admin, map[string]any{"client_id": e.client, "asset_ids": []string{mine}}); r.Code != 200 {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
	})

	t.Run("If-Match of the current version", func(t *testing.T) {
		tag := e.etag(t, path)
		if r := e.call("PATCH", path, e.admin, map[string]any{"description": "v2"}, "If-Match", tag); r.Code != 200 {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
		if r := e.call("PATCH", path, e.admin, map[string]any{"description": "v3"}, "If-Match", tag); r.Code != 412 {
			t.Fatalf("stale: %d", r.Code)
		}
	})

	t.Run("concurrent patches of different fields all land", func(t *testing.T) {
		id := e.mustCreate(base, e.admin, map[string]any{"name": "Race", "client_id": other})
		bodies := []map[string]any{{"name": "N"}, {"description": "D"}, {"start_date": "2026-01-01"}, {"reviewer_ids": []string{e.auditor.ID}}}
		codes := make(chan int, len(bodies))
		for _, b := range bodies {
			go func() { codes <- asmServe(t, e.srv, "PATCH", base+"/"+id, e.admin, b).Code }()
		}
		for range bodies {
			if c := <-codes; c != 200 {
				t.Fatalf("patch: %d", c)
			}
		}
		m := e.call("GET", base+"/"+id, e.admin, nil).json(t)
		if m["name"] != "N" || m["description"] != "D" || m["start_date"] != "2026-01-01" || fmt.Sprint(m["reviewer_ids"]) != fmt.Sprint([]string{e.auditor.ID}) {
			t.Fatalf("lost update: %v", m)
		}
	})

	t.Run("lists and filters", func(t *testing.T) {
		// A few more sessions for paging.
		var extra []string
		for i := range 3 {
			extra = append(extra, e.mustCreate(base, e.admin, map[string]any{"name": fmt.Sprintf("Extra %d", i), "client_id": e.client, "status": "completed"}))
		}
		all := e.list(t, base, e.viewer)
		if all.Total != 6 || len(all.Items) != 6 {
			t.Fatalf("all: %v (%d)", all.names(), all.Total)
		}
		newest := []string{extra[2], extra[1], extra[0]}
		check := func(q string, user asmUser, want int, first ...string) {
			t.Helper()
			p := e.list(t, base+"?"+q, user)
			if p.Total != want || len(p.Items) != min(want, p.PerPage) || (first != nil && !slices.Equal(p.ids()[:len(first)], first)) {
				t.Fatalf("%s: %v (total %d), want %d", q, p.names(), p.Total, want)
			}
		}
		check("client_id="+e.client, e.viewer, 4, newest...)
		check("client_id="+other, e.viewer, 2)
		check("status=completed", e.viewer, 3, newest...)
		check("status=in_progress", e.viewer, 2)
		check("status=planned", e.viewer, 1)
		check("client_id="+e.client+"&status=in_progress", e.viewer, 1, created)
		check("client_id="+e.otherClient, e.viewer, 0)
		check("client_id=junk", e.viewer, 0)
		// The client member sees its client's sessions only.
		check("", e.member, 4, newest...)
		check("client_id="+other, e.member, 0)
		check("status=in_progress", e.member, 1, created)
		// Pages.
		p1 := e.list(t, base+"?per_page=2", e.viewer)
		p3 := e.list(t, base+"?per_page=2&page=3", e.viewer)
		if len(p1.Items) != 2 || p1.Pages != 3 || len(p3.Items) != 2 || p3.Total != 6 {
			t.Fatalf("pages: %+v / %+v", p1, p3)
		}
		if p := e.list(t, base+"?per_page=2&cursor="+p1.NextCursor, e.viewer); !slices.Equal(p.ids(), all.ids()[2:4]) {
			t.Fatalf("cursor page %v", p.names())
		}
		for _, q := range []string{"status=paused", "per_page=101", "page=0"} {
			if r := e.call("GET", base+"?"+q, e.viewer, nil); r.Code != 422 {
				t.Fatalf("%s: %d", q, r.Code)
			}
		}
		if r := e.call("GET", base+"?status=paused", e.viewer, nil); !slices.Equal(r.locations(), []string{"query.status"}) {
			t.Fatalf("status filter error at %v", r.locations())
		}
		if p := e.list(t, base, e.other); p.Total != 1 || p.Items[0].ID != e.otherSession {
			t.Fatalf("other org: %+v", p)
		}
	})
}
