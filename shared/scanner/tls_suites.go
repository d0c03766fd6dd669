package scanner

import (
	"strings"
	"sync"

	ztls "github.com/zmap/zcrypto/tls"
)

// Weak cipher families, in the order they are reported. The family is the
// result's subject, so each family is its own finding.
const (
	familyNull    = "null"
	familyAnon    = "anon"
	familyExport  = "export"
	familyDES     = "des"
	familyRC4     = "rc4"
	family3DES    = "3des"
	familyCBCSHA1 = "cbc_sha1"
)

var weakFamilies = []struct {
	name     string
	outcome  Outcome
	severity Severity
	why      string
}{
	{familyNull, OutcomeFail, SeverityHigh, "no encryption at all"},
	{familyAnon, OutcomeFail, SeverityHigh, "no server authentication, trivially intercepted"},
	{familyExport, OutcomeFail, SeverityHigh, "40/56-bit export-grade keys (FREAK, Logjam)"},
	{familyDES, OutcomeFail, SeverityHigh, "56-bit single DES"},
	{familyRC4, OutcomeFail, SeverityHigh, "RC4 keystream biases (RFC 7465 prohibits it)"},
	{family3DES, OutcomeFail, SeverityMedium, "64-bit block cipher (Sweet32)"},
	{familyCBCSHA1, OutcomeWarn, SeverityLow, "CBC with HMAC-SHA1 (padding-oracle prone, dropped from current recommendations)"},
}

// suiteTable classifies every registered TLS 1.0-1.2 cipher suite by name.
// The names come from zcrypto's IANA registry, so suites that no Go stack
// implements (EXPORT, NULL, anon, DES) can still be offered in a probe and
// recognised in the answer.
type suiteTable struct {
	all      []uint16            // every suite worth offering
	families map[string][]uint16 // weak family -> suites
	pfs      []uint16            // ECDHE/DHE suites
	family   map[uint16]string   // suite -> weak family ("" when not weak)
}

// Suites from families no public web server runs (pre-shared keys, SRP,
// Kerberos, GOST, password-authenticated) and signalling values would only
// bloat the ClientHello.
var exoticSuiteMarkers = []string{"PSK", "SRP", "KRB5", "GOST", "ECCPWD", "SCSV", "NULL_WITH_NULL"}

var suites = sync.OnceValue(func() *suiteTable {
	t := &suiteTable{families: map[string][]uint16{}, family: map[uint16]string{}}
	ranges := [][2]int{{0x0000, 0x00ff}, {0xc000, 0xc0ff}, {0xcca8, 0xccae}}
	for _, r := range ranges {
		for id := r[0]; id <= r[1]; id++ {
			name := ztls.CipherSuiteID(id).String()
			if name == "unknown" || !strings.HasPrefix(name, "TLS_") {
				continue
			}
			exotic := false
			for _, m := range exoticSuiteMarkers {
				if strings.Contains(name, m) {
					exotic = true
					break
				}
			}
			if exotic {
				continue
			}
			sid := uint16(id)
			t.all = append(t.all, sid)
			fam := classifySuite(name)
			t.family[sid] = fam
			if fam != "" {
				t.families[fam] = append(t.families[fam], sid)
			}
			if (strings.HasPrefix(name, "TLS_ECDHE_") || strings.HasPrefix(name, "TLS_DHE_")) && fam != familyNull {
				t.pfs = append(t.pfs, sid)
			}
		}
	}
	return t
})

// classifySuite puts a suite in its worst weak family; the order of the
// tests is that ranking (an anonymous export RC4 suite is "anon").
func classifySuite(name string) string {
	switch {
	case strings.Contains(name, "_WITH_NULL_"):
		return familyNull
	case strings.Contains(strings.ToUpper(name), "_ANON_"):
		return familyAnon
	case strings.Contains(name, "EXPORT"):
		return familyExport
	case strings.Contains(name, "_WITH_DES_") || strings.Contains(name, "DES40"):
		return familyDES
	case strings.Contains(name, "RC4"):
		return familyRC4
	case strings.Contains(name, "3DES"):
		return family3DES
	case strings.HasSuffix(name, "_CBC_SHA"):
		return familyCBCSHA1
	}
	return ""
}

func suiteName(id uint16) string { return ztls.CipherSuiteID(id).String() }

func versionName(v uint16) string {
	switch v {
	case ztls.VersionSSL30:
		return "SSLv3"
	case ztls.VersionTLS10:
		return "TLS 1.0"
	case ztls.VersionTLS11:
		return "TLS 1.1"
	case ztls.VersionTLS12:
		return "TLS 1.2"
	case ztls.VersionTLS13:
		return "TLS 1.3"
	}
	return ztls.VersionName(v)
}
