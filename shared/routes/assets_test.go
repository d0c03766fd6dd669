package routes_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"rampart/shared/domain"
)

func TestAssetRoutes(t *testing.T) {
	e := newAsmEnv(t)
	const base = "/api/v1/assets"
	other := e.mustCreate("/api/v1/clients", e.admin, map[string]any{"name": "Other client"})
	e.resolver.set("public.example.com", "93.184.215.14")
	e.resolver.set("internal.example.com", "10.1.2.3")
	e.resolver.set("mixed.example.com", "93.184.215.14", "127.0.0.1")
	e.resolver.set("metadata.example.com", "169.254.169.254")

	target := func(want string) func(*testing.T, *asmResp) {
		return func(t *testing.T, r *asmResp) {
			m := r.json(t)
			if m["target"] != want {
				t.Fatalf("target %v, want %q", m["target"], want)
			}
		}
	}
	tags := make([]string, 21)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%d", i)
	}
	e.run(t, []asmCase{
		// Every type, normalised.
		{name: "domain", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "domain", "target": "Example.COM."}, code: 201,
			check: func(t *testing.T, r *asmResp) {
				m := r.json(t)
				if m["target"] != "example.com" || m["name"] != "example.com" || m["client_id"] != nil ||
					fmt.Sprint(m["tags"]) != "[]" || r.Header.Get("ETag") == "" {
					t.Fatalf("created %v", m)
				}
			}},
		{name: "idn domain", method: "POST", path: base, user: e.auditor, body: map[string]any{"type": "domain", "target": "bücher.de"}, code: 201, check: target("xn--bcher-kva.de")},
		{name: "host name", method: "POST", path: base, user: e.auditor, body: map[string]any{"type": "host", "target": "public.example.com"}, code: 201, check: target("public.example.com")},
		{name: "host ip", method: "POST", path: base, user: e.auditor, body: map[string]any{"type": "host", "target": "[2606:4700::6810:85e5]"}, code: 201, check: target("2606:4700::6810:85e5")},
		{name: "ip", method: "POST", path: base, user: e.auditor, body: map[string]any{"type": "ip", "target": "::ffff:93.184.215.14",
			"name": "Edge", "client_id": e.client, "tags": []string{"Edge", "prod", "edge"}, "description": "DMZ"}, code: 201,
			check: func(t *testing.T, r *asmResp) {
				m := r.json(t)
				if m["target"] != "93.184.215.14" || m["name"] != "Edge" || m["client_id"] != e.client ||
					fmt.Sprint(m["tags"]) != "[edge prod]" || m["description"] != "DMZ" {
					t.Fatalf("created %v", m)
				}
			}},
		{name: "url", method: "POST", path: base, user: e.auditor, body: map[string]any{"type": "url", "target": "HTTPS://Public.Example.com:443#top"}, code: 201, check: target("https://public.example.com/")},
		{name: "artefact without target", method: "POST", path: base, user: e.auditor, body: map[string]any{"type": "mobile_app", "name": "iOS app", "client_id": e.client}, code: 201,
			check: func(t *testing.T, r *asmResp) {
				if m := r.json(t); m["target"] != nil || m["name"] != "iOS app" {
					t.Fatalf("created %v", m)
				}
			}},
		{name: "artefact with url", method: "POST", path: base, user: e.auditor, body: map[string]any{"type": "repository", "target": "https://git.example.com/org/repo"}, code: 201, check: target("https://git.example.com/org/repo")},
		{name: "artefact url may be internal", method: "POST", path: base, user: e.auditor, body: map[string]any{"type": "web_application", "target": "http://10.0.0.5/app"}, code: 201},
		// Roles.
		{name: "viewer cannot create", method: "POST", path: base, user: e.viewer, body: map[string]any{"type": "domain", "target": "v.example.com"}, code: 403},
		{name: "client member cannot create", method: "POST", path: base, user: e.member, body: map[string]any{"type": "domain", "target": "c.example.com"}, code: 403},
		// Validation.
		{name: "type required", method: "POST", path: base, user: e.admin, body: map[string]any{"target": "x.example.com"}, code: 422, locs: []string{"body.type"}},
		{name: "unknown type", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "printer", "target": "x.example.com"}, code: 422, locs: []string{"body.type"}},
		{name: "target required", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "ip"}, code: 422, locs: []string{"body.target"}},
		{name: "bad domain", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "domain", "target": "https://x.example.com/"}, code: 422, locs: []string{"body.target"}},
		{name: "ip range", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "ip", "target": "93.184.215.0/24"}, code: 422, locs: []string{"body.target"}},
		{name: "url with credentials", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "url", "target": "https://u:p@x.example.com/"}, code: 422, locs: []string{"body.target"}},
		{name: "url scheme", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "url", "target": "ftp://x.example.com/"}, code: 422, locs: []string{"body.target"}},
		{name: "artefact target must be a url", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "api", "target": "api.example.com"}, code: 422, locs: []string{"body.target"}},
		{name: "artefact without target needs a name", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "other"}, code: 422, locs: []string{"body.name"}},
		{name: "name too long", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "other", "name": strings.Repeat("x", 201)}, code: 422, locs: []string{"body.name"}},
		{name: "bad tag", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "other", "name": "x", "tags": []string{"ok", "not ok"}}, code: 422, locs: []string{"body.tags"}},
		{name: "too many tags", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "other", "name": "x", "tags": tags}, code: 422, locs: []string{"body.tags"}},
		{name: "unknown client", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "other", "name": "x", "client_id": domain.NewID()}, code: 422, locs: []string{"body.client_id"}, detail: "no such client"},
		{name: "foreign client is just as unknown", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "other", "name": "x", "client_id": e.otherClient}, code: 422, locs: []string{"body.client_id"}, detail: "no such client"},
		{name: "junk client", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "other", "name": "x", "client_id": "junk"}, code: 422, locs: []string{"body.client_id"}},
		{name: "all errors at once", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "ip", "target": "x", "tags": []string{"#"}, "client_id": "junk"}, code: 422,
			locs: []string{"body.target", "body.tags", "body.client_id"}},
		// Duplicates.
		{name: "duplicate", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "domain", "target": "EXAMPLE.com"}, code: 409, locs: []string{"body.target"}},
		{name: "same target, other type", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "host", "target": "example.com"}, code: 201},
		{name: "duplicate ip spelling", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "ip", "target": "93.184.215.14"}, code: 409},
	})

	t.Run("ssrf", func(t *testing.T) {
		before := e.resolver.lookups.Load()
		e.run(t, []asmCase{
			{name: "private literal", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "ip", "target": "10.0.0.1"}, code: 422, locs: []string{"body.target"}, detail: "allow private"},
			{name: "loopback literal", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "host", "target": "127.0.0.1"}, code: 422, locs: []string{"body.target"}},
			{name: "metadata service", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "url", "target": "http://169.254.169.254/latest/meta-data/"}, code: 422, locs: []string{"body.target"}},
			{name: "ipv6 loopback", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "url", "target": "http://[::1]:8080/"}, code: 422, locs: []string{"body.target"}},
			{name: "mapped private", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "ip", "target": "::ffff:192.168.1.1"}, code: 422, locs: []string{"body.target"}},
			{name: "documentation range", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "ip", "target": "192.0.2.1"}, code: 422, locs: []string{"body.target"}},
			{name: "localhost url", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "url", "target": "http://app.localhost/"}, code: 422, locs: []string{"body.target"}, detail: "localhost"},
		})
		if n := e.resolver.lookups.Load() - before; n != 0 {
			t.Fatalf("%d lookups for literals and localhost", n)
		}
		e.run(t, []asmCase{
			{name: "name resolving to private", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "domain", "target": "internal.example.com"}, code: 422, locs: []string{"body.target"}, detail: "10.1.2.3"},
			{name: "name with one loopback address", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "host", "target": "mixed.example.com"}, code: 422, locs: []string{"body.target"}},
			{name: "url resolving to metadata", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "url", "target": "https://metadata.example.com/x"}, code: 422, locs: []string{"body.target"}},
			{name: "name that does not resolve is accepted", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "domain", "target": "not-yet-registered.example.com"}, code: 201},
		})
		// An admin allows private ranges: private targets pass, loopback
		// and link-local never do.
		if _, err := e.p.Store().UpdateOrg(context.Background(), e.org, func(o *domain.Organization) error {
			o.Settings.AllowPrivateTargets = true
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_, _ = e.p.Store().UpdateOrg(context.Background(), e.org, func(o *domain.Organization) error {
				o.Settings.AllowPrivateTargets = false
				return nil
			})
		}()
		e.run(t, []asmCase{
			{name: "private literal allowed", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "ip", "target": "10.0.0.1"}, code: 201},
			{name: "private name allowed", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "domain", "target": "internal.example.com"}, code: 201},
			{name: "loopback still refused", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "ip", "target": "127.0.0.1"}, code: 422},
			{name: "link-local still refused", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "ip", "target": "169.254.169.254"}, code: 422},
		})
	})

	// Fixtures for reads, updates and lists.
	web := e.mustCreate(base, e.admin, map[string]any{"type": "url", "target": "https://shop.example.net/", "client_id": e.client, "tags": []string{"web", "pci"}})
	api := e.mustCreate(base, e.admin, map[string]any{"type": "api", "name": "Payments API", "client_id": other, "tags": []string{"web"}})
	bare := e.mustCreate(base, e.admin, map[string]any{"type": "domain", "target": "bare.example.net"})

	e.run(t, []asmCase{
		{name: "get", method: "GET", path: base + "/" + web, user: e.viewer, code: 200, check: target("https://shop.example.net/")},
		{name: "client member gets its asset", method: "GET", path: base + "/" + web, user: e.member, code: 200},
		{name: "client member: other client's asset", method: "GET", path: base + "/" + api, user: e.member, code: 404},
		{name: "client member: asset without client", method: "GET", path: base + "/" + bare, user: e.member, code: 404},
		{name: "unknown", method: "GET", path: base + "/" + domain.NewID(), user: e.admin, code: 404},
		{name: "junk", method: "GET", path: base + "/junk", user: e.admin, code: 404},
		{name: "foreign", method: "GET", path: base + "/" + e.otherAsset, user: e.admin, code: 404},
		{name: "foreign patch", method: "PATCH", path: base + "/" + e.otherAsset, user: e.admin, body: map[string]any{"name": "x"}, code: 404},
		{name: "foreign delete", method: "DELETE", path: base + "/" + e.otherAsset, user: e.admin, code: 404},
		{name: "patch name and tags", method: "PATCH", path: base + "/" + web, user: e.auditor, body: map[string]any{"name": "Shop", "tags": []string{"Shop"}}, code: 200,
			check: func(t *testing.T, r *asmResp) {
				if m := r.json(t); m["name"] != "Shop" || fmt.Sprint(m["tags"]) != "[shop]" || m["target"] != "https://shop.example.net/" {
					t.Fatalf("patched %v", m)
				}
			}},
		{name: "patch onto an existing key", method: "PATCH", path: base + "/" + bare, user: e.admin, body: map[string]any{"target": "example.com"}, code: 409},
		{name: "patch type onto an existing key", method: "PATCH", path: base + "/" + bare, user: e.admin, body: map[string]any{"type": "host", "target": "public.example.com"}, code: 409},
		{name: "patch type keeps a target that fits", method: "PATCH", path: base + "/" + bare, user: e.admin, body: map[string]any{"type": "host"}, code: 200,
			check: func(t *testing.T, r *asmResp) {
				if m := r.json(t); m["type"] != "host" || m["target"] != "bare.example.net" {
					t.Fatalf("patched %v", m)
				}
			}},
		{name: "the old key is free", method: "POST", path: base, user: e.admin, body: map[string]any{"type": "domain", "target": "bare.example.net"}, code: 201},
		{name: "patch type needs a fitting target", method: "PATCH", path: base + "/" + bare, user: e.admin, body: map[string]any{"type": "url"}, code: 422, locs: []string{"body.target"}},
		{name: "patch bad type", method: "PATCH", path: base + "/" + bare, user: e.admin, body: map[string]any{"type": "nope"}, code: 422, locs: []string{"body.type"}},
		{name: "patch private target", method: "PATCH", path: base + "/" + bare, user: e.admin, body: map[string]any{"target": "10.9.9.9"}, code: 422, locs: []string{"body.target"}},
		{name: "patch foreign client", method: "PATCH", path: base + "/" + bare, user: e.admin, body: map[string]any{"client_id": e.otherClient}, code: 422, locs: []string{"body.client_id"}},
		{name: "patch name reset to target", method: "PATCH", path: base + "/" + bare, user: e.admin, body: map[string]any{"name": ""}, code: 200,
			check: func(t *testing.T, r *asmResp) {
				if m := r.json(t); m["name"] != "bare.example.net" {
					t.Fatalf("patched %v", m)
				}
			}},
		{name: "detach from client", method: "PATCH", path: base + "/" + api, user: e.admin, body: map[string]any{"client_id": ""}, code: 200,
			check: func(t *testing.T, r *asmResp) {
				if m := r.json(t); m["client_id"] != nil {
					t.Fatalf("patched %v", m)
				}
			}},
		{name: "reattach", method: "PATCH", path: base + "/" + api, user: e.admin, body: map[string]any{"client_id": other}, code: 200},
		{name: "viewer cannot patch", method: "PATCH", path: base + "/" + web, user: e.viewer, body: map[string]any{"name": "x"}, code: 403},
		{name: "client member cannot patch", method: "PATCH", path: base + "/" + web, user: e.member, body: map[string]any{"name": "x"}, code: 403},
		{name: "stale If-Match", method: "PATCH", path: base + "/" + web, user: e.admin, body: map[string]any{"name": "x"}, headers: []string{"If-Match", `"0"`}, code: 412},
		{name: "viewer cannot delete", method: "DELETE", path: base + "/" + web, user: e.viewer, code: 403},
		{name: "client member cannot delete", method: "DELETE", path: base + "/" + web, user: e.member, code: 403},
	})

	t.Run("If-Match of the current version", func(t *testing.T) {
		tag := e.etag(t, base+"/"+web)
		if r := e.call("PATCH", base+"/"+web, e.admin, map[string]any{"description": "v2"}, "If-Match", tag); r.Code != 200 {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
		if r := e.call("PATCH", base+"/"+web, e.admin, map[string]any{"description": "v3"}, "If-Match", tag); r.Code != 412 {
			t.Fatalf("stale: %d", r.Code)
		}
	})

	t.Run("lists and filters", func(t *testing.T) {
		all := e.list(t, base+"?per_page=100", e.viewer)
		if all.Total != len(all.Items) || all.Total < 15 {
			t.Fatalf("total %d, %d items", all.Total, len(all.Items))
		}
		// Newest first.
		ids := all.ids()
		if !slices.IsSortedFunc(ids, func(a, b string) int { return strings.Compare(b, a) }) {
			t.Fatalf("not newest first: %v", ids)
		}
		check := func(query string, user asmUser, want ...string) {
			t.Helper()
			p := e.list(t, base+"?per_page=100&"+query, user)
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(p.ids(), want) || p.Total != len(want) {
				t.Fatalf("%s: %v (total %d), want %v", query, p.names(), p.Total, want)
			}
		}
		check("tag=pci", e.viewer)
		check("tag=SHOP", e.viewer, web)
		check("tag=web", e.viewer, api)
		check("client_id="+other, e.viewer, api)
		check("client_id="+other+"&tag=web", e.viewer, api)
		check("client_id="+other+"&type=url", e.viewer)
		check("type=api", e.viewer, api)
		check("type=url&q=shop", e.viewer, web)
		check("q=PAYMENTS", e.viewer, api)
		check("client_id="+domain.NewID(), e.viewer)
		check("client_id=junk", e.viewer)
		check("client_id="+e.otherClient, e.viewer)
		// The client member's list is forced to its client.
		member := e.list(t, base+"?per_page=100", e.member)
		for _, it := range member.Items {
			if it.ClientID == nil || *it.ClientID != e.client {
				t.Fatalf("client member sees %+v", it)
			}
		}
		if member.Total != len(member.Items) || member.Total < 3 {
			t.Fatalf("member total %d", member.Total)
		}
		check("client_id="+other, e.member)
		check("tag=shop", e.member, web)
		// Filter values are validated.
		for _, q := range []string{"type=printer", "tag=not%20a%20slug", "per_page=101"} {
			if r := e.call("GET", base+"?"+q, e.viewer, nil); r.Code != 422 {
				t.Fatalf("%s: %d", q, r.Code)
			}
		}
		if r := e.call("GET", base+"?type=printer", e.viewer, nil); !slices.Equal(r.locations(), []string{"query.type"}) {
			t.Fatalf("type filter error at %v", r.locations())
		}
		// Pages.
		p1 := e.list(t, base+"?per_page=4", e.viewer)
		last := e.list(t, fmt.Sprintf("%s?per_page=4&page=%d", base, p1.Pages), e.viewer)
		if p1.Pages != (all.Total+3)/4 || len(last.Items) != all.Total-4*(p1.Pages-1) {
			t.Fatalf("pages %d, last %d items of %d", p1.Pages, len(last.Items), all.Total)
		}
		if p := e.list(t, base+"?per_page=4&cursor="+p1.NextCursor, e.viewer); !slices.Equal(p.ids(), ids[4:8]) {
			t.Fatalf("cursor page %v", p.ids())
		}
	})

	t.Run("concurrent patches of different fields all land", func(t *testing.T) {
		id := e.mustCreate(base, e.admin, map[string]any{"type": "domain", "target": "concurrent.example.net"})
		third := e.mustCreate("/api/v1/clients", e.admin, map[string]any{"name": "Third"})
		bodies := []map[string]any{{"name": "N"}, {"description": "D"}, {"tags": []string{"c"}}, {"client_id": third}}
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
		if m["name"] != "N" || m["description"] != "D" || fmt.Sprint(m["tags"]) != "[c]" || m["client_id"] != third {
			t.Fatalf("lost update: %v", m)
		}
	})

	t.Run("delete", func(t *testing.T) {
		before := e.list(t, base, e.viewer).Total
		if r := e.call("DELETE", base+"/"+web, e.auditor, nil); r.Code != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("delete: %d %s", r.Code, r.Body)
		}
		if r := e.call("GET", base+"/"+web, e.admin, nil); r.Code != 404 {
			t.Fatalf("deleted asset: %d", r.Code)
		}
		if r := e.call("DELETE", base+"/"+web, e.admin, nil); r.Code != 404 {
			t.Fatalf("second delete: %d", r.Code)
		}
		if p := e.list(t, base, e.viewer); p.Total != before-1 {
			t.Fatalf("total %d after delete, was %d", p.Total, before)
		}
		if p := e.list(t, base+"?tag=shop", e.viewer); p.Total != 0 || len(p.Items) != 0 {
			t.Fatalf("tag list after delete: %+v", p)
		}
		if p := e.list(t, base+"?type=url&client_id="+e.client, e.viewer); len(p.Items) != 0 {
			t.Fatalf("client list after delete: %+v", p)
		}
		// Its (type, target) is free again.
		e.mustCreate(base, e.admin, map[string]any{"type": "url", "target": "https://shop.example.net"})
	})
}
