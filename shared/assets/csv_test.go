package assets_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"rampart/shared/assets"
	"rampart/shared/domain"
	"rampart/shared/taxonomy"
)

func locations(errs []assets.RowError) string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Location())
	}
	return strings.Join(out, ",")
}

func TestParseAssetsCSV(t *testing.T) {
	tax := taxonomy.Builtin()
	client := domain.NewID()
	cases := []struct {
		name     string
		file     string
		rows     int    // valid rows
		errs     string // locations of row errors, in order
		fatal    string // substring of a file-level error
		fatalKnd domain.Kind
		check    func(t *testing.T, rows []assets.Row)
	}{
		{name: "minimal", file: "type,target\ndomain,Example.com\n", rows: 1, check: func(t *testing.T, rows []assets.Row) {
			r := rows[0]
			if r.Row != 2 || r.Type != "domain" || r.Target != "example.com" || r.Name != "example.com" || len(r.Tags) != 0 {
				t.Fatalf("row = %+v", r)
			}
		}},
		{name: "BOM and CRLF", file: "\ufefftype,target,name\r\nip,192.0.2.1,Edge\r\nurl,https://example.com,Site\r\n", rows: 2,
			check: func(t *testing.T, rows []assets.Row) {
				if rows[0].Name != "Edge" || rows[1].Target != "https://example.com/" || rows[1].Name != "Site" {
					t.Fatalf("rows = %+v", rows)
				}
			}},
		{name: "header names are forgiving", file: "Type, Target ,Client ID,TAGS,Description,Name\n" +
			"host,a.example.com," + client + ",web; PCI|prod,\"line 1\nline 2\",A\n", rows: 1,
			check: func(t *testing.T, rows []assets.Row) {
				r := rows[0]
				if r.ClientID != client || strings.Join(r.Tags, ",") != "web,pci,prod" || r.Description != "line 1\nline 2" || r.Name != "A" {
					t.Fatalf("row = %+v", r)
				}
			}},
		{name: "columns in any order, missing trailing cells", file: "name,target,type\nRepo,,repository\n,,other\n", rows: 1, errs: "row 3.name"},
		{name: "formula cells are plain text", file: "type,target,name,description\n" +
			"domain,formula.example.com,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",+SUM(A1:A2)\n" +
			"domain,at.example.com,@cmd,-1+2\n", rows: 2,
			check: func(t *testing.T, rows []assets.Row) {
				if rows[0].Name != `=HYPERLINK("http://evil.example","x")` || rows[0].Description != "+SUM(A1:A2)" ||
					rows[1].Name != "@cmd" || rows[1].Description != "-1+2" {
					t.Fatalf("rows = %+v", rows)
				}
			}},
		{name: "leading tab and CR are trimmed like any white space", file: "type,target,name\ndomain,tab.example.com,\"\t=1+1\"\ndomain,cr.example.com,\"\r=2\"\n", rows: 2,
			check: func(t *testing.T, rows []assets.Row) {
				if rows[0].Name != "=1+1" || rows[1].Name != "=2" {
					t.Fatalf("rows = %+v", rows)
				}
			}},
		{name: "formula as a target is a normal parse error", file: "type,target\nurl,\"=HYPERLINK(\"\"http://x.example\"\")\"\n", errs: "row 2.target"},
		{name: "blank rows are ignored", file: "type,target\n\n,,\ndomain,a.example.com\n , \n", rows: 1},
		{name: "every cell checked", file: "type,target,name,client_id,tags,description\n" +
			"nope,x,,,,\n" + // unknown type
			"domain,not a domain,,,,\n" + // target
			"ip,192.0.2.1," + strings.Repeat("n", 201) + ",,,\n" + // name too long
			"ip,192.0.2.2,,not-an-id,,\n" + // client id
			"ip,192.0.2.3,,,bad tag,\n" + // tag
			"ip,192.0.2.4,,,,\"a\x01b\"\n" + // control character
			",192.0.2.5,,,,\n" + // type required
			"ip,192.0.2.6,,,,,extra\n", // too many cells
			errs: "row 2.type,row 3.target,row 4.name,row 5.client_id,row 6.tags,row 7.description,row 8.type,row 9"},
		{name: "duplicates within the file", file: "type,target\ndomain,a.example.com\ndomain,A.EXAMPLE.COM.\nhost,a.example.com\nother,\nother,\n",
			rows: 2, errs: "row 3.target,row 5.name,row 6.name"},
		{name: "artefacts without target need a name", file: "type,target,name\nother,,Policy\nother,,Policy\n", rows: 2},
		{name: "header only", file: "type,target\n", rows: 0},
		{name: "empty file", file: "", fatal: "empty", fatalKnd: domain.KindInvalid},
		{name: "unknown column", file: "type,target,colour\ndomain,a.example.com,red\n", fatal: "unknown column", fatalKnd: domain.KindInvalid},
		{name: "duplicate column", file: "type,target,type\n", fatal: "twice", fatalKnd: domain.KindInvalid},
		{name: "target column required", file: "type,name\ndomain,x\n", fatal: `"target" is required`, fatalKnd: domain.KindInvalid},
		{name: "invalid UTF-8", file: "type,target\ndomain,caf\xe9.example.com\n", fatal: "UTF-8", fatalKnd: domain.KindInvalid},
		{name: "UTF-16", file: "\xff\xfet\x00y\x00", fatal: "UTF-8", fatalKnd: domain.KindInvalid},
		{name: "bad quoting", file: "type,target\ndomain,\"a.example.com\n", fatal: "not valid CSV", fatalKnd: domain.KindInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, errs, err := assets.ParseAssetsCSV([]byte(c.file), tax)
			if c.fatal != "" {
				if err == nil || !strings.Contains(err.Error(), c.fatal) || domain.KindOf(err) != c.fatalKnd {
					t.Fatalf("err = %v, want %s error with %q", err, c.fatalKnd, c.fatal)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(rows) != c.rows || locations(errs) != c.errs {
				t.Fatalf("rows %d, errors %q %+v; want %d rows, errors %q", len(rows), locations(errs), errs, c.rows, c.errs)
			}
			if c.check != nil {
				c.check(t, rows)
			}
		})
	}
}

func TestParseAssetsCSVLimits(t *testing.T) {
	tax := taxonomy.Builtin()
	var b bytes.Buffer
	b.WriteString("type,target\n")
	for i := range assets.MaxImportRows {
		fmt.Fprintf(&b, "ip,10.%d.%d.%d\n", i>>16&255, i>>8&255, i&255)
	}
	rows, errs, err := assets.ParseAssetsCSV(b.Bytes(), tax)
	if err != nil || len(errs) != 0 || len(rows) != assets.MaxImportRows {
		t.Fatalf("10,000 rows: %d rows, %d errors, %v", len(rows), len(errs), err)
	}
	b.WriteString("ip,192.0.2.1\n")
	if _, _, err := assets.ParseAssetsCSV(b.Bytes(), tax); domain.KindOf(err) != domain.KindTooLarge || !strings.Contains(err.Error(), "10000") {
		t.Fatalf("10,001 rows: %v", err)
	}
	big := append([]byte("type,target,description\n"), bytes.Repeat([]byte("x"), assets.MaxImportBytes)...)
	if _, _, err := assets.ParseAssetsCSV(big, tax); domain.KindOf(err) != domain.KindTooLarge || !strings.Contains(err.Error(), "5 MiB") {
		t.Fatalf("over 5 MiB: %v", err)
	}
}

// FuzzParseAssetsCSV checks that the parser never panics and that whatever
// it accepts is normalised: targets are fixed points of NormalizeTarget,
// tags are normalised and distinct, no (type, target) appears twice, and
// row numbers point into the file.
func FuzzParseAssetsCSV(f *testing.F) {
	tax := taxonomy.Builtin()
	for _, seed := range []string{
		"type,target\ndomain,example.com\n",
		"\ufefftype,target,name,client_id,tags,description\r\nurl,https://Example.com:443/a#b,\"=HYPERLINK(\"\"x\"\")\",,a;b|c,\"multi\nline\"\r\n",
		"type,target\nip,::ffff:10.0.0.1\nhost,[2001:db8::1]\nother,\n",
		"type,target\n\"unterminated\n",
		"Type,Target,Tags\nweb_application,https://bücher.de,WEB|web\n",
		"type,target,x\n",
		"type,target\ndomain,a.example.com\ndomain,A.example.com.\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, errs, err := assets.ParseAssetsCSV(data, tax)
		if err != nil {
			if len(rows) != 0 || len(errs) != 0 {
				t.Fatalf("file error with rows or row errors")
			}
			if k := domain.KindOf(err); k != domain.KindInvalid && k != domain.KindTooLarge {
				t.Fatalf("file error of kind %s: %v", k, err)
			}
			return
		}
		if len(rows) > assets.MaxImportRows {
			t.Fatalf("%d rows", len(rows))
		}
		seen := map[assets.Key]bool{}
		last := 1
		for _, r := range rows {
			if r.Row <= last {
				t.Fatalf("row numbers not increasing: %d after %d", r.Row, last)
			}
			last = r.Row
			if _, ok := tax.Lookup(domain.DomainAssetType, r.Type); !ok {
				t.Fatalf("row %d: type %q accepted", r.Row, r.Type)
			}
			if n, err := assets.NormalizeTarget(r.Type, r.Target); err != nil || n != r.Target {
				t.Fatalf("row %d: target %q not normalised (%q, %v)", r.Row, r.Target, n, err)
			}
			if assets.IsNetworkType(r.Type) && r.Target == "" {
				t.Fatalf("row %d: network asset without target", r.Row)
			}
			if r.Name == "" || len([]rune(r.Name)) > assets.MaxName {
				t.Fatalf("row %d: name %q", r.Row, r.Name)
			}
			if tags, err := assets.NormalizeTags(r.Tags); err != nil || strings.Join(tags, ",") != strings.Join(r.Tags, ",") {
				t.Fatalf("row %d: tags %q not normalised", r.Row, r.Tags)
			}
			if r.Target != "" {
				k := assets.Key{Type: r.Type, Target: r.Target}
				if seen[k] {
					t.Fatalf("row %d: duplicate %v accepted", r.Row, k)
				}
				seen[k] = true
			}
		}
		for _, e := range errs {
			if e.Row < 2 || e.Message == "" {
				t.Fatalf("bad row error %+v", e)
			}
		}
	})
}
