package routes_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"rampart/shared/domain"
	"rampart/shared/routes"
)

type catTaxPage struct {
	Items   []routes.TaxonomyView `json:"items"`
	Total   int                   `json:"total"`
	Page    int                   `json:"page"`
	PerPage int                   `json:"per_page"`
	Pages   int                   `json:"pages"`
}

func (e *catEnv) current(token string) routes.TaxonomyView {
	e.t.Helper()
	r := e.call(token, "GET", "/api/v1/taxonomy/current", nil)
	e.expect(r, http.StatusOK, "GET /taxonomy/current")
	var v routes.TaxonomyView
	r.decode(e.t, &v)
	return v
}

func (e *catEnv) versions(token, query string) catTaxPage {
	e.t.Helper()
	r := e.call(token, "GET", "/api/v1/taxonomy/versions"+query, nil)
	e.expect(r, http.StatusOK, "GET /taxonomy/versions"+query)
	var p catTaxPage
	r.decode(e.t, &p)
	return p
}

// currentJSON is GET /taxonomy/current as a generic document, to change and
// post back.
func (e *catEnv) currentJSON(token string) map[string]any {
	e.t.Helper()
	r := e.call(token, "GET", "/api/v1/taxonomy/current", nil)
	e.expect(r, http.StatusOK, "GET /taxonomy/current")
	var m map[string]any
	r.decode(e.t, &m)
	return m
}

func catDomain(doc map[string]any, name string) []any {
	return doc["domains"].(map[string]any)[name].([]any)
}

func catValue(v routes.TaxonomyView, dom, value string) (routes.TaxonomyValueView, bool) {
	var list []routes.TaxonomyValueView
	switch dom {
	case domain.DomainRiskLevel:
		list = v.Domains.RiskLevel
	case domain.DomainRemediationStatus:
		list = v.Domains.RemediationStatus
	case domain.DomainSessionStatus:
		list = v.Domains.SessionStatus
	case domain.DomainAssetType:
		list = v.Domains.AssetType
	case domain.DomainCategory:
		list = v.Domains.Category
	}
	for _, x := range list {
		if x.Value == value {
			return x, true
		}
	}
	return routes.TaxonomyValueView{}, false
}

func TestTaxonomyRoutesCurrentAndAccess(t *testing.T) {
	e := newCatEnv(t)
	o := e.org("tax-access")
	for name, tok := range map[string]string{"admin": o.Admin, "auditor": o.Auditor, "viewer": o.Viewer, "client": o.Client} {
		v := e.current(tok)
		if v.Version != 1 || !v.Active || v.CreatedBy != "system" || v.CreatedAt.IsZero() {
			t.Fatalf("%s: current = v%d active %v by %q at %v", name, v.Version, v.Active, v.CreatedBy, v.CreatedAt)
		}
	}
	v := e.current(o.Viewer)
	var sev []string
	for _, x := range v.Domains.RiskLevel {
		sev = append(sev, x.Value)
	}
	if strings.Join(sev, ",") != "critical,high,medium,low,info" {
		t.Fatalf("risk_level in sort order = %v", sev)
	}
	if c, ok := catValue(v, domain.DomainCategory, "tls"); !ok || c.NIS2 != "h" || c.Color != "#9a3412" {
		t.Fatalf("category tls = %+v", c)
	}
	if len(v.Domains.RemediationStatus) != 5 || len(v.Domains.SessionStatus) != 4 || len(v.Domains.AssetType) < 4 {
		t.Fatalf("domains = %+v", v.Domains)
	}
	// The raw JSON has the contract's shape.
	raw := e.currentJSON(o.Viewer)
	for _, k := range []string{"version", "active", "created_at", "created_by", "domains"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("current lacks %q: %v", k, raw)
		}
	}
	first := catDomain(raw, "category")[0].(map[string]any)
	for _, k := range []string{"value", "label", "sort_order", "color", "nis2"} {
		if _, ok := first[k]; !ok {
			t.Fatalf("category value lacks %q: %v", k, first)
		}
	}
	if _, ok := catDomain(raw, "risk_level")[0].(map[string]any)["nis2"]; ok {
		t.Fatal("a risk level carries nis2")
	}

	// Roles: only admins list, create and activate.
	body := e.currentJSON(o.Admin)
	for name, tok := range map[string]string{"auditor": o.Auditor, "viewer": o.Viewer, "client": o.Client} {
		e.expect(e.call(tok, "GET", "/api/v1/taxonomy/versions", nil), http.StatusForbidden, name+" lists versions")
		e.expect(e.call(tok, "GET", "/api/v1/taxonomy/versions/1", nil), http.StatusForbidden, name+" gets a version")
		e.expect(e.call(tok, "POST", "/api/v1/taxonomy/versions", body), http.StatusForbidden, name+" creates a version")
		e.expect(e.call(tok, "POST", "/api/v1/taxonomy/activate", map[string]int{"version": 1}), http.StatusForbidden, name+" activates")
	}
	e.expect(e.call("", "GET", "/api/v1/taxonomy/current", nil), http.StatusUnauthorized, "no token")
	e.expect(e.call("junk", "GET", "/api/v1/taxonomy/current", nil), http.StatusUnauthorized, "bad token")
	// Versions are immutable: there is no route to change one.
	for _, m := range []string{"PUT", "PATCH", "DELETE"} {
		e.expect(e.call(o.Admin, m, "/api/v1/taxonomy/versions/1", body), http.StatusMethodNotAllowed, m+" /taxonomy/versions/1")
	}
	if v := e.versions(o.Admin, ""); v.Total != 1 {
		t.Fatalf("versions after refused writes = %d", v.Total)
	}
}

