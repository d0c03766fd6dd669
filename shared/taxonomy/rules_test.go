package taxonomy

import (
	"slices"
	"strings"
	"testing"

	"rampart/shared/domain"
)

// valid returns a copy of the built-in domains, which pass every rule.
func valid() map[string][]domain.TaxonomyValue {
	return Builtin().Domains
}

func find(vs []domain.TaxonomyValue, value string) int {
	return slices.IndexFunc(vs, func(v domain.TaxonomyValue) bool { return v.Value == value })
}

func TestBuiltinIsValid(t *testing.T) {
	b := Builtin()
	if b.Version != 1 || b.CreatedBy != SystemActor || !b.CreatedAt.Equal(BuiltinDate) {
		t.Fatalf("builtin header = %d %q %v", b.Version, b.CreatedBy, b.CreatedAt)
	}
	// The embedded file passes the rules again (init already panics if not).
	if _, err := ParseYAML(builtinYAML); err != nil {
		t.Fatalf("builtin-v1.yaml: %v", err)
	}
	if _, err := Normalize(b.Domains, "body.domains"); err != nil {
		t.Fatalf("builtin domains: %v", err)
	}
	for _, d := range domain.TaxonomyDomains {
		if len(b.Domains[d]) == 0 {
			t.Errorf("builtin lacks domain %s", d)
		}
		for _, r := range Required[d] {
			if _, ok := b.Lookup(d, r); !ok {
				t.Errorf("builtin %s lacks required %s", d, r)
			}
		}
	}
	// Every NIS2 point a..j has a category, and every category names one.
	points := map[string]bool{}
	for _, c := range b.Domains[domain.DomainCategory] {
		if c.NIS2 == "" {
			t.Errorf("category %s names no NIS2 point", c.Value)
		}
		points[c.NIS2] = true
	}
	for _, p := range NIS2Points {
		if !points[p] {
			t.Errorf("no category evidences NIS2 point %s", p)
		}
	}
	// Values kept from the built-in file.
	if v, _ := b.Lookup(domain.DomainRiskLevel, "info"); v.Label != "Informational" || v.Color != "#6b7280" {
		t.Errorf("info = %+v", v)
	}
}

func TestBuiltinIsACopy(t *testing.T) {
	a := Builtin()
	a.Domains[domain.DomainRiskLevel][0].Label = "changed"
	a.Domains[domain.DomainCategory] = nil
	b := Builtin()
	if b.Domains[domain.DomainRiskLevel][0].Label == "changed" || b.Domains[domain.DomainCategory] == nil {
		t.Fatal("Builtin shares its state with callers")
	}
}

