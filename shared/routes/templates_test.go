package routes_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"rampart/shared/routes"
	"rampart/shared/templates"
)

type catTplPage struct {
	Items      []routes.TemplateView `json:"items"`
	Total      int                   `json:"total"`
	Page       int                   `json:"page"`
	PerPage    int                   `json:"per_page"`
	Pages      int                   `json:"pages"`
	NextCursor string                `json:"next_cursor"`
}

func (e *catEnv) templates(token, query string) catTplPage {
	e.t.Helper()
	r := e.call(token, "GET", "/api/v1/templates"+query, nil)
	e.expect(r, http.StatusOK, "GET /templates"+query)
	var p catTplPage
	r.decode(e.t, &p)
	return p
}

func (e *catEnv) createTemplate(token string, body any) (routes.TemplateView, *catResp) {
	e.t.Helper()
	r := e.call(token, "POST", "/api/v1/templates", body)
	e.expect(r, http.StatusCreated, "POST /templates")
	var v routes.TemplateView
	r.decode(e.t, &v)
	return v, r
}

var builtinCount = len(templates.Builtin(time.Now()))

func TestTemplateRoutesBuiltinSeeded(t *testing.T) {
	e := newCatEnv(t)
	o := e.org("tpl-builtin")
	for name, tok := range map[string]string{"viewer": o.Viewer, "client": o.Client, "auditor": o.Auditor, "admin": o.Admin} {
		if p := e.templates(tok, ""); p.Total != builtinCount {
			t.Fatalf("%s sees %d templates, want %d", name, p.Total, builtinCount)
		}
	}
	p := e.templates(o.Viewer, "?per_page=100")
	if len(p.Items) != builtinCount || p.Pages != 1 {
		t.Fatalf("per_page=100: %d items, %d pages", len(p.Items), p.Pages)
	}
	var sqli *routes.TemplateView
	for i, it := range p.Items {
		if !it.BuiltIn || it.Category == "" || it.Severity == "" || len(it.References) == 0 {
			t.Fatalf("built-in template %+v", it)
		}
		if strings.Contains(it.Title, "SQL injection") {
			sqli = &p.Items[i]
		}
		if it.CVSSVector != "" && it.CVSSScore == nil {
			t.Fatalf("%s: vector without score", it.ID)
		}
	}
	if sqli == nil || sqli.CVSSScore == nil || *sqli.CVSSScore != 9.8 || sqli.CVSSVersion != "3.1" || sqli.Severity != "critical" {
		t.Fatalf("SQL injection template = %+v", sqli)
	}
	// The same built-in template has the same id in every organization.
	o2 := e.org("tpl-builtin-2")
	p2 := e.templates(o2.Viewer, "?per_page=100")
	for i := range p.Items {
		if p2.Items[i].ID != p.Items[i].ID {
			t.Fatalf("built-in ids differ between organizations: %s vs %s", p.Items[i].ID, p2.Items[i].ID)
		}
	}
	// Pages: 5 per page.
	last := (builtinCount + 4) / 5
	lp := e.templates(o.Viewer, fmt.Sprintf("?per_page=5&page=%d", last))
	if lp.Total != builtinCount || lp.Pages != last || len(lp.Items) != builtinCount-(last-1)*5 || lp.Items[len(lp.Items)-1].ID != p.Items[builtinCount-1].ID {
		t.Fatalf("last page: %+v", lp)
	}
	if past := e.templates(o.Viewer, fmt.Sprintf("?per_page=5&page=%d", last+1)); len(past.Items) != 0 || past.Total != builtinCount {
		t.Fatalf("past the last page: %+v", past)
	}
	first := e.templates(o.Viewer, "?per_page=5")
	next := e.templates(o.Viewer, "?per_page=5&cursor="+first.NextCursor)
	if first.NextCursor == "" || next.Items[0].ID != p.Items[5].ID {
		t.Fatalf("cursor did not continue after the first page")
	}
	e.expectInvalid(e.call(o.Viewer, "GET", "/api/v1/templates?per_page=101", nil), "query.per_page", "per_page=101")
	e.expectInvalid(e.call(o.Viewer, "GET", "/api/v1/templates?page=0", nil), "query.page", "page=0")
	e.expectInvalid(e.call(o2.Viewer, "GET", "/api/v1/templates?cursor="+first.NextCursor, nil), "query.cursor", "another organization's cursor")
	// Filters read the partition whole and count the matches.
	crit := e.templates(o.Viewer, "?severity=critical")
	if crit.Total < 2 {
		t.Fatalf("critical templates = %d", crit.Total)
	}
	for _, it := range crit.Items {
		if it.Severity != "critical" {
			t.Fatalf("severity filter let %s through", it.Severity)
		}
	}
	if info := e.templates(o.Viewer, "?severity=informational"); info.Total != 1 || info.Items[0].Severity != "info" {
		t.Fatalf("severity=informational = %+v", info)
	}
	if q := e.templates(o.Viewer, "?q=sql+INJECTION"); q.Total != 1 || q.Items[0].ID != sqli.ID {
		t.Fatalf("q = %+v", q)
	}
	if c := e.templates(o.Viewer, "?category=tls&per_page=1"); c.Total != 1 || len(c.Items) != 1 {
		t.Fatalf("category filter = %+v", c)
	}
	if none := e.templates(o.Viewer, "?category=nope"); none.Total != 0 || len(none.Items) != 0 {
		t.Fatalf("unknown category filter = %+v", none)
	}
}