func TestTaxonomyRoutesCreateActivate(t *testing.T) {
	e := newCatEnv(t)
	o := e.org("tax-create")
	other := e.org("tax-other")

	// Round trip: GET current, change it, POST it back whole (read-only
	// fields included).
	doc := e.currentJSON(o.Admin)
	catDomain(doc, "risk_level")[0].(map[string]any)["label"] = "Kritisch"
	catDomain(doc, "risk_level")[0].(map[string]any)["color"] = "#FF0000"
	doc["domains"].(map[string]any)["category"] = append(catDomain(doc, "category"),
		map[string]any{"value": "physical_security", "label": "Physical security", "sort_order": 50, "color": "#123456", "nis2": "i"})
	r := e.call(o.Admin, "POST", "/api/v1/taxonomy/versions", doc)
	e.expect(r, http.StatusCreated, "create v2 (round trip)")
	var v2 routes.TaxonomyView
	r.decode(t, &v2)
	if v2.Version != 2 || !v2.Active || v2.CreatedBy != o.AdminID {
		t.Fatalf("v2 = %d active %v by %q", v2.Version, v2.Active, v2.CreatedBy)
	}
	if c, _ := catValue(v2, domain.DomainRiskLevel, "critical"); c.Label != "Kritisch" || c.Color != "#ff0000" {
		t.Fatalf("critical in v2 = %+v", c)
	}
	cur := e.current(o.Viewer)
	if cur.Version != 2 {
		t.Fatalf("current after create = %d", cur.Version)
	}
	if _, ok := catValue(cur, domain.DomainCategory, "physical_security"); !ok {
		t.Fatal("new category missing from current")
	}

	// Templates are validated against the current version at once.
	tpl := map[string]any{"title": "Unlocked server room", "severity": "medium", "category": "physical_security"}
	e.expect(e.call(o.Auditor, "POST", "/api/v1/templates", tpl), http.StatusCreated, "template with the new category")

	// The top-level shape is accepted too.
	top := map[string]any{}
	for k, val := range doc["domains"].(map[string]any) {
		top[k] = val
	}
	r = e.call(o.Admin, "POST", "/api/v1/taxonomy/versions", top)
	e.expect(r, http.StatusCreated, "create v3 (top-level domains)")

	p := e.versions(o.Admin, "")
	if p.Total != 3 || len(p.Items) != 3 || p.Items[0].Version != 3 || p.Items[2].Version != 1 ||
		!p.Items[0].Active || p.Items[1].Active || p.Items[2].Active {
		t.Fatalf("versions = %+v", p)
	}

	// Activate v1 again: the next request sees it, templates follow it.
	r = e.call(o.Admin, "POST", "/api/v1/taxonomy/activate", map[string]int{"version": 1})
	e.expect(r, http.StatusOK, "activate v1")
	var act routes.TaxonomyView
	r.decode(t, &act)
	if act.Version != 1 || !act.Active {
		t.Fatalf("activate answer = v%d active %v", act.Version, act.Active)
	}
	if c := e.current(o.Viewer); c.Version != 1 {
		t.Fatalf("current after activate = %d", c.Version)
	}
	e.expectInvalid(e.call(o.Auditor, "POST", "/api/v1/templates", tpl), "body.category", "template with a category of an inactive version")
	p = e.versions(o.Admin, "")
	if !p.Items[2].Active || p.Items[0].Active {
		t.Fatalf("active flags after activate = %v %v %v", p.Items[0].Active, p.Items[1].Active, p.Items[2].Active)
	}
	e.expect(e.call(o.Admin, "POST", "/api/v1/taxonomy/activate", map[string]int{"version": 1}), http.StatusOK, "activate the current version again")

	// One version.
	r = e.call(o.Admin, "GET", "/api/v1/taxonomy/versions/2", nil)
	e.expect(r, http.StatusOK, "get v2")
	var got routes.TaxonomyView
	r.decode(t, &got)
	if got.Version != 2 || got.Active {
		t.Fatalf("v2 = %d active %v", got.Version, got.Active)
	}
	e.expect(e.call(o.Admin, "GET", "/api/v1/taxonomy/versions/99", nil), http.StatusNotFound, "get an unknown version")
	e.expectInvalid(e.call(o.Admin, "GET", "/api/v1/taxonomy/versions/0", nil), "path.version", "get version 0")

	// Unknown or missing versions to activate are 422 at body.version.
	e.expectInvalid(e.call(o.Admin, "POST", "/api/v1/taxonomy/activate", map[string]int{"version": 99}), "body.version", "activate an unknown version")
	e.expectInvalid(e.call(o.Admin, "POST", "/api/v1/taxonomy/activate", map[string]int{"version": 0}), "body.version", "activate version 0")
	e.expectInvalid(e.call(o.Admin, "POST", "/api/v1/taxonomy/activate", map[string]any{}), "body.version", "activate without version")
	e.expectInvalid(e.call(o.Admin, "POST", "/api/v1/taxonomy/activate", map[string]any{"version": "two"}), "body.version", "activate with a string")

	// Another organization's versions are its own.
	if c := e.current(other.Admin); c.Version != 1 {
		t.Fatalf("other org current = %d", c.Version)
	}
	if p := e.versions(other.Admin, ""); p.Total != 1 {
		t.Fatalf("other org versions = %d", p.Total)
	}
	e.expectInvalid(e.call(other.Admin, "POST", "/api/v1/taxonomy/activate", map[string]int{"version": 3}), "body.version",
		"activate a version only another organization has")
	e.expect(e.call(o.Admin, "GET", "/api/v1/taxonomy/current", nil, "X-Organization-ID", other.ID), http.StatusNotFound,
		"current of an organization the caller is not a member of")
}

