package routes_test

// HTTP tests of the finding routes (shared/routes/findings.go), on the
// assessment test server of assessment_env_test.go (one member of each role,
// a second organization) with the finding, template and taxonomy groups
// registered as functions/local does. Names start with "fnd".

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"rampart/shared/cvss"
	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/routes"
)

// fndEnv adds to the assessment server: a second client of the
// organization, assets and sessions of both clients, and a finding of the
// other organization.
type fndEnv struct {
	*asmEnv
	// otherClient is a second client of the organization (not the client
	// member's).
	otherClient string
	// inScope and shared are in session's scope (inScope of e.client,
	// shared without client); outOfScope is of e.client but not in the
	// scope; otherClientAsset is of otherClient.
	inScope, shared, outOfScope, otherClientAsset string
	// session is of e.client with the scope [inScope, shared]; openSession
	// is of otherClient with no scope.
	session, openSession string
	// foreign is a finding of the other organization.
	foreign string
}

func newFndEnv(t *testing.T) *fndEnv {
	t.Helper()
	e := &fndEnv{asmEnv: newAsmEnv(t)}
	e.p.FindingRoutes().Register(e.srv.API)
	e.p.TemplateRoutes().Register(e.srv.API)
	e.p.TaxonomyRoutes().Register(e.srv.API)
	e.otherClient = e.mustCreate("/api/v1/clients", e.admin, map[string]any{"name": "Second client"})
	asset := func(target, client string) string {
		b := map[string]any{"type": "domain", "target": target}
		if client != "" {
			b["client_id"] = client
		}
		return e.mustCreate("/api/v1/assets", e.admin, b)
	}
	e.inScope = asset("app.example.com", e.client)
	e.shared = asset("shared.example.com", "")
	e.outOfScope = asset("intranet.example.com", e.client)
	e.otherClientAsset = asset("second.example.net", e.otherClient)
	e.session = e.mustCreate("/api/v1/sessions", e.admin, map[string]any{
		"name": "Web pentest", "client_id": e.client, "asset_ids": []string{e.inScope, e.shared}})
	e.openSession = e.mustCreate("/api/v1/sessions", e.admin, map[string]any{"name": "Review", "client_id": e.otherClient})
	e.foreign = e.mustCreate("/api/v1/findings", e.other, map[string]any{
		"session_id": e.otherSession, "asset_id": e.otherAsset, "title": "Foreign finding", "severity": "high"})
	return e
}