func TestTemplateRoutesCRUD(t *testing.T) {
	e := newCatEnv(t)
	o := e.org("tpl-crud")
	other := e.org("tpl-crud-other")

	body := map[string]any{"title": "  Open redirect  ", "description": "Redirects anywhere.", "remediation": "Allow-list targets.",
		"severity": "informational", "category": "vulnerability", "references": []string{"https://cwe.mitre.org/data/definitions/601.html"},
		"cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
	v, r := e.createTemplate(o.Auditor, body)
	if v.ID == "" || v.Title != "Open redirect" || v.Severity != "info" || v.Category != "vulnerability" || v.BuiltIn ||
		v.CVSSScore == nil || *v.CVSSScore != 9.8 || v.CVSSVersion != "3.1" || len(v.References) != 1 || v.CreatedAt.IsZero() {
		t.Fatalf("created = %+v", v)
	}
	if r.Header.Get("ETag") != `"v1"` || r.Header.Get("Location") != "/api/v1/templates/"+v.ID {
		t.Fatalf("headers = %v", r.Header)
	}
	if p := e.templates(o.Viewer, ""); p.Total != builtinCount+1 {
		t.Fatalf("total after create = %d", p.Total)
	}
	min, _ := e.createTemplate(o.Admin, map[string]any{"title": "Minimal", "severity": "low"})
	if min.Category != "" || min.References == nil || len(min.References) != 0 || min.CVSSScore != nil {
		t.Fatalf("minimal template = %+v", min)
	}

	path := "/api/v1/templates/" + v.ID
	r = e.call(o.Client, "GET", path, nil)
	e.expect(r, http.StatusOK, "GET as client member")
	if r.Header.Get("ETag") != `"v1"` {
		t.Fatalf("GET ETag = %q", r.Header.Get("ETag"))
	}

	// PATCH: only given fields change; If-Match guards against lost updates.
	r = e.call(o.Auditor, "PATCH", path, map[string]any{"severity": "HIGH", "cvss_vector": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
		"If-Match", `"v1"`)
	e.expect(r, http.StatusOK, "PATCH with If-Match")
	var u routes.TemplateView
	r.decode(t, &u)
	if u.Severity != "high" || u.Title != "Open redirect" || u.Description != "Redirects anywhere." || *u.CVSSScore != 9.3 ||
		u.CVSSVersion != "4.0" || !u.UpdatedAt.After(v.UpdatedAt) && !u.UpdatedAt.Equal(v.UpdatedAt) || r.Header.Get("ETag") != `"v2"` {
		t.Fatalf("patched = %+v etag %s", u, r.Header.Get("ETag"))
	}
	e.expect(e.call(o.Auditor, "PATCH", path, map[string]any{"title": "Stale"}, "If-Match", `"v1"`), http.StatusPreconditionFailed, "stale If-Match")
	e.expectInvalid(e.call(o.Auditor, "PATCH", path, map[string]any{"title": "X"}, "If-Match", "garbage"), "header.If-Match", "malformed If-Match")
	r = e.call(o.Admin, "PATCH", path, map[string]any{"cvss_vector": "", "references": []string{}, "category": ""}, "If-Match", "*")
	e.expect(r, http.StatusOK, "clear fields")
	u = routes.TemplateView{} // omitted fields must not linger from the previous answer
	r.decode(t, &u)
	if u.CVSSVector != "" || u.CVSSScore != nil || len(u.References) != 0 || u.Category != "" || u.Severity != "high" {
		t.Fatalf("cleared = %+v", u)
	}
	if got := e.call(o.Viewer, "GET", path, nil); got.Header.Get("ETag") != `"v3"` {
		t.Fatalf("ETag after two changes = %s", got.Header.Get("ETag"))
	}

	// Roles: viewers and client members read only.
	for name, tok := range map[string]string{"viewer": o.Viewer, "client": o.Client} {
		e.expect(e.call(tok, "POST", "/api/v1/templates", body), http.StatusForbidden, name+" creates")
		e.expect(e.call(tok, "PATCH", path, map[string]any{"title": "x"}), http.StatusForbidden, name+" patches")
		e.expect(e.call(tok, "DELETE", path, nil), http.StatusForbidden, name+" deletes")
	}
	e.expect(e.call("", "GET", "/api/v1/templates", nil), http.StatusUnauthorized, "no token")

	// Another organization's template is not found, whatever the method.
	e.expect(e.call(other.Admin, "GET", path, nil), http.StatusNotFound, "foreign GET")
	e.expect(e.call(other.Admin, "PATCH", path, map[string]any{"title": "x"}), http.StatusNotFound, "foreign PATCH")
	e.expect(e.call(other.Admin, "DELETE", path, nil), http.StatusNotFound, "foreign DELETE")
	e.expect(e.call(o.Admin, "GET", "/api/v1/templates/not-an-id", nil), http.StatusNotFound, "junk id")

	// Built-in templates are the organization's copies: edit and delete.
	builtin := e.templates(o.Viewer, "?per_page=1").Items[0]
	bpath := "/api/v1/templates/" + builtin.ID
	r = e.call(o.Auditor, "PATCH", bpath, map[string]any{"title": "Our HSTS wording"})
	e.expect(r, http.StatusOK, "edit a built-in template")
	u = routes.TemplateView{}
	r.decode(t, &u)
	if !u.BuiltIn || u.Title != "Our HSTS wording" || u.ID != builtin.ID {
		t.Fatalf("edited built-in = %+v", u)
	}
	e.expect(e.call(o.Auditor, "DELETE", bpath, nil), http.StatusNoContent, "delete a built-in template")
	e.expect(e.call(o.Viewer, "GET", bpath, nil), http.StatusNotFound, "deleted built-in")
	// ... which leaves the other organization's copy alone.
	e.expect(e.call(other.Viewer, "GET", bpath, nil), http.StatusOK, "other organization's copy of the built-in")

	e.expect(e.call(o.Auditor, "DELETE", path, nil), http.StatusNoContent, "delete")
	e.expect(e.call(o.Auditor, "DELETE", path, nil), http.StatusNotFound, "delete twice")
	e.expect(e.call(o.Viewer, "GET", path, nil), http.StatusNotFound, "GET after delete")
	e.expect(e.call(o.Auditor, "PATCH", path, map[string]any{"title": "x"}), http.StatusNotFound, "PATCH after delete")
	if p := e.templates(o.Viewer, ""); p.Total != builtinCount {
		t.Fatalf("total after one create... = %d, want %d", p.Total, builtinCount)
	}
}

func TestTemplateRoutesValidation(t *testing.T) {
	e := newCatEnv(t)
	o := e.org("tpl-validation")
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("https://example.com/%d", i)
	}
	valid := func() map[string]any { return map[string]any{"title": "T", "severity": "low"} }
	with := func(k string, v any) map[string]any { m := valid(); m[k] = v; return m }
	without := func(k string) map[string]any { m := valid(); delete(m, k); return m }
	tests := []struct {
		name string
		body any
		loc  string
	}{
		{"missing title", without("title"), "body.title"},
		{"blank title", with("title", "   "), "body.title"},
		{"title too long", with("title", strings.Repeat("t", 301)), "body.title"},
		{"title not a string", with("title", 42), "body.title"},
		{"missing severity", without("severity"), "body.severity"},
		{"unknown severity", with("severity", "catastrophic"), "body.severity"},
		{"unknown category", with("category", "phishing"), "body.category"},
		{"description too long", with("description", strings.Repeat("d", 20001)), "body.description"},
		{"reference not http", with("references", []string{"ftp://example.com/x"}), "body.references[0]"},
		{"second reference bad", with("references", []string{"https://ok.example", "nope"}), "body.references[1]"},
		{"too many references", with("references", many), "body.references"},
		{"bad cvss", with("cvss_vector", "CVSS:3.1/AV:N/AC:L"), "body.cvss_vector"},
		{"cvss 2", with("cvss_vector", "AV:N/AC:L/Au:N/C:C/I:C/A:C"), "body.cvss_vector"},
		{"unknown field", with("colour", "red"), "body.colour"},
		{"read-only built_in", with("built_in", true), "body.built_in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			e.expectInvalid(e.call(o.Auditor, "POST", "/api/v1/templates", tt.body), tt.loc, tt.name)
		})
	}
	e.t = t
	e.expect(e.call(o.Auditor, "POST", "/api/v1/templates", "{"), http.StatusBadRequest, "malformed JSON")
	if p := e.templates(o.Viewer, ""); p.Total != builtinCount {
		t.Fatalf("refused templates were written: total %d", p.Total)
	}
	// PATCH validates what it is given.
	v, _ := e.createTemplate(o.Auditor, valid())
	path := "/api/v1/templates/" + v.ID
	for _, c := range []struct {
		body map[string]any
		loc  string
	}{
		{map[string]any{"title": ""}, "body.title"},
		{map[string]any{"severity": ""}, "body.severity"},
		{map[string]any{"category": "nope"}, "body.category"},
		{map[string]any{"cvss_vector": "CVSS:4.0/AV:N"}, "body.cvss_vector"},
		{map[string]any{"references": []string{"javascript:alert(1)"}}, "body.references[0]"},
	} {
		e.expectInvalid(e.call(o.Auditor, "PATCH", path, c.body), c.loc, fmt.Sprint("PATCH ", c.body))
	}
	if r := e.call(o.Viewer, "GET", path, nil); r.Header.Get("ETag") != `"v1"` {
		t.Fatalf("refused patches changed the template: %s", r.Header.Get("ETag"))
	}
}