func TestTaxonomyRoutesValidation(t *testing.T) {
	e := newCatEnv(t)
	o := e.org("tax-validation")
	base := e.currentJSON(o.Admin)
	enc, _ := json.Marshal(base)
	fresh := func() map[string]any {
		var m map[string]any
		_ = json.Unmarshal(enc, &m)
		return m
	}
	at := func(m map[string]any, dom string, i int) map[string]any { return catDomain(m, dom)[i].(map[string]any) }
	doms := func(m map[string]any) map[string]any { return m["domains"].(map[string]any) }
	tests := []struct {
		name   string
		mutate func(m map[string]any) any
		loc    string
	}{
		{"missing domain", func(m map[string]any) any { delete(doms(m), "session_status"); return m }, "body.domains.session_status"},
		{"severity dropped", func(m map[string]any) any {
			doms(m)["risk_level"] = catDomain(m, "risk_level")[:4]
			return m
		}, "body.domains.risk_level"},
		{"scanner category dropped", func(m map[string]any) any {
			cats := catDomain(m, "category")
			var keep []any
			for _, c := range cats {
				if c.(map[string]any)["value"] != "dns" {
					keep = append(keep, c)
				}
			}
			doms(m)["category"] = keep
			return m
		}, "body.domains.category"},
		{"network asset type dropped", func(m map[string]any) any {
			doms(m)["asset_type"] = catDomain(m, "asset_type")[1:]
			return m
		}, "body.domains.asset_type"},
		{"status dropped", func(m map[string]any) any {
			doms(m)["remediation_status"] = catDomain(m, "remediation_status")[:2]
			return m
		}, "body.domains.remediation_status"},
		{"duplicate value", func(m map[string]any) any { at(m, "category", 1)["value"] = at(m, "category", 0)["value"]; return m },
			"body.domains.category[1].value"},
		{"duplicate sort_order", func(m map[string]any) any { at(m, "risk_level", 3)["sort_order"] = 1; return m },
			"body.domains.risk_level[3].sort_order"},
		{"missing sort_order", func(m map[string]any) any { delete(at(m, "risk_level", 0), "sort_order"); return m },
			"body.domains.risk_level[0].sort_order"},
		{"value not a slug", func(m map[string]any) any { at(m, "asset_type", 5)["value"] = "Web App"; return m },
			"body.domains.asset_type[5].value"},
		{"empty label", func(m map[string]any) any { at(m, "session_status", 0)["label"] = ""; return m },
			"body.domains.session_status[0].label"},
		{"label too long", func(m map[string]any) any { at(m, "session_status", 0)["label"] = strings.Repeat("x", 201); return m },
			"body.domains.session_status[0].label"},
		{"bad color", func(m map[string]any) any { at(m, "risk_level", 2)["color"] = "orange"; return m },
			"body.domains.risk_level[2].color"},
		{"nis2 on a severity", func(m map[string]any) any { at(m, "risk_level", 2)["nis2"] = "a"; return m },
			"body.domains.risk_level[2].nis2"},
		{"nis2 out of range", func(m map[string]any) any { at(m, "category", 2)["nis2"] = "z"; return m },
			"body.domains.category[2].nis2"},
		{"unknown domain", func(m map[string]any) any { doms(m)["colours"] = []any{}; return m }, "body.domains.colours"},
		{"wrong type", func(m map[string]any) any { at(m, "risk_level", 0)["sort_order"] = "first"; return m },
			"body.domains.risk_level[0].sort_order"},
		{"both shapes", func(m map[string]any) any { m["risk_level"] = catDomain(m, "risk_level"); return m }, "body.domains"},
		{"top-level shape missing a domain", func(m map[string]any) any {
			top := map[string]any{}
			for k, v := range doms(m) {
				if k != "category" {
					top[k] = v
				}
			}
			return top
		}, "body.category"},
		{"empty body", func(map[string]any) any { return map[string]any{} }, "body.risk_level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			e.expectInvalid(e.call(o.Admin, "POST", "/api/v1/taxonomy/versions", tt.mutate(fresh())), tt.loc, tt.name)
		})
	}
	e.t = t
	e.expect(e.call(o.Admin, "POST", "/api/v1/taxonomy/versions", "{not json"), http.StatusBadRequest, "malformed JSON")
	// Nothing was written.
	if p := e.versions(o.Admin, ""); p.Total != 1 || e.current(o.Admin).Version != 1 {
		t.Fatalf("refused versions were written: total %d", p.Total)
	}
}

