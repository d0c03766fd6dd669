package templates

import (
	"slices"
	"strings"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/taxonomy"
)

func sp(s string) *string { return &s }

func TestBuiltinTemplates(t *testing.T) {
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	ts := Builtin(at)
	if len(ts) < 12 {
		t.Fatalf("%d built-in templates, want at least 12", len(ts))
	}
	tax := taxonomy.Builtin()
	ids := map[string]bool{}
	titles := map[string]bool{}
	for _, tp := range ts {
		if !domain.ValidID(tp.ID) || ids[tp.ID] {
			t.Errorf("id %q invalid or duplicate", tp.ID)
		}
		ids[tp.ID] = true
		titles[strings.ToLower(tp.Title)] = true
		if !tp.BuiltIn || !tp.CreatedAt.Equal(at) || !tp.UpdatedAt.Equal(at) {
			t.Errorf("%s: built_in %v, created %v", tp.ID, tp.BuiltIn, tp.CreatedAt)
		}
		if tp.Description == "" || tp.Remediation == "" || len(tp.References) == 0 {
			t.Errorf("%s: description, remediation and references are expected of a built-in template", tp.ID)
		}
		c, ok := tax.Lookup(domain.DomainCategory, tp.Category)
		if !ok || c.NIS2 == "" {
			t.Errorf("%s: category %q has no NIS2 point in the built-in taxonomy", tp.ID, tp.Category)
		}
		if _, err := Check(Fields{Title: &tp.Title, Severity: &tp.Severity, Category: &tp.Category,
			Description: &tp.Description, Remediation: &tp.Remediation, References: &tp.References,
			CVSSVector: &tp.CVSSVector}, &tax, true); err != nil {
			t.Errorf("%s: %v", tp.ID, err)
		}
	}
	for _, want := range []string{"strict-transport-security", "tls", "admin", "default credentials", "sql injection",
		"cross-site scripting", "direct object reference", "outdated software", "multi-factor", "password policy",
		"verbose error", "security.txt"} {
		found := false
		for title := range titles {
			found = found || strings.Contains(title, want)
		}
		if !found {
			t.Errorf("no built-in template about %q", want)
		}
	}
	// Copies: changing one does not change the next.
	ts[0].References[0] = "changed"
	if Builtin(at)[0].References[0] == "changed" {
		t.Fatal("Builtin shares references with callers")
	}
}