// fndView is a finding as the API answers it.
type fndView struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Severity    string `json:"severity"`
	Status      string `json:"status"`
	Category    string `json:"category"`
	NIS2        string `json:"nis2"`
	AssetID     string `json:"asset_id"`
	Asset       struct {
		Type   string `json:"type"`
		Target string `json:"target"`
		Name   string `json:"name"`
	} `json:"asset"`
	SessionID      string    `json:"session_id"`
	ClientID       string    `json:"client_id"`
	CVSSVector     string    `json:"cvss_vector"`
	CVSSScore      *float64  `json:"cvss_score"`
	CVSSVersion    string    `json:"cvss_version"`
	Evidence       string    `json:"evidence"`
	Remediation    string    `json:"remediation"`
	References     []string  `json:"references"`
	ResolutionNote string    `json:"resolution_note"`
	TemplateID     string    `json:"template_id"`
	Source         string    `json:"source"`
	CreatedBy      string    `json:"created_by"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	Version        int       `json:"version"`
}

type fndPage struct {
	Items      []fndView `json:"items"`
	Total      int       `json:"total"`
	Page       int       `json:"page"`
	PerPage    int       `json:"per_page"`
	Pages      int       `json:"pages"`
	NextCursor string    `json:"next_cursor"`
}

func (p fndPage) ids() []string {
	out := []string{}
	for _, f := range p.Items {
		out = append(out, f.ID)
	}
	return out
}

type fndStats struct {
	Total      int            `json:"total"`
	BySeverity map[string]int `json:"by_severity"`
	ByStatus   map[string]int `json:"by_status"`
	ByCategory map[string]int `json:"by_category"`
}

type fndHistory struct {
	Items []struct {
		ID        string    `json:"id"`
		Field     string    `json:"field"`
		From      string    `json:"from"`
		To        string    `json:"to"`
		ChangedBy string    `json:"changed_by"`
		At        time.Time `json:"at"`
	} `json:"items"`
	Total      int    `json:"total"`
	NextCursor string `json:"next_cursor"`
}

type fndBulk struct {
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
	Results   []struct {
		ID      string `json:"id"`
		Outcome string `json:"outcome"`
		Detail  string `json:"detail"`
		Version int    `json:"version"`
	} `json:"results"`
}

// body is a creation body: session, asset, then name, value pairs.
func fndBody(session, asset string, kv ...any) map[string]any {
	b := map[string]any{"session_id": session, "asset_id": asset}
	for i := 0; i+1 < len(kv); i += 2 {
		b[kv[i].(string)] = kv[i+1]
	}
	return b
}

// create POSTs a finding as user and decodes it.
func (e *fndEnv) create(t *testing.T, user asmUser, body map[string]any) fndView {
	t.Helper()
	r := e.call(http.MethodPost, "/api/v1/findings", user, body)
	if r.Code != http.StatusCreated {
		t.Fatalf("create %v: %d %s", body, r.Code, r.Body)
	}
	var f fndView
	r.decode(t, &f)
	if r.Header.Get("ETag") != fmt.Sprintf(`"v%d"`, f.Version) {
		t.Fatalf("create: ETag %q, version %d", r.Header.Get("ETag"), f.Version)
	}
	return f
}

// get reads a finding as admin.
func (e *fndEnv) get(t *testing.T, id string) fndView {
	t.Helper()
	r := e.call(http.MethodGet, "/api/v1/findings/"+id, e.admin, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", id, r.Code, r.Body)
	}
	var f fndView
	r.decode(t, &f)
	if r.Header.Get("ETag") != fmt.Sprintf(`"v%d"`, f.Version) {
		t.Fatalf("GET: ETag %q, version %d", r.Header.Get("ETag"), f.Version)
	}
	return f
}

// patch PATCHes a finding and decodes the answer; it must be want.
func (e *fndEnv) patch(t *testing.T, user asmUser, id string, body map[string]any, want int, headers ...string) (fndView, *asmResp) {
	t.Helper()
	r := e.call(http.MethodPatch, "/api/v1/findings/"+id, user, body, headers...)
	if r.Code != want {
		t.Fatalf("PATCH %s %v: %d, want %d: %s", id, body, r.Code, want, r.Body)
	}
	var f fndView
	if r.Code == http.StatusOK {
		r.decode(t, &f)
		if r.Header.Get("ETag") != fmt.Sprintf(`"v%d"`, f.Version) {
			t.Fatalf("PATCH: ETag %q, version %d", r.Header.Get("ETag"), f.Version)
		}
	}
	return f, r
}

func (e *fndEnv) page(t *testing.T, user asmUser, query string) fndPage {
	t.Helper()
	r := e.call(http.MethodGet, "/api/v1/findings?"+query, user, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /findings?%s: %d %s", query, r.Code, r.Body)
	}
	var p fndPage
	r.decode(t, &p)
	return p
}

func (e *fndEnv) stats(t *testing.T, user asmUser, query string) fndStats {
	t.Helper()
	r := e.call(http.MethodGet, "/api/v1/findings/stats?"+query, user, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /findings/stats?%s: %d %s", query, r.Code, r.Body)
	}
	var s fndStats
	r.decode(t, &s)
	return s
}

func (e *fndEnv) history(t *testing.T, user asmUser, id, query string) fndHistory {
	t.Helper()
	r := e.call(http.MethodGet, "/api/v1/findings/"+id+"/history?"+query, user, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("history %s: %d %s", id, r.Code, r.Body)
	}
	var h fndHistory
	r.decode(t, &h)
	return h
}

func (e *fndEnv) bulk(t *testing.T, user asmUser, body map[string]any) fndBulk {
	t.Helper()
	r := e.call(http.MethodPost, "/api/v1/findings/bulk-update", user, body)
	if r.Code != http.StatusOK {
		t.Fatalf("bulk %v: %d %s", body, r.Code, r.Body)
	}
	var b fndBulk
	r.decode(t, &b)
	return b
}

// all lists every finding a query matches, page by page (per_page 100), and
// checks that every page reports the same total.
func (e *fndEnv) all(t *testing.T, user asmUser, query string) []fndView {
	t.Helper()
	var out []fndView
	for n := 1; ; n++ {
		p := e.page(t, user, fmt.Sprintf("%s&per_page=100&page=%d", query, n))
		out = append(out, p.Items...)
		if len(p.Items) < 100 {
			if p.Total != len(out) {
				t.Fatalf("GET /findings?%s: total %d, listed %d", query, p.Total, len(out))
			}
			return out
		}
	}
}

// checkStats compares GET /findings/stats with a recount of the list of the
// same query: total and every by_* count.
func (e *fndEnv) checkStats(t *testing.T, user asmUser, query string) fndStats {
	t.Helper()
	st := e.stats(t, user, query)
	items := e.all(t, user, query)
	sev, status, cat := map[string]int{}, map[string]int{}, map[string]int{}
	for _, f := range items {
		sev[f.Severity]++
		status[f.Status]++
		cat[f.Category]++
	}
	if st.Total != len(items) {
		t.Fatalf("stats?%s: total %d, the list has %d", query, st.Total, len(items))
	}
	for _, c := range []struct {
		name      string
		got, want map[string]int
		values    []string
	}{
		{"by_severity", st.BySeverity, sev, domain.Severities},
		{"by_status", st.ByStatus, status, domain.FindingStatuses},
		{"by_category", st.ByCategory, cat, []string{"other", "tls", "dns"}},
	} {
		for k, n := range c.want {
			if c.got[k] != n {
				t.Fatalf("stats?%s: %s[%s] = %d, the list has %d (%v)", query, c.name, k, c.got[k], n, c.got)
			}
		}
		for k, n := range c.got {
			if n != c.want[k] {
				t.Fatalf("stats?%s: %s[%s] = %d, the list has %d", query, c.name, k, n, c.want[k])
			}
		}
		for _, v := range c.values { // every taxonomy value is present, 0 when none
			if _, ok := c.got[v]; !ok {
				t.Fatalf("stats?%s: %s lacks %s: %v", query, c.name, v, c.got)
			}
		}
	}
	return st
}

func sortedIDs(ids ...string) []string {
	out := slices.Clone(ids)
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func TestFindingCreate(t *testing.T) {
	e := newFndEnv(t)
	const path = "/api/v1/findings"
	vector := "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
	_, score, err := cvss.Parse(vector)
	if err != nil {
		t.Fatal(err)
	}
	vector4 := "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
	_, score4, err := cvss.Parse(vector4)
	if err != nil {
		t.Fatal(err)
	}
	valid := func(kv ...any) map[string]any {
		return fndBody(e.session, e.inScope, append([]any{"title", "Stored XSS", "severity", "high"}, kv...)...)
	}
	without := func(b map[string]any, keys ...string) map[string]any {
		for _, k := range keys {
			delete(b, k)
		}
		return b
	}
	var refs21 []string
	for i := range 21 {
		refs21 = append(refs21, fmt.Sprintf("https://example.com/%d", i))
	}
	view := func(t *testing.T, r *asmResp) fndView {
		var f fndView
		r.decode(t, &f)
		return f
	}
	created := 0
	ok := func(check func(t *testing.T, f fndView)) func(t *testing.T, r *asmResp) {
		return func(t *testing.T, r *asmResp) {
			created++
			f := view(t, r)
			if r.Header.Get("ETag") != `"v1"` || f.Version != 1 || f.Source != "manual" || !domain.ValidID(f.ID) {
				t.Fatalf("created: ETag %q, %+v", r.Header.Get("ETag"), f)
			}
			if check != nil {
				check(t, f)
			}
		}
	}
	e.run(t, []asmCase{
		{name: "every field", method: "POST", path: path, user: e.auditor, code: 201, body: fndBody(e.session, e.inScope,
			"title", "  SQL injection in login  ", "description", "The login form\nconcatenates input.", "severity", "HIGH",
			"status", "in_progress", "category", "vulnerability", "cvss_vector", vector, "evidence", "' OR 1=1 --",
			"remediation", "Use prepared statements.", "references", []string{"https://owasp.org/sqli", "http://cwe.mitre.org/89"},
			"resolution_note", "triaged"),
			check: ok(func(t *testing.T, f fndView) {
				if f.Title != "SQL injection in login" || f.Description != "The login form\nconcatenates input." ||
					f.Severity != "high" || f.Status != "in_progress" || f.Category != "vulnerability" || f.NIS2 != "e" ||
					f.CVSSVector != vector || f.CVSSScore == nil || *f.CVSSScore != score || f.CVSSVersion != "3.1" ||
					f.Evidence != "' OR 1=1 --" || f.Remediation != "Use prepared statements." ||
					!slices.Equal(f.References, []string{"https://owasp.org/sqli", "http://cwe.mitre.org/89"}) ||
					f.ResolutionNote != "triaged" || f.SessionID != e.session || f.ClientID != e.client ||
					f.AssetID != e.inScope || f.Asset.Type != "domain" || f.Asset.Target != "app.example.com" ||
					f.CreatedBy != e.auditor.ID || f.TemplateID != "" || f.CreatedAt.IsZero() || !f.CreatedAt.Equal(f.UpdatedAt) {
					t.Fatalf("created %+v", f)
				}
			})},
		{name: "defaults", method: "POST", path: path, user: e.admin, code: 201, body: valid(),
			check: ok(func(t *testing.T, f fndView) {
				if f.Status != "open" || f.Category != "other" || f.NIS2 != "a" || f.CVSSVector != "" || f.CVSSScore != nil ||
					f.References == nil || len(f.References) != 0 || f.CreatedBy != e.admin.ID {
					t.Fatalf("created %+v", f)
				}
			})},
		{name: "informational is info", method: "POST", path: path, user: e.auditor, code: 201, body: valid("severity", "informational"),
			check: ok(func(t *testing.T, f fndView) {
				if f.Severity != "info" {
					t.Fatalf("severity %q", f.Severity)
				}
			})},
		{name: "asset without client in scope", method: "POST", path: path, user: e.auditor, code: 201,
			body: fndBody(e.session, e.shared, "title", "Shared", "severity", "low"),
			check: ok(func(t *testing.T, f fndView) {
				if f.ClientID != e.client || f.AssetID != e.shared {
					t.Fatalf("created %+v", f)
				}
			})},
		{name: "session without scope takes its client's assets", method: "POST", path: path, user: e.auditor, code: 201,
			body: fndBody(e.openSession, e.otherClientAsset, "title", "Open scope", "severity", "medium", "category", "dns"),
			check: ok(func(t *testing.T, f fndView) {
				if f.ClientID != e.otherClient || f.NIS2 != "g" {
					t.Fatalf("created %+v", f)
				}
			})},
		{name: "asset of another client than the session's", method: "POST", path: path, user: e.auditor, code: 422,
			body: fndBody(e.openSession, e.outOfScope, "title", "Crossed", "severity", "low"),
			check: func(t *testing.T, r *asmResp) {
				if locs := r.locations(); len(locs) != 1 || locs[0] != "body.asset_id" {
					t.Fatalf("error locations %v, want body.asset_id", locs)
				}
			}},
		{name: "CVSS 4.0", method: "POST", path: path, user: e.auditor, code: 201,
			body: valid("cvss_vector", vector4),
			check: ok(func(t *testing.T, f fndView) {
				if f.CVSSVersion != "4.0" || f.CVSSScore == nil || *f.CVSSScore != score4 {
					t.Fatalf("created %+v", f)
				}
			})},

		{name: "no token", method: "POST", path: path, code: 401, body: valid()},
		{name: "viewer", method: "POST", path: path, user: e.viewer, code: 403, body: valid()},
		{name: "client member", method: "POST", path: path, user: e.member, code: 403, body: valid()},

		{name: "title missing", method: "POST", path: path, user: e.auditor, code: 422, body: without(valid(), "title"), locs: []string{"body.title"}},
		{name: "title blank", method: "POST", path: path, user: e.auditor, code: 422, body: valid("title", "   "), locs: []string{"body.title"}},
		{name: "title too long", method: "POST", path: path, user: e.auditor, code: 422, body: valid("title", strings.Repeat("x", 301)), locs: []string{"body.title"}},
		{name: "severity missing", method: "POST", path: path, user: e.auditor, code: 422, body: without(valid(), "severity"), locs: []string{"body.severity"}},
		{name: "severity unknown", method: "POST", path: path, user: e.auditor, code: 422, body: valid("severity", "severe"), locs: []string{"body.severity"}},
		{name: "status unknown", method: "POST", path: path, user: e.auditor, code: 422, body: valid("status", "done"), locs: []string{"body.status"}},
		{name: "category unknown", method: "POST", path: path, user: e.auditor, code: 422, body: valid("category", "nis2_k"), locs: []string{"body.category"}},
		{name: "bad CVSS vector", method: "POST", path: path, user: e.auditor, code: 422, body: valid("cvss_vector", "CVSS:3.1/AV:N/AC:L"), locs: []string{"body.cvss_vector"}},
		{name: "CVSS vector without prefix", method: "POST", path: path, user: e.auditor, code: 422, body: valid("cvss_vector", "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), locs: []string{"body.cvss_vector"}},
		{name: "reference not http", method: "POST", path: path, user: e.auditor, code: 422,
			body: valid("references", []string{"https://ok.example.com", "ftp://files.example.com/x"}), locs: []string{"body.references[1]"}},
		{name: "reference not a URL", method: "POST", path: path, user: e.auditor, code: 422,
			body: valid("references", []string{"see the wiki"}), locs: []string{"body.references[0]"}},
		{name: "javascript reference", method: "POST", path: path, user: e.auditor, code: 422,
			body: valid("references", []string{"javascript:alert(1)"}), locs: []string{"body.references[0]"}},
		{name: "too many references", method: "POST", path: path, user: e.auditor, code: 422, body: valid("references", refs21), locs: []string{"body.references"}},
		{name: "session missing", method: "POST", path: path, user: e.auditor, code: 422, body: without(valid(), "session_id"), locs: []string{"body.session_id"}},
		{name: "session unknown", method: "POST", path: path, user: e.auditor, code: 422, body: fndBody(domain.NewID(), e.inScope, "title", "x", "severity", "low"),
			locs: []string{"body.session_id"}, detail: "no such session"},
		{name: "session junk", method: "POST", path: path, user: e.auditor, code: 422, body: fndBody("junk", e.inScope, "title", "x", "severity", "low"),
			locs: []string{"body.session_id"}, detail: "no such session"},
		{name: "session of another organization", method: "POST", path: path, user: e.auditor, code: 422,
			body: fndBody(e.otherSession, e.inScope, "title", "x", "severity", "low"), locs: []string{"body.session_id"}, detail: "no such session"},
		{name: "asset missing", method: "POST", path: path, user: e.auditor, code: 422, body: without(valid(), "asset_id"), locs: []string{"body.asset_id"}},
		{name: "asset unknown", method: "POST", path: path, user: e.auditor, code: 422, body: fndBody(e.session, domain.NewID(), "title", "x", "severity", "low"),
			locs: []string{"body.asset_id"}, detail: "no such asset"},
		{name: "asset of another organization", method: "POST", path: path, user: e.auditor, code: 422,
			body: fndBody(e.openSession, e.otherAsset, "title", "x", "severity", "low"), locs: []string{"body.asset_id"}, detail: "no such asset"},
		{name: "asset outside the session's scope", method: "POST", path: path, user: e.auditor, code: 422,
			body: fndBody(e.session, e.outOfScope, "title", "x", "severity", "low"), locs: []string{"body.asset_id"}},
		{name: "template unknown", method: "POST", path: path, user: e.auditor, code: 422, body: valid("template_id", domain.NewID()),
			locs: []string{"body.template_id"}, detail: "no such template"},
		{name: "template junk", method: "POST", path: path, user: e.auditor, code: 422, body: valid("template_id", "junk"),
			locs: []string{"body.template_id"}, detail: "no such template"},
		{name: "unknown field", method: "POST", path: path, user: e.auditor, code: 422, body: valid("version", 7)},
		{name: "organization in the body is not a field", method: "POST", path: path, user: e.auditor, code: 422, body: valid("org_id", e.otherOrg)},
	})

	t.Run("another organization's session answers like an unknown one", func(t *testing.T) {
		a := e.call(http.MethodPost, path, e.auditor, fndBody(e.otherSession, e.inScope, "title", "x", "severity", "low"))
		b := e.call(http.MethodPost, path, e.auditor, fndBody(domain.NewID(), e.inScope, "title", "x", "severity", "low"))
		if a.Code != b.Code || string(a.Body) != string(b.Body) {
			t.Fatalf("foreign %d %s, unknown %d %s", a.Code, a.Body, b.Code, b.Body)
		}
	})
	t.Run("nothing written by refusals", func(t *testing.T) {
		if st := e.checkStats(t, e.admin, ""); st.Total != created {
			t.Fatalf("total %d, created %d", st.Total, created)
		}
		if p := e.page(t, e.other, ""); p.Total != 1 || p.Items[0].ID != e.foreign {
			t.Fatalf("other organization: %+v", p)
		}
	})
	t.Run("history starts with created", func(t *testing.T) {
		f := e.create(t, e.auditor, valid())
		h := e.history(t, e.viewer, f.ID, "")
		if h.Total != 1 || len(h.Items) != 1 || h.Items[0].Field != "created" || h.Items[0].To != "open" || h.Items[0].ChangedBy != e.auditor.ID {
			t.Fatalf("history %+v", h)
		}
	})
}

func TestFindingFromTemplate(t *testing.T) {
	e := newFndEnv(t)
	tplVector := "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N"
	_, tplScore, err := cvss.Parse(tplVector)
	if err != nil {
		t.Fatal(err)
	}
	overVector := "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"
	_, overScore, err := cvss.Parse(overVector)
	if err != nil {
		t.Fatal(err)
	}
	tplRefs := []string{"https://www.rfc-editor.org/rfc/rfc8996", "https://wiki.mozilla.org/Security/Server_Side_TLS"}
	tpl := e.mustCreate("/api/v1/templates", e.auditor, map[string]any{
		"title": "Deprecated TLS versions", "description": "TLS 1.0 is enabled.", "remediation": "Disable TLS 1.0.",
		"severity": "medium", "category": "tls", "references": tplRefs, "cvss_vector": tplVector})
	bare := e.mustCreate("/api/v1/templates", e.auditor, map[string]any{"title": "Bare template", "severity": "low"})
	foreignTpl := e.mustCreate("/api/v1/templates", e.other, map[string]any{"title": "Theirs", "severity": "low"})
	const builtin = "01JGFJJZ00A90MTM21A9A58M01" // Missing HSTS: low, http_headers, CVSS 3.1
	_, builtinScore, _ := cvss.Parse("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N")

	cases := []struct {
		name  string
		body  map[string]any
		check func(t *testing.T, f fndView)
	}{
		{"fields copied", fndBody(e.session, e.inScope, "template_id", tpl), func(t *testing.T, f fndView) {
			if f.TemplateID != tpl || f.Title != "Deprecated TLS versions" || f.Description != "TLS 1.0 is enabled." ||
				f.Remediation != "Disable TLS 1.0." || f.Severity != "medium" || f.Category != "tls" || f.NIS2 != "h" ||
				!slices.Equal(f.References, tplRefs) || f.CVSSVector != tplVector || f.CVSSScore == nil ||
				*f.CVSSScore != tplScore || f.CVSSVersion != "3.1" || f.Status != "open" || f.Evidence != "" {
				t.Fatalf("from template: %+v", f)
			}
		}},
		{"overrides win", fndBody(e.session, e.inScope, "template_id", tpl, "title", "TLS 1.0 on the portal", "severity", "critical",
			"category", "nis2_j_authentication", "cvss_vector", overVector, "references", []string{"https://example.com/advisory"},
			"evidence", "nmap output", "status", "accepted_risk"), func(t *testing.T, f fndView) {
			if f.TemplateID != tpl || f.Title != "TLS 1.0 on the portal" || f.Description != "TLS 1.0 is enabled." ||
				f.Remediation != "Disable TLS 1.0." || f.Severity != "critical" || f.Category != "nis2_j_authentication" ||
				f.NIS2 != "j" || !slices.Equal(f.References, []string{"https://example.com/advisory"}) ||
				f.CVSSVector != overVector || f.CVSSScore == nil || *f.CVSSScore != overScore ||
				f.Evidence != "nmap output" || f.Status != "accepted_risk" {
				t.Fatalf("overridden: %+v", f)
			}
		}},
		{"empty overrides clear", fndBody(e.session, e.inScope, "template_id", tpl, "cvss_vector", "", "references", []string{}, "description", ""),
			func(t *testing.T, f fndView) {
				if f.CVSSVector != "" || f.CVSSScore != nil || f.CVSSVersion != "" || len(f.References) != 0 || f.Description != "" ||
					f.Title != "Deprecated TLS versions" {
					t.Fatalf("cleared: %+v", f)
				}
			}},
		{"template without category takes the default", fndBody(e.session, e.inScope, "template_id", bare), func(t *testing.T, f fndView) {
			if f.Title != "Bare template" || f.Severity != "low" || f.Category != "other" || f.NIS2 != "a" || f.CVSSScore != nil {
				t.Fatalf("from bare template: %+v", f)
			}
		}},
		{"built-in template", fndBody(e.session, e.shared, "template_id", builtin), func(t *testing.T, f fndView) {
			if f.Severity != "low" || f.Category != "http_headers" || f.NIS2 != "e" || f.CVSSScore == nil || *f.CVSSScore != builtinScore ||
				len(f.References) != 2 || f.Remediation == "" {
				t.Fatalf("from built-in template: %+v", f)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := e.create(t, e.auditor, c.body)
			c.check(t, f)
			c.check(t, e.get(t, f.ID)) // as stored
		})
	}
	e.run(t, []asmCase{
		{name: "template of another organization", method: "POST", path: "/api/v1/findings", user: e.auditor, code: 422,
			body: fndBody(e.session, e.inScope, "template_id", foreignTpl), locs: []string{"body.template_id"}, detail: "no such template"},
		{name: "override validated", method: "POST", path: "/api/v1/findings", user: e.auditor, code: 422,
			body: fndBody(e.session, e.inScope, "template_id", tpl, "severity", "urgent"), locs: []string{"body.severity"}},
	})
	t.Run("editing the template leaves findings alone", func(t *testing.T) {
		f := e.create(t, e.auditor, fndBody(e.session, e.inScope, "template_id", tpl))
		if r := e.call(http.MethodPatch, "/api/v1/templates/"+tpl, e.auditor, map[string]any{"title": "Renamed"}); r.Code != 200 {
			t.Fatalf("patch template: %d %s", r.Code, r.Body)
		}
		if g := e.get(t, f.ID); g.Title != "Deprecated TLS versions" || g.Version != 1 {
			t.Fatalf("finding after template edit: %+v", g)
		}
	})
}

func TestFindingAccess(t *testing.T) {
	e := newFndEnv(t)
	mine := e.create(t, e.auditor, fndBody(e.session, e.inScope, "title", "Mine", "severity", "high"))
	mine2 := e.create(t, e.auditor, fndBody(e.session, e.shared, "title", "Mine too", "severity", "low", "status", "resolved"))
	theirs := e.create(t, e.auditor, fndBody(e.openSession, e.otherClientAsset, "title", "Theirs", "severity", "critical"))
	base := "/api/v1/findings/"
	patch := map[string]any{"status": "in_progress"}

	e.run(t, []asmCase{
		{name: "viewer gets", method: "GET", path: base + mine.ID, user: e.viewer, code: 200,
			check: func(t *testing.T, r *asmResp) {
				if r.Header.Get("ETag") != `"v1"` {
					t.Fatalf("ETag %q", r.Header.Get("ETag"))
				}
			}},
		{name: "client member gets its client's", method: "GET", path: base + mine.ID, user: e.member, code: 200},
		{name: "client member, another client's", method: "GET", path: base + theirs.ID, user: e.member, code: 404},
		{name: "client member, another client's history", method: "GET", path: base + theirs.ID + "/history", user: e.member, code: 404},
		{name: "client member, its history", method: "GET", path: base + mine.ID + "/history", user: e.member, code: 200},
		{name: "unknown", method: "GET", path: base + domain.NewID(), user: e.admin, code: 404},
		{name: "junk", method: "GET", path: base + "junk", user: e.admin, code: 404},
		{name: "no token", method: "GET", path: base + mine.ID, code: 401},
		{name: "foreign get", method: "GET", path: base + e.foreign, user: e.admin, code: 404},
		{name: "foreign patch", method: "PATCH", path: base + e.foreign, user: e.admin, body: patch, code: 404},
		{name: "foreign patch with If-Match", method: "PATCH", path: base + e.foreign, user: e.admin, body: patch, headers: []string{"If-Match", `"v1"`}, code: 404},
		{name: "foreign history", method: "GET", path: base + e.foreign + "/history", user: e.admin, code: 404},
		{name: "unknown patch", method: "PATCH", path: base + domain.NewID(), user: e.admin, body: patch, code: 404},
		{name: "unknown history", method: "GET", path: base + domain.NewID() + "/history", user: e.admin, code: 404},
		{name: "viewer cannot patch", method: "PATCH", path: base + mine.ID, user: e.viewer, body: patch, code: 403},
		{name: "client member cannot patch", method: "PATCH", path: base + mine.ID, user: e.member, body: patch, code: 403},
		{name: "viewer cannot bulk-update", method: "POST", path: base + "bulk-update", user: e.viewer, body: map[string]any{"ids": []string{mine.ID}, "status": "resolved"}, code: 403},
		{name: "client member cannot bulk-update", method: "POST", path: base + "bulk-update", user: e.member, body: map[string]any{"ids": []string{mine.ID}, "status": "resolved"}, code: 403},
		{name: "viewer lists", method: "GET", path: "/api/v1/findings", user: e.viewer, code: 200},
		{name: "viewer stats", method: "GET", path: "/api/v1/findings/stats", user: e.viewer, code: 200},
	})
	t.Run("nothing changed by refused writes", func(t *testing.T) {
		if f := e.get(t, mine.ID); f.Version != 1 || f.Status != "open" {
			t.Fatalf("mine %+v", f)
		}
		r := e.call(http.MethodGet, base+e.foreign, e.other, nil)
		var f fndView
		r.decode(t, &f)
		if r.Code != 200 || f.Version != 1 || f.Status != "open" {
			t.Fatalf("foreign: %d %+v", r.Code, f)
		}
	})
	t.Run("client member lists and counts its client's findings only", func(t *testing.T) {
		want := sortedIDs(mine.ID, mine2.ID)
		for _, q := range []string{"", "client_id=" + e.client, "session_id=" + e.session, "sort=-severity", "q=mine", "severity=high,low,critical"} {
			if got := sortedIDs(e.page(t, e.member, q).ids()...); !slices.Equal(got, want) {
				t.Fatalf("member ?%s: %v, want %v", q, got, want)
			}
		}
		for _, q := range []string{"client_id=" + e.otherClient, "session_id=" + e.openSession, "asset_id=" + e.otherClientAsset, "client_id=" + domain.NewID()} {
			if p := e.page(t, e.member, q); len(p.Items) != 0 || p.Total != 0 {
				t.Fatalf("member ?%s: %+v", q, p)
			}
			if st := e.stats(t, e.member, q); st.Total != 0 || st.BySeverity["critical"] != 0 {
				t.Fatalf("member stats ?%s: %+v", q, st)
			}
		}
		st := e.checkStats(t, e.member, "")
		if st.Total != 2 || st.BySeverity["critical"] != 0 || st.BySeverity["high"] != 1 || st.ByStatus["resolved"] != 1 {
			t.Fatalf("member stats %+v", st)
		}
		if st := e.checkStats(t, e.viewer, ""); st.Total != 3 || st.BySeverity["critical"] != 1 {
			t.Fatalf("viewer stats %+v", st)
		}
	})
	t.Run("the other organization sees only its own", func(t *testing.T) {
		if got := e.page(t, e.other, "").ids(); !slices.Equal(got, []string{e.foreign}) {
			t.Fatalf("other org lists %v", got)
		}
		if p := e.page(t, e.other, "session_id="+e.session); p.Total != 0 || len(p.Items) != 0 {
			t.Fatalf("other org, our session: %+v", p)
		}
		if st := e.stats(t, e.other, ""); st.Total != 1 {
			t.Fatalf("other org stats %+v", st)
		}
	})
}

func TestFindingPatch(t *testing.T) {
	e := newFndEnv(t)
	f := e.create(t, e.auditor, fndBody(e.session, e.inScope, "title", "Open redirect", "severity", "medium", "category", "configuration"))
	id := f.ID
	path := "/api/v1/findings/" + id
	version := func(t *testing.T) int { return e.get(t, id).Version }

	t.Run("If-Match", func(t *testing.T) {
		g, r := e.patch(t, e.auditor, id, map[string]any{"status": "in_progress"}, 200, "If-Match", `"v1"`)
		if g.Version != 2 || g.Status != "in_progress" || r.Header.Get("ETag") != `"v2"` || !g.UpdatedAt.After(f.UpdatedAt) {
			t.Fatalf("matching If-Match: %+v", g)
		}
		_, r = e.patch(t, e.auditor, id, map[string]any{"status": "resolved"}, 412, "If-Match", `"v1"`)
		if !strings.Contains(string(r.Body), "detail") {
			t.Fatalf("412 without detail: %s", r.Body)
		}
		if g := e.get(t, id); g.Version != 2 || g.Status != "in_progress" {
			t.Fatalf("stale If-Match wrote: %+v", g)
		}
		g, _ = e.patch(t, e.auditor, id, map[string]any{"title": "Open redirect on /login"}, 200, "If-Match", `W/"v2"`)
		if g.Version != 3 {
			t.Fatalf("weak If-Match: %+v", g)
		}
		g, _ = e.patch(t, e.admin, id, map[string]any{"evidence": "GET /login?next=//evil"}, 200, "If-Match", "*")
		if g.Version != 4 || g.Evidence != "GET /login?next=//evil" {
			t.Fatalf("If-Match *: %+v", g)
		}
		g, _ = e.patch(t, e.admin, id, map[string]any{"remediation": "Allow-list targets."}, 200)
		if g.Version != 5 {
			t.Fatalf("no If-Match: %+v", g)
		}
		for _, bad := range []string{"abc", `"v0"`, `"v-3"`, `"x5"`} {
			_, r := e.patch(t, e.admin, id, map[string]any{"status": "resolved"}, 422, "If-Match", bad)
			if !slices.Equal(r.locations(), []string{"header.If-Match"}) {
				t.Fatalf("If-Match %s: %s", bad, r.Body)
			}
		}
		_, _ = e.patch(t, e.admin, id, map[string]any{"status": "resolved"}, 412, "If-Match", `"v99"`)
		if v := version(t); v != 5 {
			t.Fatalf("refused If-Match wrote: version %d", v)
		}
	})

	t.Run("changing nothing keeps the version", func(t *testing.T) {
		before := e.get(t, id)
		hist := e.history(t, e.admin, id, "").Total
		for _, body := range []map[string]any{
			{},
			{"status": before.Status, "title": before.Title},
			{"title": "  " + before.Title + " "}, // trimmed: the same
			{"severity": strings.ToUpper(before.Severity)},
			{"references": []string{}},
		} {
			g, r := e.patch(t, e.auditor, id, body, 200, "If-Match", fmt.Sprintf(`"v%d"`, before.Version))
			if g.Version != before.Version || r.Header.Get("ETag") != fmt.Sprintf(`"v%d"`, before.Version) || !g.UpdatedAt.Equal(before.UpdatedAt) {
				t.Fatalf("no-op %v: %+v", body, g)
			}
		}
		if h := e.history(t, e.admin, id, ""); h.Total != hist || len(h.Items) != hist {
			t.Fatalf("no-op wrote history: %d → %d", hist, h.Total)
		}
	})

	t.Run("validation", func(t *testing.T) {
		before := version(t)
		e.run(t, []asmCase{
			{name: "title blank", method: "PATCH", path: path, user: e.auditor, body: map[string]any{"title": " "}, code: 422, locs: []string{"body.title"}},
			{name: "severity unknown", method: "PATCH", path: path, user: e.auditor, body: map[string]any{"severity": "severe"}, code: 422, locs: []string{"body.severity"}},
			{name: "status unknown", method: "PATCH", path: path, user: e.auditor, body: map[string]any{"status": "closed"}, code: 422, locs: []string{"body.status"}},
			{name: "category unknown", method: "PATCH", path: path, user: e.auditor, body: map[string]any{"category": "misc"}, code: 422, locs: []string{"body.category"}},
			{name: "bad CVSS", method: "PATCH", path: path, user: e.auditor, body: map[string]any{"cvss_vector": "CVSS:3.1/AV:Q"}, code: 422, locs: []string{"body.cvss_vector"}},
			{name: "reference not http", method: "PATCH", path: path, user: e.auditor, body: map[string]any{"references": []string{"file:///etc/passwd"}}, code: 422, locs: []string{"body.references[0]"}},
			{name: "valid fields with one invalid write nothing", method: "PATCH", path: path, user: e.auditor,
				body: map[string]any{"title": "Changed", "status": "bogus"}, code: 422, locs: []string{"body.status"}},
			{name: "read-only field", method: "PATCH", path: path, user: e.auditor, body: map[string]any{"session_id": e.openSession}, code: 422},
		})
		if g := e.get(t, id); g.Version != before || g.Title == "Changed" {
			t.Fatalf("refused PATCH wrote: %+v", g)
		}
	})

	t.Run("derived fields", func(t *testing.T) {
		g, _ := e.patch(t, e.auditor, id, map[string]any{"severity": "informational", "category": "email_security",
			"cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}, 200)
		if g.Severity != "info" || g.Category != "email_security" || g.NIS2 != "j" || g.CVSSScore == nil || *g.CVSSScore < 9.79 || *g.CVSSScore > 9.81 || g.CVSSVersion != "3.1" {
			t.Fatalf("derived: %+v", g)
		}
		g, _ = e.patch(t, e.auditor, id, map[string]any{"cvss_vector": ""}, 200)
		if g.CVSSVector != "" || g.CVSSScore != nil || g.CVSSVersion != "" {
			t.Fatalf("cleared vector: %+v", g)
		}
	})

	t.Run("history lists every change in order", func(t *testing.T) {
		h2 := e.create(t, e.auditor, fndBody(e.session, e.inScope, "title", "Weak passwords", "severity", "high"))
		e.patch(t, e.admin, h2.ID, map[string]any{"status": "in_progress"}, 200)
		e.patch(t, e.auditor, h2.ID, map[string]any{"title": "Weak password policy", "severity": "critical",
			"references": []string{"https://a.example.com", "https://b.example.com"}, "resolution_note": "MFA rolled out"}, 200)
		e.patch(t, e.auditor, h2.ID, map[string]any{"status": "in_progress"}, 200) // no change: no entry
		e.patch(t, e.admin, h2.ID, map[string]any{"status": "resolved", "category": "nis2_j_authentication"}, 200)
		type entry struct{ field, from, to, by string }
		want := []entry{
			{"created", "", "open", e.auditor.ID},
			{"status", "open", "in_progress", e.admin.ID},
			{"title", "Weak passwords", "Weak password policy", e.auditor.ID},
			{"resolution_note", "", "MFA rolled out", e.auditor.ID},
			{"severity", "high", "critical", e.auditor.ID},
			{"references", "", "https://a.example.com\nhttps://b.example.com", e.auditor.ID},
			{"status", "in_progress", "resolved", e.admin.ID},
			{"category", "other", "nis2_j_authentication", e.admin.ID},
		}
		h := e.history(t, e.viewer, h2.ID, "per_page=100")
		if h.Total != len(want) || len(h.Items) != len(want) {
			t.Fatalf("history total %d, %d items, want %d: %+v", h.Total, len(h.Items), len(want), h.Items)
		}
		var prev time.Time
		for i, it := range h.Items {
			if (entry{it.Field, it.From, it.To, it.ChangedBy}) != want[i] {
				t.Fatalf("history[%d] = %+v, want %+v", i, it, want[i])
			}
			if it.At.Before(prev) || it.At.IsZero() {
				t.Fatalf("history[%d] at %v before %v", i, it.At, prev)
			}
			prev = it.At
		}
		if g := e.get(t, h2.ID); g.Version != 4 {
			t.Fatalf("version %d after three changes", g.Version)
		}
		// Paged history: the same entries.
		var paged []string
		p := e.history(t, e.admin, h2.ID, "per_page=3")
		for n := 2; ; n++ {
			for _, it := range p.Items {
				paged = append(paged, it.Field)
			}
			if p.Total != len(want) {
				t.Fatalf("paged total %d", p.Total)
			}
			if len(p.Items) < 3 {
				break
			}
			p = e.history(t, e.admin, h2.ID, fmt.Sprintf("per_page=3&page=%d", n))
		}
		var fields []string
		for _, w := range want {
			fields = append(fields, w.field)
		}
		if !slices.Equal(paged, fields) {
			t.Fatalf("paged history %v, want %v", paged, fields)
		}
	})
}

func TestFindingConcurrentPatches(t *testing.T) {
	e := newFndEnv(t)
	const n = 6
	t.Run("same If-Match: exactly one wins", func(t *testing.T) {
		f := e.create(t, e.auditor, fndBody(e.session, e.inScope, "title", "Race", "severity", "low"))
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := asmServe(t, e.srv, http.MethodPatch, "/api/v1/findings/"+f.ID, e.auditor,
					map[string]any{"title": fmt.Sprintf("Race %d", i)}, "If-Match", `"v1"`)
				codes[i] = r.Code
			})
		}
		wg.Wait()
		won := 0
		for _, c := range codes {
			switch c {
			case 200:
				won++
			case 412:
			default:
				t.Fatalf("codes %v: want one 200 and 412s", codes)
			}
		}
		if won != 1 {
			t.Fatalf("codes %v: %d winners", codes, won)
		}
		if g := e.get(t, f.ID); g.Version != 2 {
			t.Fatalf("version %d", g.Version)
		}
		if h := e.history(t, e.admin, f.ID, ""); h.Total != 2 || len(h.Items) != 2 {
			t.Fatalf("history %+v", h)
		}
	})
	t.Run("without If-Match no change is lost", func(t *testing.T) {
		f := e.create(t, e.auditor, fndBody(e.session, e.inScope, "title", "Pile-up", "severity", "low"))
		changes := []map[string]any{
			{"title": "Pile-up (edited)"},
			{"description": "described"},
			{"evidence": "evidence"},
			{"remediation": "remediate"},
			{"resolution_note": "note"},
			{"severity": "high"},
			{"status": "in_progress"},
			{"category": "dns"},
		}
		codes := make([]int, len(changes))
		var wg sync.WaitGroup
		for i, c := range changes {
			wg.Go(func() {
				r := asmServe(t, e.srv, http.MethodPatch, "/api/v1/findings/"+f.ID, e.auditor, c)
				codes[i] = r.Code
				if r.Code != 200 {
					t.Errorf("PATCH %v: %d %s", c, r.Code, r.Body)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		g := e.get(t, f.ID)
		if g.Version != 1+len(changes) || g.Title != "Pile-up (edited)" || g.Description != "described" || g.Evidence != "evidence" ||
			g.Remediation != "remediate" || g.ResolutionNote != "note" || g.Severity != "high" || g.Status != "in_progress" ||
			g.Category != "dns" || g.NIS2 != "g" {
			t.Fatalf("after %d concurrent changes: %+v", len(changes), g)
		}
		h := e.history(t, e.admin, f.ID, "per_page=100")
		if h.Total != 1+len(changes) || len(h.Items) != 1+len(changes) {
			t.Fatalf("history %d entries (total %d), want %d", len(h.Items), h.Total, 1+len(changes))
		}
		fields := map[string]int{}
		for _, it := range h.Items {
			fields[it.Field]++
		}
		for _, c := range changes {
			for k := range c {
				if fields[k] != 1 {
					t.Fatalf("history fields %v", fields)
				}
			}
		}
		st := e.checkStats(t, e.admin, "")
		if st.Total != 2 || st.BySeverity["high"] != 1 || st.ByCategory["dns"] != 1 || st.ByStatus["in_progress"] != 1 {
			t.Fatalf("stats after concurrent changes %+v", st)
		}
	})
	t.Run("concurrent creates and changes of different findings all land", func(t *testing.T) {
		var wg sync.WaitGroup
		ids := make([]string, n)
		for i := range n {
			wg.Go(func() {
				r := asmServe(t, e.srv, http.MethodPost, "/api/v1/findings", e.auditor,
					fndBody(e.session, e.shared, "title", fmt.Sprintf("Parallel %d", i), "severity", "medium"))
				if r.Code != 201 {
					t.Errorf("create %d: %d %s", i, r.Code, r.Body)
					return
				}
				var f fndView
				r.decode(t, &f)
				ids[i] = f.ID
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		for _, id := range ids {
			wg.Go(func() {
				r := asmServe(t, e.srv, http.MethodPatch, "/api/v1/findings/"+id, e.auditor, map[string]any{"status": "resolved"})
				if r.Code != 200 {
					t.Errorf("patch %s: %d %s", id, r.Code, r.Body)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		st := e.checkStats(t, e.admin, "")
		if st.Total != 2+n || st.ByStatus["resolved"] != n {
			t.Fatalf("stats %+v", st)
		}
		e.checkStats(t, e.admin, "session_id="+e.session)
		e.checkStats(t, e.admin, "asset_id="+e.shared)
	})
}

func TestFindingBulkUpdate(t *testing.T) {
	e := newFndEnv(t)
	const path = "/api/v1/findings/bulk-update"
	open1 := e.create(t, e.auditor, fndBody(e.session, e.inScope, "title", "One", "severity", "high"))
	resolved := e.create(t, e.auditor, fndBody(e.session, e.inScope, "title", "Two", "severity", "low", "status", "resolved"))
	open3 := e.create(t, e.auditor, fndBody(e.openSession, e.otherClientAsset, "title", "Three", "severity", "medium"))
	unknown := domain.NewID()

	t.Run("per-id outcomes", func(t *testing.T) {
		b := e.bulk(t, e.auditor, map[string]any{"ids": []string{open1.ID, resolved.ID, e.foreign, unknown, "junk", open1.ID}, "status": "resolved"})
		type out struct{ id, outcome string }
		want := []out{{open1.ID, "updated"}, {resolved.ID, "unchanged"}, {e.foreign, "not_found"}, {unknown, "not_found"}, {"junk", "not_found"}}
		if b.Updated != 1 || b.Unchanged != 1 || b.Failed != 3 || len(b.Results) != len(want) {
			t.Fatalf("bulk %+v", b)
		}
		for i, r := range b.Results {
			if (out{r.ID, r.Outcome}) != want[i] {
				t.Fatalf("result %d = %+v, want %+v", i, r, want[i])
			}
		}
		if b.Results[0].Version != 2 || b.Results[1].Version != 1 || b.Results[2].Detail == "" {
			t.Fatalf("versions/details %+v", b.Results)
		}
		if g := e.get(t, open1.ID); g.Status != "resolved" || g.Version != 2 {
			t.Fatalf("updated %+v", g)
		}
		if g := e.get(t, resolved.ID); g.Version != 1 {
			t.Fatalf("unchanged %+v", g)
		}
		r := e.call(http.MethodGet, "/api/v1/findings/"+e.foreign, e.other, nil)
		var f fndView
		r.decode(t, &f)
		if f.Status != "open" || f.Version != 1 {
			t.Fatalf("foreign finding changed: %+v", f)
		}
		h := e.history(t, e.admin, open1.ID, "")
		if h.Total != 2 || h.Items[1].Field != "status" || h.Items[1].From != "open" || h.Items[1].To != "resolved" || h.Items[1].ChangedBy != e.auditor.ID {
			t.Fatalf("history %+v", h)
		}
	})
	t.Run("status and note", func(t *testing.T) {
		b := e.bulk(t, e.admin, map[string]any{"ids": []string{open1.ID, open3.ID}, "status": "accepted_risk", "resolution_note": "Compensating control"})
		if b.Updated != 2 || b.Failed != 0 || b.Unchanged != 0 {
			t.Fatalf("bulk %+v", b)
		}
		h := e.history(t, e.admin, open3.ID, "")
		if h.Total != 3 || h.Items[1].Field != "resolution_note" || h.Items[2].Field != "status" {
			t.Fatalf("history %+v", h)
		}
		b = e.bulk(t, e.admin, map[string]any{"ids": []string{open1.ID}, "resolution_note": "Compensating control"})
		if b.Unchanged != 1 || b.Results[0].Outcome != "unchanged" {
			t.Fatalf("same note %+v", b)
		}
	})
	t.Run("100 ids", func(t *testing.T) {
		ids := []string{open3.ID}
		for len(ids) < 100 {
			ids = append(ids, domain.NewID())
		}
		b := e.bulk(t, e.auditor, map[string]any{"ids": ids, "status": "open"})
		if b.Updated != 1 || b.Failed != 99 || len(b.Results) != 100 || b.Results[0].Outcome != "updated" || b.Results[99].Outcome != "not_found" {
			t.Fatalf("bulk of 100: updated %d failed %d results %d", b.Updated, b.Failed, len(b.Results))
		}
	})
	ids101 := make([]string, 101)
	for i := range ids101 {
		ids101[i] = domain.NewID()
	}
	e.run(t, []asmCase{
		{name: "invalid status", method: "POST", path: path, user: e.auditor, body: map[string]any{"ids": []string{open3.ID, resolved.ID}, "status": "done"},
			code: 422, locs: []string{"body.status"}},
		{name: "no ids", method: "POST", path: path, user: e.auditor, body: map[string]any{"ids": []string{}, "status": "resolved"}, code: 422, locs: []string{"body.ids"}},
		{name: "ids missing", method: "POST", path: path, user: e.auditor, body: map[string]any{"status": "resolved"}, code: 422},
		{name: "101 ids", method: "POST", path: path, user: e.auditor, body: map[string]any{"ids": ids101, "status": "resolved"}, code: 422, locs: []string{"body.ids"}},
		{name: "nothing to change", method: "POST", path: path, user: e.auditor, body: map[string]any{"ids": []string{open3.ID}}, code: 422},
		{name: "viewer", method: "POST", path: path, user: e.viewer, body: map[string]any{"ids": []string{open3.ID}, "status": "resolved"}, code: 403},
	})
	t.Run("refused requests change nothing", func(t *testing.T) {
		if g := e.get(t, open3.ID); g.Status != "open" || g.Version != 3 {
			t.Fatalf("open3 %+v", g)
		}
		if g := e.get(t, resolved.ID); g.Status != "resolved" || g.Version != 1 {
			t.Fatalf("resolved %+v", g)
		}
		e.checkStats(t, e.admin, "")
	})
}

// TestFindingStatsStayExact compares GET /findings/stats with a recount of
// the listed findings, for several queries, after every kind of write.
func TestFindingStatsStayExact(t *testing.T) {
	e := newFndEnv(t)
	queries := []string{"", "session_id=" + e.session, "session_id=" + e.openSession, "client_id=" + e.client,
		"client_id=" + e.otherClient, "asset_id=" + e.inScope, "asset_id=" + e.shared, "severity=high,critical",
		"status=open", "status=resolved&severity=low", "category=tls,other", "session_id=" + e.session + "&asset_id=" + e.inScope,
		"q=finding", "client_id=" + e.client + "&severity=medium"}
	check := func(t *testing.T, step string, wantTotal int) {
		t.Helper()
		for _, q := range queries {
			e.checkStats(t, e.admin, q)
		}
		e.checkStats(t, e.member, "")
		e.checkStats(t, e.member, "status=open")
		if st := e.stats(t, e.admin, ""); st.Total != wantTotal {
			t.Fatalf("%s: total %d, want %d", step, st.Total, wantTotal)
		}
	}
	check(t, "empty", 0)

	sevs := []string{"critical", "high", "medium", "low", "info"}
	cats := []string{"tls", "other", "dns"}
	var ids []string
	for i := range 15 {
		session, asset := e.session, e.inScope
		switch i % 3 {
		case 1:
			asset = e.shared
		case 2:
			session, asset = e.openSession, e.otherClientAsset
		}
		f := e.create(t, e.auditor, fndBody(session, asset, "title", fmt.Sprintf("Finding %d", i), "severity", sevs[i%5], "category", cats[i%3]))
		ids = append(ids, f.ID)
	}
	check(t, "after creates", 15)

	for i, id := range ids[:6] {
		body := map[string]any{"severity": sevs[(i+2)%5]}
		if i%2 == 0 {
			body["status"] = "in_progress"
		}
		if i%3 == 0 {
			body["category"] = "dns"
		}
		e.patch(t, e.auditor, id, body, 200)
	}
	e.patch(t, e.auditor, ids[7], map[string]any{"title": "Renamed finding"}, 200) // no counted field
	check(t, "after updates", 15)

	b := e.bulk(t, e.auditor, map[string]any{"ids": append(slices.Clone(ids[4:12]), domain.NewID(), e.foreign), "status": "resolved"})
	if b.Updated != 8 || b.Failed != 2 {
		t.Fatalf("bulk %+v", b)
	}
	check(t, "after a bulk update", 15)

	b = e.bulk(t, e.auditor, map[string]any{"ids": ids[10:], "status": "false_positive", "resolution_note": "not reproducible"})
	if b.Updated != 5 {
		t.Fatalf("bulk %+v", b)
	}
	check(t, "after a second bulk update", 15)
	st := e.stats(t, e.admin, "")
	if st.ByStatus["false_positive"] != 5 || st.ByStatus["resolved"] != 6 {
		t.Fatalf("final stats %+v", st)
	}
}

func TestFindingListPagination(t *testing.T) {
	e := newFndEnv(t)
	t.Run("empty list", func(t *testing.T) {
		for _, q := range []string{"", "session_id=" + e.session, "q=x", "severity=high"} {
			p := e.page(t, e.admin, q)
			if len(p.Items) != 0 || p.Items == nil || p.Total != 0 || p.Page != 1 || p.PerPage != 25 || p.Pages != 0 || p.NextCursor != "" {
				t.Fatalf("empty ?%s: %+v", q, p)
			}
		}
	})
	var ids []string // oldest first
	for i := range 7 {
		sev := "high"
		if i%2 == 1 {
			sev = "low"
		}
		ids = append(ids, e.create(t, e.auditor, fndBody(e.session, e.inScope, "title", fmt.Sprintf("Finding %d", i), "severity", sev)).ID)
	}
	newest := slices.Clone(ids)
	slices.Reverse(newest)

	for _, q := range []string{"", "session_id=" + e.session, "session_id=" + e.session + "&asset_id=" + e.inScope} {
		t.Run("pages of "+q, func(t *testing.T) {
			p1 := e.page(t, e.admin, q+"&per_page=3")
			if !slices.Equal(p1.ids(), newest[:3]) || p1.Total != 7 || p1.Pages != 3 || p1.Page != 1 || p1.PerPage != 3 {
				t.Fatalf("page 1: %+v", p1)
			}
			p2 := e.page(t, e.admin, q+"&per_page=3&page=2")
			if !slices.Equal(p2.ids(), newest[3:6]) || p2.Total != 7 {
				t.Fatalf("page 2: %v", p2.ids())
			}
			last := e.page(t, e.admin, q+"&per_page=3&page=3")
			if !slices.Equal(last.ids(), newest[6:]) || last.Total != 7 || last.NextCursor != "" {
				t.Fatalf("last page: %+v", last)
			}
			past := e.page(t, e.admin, q+"&per_page=3&page=9")
			if len(past.Items) != 0 || past.Total != 7 || past.Page != 9 || past.NextCursor != "" {
				t.Fatalf("past the end: %+v", past)
			}
			all := e.page(t, e.admin, q+"&per_page=100")
			if !slices.Equal(all.ids(), newest) || all.Pages != 1 || all.NextCursor != "" {
				t.Fatalf("per_page=100: %+v", all.ids())
			}
			exact := e.page(t, e.admin, q+"&per_page=7")
			if !slices.Equal(exact.ids(), newest) || exact.Pages != 1 {
				t.Fatalf("per_page=7: %+v", exact.ids())
			}
		})
	}
	t.Run("cursor continues", func(t *testing.T) {
		for _, q := range []string{"", "session_id=" + e.session, "severity=high", "severity=low&sort=created_at"} {
			first := e.page(t, e.admin, q+"&per_page=100")
			var got []string
			p := e.page(t, e.admin, q+"&per_page=2")
			for range 10 {
				got = append(got, p.ids()...)
				if p.Total != first.Total {
					t.Fatalf("?%s: total %d on a cursor page, %d on the first", q, p.Total, first.Total)
				}
				if p.NextCursor == "" {
					break
				}
				p = e.page(t, e.admin, q+"&per_page=2&cursor="+url.QueryEscape(p.NextCursor))
			}
			if !slices.Equal(got, first.ids()) {
				t.Fatalf("?%s: by cursor %v, in one page %v", q, got, first.ids())
			}
		}
		// A cursor wins over page.
		p1 := e.page(t, e.admin, "per_page=3")
		p := e.page(t, e.admin, "per_page=3&page=3&cursor="+url.QueryEscape(p1.NextCursor))
		if !slices.Equal(p.ids(), newest[3:6]) {
			t.Fatalf("cursor with page: %v", p.ids())
		}
	})
	t.Run("another scope's cursor", func(t *testing.T) {
		p := e.page(t, e.admin, "per_page=2")
		r := e.call(http.MethodGet, "/api/v1/findings?per_page=2&session_id="+e.session+"&cursor="+url.QueryEscape(p.NextCursor), e.admin, nil)
		if r.Code != 422 || !slices.Equal(r.locations(), []string{"query.cursor"}) {
			t.Fatalf("foreign cursor: %d %s", r.Code, r.Body)
		}
	})
	e.run(t, []asmCase{
		{name: "per_page 101", method: "GET", path: "/api/v1/findings?per_page=101", user: e.admin, code: 422, locs: []string{"query.per_page"}},
		{name: "per_page 0", method: "GET", path: "/api/v1/findings?per_page=0", user: e.admin, code: 422, locs: []string{"query.per_page"}},
		{name: "page 0", method: "GET", path: "/api/v1/findings?page=0", user: e.admin, code: 422, locs: []string{"query.page"}},
		{name: "page -1", method: "GET", path: "/api/v1/findings?page=-1", user: e.admin, code: 422, locs: []string{"query.page"}},
		{name: "page not a number", method: "GET", path: "/api/v1/findings?page=two", user: e.admin, code: 422, locs: []string{"query.page"}},
		{name: "junk cursor", method: "GET", path: "/api/v1/findings?cursor=junk", user: e.admin, code: 422, locs: []string{"query.cursor"}},
		{name: "history per_page 101", method: "GET", path: "/api/v1/findings/" + ids[0] + "/history?per_page=101", user: e.admin, code: 422, locs: []string{"query.per_page"}},
	})
}

func TestFindingListFilters(t *testing.T) {
	e := newFndEnv(t)
	mk := func(session, asset string, kv ...any) string {
		return e.create(t, e.auditor, fndBody(session, asset, kv...)).ID
	}
	f1 := mk(e.session, e.inScope, "title", "SQL injection in login", "severity", "critical", "category", "tls")
	f2 := mk(e.session, e.shared, "title", "Reflected", "description", "An XSS in search", "severity", "high", "category", "vulnerability")
	f3 := mk(e.session, e.inScope, "title", "Weak ciphers", "severity", "medium", "status", "in_progress", "category", "tls")
	f4 := mk(e.openSession, e.otherClientAsset, "title", "No DNSSEC", "severity", "low", "status", "resolved", "category", "dns")
	f5 := mk(e.openSession, e.otherClientAsset, "title", "Banner", "severity", "informational")
	f6 := mk(e.session, e.shared, "title", "Debug page", "evidence", "the NEEDLE in the page", "severity", "high", "status", "resolved", "category", "configuration")

	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{f1, f2, f3, f4, f5, f6}},
		{"severity=high&severity=critical", []string{f1, f2, f6}},
		{"severity=high,critical", []string{f1, f2, f6}},
		{"severity=high,critical&severity=low", []string{f1, f2, f4, f6}},
		{"severity=informational", []string{f5}},
		{"severity=info", []string{f5}},
		{"status=open&severity=high", []string{f2}},
		{"status=open,resolved&severity=high", []string{f2, f6}},
		{"status=in_progress", []string{f3}},
		{"category=tls", []string{f1, f3}},
		{"category=tls,dns&status=resolved", []string{f4}},
		{"session_id=" + e.session, []string{f1, f2, f3, f6}},
		{"session_id=" + e.session + "&severity=high", []string{f2, f6}},
		{"session_id=" + e.session + "&status=resolved&category=configuration", []string{f6}},
		{"session_id=" + e.openSession, []string{f4, f5}},
		{"asset_id=" + e.inScope, []string{f1, f3}},
		{"asset_id=" + e.shared + "&severity=high&status=open", []string{f2}},
		{"client_id=" + e.otherClient, []string{f4, f5}},
		{"client_id=" + e.client + "&status=open", []string{f1, f2}},
		{"session_id=" + e.session + "&asset_id=" + e.shared, []string{f2, f6}},
		{"session_id=" + e.session + "&asset_id=" + e.shared + "&status=resolved", []string{f6}},
		{"session_id=" + e.session + "&asset_id=" + e.otherClientAsset, nil},
		{"client_id=" + e.client + "&asset_id=" + e.inScope + "&severity=critical", []string{f1}},
		{"q=xss", []string{f2}},
		{"q=needle", []string{f6}},
		{"q=sql&severity=critical", []string{f1}},
		{"q=sql&severity=high", nil},
		{"q=E&session_id=" + e.session, []string{f1, f2, f3, f6}},
		{"q=zzz-nothing", nil},
		{"session_id=" + domain.NewID(), nil},
		{"asset_id=" + e.otherAsset, nil},
		{"client_id=junk", nil},
		{"scan_id=" + domain.NewID(), nil},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			p := e.page(t, e.viewer, c.query)
			want := sortedIDs(c.want...)
			if got := sortedIDs(p.ids()...); !slices.Equal(got, want) || p.Total != len(want) {
				t.Fatalf("?%s: %v (total %d), want %v", c.query, got, p.Total, want)
			}
			// Newest first by default.
			if !slices.IsSortedFunc(p.ids(), func(a, b string) int { return strings.Compare(b, a) }) {
				t.Fatalf("?%s: not newest first: %v", c.query, p.ids())
			}
			st := e.checkStats(t, e.viewer, c.query)
			if st.Total != len(want) {
				t.Fatalf("stats?%s: total %d, want %d", c.query, st.Total, len(want))
			}
		})
	}
	var many []string
	for range 11 {
		many = append(many, "severity=high")
	}
	e.run(t, []asmCase{
		{name: "unknown severity", method: "GET", path: "/api/v1/findings?severity=severe", user: e.admin, code: 422, locs: []string{"query.severity"}},
		{name: "unknown severity among known", method: "GET", path: "/api/v1/findings?severity=high,bogus", user: e.admin, code: 422, locs: []string{"query.severity"}},
		{name: "unknown status", method: "GET", path: "/api/v1/findings?status=done", user: e.admin, code: 422, locs: []string{"query.status"}},
		{name: "unknown category", method: "GET", path: "/api/v1/findings?category=misc", user: e.admin, code: 422, locs: []string{"query.category"}},
		{name: "stats: unknown status", method: "GET", path: "/api/v1/findings/stats?status=done", user: e.admin, code: 422, locs: []string{"query.status"}},
		{name: "stats: unknown severity", method: "GET", path: "/api/v1/findings/stats?severity=urgent", user: e.admin, code: 422, locs: []string{"query.severity"}},
		{name: "unknown sort", method: "GET", path: "/api/v1/findings?sort=title", user: e.admin, code: 422, locs: []string{"query.sort"}},
		{name: "unknown order", method: "GET", path: "/api/v1/findings?order=up", user: e.admin, code: 422, locs: []string{"query.order"}},
		{name: "too many severities", method: "GET", path: "/api/v1/findings?" + strings.Join(many, "&"), user: e.admin, code: 422},
	})
}

func TestFindingListSort(t *testing.T) {
	e := newFndEnv(t)
	var ids []string // creation order
	for i, sev := range []string{"medium", "critical", "info", "high", "low", "critical"} {
		ids = append(ids, e.create(t, e.auditor, fndBody(e.session, e.inScope, "title", fmt.Sprintf("Finding %d", i), "severity", sev)).ID)
	}
	// ids[0] is changed last: most recently updated.
	e.patch(t, e.auditor, ids[2], map[string]any{"status": "in_progress"}, 200)
	e.patch(t, e.auditor, ids[0], map[string]any{"status": "in_progress"}, 200)
	rev := func(s []string) []string { s = slices.Clone(s); slices.Reverse(s); return s }
	// Severity ties: creation order ascending, newest first descending.
	bySevDesc := []string{ids[5], ids[1], ids[3], ids[0], ids[4], ids[2]}
	byUpdated := []string{ids[1], ids[3], ids[4], ids[5], ids[2], ids[0]}
	cases := []struct {
		query string
		want  []string
	}{
		{"", rev(ids)},
		{"sort=-created_at", rev(ids)},
		{"sort=created_at", ids},
		{"sort=-created_at&order=asc", ids},
		{"sort=created_at&order=desc", rev(ids)},
		{"order=asc", ids},
		{"sort=-severity", bySevDesc},
		{"sort=severity&order=desc", bySevDesc},
		{"sort=severity", rev(bySevDesc)},
		{"sort=-severity&order=asc", rev(bySevDesc)},
		{"sort=-updated_at", rev(byUpdated)},
		{"sort=updated_at", byUpdated},
	}
	for _, c := range cases {
		// The same order from the indexed lists and from the whole-scope
		// reads (q, two scopes).
		for _, extra := range []string{"", "&session_id=" + e.session, "&q=finding", "&session_id=" + e.session + "&asset_id=" + e.inScope} {
			q := c.query + extra
			t.Run(q, func(t *testing.T) {
				if got := e.page(t, e.admin, q).ids(); !slices.Equal(got, c.want) {
					t.Fatalf("?%s: %v, want %v", q, got, c.want)
				}
				// Paged: the same order.
				var got []string
				for n := 1; n <= 3; n++ {
					got = append(got, e.page(t, e.admin, fmt.Sprintf("%s&per_page=2&page=%d", q, n)).ids()...)
				}
				if !slices.Equal(got, c.want) {
					t.Fatalf("?%s paged: %v, want %v", q, got, c.want)
				}
			})
		}
	}
	t.Run("critical first with a filter", func(t *testing.T) {
		p := e.page(t, e.admin, "sort=-severity&severity=critical,low")
		if !slices.Equal(p.ids(), []string{ids[5], ids[1], ids[4]}) || p.Items[0].Severity != "critical" {
			t.Fatalf("%v", p.ids())
		}
	})
}

// TestFindingTaxonomyValueDropped: a category a later taxonomy version drops
// stays on the findings that use it, and their other fields can still change.
func TestFindingTaxonomyValueDropped(t *testing.T) {
	e := newFndEnv(t)
	f := e.create(t, e.auditor, fndBody(e.session, e.inScope, "title", "Old CVE", "severity", "high", "category", "vulnerability"))
	r := e.call(http.MethodGet, "/api/v1/taxonomy/current", e.admin, nil)
	tax := r.json(t)
	domains := tax["domains"].(map[string]any)
	var cats []any
	for _, c := range domains["category"].([]any) {
		if c.(map[string]any)["value"] != "vulnerability" {
			cats = append(cats, c)
		}
	}
	domains["category"] = cats
	if r := e.call(http.MethodPost, "/api/v1/taxonomy/versions", e.admin, map[string]any{"domains": domains}); r.Code != 201 {
		t.Fatalf("new taxonomy version: %d %s", r.Code, r.Body)
	}
	g, _ := e.patch(t, e.auditor, f.ID, map[string]any{"status": "in_progress"}, 200)
	if g.Category != "vulnerability" || g.NIS2 != "e" || g.Status != "in_progress" || g.Version != 2 {
		t.Fatalf("patched %+v", g)
	}
	b := e.bulk(t, e.auditor, map[string]any{"ids": []string{f.ID}, "status": "resolved"})
	if b.Updated != 1 {
		t.Fatalf("bulk %+v", b)
	}
	e.run(t, []asmCase{
		{name: "dropped value refused on change", method: "PATCH", path: "/api/v1/findings/" + f.ID, user: e.auditor,
			body: map[string]any{"category": "vulnerability", "title": "x"}, code: 422, locs: []string{"body.category"}},
		{name: "dropped value refused on create", method: "POST", path: "/api/v1/findings", user: e.auditor,
			body: fndBody(e.session, e.inScope, "title", "x", "severity", "low", "category", "vulnerability"), code: 422, locs: []string{"body.category"}},
		{name: "dropped value refused as filter", method: "GET", path: "/api/v1/findings?category=vulnerability", user: e.auditor, code: 422, locs: []string{"query.category"}},
	})
	if st := e.stats(t, e.admin, ""); st.ByCategory["vulnerability"] != 1 || st.Total != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// fndConflicts makes the next n TransactWriteItems calls fail the way
// DynamoDB cancels a transaction that collided with a concurrent one on the
// same items (TransactionConflict): DynamoDB Local runs transactions one at
// a time and never does.
type fndConflicts struct{ left, seen atomic.Int64 }

func (c *fndConflicts) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("fnd-conflicts",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if _, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok && c.left.Add(-1) >= 0 {
				c.seen.Add(1)
				return middleware.InitializeOutput{}, middleware.Metadata{}, &types.TransactionCanceledException{
					Message:             aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]"),
					CancellationReasons: []types.CancellationReason{{Code: aws.String("TransactionConflict")}}}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

// TestFindingTransactionConflicts: writes cancelled by a concurrent
// transaction are retried (creates, PATCH with and without If-Match, bulk
// updates); past the retries the answer is a 409, never a 500.
func TestFindingTransactionConflicts(t *testing.T) {
	e := newFndEnv(t)
	conf := &fndConflicts{}
	db := dynamodb.New(e.p.AWS.DynamoDB.Options(), func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, conf.middleware) })
	svc := e.p.Findings()
	svc.Store = dynamo.New(db, e.p.Config.Table, domain.SystemClock)
	srv, err := e.p.Server()
	if err != nil {
		t.Fatal(err)
	}
	(&routes.Findings{Findings: svc, Taxonomy: e.p.Store()}).Register(srv.API)
	call := func(t *testing.T, conflicts int64, method, path string, body any, want int, headers ...string) *asmResp {
		t.Helper()
		conf.left.Store(conflicts)
		conf.seen.Store(0)
		r := asmServe(t, srv, method, path, e.auditor, body, headers...)
		if r.Code != want {
			t.Fatalf("%s %s with %d conflicts: %d, want %d: %s", method, path, conflicts, r.Code, want, r.Body)
		}
		if n := conf.seen.Load(); (conflicts < 100 && n != conflicts) || (conflicts >= 100 && n == 0) {
			t.Fatalf("%d conflicts injected, %d planned", n, conflicts)
		}
		conf.left.Store(0)
		return r
	}
	var f fndView
	call(t, 2, http.MethodPost, "/api/v1/findings", fndBody(e.session, e.inScope, "title", "Conflicted", "severity", "high"), 201).decode(t, &f)
	path := "/api/v1/findings/" + f.ID
	var g fndView
	call(t, 2, http.MethodPatch, path, map[string]any{"status": "in_progress"}, 200, "If-Match", `"v1"`).decode(t, &g)
	if g.Version != 2 || g.Status != "in_progress" {
		t.Fatalf("PATCH with If-Match after conflicts: %+v", g)
	}
	call(t, 2, http.MethodPatch, path, map[string]any{"severity": "low"}, 200).decode(t, &g)
	if g.Version != 3 {
		t.Fatalf("PATCH after conflicts: %+v", g)
	}
	var b fndBulk
	call(t, 2, http.MethodPost, "/api/v1/findings/bulk-update", map[string]any{"ids": []string{f.ID}, "status": "resolved"}, 200).decode(t, &b)
	if b.Updated != 1 {
		t.Fatalf("bulk after conflicts: %+v", b)
	}
	// Past the retries: 409 with a detail, nothing written.
	call(t, 1000, http.MethodPost, "/api/v1/findings", fndBody(e.session, e.inScope, "title", "Never", "severity", "high"), 409)
	call(t, 1000, http.MethodPatch, path, map[string]any{"title": "Never"}, 409, "If-Match", `"v4"`)
	call(t, 1000, http.MethodPatch, path, map[string]any{"title": "Never"}, 409)
	if g := e.get(t, f.ID); g.Version != 4 || g.Title != "Conflicted" || g.Status != "resolved" || g.Severity != "low" {
		t.Fatalf("after the refusals: %+v", g)
	}
	if h := e.history(t, e.admin, f.ID, ""); h.Total != 4 {
		t.Fatalf("history %+v", h)
	}
	if st := e.checkStats(t, e.admin, ""); st.Total != 1 || st.ByStatus["resolved"] != 1 || st.BySeverity["low"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}
