package scanner

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestCatalogue(t *testing.T) {
	cs := Catalogue()
	if !slices.IsSortedFunc(cs, func(a, b Check) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("catalogue not sorted by id")
	}
	cats := map[Category]bool{}
	for _, c := range Categories() {
		cats[c.Code] = true
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.ID] {
			t.Errorf("duplicate id %s", c.ID)
		}
		seen[c.ID] = true
		if c.Title == "" || c.Description == "" || c.Remediation == "" || c.SeverityRules == "" {
			t.Errorf("%s: missing text", c.ID)
		}
		if c.Severity.Rank() < 0 {
			t.Errorf("%s: bad severity %q", c.ID, c.Severity)
		}
		if !cats[c.Category] {
			t.Errorf("%s: category %q not in Categories()", c.ID, c.Category)
		}
		if len(c.NIS2) != 1 || c.NIS2 < "a" || c.NIS2 > "j" {
			t.Errorf("%s: NIS2 %q is not an Article 21(2) letter", c.ID, c.NIS2)
		}
		if len(c.References) == 0 {
			t.Errorf("%s: no references", c.ID)
		}
		for _, r := range c.References {
			if !strings.HasPrefix(r, "https://") {
				t.Errorf("%s: reference %q", c.ID, r)
			}
		}
		if len(c.AppliesTo) == 0 {
			t.Errorf("%s: applies to nothing", c.ID)
		}
	}
	// Every id the runner can emit has an entry.
	ids := append(slices.Clone(certCheckIDs), headerCheckIDs...)
	ids = append(ids, idTLSLegacy, idTLSModernMissing, idTLSWeakCipher, idTLSNoPFS, idHTTPSRedirect,
		idSecurityTxtMissing, idSecurityTxtInvalid, idExposedGit, idExposedEnv,
		idSPFMissing, idSPFPermissive, idSPFInvalid, idDMARCMissing, idDMARCNone,
		idDNSSECMissing, idCAAMissing, idMXMissing, idServiceOther)
	for _, p := range DefaultPorts() {
		ids = append(ids, serviceCheckID(p.Service))
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("check id %s has no catalogue entry", id)
		}
	}
	// Callers get copies.
	cs[0].References[0] = "mutated"
	if again := Catalogue(); again[0].References[0] == "mutated" {
		t.Error("Catalogue shares its slices")
	}
	if _, err := json.Marshal(cs); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultPorts(t *testing.T) {
	want := map[int]Severity{21: SeverityMedium, 23: SeverityHigh, 445: SeverityCritical, 3389: SeverityCritical,
		3306: SeverityCritical, 5432: SeverityCritical, 1433: SeverityCritical, 6379: SeverityCritical,
		27017: SeverityCritical, 9200: SeverityCritical, 11211: SeverityHigh, 5900: SeverityHigh}
	got := DefaultPorts()
	if len(got) != len(want) {
		t.Fatalf("%d default ports, want %d", len(got), len(want))
	}
	for _, p := range got {
		if want[p.Port] != p.Severity {
			t.Errorf("port %d: %s, want %s", p.Port, p.Severity, want[p.Port])
		}
	}
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint("asset1", "http.cookie.secure.missing", "session")
	if a != Fingerprint("asset1", "http.cookie.secure.missing", "session") {
		t.Error("not stable")
	}
	for _, other := range []string{
		Fingerprint("asset2", "http.cookie.secure.missing", "session"),
		Fingerprint("asset1", "http.cookie.httponly.missing", "session"),
		Fingerprint("asset1", "http.cookie.secure.missing", "csrf"),
		Fingerprint("asset1http.cookie.secure.missing", "", "session"),
	} {
		if other == a {
			t.Error("fingerprints collide")
		}
	}
	r := Result{AssetID: "asset1", CheckID: idCookieSecure, Subject: "session", Outcome: OutcomeFail, Severity: SeverityMedium}
	f, ok := FindingFor(r)
	if !ok || f.Fingerprint != a || f.NIS2 != "h" || f.Category != CategoryHTTPHeaders || f.Title == "" || f.Remediation == "" {
		t.Errorf("finding: %+v", f)
	}
	if _, ok := FindingFor(Result{CheckID: idCookieSecure, Outcome: OutcomePass}); ok {
		t.Error("pass yields no finding")
	}
}

func TestSuiteTable(t *testing.T) {
	tab := suites()
	for _, fam := range weakFamilies {
		if len(tab.families[fam.name]) == 0 {
			t.Errorf("no suites in family %s", fam.name)
		}
	}
	want := map[uint16]string{
		0x0005: familyRC4, 0x000a: family3DES, 0x0003: familyExport, 0x0002: familyNull,
		0x0034: familyAnon, 0x0009: familyDES, 0xc013: familyCBCSHA1, 0xc02f: "",
	}
	for id, fam := range want {
		if tab.family[id] != fam {
			t.Errorf("%s: family %q, want %q", suiteName(id), tab.family[id], fam)
		}
	}
	if !slices.Contains(tab.pfs, 0xc02f) || slices.Contains(tab.pfs, 0x009c) {
		t.Error("forward-secrecy list wrong")
	}
}