func TestParseBuiltinRejects(t *testing.T) {
	good := "- id: 01JGFJJZ00A90MTM21A9A58M01\n  title: T\n  severity: low\n  category: tls\n"
	if _, err := ParseBuiltin([]byte(good)); err != nil {
		t.Fatalf("good file: %v", err)
	}
	for name, y := range map[string]string{
		"bad id":        strings.Replace(good, "01JGFJJZ00A90MTM21A9A58M01", "tpl-1", 1),
		"duplicate id":  good + strings.Replace(good, "title: T", "title: U", 1),
		"bad severity":  strings.Replace(good, "low", "severe", 1),
		"bad category":  strings.Replace(good, "tls", "nope", 1),
		"no category":   strings.Replace(good, "  category: tls\n", "", 1),
		"unknown field": good + "  colour: red\n",
		"bad cvss":      good + "  cvss_vector: CVSS:3.1/AV:N\n",
	} {
		if _, err := ParseBuiltin([]byte(y)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCheckRules(t *testing.T) {
	tax := taxonomy.Builtin()
	refs := func(rs ...string) *[]string { return &rs }
	many := make([]string, MaxReferences+1)
	for i := range many {
		many[i] = "https://example.com/" + string(rune('a'+i))
	}
	base := func() Fields { return Fields{Title: sp("SQL injection"), Severity: sp("high")} }
	tests := []struct {
		name   string
		create bool
		mutate func(*Fields)
		loc    string // "" means valid
	}{
		{"valid create", true, func(*Fields) {}, ""},
		{"missing title on create", true, func(f *Fields) { f.Title = nil }, "body.title"},
		{"missing title on patch is fine", false, func(f *Fields) { f.Title = nil }, ""},
		{"blank title", false, func(f *Fields) { f.Title = sp("   ") }, "body.title"},
		{"title too long", true, func(f *Fields) { f.Title = sp(strings.Repeat("t", MaxTitle+1)) }, "body.title"},
		{"title at limit", true, func(f *Fields) { f.Title = sp(strings.Repeat("t", MaxTitle)) }, ""},
		{"title with newline", true, func(f *Fields) { f.Title = sp("a\nb") }, "body.title"},
		{"missing severity on create", true, func(f *Fields) { f.Severity = nil }, "body.severity"},
		{"unknown severity", true, func(f *Fields) { f.Severity = sp("severe") }, "body.severity"},
		{"empty severity on patch", false, func(f *Fields) { f.Severity = sp("") }, "body.severity"},
		{"informational severity", true, func(f *Fields) { f.Severity = sp("Informational") }, ""},
		{"unknown category", true, func(f *Fields) { f.Category = sp("nope") }, "body.category"},
		{"known category", true, func(f *Fields) { f.Category = sp("nis2_i_access_control") }, ""},
		{"empty category clears", false, func(f *Fields) { f.Category = sp("") }, ""},
		{"description too long", true, func(f *Fields) { f.Description = sp(strings.Repeat("d", MaxText+1)) }, "body.description"},
		{"remediation too long", true, func(f *Fields) { f.Remediation = sp(strings.Repeat("r", MaxText+1)) }, "body.remediation"},
		{"too many references", true, func(f *Fields) { f.References = &many }, "body.references"},
		{"reference not a URL", true, func(f *Fields) { f.References = refs("https://ok.example", "not a url") }, "body.references[1]"},
		{"reference ftp", true, func(f *Fields) { f.References = refs("ftp://example.com/x") }, "body.references[0]"},
		{"reference javascript", true, func(f *Fields) { f.References = refs("javascript:alert(1)") }, "body.references[0]"},
		{"reference without host", true, func(f *Fields) { f.References = refs("https:///path") }, "body.references[0]"},
		{"reference empty", true, func(f *Fields) { f.References = refs("") }, "body.references[0]"},
		{"reference too long", true, func(f *Fields) { f.References = refs("https://e.com/" + strings.Repeat("a", MaxReference)) }, "body.references[0]"},
		{"references ok", true, func(f *Fields) { f.References = refs("http://a.example/x", "https://b.example/y?z=1") }, ""},
		{"bad cvss", true, func(f *Fields) { f.CVSSVector = sp("CVSS:3.1/AV:N") }, "body.cvss_vector"},
		{"cvss 3.1", true, func(f *Fields) { f.CVSSVector = sp("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") }, ""},
		{"cvss 4.0", true, func(f *Fields) {
			f.CVSSVector = sp("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
		}, ""},
		{"empty cvss clears", false, func(f *Fields) { f.CVSSVector = sp("") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base()
			tt.mutate(&f)
			out, err := Check(f, &tax, tt.create)
			if tt.loc == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if out.Severity != nil && *out.Severity == "informational" {
					t.Fatal("informational not mapped to info")
				}
				return
			}
			de, ok := err.(*domain.Error)
			if !ok || de.Kind != domain.KindInvalid {
				t.Fatalf("Check error = %v, want Invalid", err)
			}
			if !slices.ContainsFunc(de.Fields, func(fe domain.FieldError) bool { return fe.Location == tt.loc }) {
				t.Fatalf("no error at %s: %+v", tt.loc, de.Fields)
			}
		})
	}
}

func TestCheckNormalises(t *testing.T) {
	tax := taxonomy.Builtin()
	out, err := Check(Fields{Title: sp("  Title  "), Severity: sp(" INFORMATIONAL "), Category: sp(" TLS "),
		References: &[]string{" https://example.com/a "}, CVSSVector: sp(" CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H ")}, &tax, true)
	if err != nil {
		t.Fatal(err)
	}
	if *out.Title != "Title" || *out.Severity != "info" || *out.Category != "tls" || (*out.References)[0] != "https://example.com/a" ||
		*out.CVSSVector != "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" {
		t.Fatalf("not normalised: %q %q %q %q %q", *out.Title, *out.Severity, *out.Category, *out.References, *out.CVSSVector)
	}
}

func TestCheckReportsEveryField(t *testing.T) {
	tax := taxonomy.Builtin()
	_, err := Check(Fields{Severity: sp("nope"), Category: sp("nope"), CVSSVector: sp("x"), References: &[]string{"x"}}, &tax, true)
	de := err.(*domain.Error)
	for _, loc := range []string{"body.title", "body.severity", "body.category", "body.cvss_vector", "body.references[0]"} {
		if !slices.ContainsFunc(de.Fields, func(f domain.FieldError) bool { return f.Location == loc }) {
			t.Errorf("missing %s in %+v", loc, de.Fields)
		}
	}
}

func TestFilter(t *testing.T) {
	tp := domain.Template{Title: "SQL Injection", Description: "user input in queries", Severity: "critical", Category: "vulnerability"}
	for _, tt := range []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{Severity: "critical"}, true},
		{Filter{Severity: "low"}, false},
		{Filter{Category: "vulnerability"}, true},
		{Filter{Category: "tls"}, false},
		{Filter{Query: "injection"}, true},
		{Filter{Query: "QUERIES"}, true},
		{Filter{Query: "xss"}, false},
		{Filter{Severity: "critical", Query: "xss"}, false},
	} {
		if got := tt.f.Matches(tp); got != tt.want {
			t.Errorf("%+v.Matches = %v, want %v", tt.f, got, tt.want)
		}
	}
	if !(Filter{}).Empty() || (Filter{Query: "x"}).Empty() {
		t.Error("Empty")
	}
}