func TestNormalizeRules(t *testing.T) {
	const loc = "body.domains"
	cat := func(d map[string][]domain.TaxonomyValue) []domain.TaxonomyValue { return d[domain.DomainCategory] }
	risk := func(d map[string][]domain.TaxonomyValue) []domain.TaxonomyValue { return d[domain.DomainRiskLevel] }
	tests := []struct {
		name   string
		mutate func(d map[string][]domain.TaxonomyValue)
		loc    string // the location that must be reported
		msg    string // part of its message
	}{
		{"missing domain", func(d map[string][]domain.TaxonomyValue) { delete(d, domain.DomainSessionStatus) },
			loc + ".session_status", "required"},
		{"nil domain", func(d map[string][]domain.TaxonomyValue) { d[domain.DomainAssetType] = nil },
			loc + ".asset_type", "required"},
		{"unknown domain", func(d map[string][]domain.TaxonomyValue) { d["colour"] = risk(d) },
			loc + ".colour", "unknown domain"},
		{"empty value", func(d map[string][]domain.TaxonomyValue) { cat(d)[3].Value = "" },
			loc + ".category[3].value", "required"},
		{"uppercase value", func(d map[string][]domain.TaxonomyValue) { cat(d)[3].Value = "Supply" },
			loc + ".category[3].value", "lowercase slug"},
		{"value with dash", func(d map[string][]domain.TaxonomyValue) { cat(d)[3].Value = "supply-chain" },
			loc + ".category[3].value", "lowercase slug"},
		{"value starting with digit", func(d map[string][]domain.TaxonomyValue) { cat(d)[3].Value = "1abc" },
			loc + ".category[3].value", "lowercase slug"},
		{"value too long", func(d map[string][]domain.TaxonomyValue) { cat(d)[3].Value = "a" + strings.Repeat("b", 64) },
			loc + ".category[3].value", "lowercase slug"},
		{"duplicate value", func(d map[string][]domain.TaxonomyValue) { cat(d)[4].Value = cat(d)[2].Value },
			loc + ".category[4].value", "duplicate value"},
		{"empty label", func(d map[string][]domain.TaxonomyValue) { risk(d)[1].Label = "  " },
			loc + ".risk_level[1].label", "non-empty"},
		{"label too long", func(d map[string][]domain.TaxonomyValue) { risk(d)[1].Label = strings.Repeat("é", MaxLabel+1) },
			loc + ".risk_level[1].label", "at most 200"},
		{"label with control character", func(d map[string][]domain.TaxonomyValue) { risk(d)[1].Label = "High\x00" },
			loc + ".risk_level[1].label", "control"},
		{"duplicate sort_order", func(d map[string][]domain.TaxonomyValue) { risk(d)[2].SortOrder = risk(d)[0].SortOrder },
			loc + ".risk_level[2].sort_order", "duplicate sort_order"},
		{"negative sort_order (or absent)", func(d map[string][]domain.TaxonomyValue) { risk(d)[2].SortOrder = -1 },
			loc + ".risk_level[2].sort_order", "required"},
		{"sort_order too large", func(d map[string][]domain.TaxonomyValue) { risk(d)[2].SortOrder = MaxSortOrder + 1 },
			loc + ".risk_level[2].sort_order", "between"},
		{"missing color", func(d map[string][]domain.TaxonomyValue) { risk(d)[0].Color = "" },
			loc + ".risk_level[0].color", "#rrggbb"},
		{"short color", func(d map[string][]domain.TaxonomyValue) { risk(d)[0].Color = "#fff" },
			loc + ".risk_level[0].color", "#rrggbb"},
		{"named color", func(d map[string][]domain.TaxonomyValue) { risk(d)[0].Color = "red" },
			loc + ".risk_level[0].color", "#rrggbb"},
		{"color not hex", func(d map[string][]domain.TaxonomyValue) { risk(d)[0].Color = "#gggggg" },
			loc + ".risk_level[0].color", "#rrggbb"},
		{"nis2 outside categories", func(d map[string][]domain.TaxonomyValue) { risk(d)[0].NIS2 = "a" },
			loc + ".risk_level[0].nis2", "only categories"},
		{"nis2 out of range", func(d map[string][]domain.TaxonomyValue) { cat(d)[0].NIS2 = "k" },
			loc + ".category[0].nis2", "a, b, c"},
		{"nis2 uppercase", func(d map[string][]domain.TaxonomyValue) { cat(d)[0].NIS2 = "A" },
			loc + ".category[0].nis2", "a, b, c"},
		{"description too long", func(d map[string][]domain.TaxonomyValue) {
			cat(d)[0].Description = strings.Repeat("x", MaxDescription+1)
		},
			loc + ".category[0].description", "at most 500"},
		{"too many values", func(d map[string][]domain.TaxonomyValue) {
			vs := risk(d)
			for i := len(vs); i <= MaxValues; i++ {
				vs = append(vs, domain.TaxonomyValue{Value: "extra_" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Label: "x", SortOrder: 100 + i, Color: "#000000"})
			}
			d[domain.DomainRiskLevel] = vs
		}, loc + ".risk_level", "at most 100"},
		{"severity dropped", func(d map[string][]domain.TaxonomyValue) {
			d[domain.DomainRiskLevel] = slices.DeleteFunc(risk(d), func(v domain.TaxonomyValue) bool { return v.Value == "info" })
		}, loc + ".risk_level", "missing info"},
		{"finding status dropped", func(d map[string][]domain.TaxonomyValue) {
			vs := d[domain.DomainRemediationStatus]
			d[domain.DomainRemediationStatus] = slices.DeleteFunc(vs, func(v domain.TaxonomyValue) bool { return v.Value == "accepted_risk" })
		}, loc + ".remediation_status", "missing accepted_risk"},
		{"session status dropped", func(d map[string][]domain.TaxonomyValue) {
			vs := d[domain.DomainSessionStatus]
			d[domain.DomainSessionStatus] = slices.DeleteFunc(vs, func(v domain.TaxonomyValue) bool { return v.Value == "cancelled" })
		}, loc + ".session_status", "missing cancelled"},
		{"network asset type dropped", func(d map[string][]domain.TaxonomyValue) {
			vs := d[domain.DomainAssetType]
			d[domain.DomainAssetType] = slices.DeleteFunc(vs, func(v domain.TaxonomyValue) bool { return v.Value == "ip" || v.Value == "url" })
		}, loc + ".asset_type", "missing ip, url"},
		{"scanner category dropped", func(d map[string][]domain.TaxonomyValue) {
			d[domain.DomainCategory] = slices.DeleteFunc(cat(d), func(v domain.TaxonomyValue) bool { return v.Value == "tls" })
		}, loc + ".category", "missing tls"},
		{"empty domain loses required values", func(d map[string][]domain.TaxonomyValue) {
			d[domain.DomainRiskLevel] = []domain.TaxonomyValue{}
		}, loc + ".risk_level", "missing critical, high, medium, low, info"},
		{"required value renamed", func(d map[string][]domain.TaxonomyValue) { risk(d)[0].Value = "severe" },
			loc + ".risk_level", "missing critical"},
		{"too large", func(d map[string][]domain.TaxonomyValue) {
			for _, name := range domain.TaxonomyDomains {
				vs := d[name]
				for i := len(vs); i < MaxValues; i++ {
					vs = append(vs, domain.TaxonomyValue{Value: "v" + strings.Repeat("x", 50) + itoa(i), Label: strings.Repeat("L", MaxLabel),
						SortOrder: 1000 + i, Color: "#000000", Description: strings.Repeat("d", MaxDescription)})
				}
				d[name] = vs
			}
		}, loc, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := valid()
			tt.mutate(d)
			_, err := Normalize(d, loc)
			de, ok := err.(*domain.Error)
			if !ok || de.Kind != domain.KindInvalid {
				t.Fatalf("Normalize error = %v, want Invalid", err)
			}
			for _, f := range de.Fields {
				if f.Location == tt.loc && strings.Contains(f.Message, tt.msg) {
					return
				}
			}
			t.Fatalf("no error at %s containing %q; got %+v", tt.loc, tt.msg, de.Fields)
		})
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func TestNormalizeReportsEveryError(t *testing.T) {
	d := valid()
	d[domain.DomainRiskLevel][0].Color = "nope"
	d[domain.DomainCategory][1].Value = "Bad"
	delete(d, domain.DomainSessionStatus)
	_, err := Normalize(d, "body")
	de := err.(*domain.Error)
	want := []string{"body.risk_level[0].color", "body.category[1].value", "body.session_status"}
	for _, w := range want {
		if !slices.ContainsFunc(de.Fields, func(f domain.FieldError) bool { return f.Location == w }) {
			t.Errorf("missing error at %s in %+v", w, de.Fields)
		}
	}
}

func TestNormalizeCleansAndAcceptsChanges(t *testing.T) {
	d := valid()
	risk := d[domain.DomainRiskLevel]
	// Relabel, recolour (upper case), reorder and add a value.
	risk[0].Label = "  Kritisch  "
	risk[0].Color = "#ABCDEF"
	risk[0].SortOrder = 50
	d[domain.DomainRiskLevel] = append(risk, domain.TaxonomyValue{Value: "negligible", Label: "Negligible", SortOrder: 6, Color: "#000000"})
	// Custom values may be dropped: only the system's are locked.
	d[domain.DomainCategory] = slices.DeleteFunc(d[domain.DomainCategory], func(v domain.TaxonomyValue) bool { return v.Value == "vulnerability" })
	d[domain.DomainCategory] = append(d[domain.DomainCategory], domain.TaxonomyValue{Value: "physical", Label: "Physical security", SortOrder: 40, Color: "#123456"})
	out, err := Normalize(d, "body.domains")
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	got := out[domain.DomainRiskLevel]
	if got[len(got)-1].Value != "critical" || got[len(got)-1].Label != "Kritisch" || got[len(got)-1].Color != "#abcdef" {
		t.Fatalf("critical not relabelled/recoloured/reordered last: %+v", got[len(got)-1])
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].SortOrder >= got[i].SortOrder {
			t.Fatalf("risk_level not ordered by sort_order: %+v", got)
		}
	}
	if _, ok := (domain.Taxonomy{Domains: out}).Lookup(domain.DomainCategory, "physical"); !ok {
		t.Fatal("added category missing")
	}
}

func TestParseYAMLRejectsUnknownFields(t *testing.T) {
	if _, err := ParseYAML([]byte("risk_level:\n  - {value: x, labels: y}\n")); err == nil {
		t.Fatal("unknown field accepted")
	}
	if _, err := ParseYAML([]byte(": : :")); err == nil {
		t.Fatal("broken YAML accepted")
	}
}
