package routes_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"rampart/shared/domain"
)

func TestClientRoutes(t *testing.T) {
	e := newAsmEnv(t)
	const base = "/api/v1/clients"
	acme := e.mustCreate(base, e.auditor, map[string]any{"name": "ACME Corp", "description": "Widgets\r\nand more",
		"contact_name": "Ada", "contact_email": "Ada@Example.com"})
	acmePath := base + "/" + acme
	long := strings.Repeat("n", 201)
	e.run(t, []asmCase{
		// Create.
		{name: "admin creates", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "  Beta  "}, code: 201,
			check: func(t *testing.T, r *asmResp) {
				m := r.json(t)
				if m["name"] != "Beta" || m["description"] != "" || m["contact_email"] != "" || r.Header.Get("ETag") == "" {
					t.Fatalf("created %v, ETag %q", m, r.Header.Get("ETag"))
				}
			}},
		{name: "duplicate names are allowed", method: "POST", path: base, user: e.auditor, body: map[string]any{"name": "Beta"}, code: 201},
		{name: "viewer cannot create", method: "POST", path: base, user: e.viewer, body: map[string]any{"name": "X"}, code: 403},
		{name: "client member cannot create", method: "POST", path: base, user: e.member, body: map[string]any{"name": "X"}, code: 403},
		{name: "no token", method: "POST", path: base, body: map[string]any{"name": "X"}, code: 401},
		{name: "name required", method: "POST", path: base, user: e.admin, body: map[string]any{}, code: 422, locs: []string{"body.name"}},
		{name: "blank name", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "   "}, code: 422, locs: []string{"body.name"}},
		{name: "name too long", method: "POST", path: base, user: e.admin, body: map[string]any{"name": long}, code: 422, locs: []string{"body.name"}},
		{name: "name with control characters", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "a\x00b"}, code: 422, locs: []string{"body.name"}},
		{name: "bad email", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "X", "contact_email": "nope"}, code: 422, locs: []string{"body.contact_email"}},
		{name: "several errors at once", method: "POST", path: base, user: e.admin,
			body: map[string]any{"name": " ", "contact_email": "nope", "contact_name": "a\x01"}, code: 422,
			locs: []string{"body.name", "body.contact_name", "body.contact_email"}},
		{name: "unknown field", method: "POST", path: base, user: e.admin, body: map[string]any{"name": "X", "colour": "red"}, code: 422},
		{name: "malformed JSON", method: "POST", path: base, user: e.admin, body: asmRaw{"application/json", []byte("{")}, code: 400},
		// Read.
		{name: "viewer reads", method: "GET", path: acmePath, user: e.viewer, code: 200, check: func(t *testing.T, r *asmResp) {
			m := r.json(t)
			if m["name"] != "ACME Corp" || m["description"] != "Widgets\nand more" || m["contact_email"] != "ada@example.com" || m["contact_name"] != "Ada" {
				t.Fatalf("got %v", m)
			}
		}},
		{name: "unknown id", method: "GET", path: base + "/" + domain.NewID(), user: e.admin, code: 404},
		{name: "junk id", method: "GET", path: base + "/junk", user: e.admin, code: 404},
		{name: "foreign id", method: "GET", path: base + "/" + e.otherClient, user: e.admin, code: 404},
		{name: "client member reads its client", method: "GET", path: base + "/" + e.client, user: e.member, code: 200},
		{name: "client member cannot read others", method: "GET", path: acmePath, user: e.member, code: 404},
		// Update.
		{name: "auditor renames", method: "PATCH", path: acmePath, user: e.auditor, body: map[string]any{"name": "ACME Corporation"}, code: 200,
			check: func(t *testing.T, r *asmResp) {
				m := r.json(t)
				if m["name"] != "ACME Corporation" || m["contact_name"] != "Ada" {
					t.Fatalf("got %v", m)
				}
			}},
		{name: "clear email", method: "PATCH", path: acmePath, user: e.admin, body: map[string]any{"contact_email": ""}, code: 200,
			check: func(t *testing.T, r *asmResp) {
				if r.json(t)["contact_email"] != "" {
					t.Fatal("email kept")
				}
			}},
		{name: "viewer cannot update", method: "PATCH", path: acmePath, user: e.viewer, body: map[string]any{"name": "X"}, code: 403},
		{name: "client member cannot update", method: "PATCH", path: base + "/" + e.client, user: e.member, body: map[string]any{"name": "X"}, code: 403},
		{name: "update validates", method: "PATCH", path: acmePath, user: e.admin, body: map[string]any{"name": ""}, code: 422, locs: []string{"body.name"}},
		{name: "update foreign", method: "PATCH", path: base + "/" + e.otherClient, user: e.admin, body: map[string]any{"name": "X"}, code: 404},
		{name: "update unknown", method: "PATCH", path: base + "/" + domain.NewID(), user: e.admin, body: map[string]any{"name": "X"}, code: 404},
		{name: "stale If-Match", method: "PATCH", path: acmePath, user: e.admin, body: map[string]any{"name": "X"},
			headers: []string{"If-Match", `"stale"`}, code: 412},
	})

	t.Run("If-Match of the current version", func(t *testing.T) {
		tag := e.etag(t, acmePath)
		r := e.call("PATCH", acmePath, e.admin, map[string]any{"description": "new"}, "If-Match", tag)
		if r.Code != 200 || r.Header.Get("ETag") == tag {
			t.Fatalf("%d, ETag %q (was %q)", r.Code, r.Header.Get("ETag"), tag)
		}
		if r := e.call("PATCH", acmePath, e.admin, map[string]any{"description": "again"}, "If-Match", tag); r.Code != 412 {
			t.Fatalf("reused ETag: %d", r.Code)
		}
	})

	t.Run("list", func(t *testing.T) {
		p := e.list(t, base, e.viewer)
		want := []string{"ACME Corporation", "Beta", "Beta", "Client Member's Client"}
		if !slices.Equal(p.names(), want) || p.Total != 4 || p.Pages != 1 || p.Page != 1 || p.PerPage != 25 {
			t.Fatalf("list = %v total %d pages %d", p.names(), p.Total, p.Pages)
		}
		if p := e.list(t, base+"?q=bet", e.viewer); !slices.Equal(p.names(), []string{"Beta", "Beta"}) || p.Total != 2 {
			t.Fatalf("q = %v (%d)", p.names(), p.Total)
		}
		if p := e.list(t, base+"?q=nothing", e.viewer); len(p.Items) != 0 || p.Total != 0 || p.Pages != 0 {
			t.Fatalf("no match = %+v", p)
		}
		// The client member sees its own client only, whatever it asks.
		if p := e.list(t, base, e.member); !slices.Equal(p.names(), []string{"Client Member's Client"}) || p.Total != 1 {
			t.Fatalf("member = %v (%d)", p.names(), p.Total)
		}
		if p := e.list(t, base+"?q=acme", e.member); len(p.Items) != 0 || p.Total != 0 {
			t.Fatalf("member q = %v", p.names())
		}
		// Pagination edges.
		p1 := e.list(t, base+"?per_page=3", e.admin)
		p2 := e.list(t, base+"?per_page=3&page=2", e.admin)
		if len(p1.Items) != 3 || len(p2.Items) != 1 || p2.Total != 4 || p2.Pages != 2 || p1.NextCursor == "" {
			t.Fatalf("pages %v / %v", p1.names(), p2.names())
		}
		pc := e.list(t, base+"?per_page=3&cursor="+p1.NextCursor, e.admin)
		if !slices.Equal(pc.ids(), p2.ids()) {
			t.Fatalf("cursor page %v, want %v", pc.names(), p2.names())
		}
		if p := e.list(t, base+"?page=9", e.admin); len(p.Items) != 0 || p.Total != 4 {
			t.Fatalf("beyond the end: %+v", p)
		}
		if p := e.list(t, base+"?per_page=100", e.admin); len(p.Items) != 4 {
			t.Fatalf("per_page 100: %d", len(p.Items))
		}
		for _, q := range []string{"per_page=101", "per_page=0", "page=0", "page=x", "cursor=bogus"} {
			if r := e.call("GET", base+"?"+q, e.admin, nil); r.Code != 422 {
				t.Fatalf("%s: %d %s", q, r.Code, r.Body)
			}
		}
		// The other organization's list is its own.
		if p := e.list(t, base, e.other); !slices.Equal(p.names(), []string{"Foreign client"}) {
			t.Fatalf("other org = %v", p.names())
		}
	})

	t.Run("empty organization", func(t *testing.T) {
		lone, org := e.register("lone")
		if org == e.org {
			t.Fatal("same org")
		}
		if p := e.list(t, base, lone); len(p.Items) != 0 || p.Total != 0 || p.Pages != 0 || p.Items == nil {
			t.Fatalf("empty = %+v", p)
		}
	})
	_ = http.MethodGet
}