func TestTaxonomyRoutesPagination(t *testing.T) {
	e := newCatEnv(t)
	o := e.org("tax-pages")
	doc := e.currentJSON(o.Admin)
	for range 4 {
		e.expect(e.call(o.Admin, "POST", "/api/v1/taxonomy/versions", doc), http.StatusCreated, "create")
	}
	// 5 versions.
	p := e.versions(o.Admin, "?per_page=100")
	if p.Total != 5 || len(p.Items) != 5 || p.PerPage != 100 || p.Pages != 1 {
		t.Fatalf("per_page=100: %+v", p)
	}
	p = e.versions(o.Admin, "?page=3&per_page=2")
	if p.Total != 5 || len(p.Items) != 1 || p.Items[0].Version != 1 || p.Pages != 3 || p.Page != 3 {
		t.Fatalf("last page: total %d items %d pages %d", p.Total, len(p.Items), p.Pages)
	}
	p = e.versions(o.Admin, "?page=4&per_page=2")
	if p.Total != 5 || len(p.Items) != 0 {
		t.Fatalf("past the last page: %+v", p)
	}
	e.expectInvalid(e.call(o.Admin, "GET", "/api/v1/taxonomy/versions?per_page=101", nil), "query.per_page", "per_page=101")
	e.expectInvalid(e.call(o.Admin, "GET", "/api/v1/taxonomy/versions?per_page=0", nil), "query.per_page", "per_page=0")
	e.expectInvalid(e.call(o.Admin, "GET", "/api/v1/taxonomy/versions?page=0", nil), "query.page", "page=0")
	e.expectInvalid(e.call(o.Admin, "GET", "/api/v1/taxonomy/versions?page=x", nil), "query.page", "page=x")
}
