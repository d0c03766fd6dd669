package scanner

import (
	"context"
	"strings"
	"testing"
)

const (
	testKey = "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="
	testSig = "oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTrPYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6oB9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl8O3tGNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkGJ5D6fwFm8nN+6pBzeDQfsS3Ap3o="
	testDS  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func soa(zone string) string {
	return zone + ". 300 IN SOA ns." + zone + ". admin." + zone + ". 1 3600 600 86400 300"
}

func signed(zone string, ds bool) string {
	s := zone + ". 300 IN DNSKEY 257 3 13 " + testKey + "\n" +
		zone + ". 300 IN RRSIG DNSKEY 13 2 300 20300101000000 20200101000000 12345 " + zone + ". " + testSig + "\n"
	if ds {
		s += zone + ". 300 IN DS 12345 13 2 " + testDS + "\n"
	}
	return s
}

// dnsScan serves records on a loopback DNS server and scans domain with the
// scanner pointed at it; target names resolve through the same server.
func dnsScan(t *testing.T, domain, records string, ad bool) TargetReport {
	t.Helper()
	s := testScanner(t)
	s.Guard.Resolver = nil
	s.DNSServer = startDNS(t, records, ad)
	return s.ScanTarget(context.Background(), Target{AssetID: "d", Type: TargetDomain, Value: domain}, nil)
}

func TestDNSChecks(t *testing.T) {
	cases := []struct {
		name    string
		domain  string
		records string
		want    map[string]string
	}{
		{"well configured", "good.test", soa("good.test") + "\n" + signed("good.test", true) + `
good.test. 300 IN TXT "v=spf1 include:_spf.mail.test -all"
_spf.mail.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.good.test. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:d@good.test"
good.test. 300 IN CAA 0 issue "letsencrypt.org"
good.test. 300 IN MX 10 mx.good.test.
good.test. 300 IN A 127.0.0.1`, map[string]string{
			idSPFMissing: "pass", idSPFPermissive: "pass", idSPFInvalid: "pass",
			idDMARCMissing: "pass", idDMARCNone: "pass", idDNSSECMissing: "pass", idCAAMissing: "pass", idMXMissing: "pass",
		}},
		{"nothing published", "bare.test", soa("bare.test"), map[string]string{
			idSPFMissing: "fail:medium", idSPFPermissive: "skipped", idSPFInvalid: "skipped",
			idDMARCMissing: "fail:medium", idDMARCNone: "skipped", idDNSSECMissing: "fail:low",
			idCAAMissing: "warn:low", idMXMissing: "warn:info",
			// No A record: the web checks do not apply, and that is no error.
			idHSTSMissing: "skipped", idCertExpired: "skipped",
		}},
		{"soft policies, signed without DS", "soft.test", soa("soft.test") + "\n" + signed("soft.test", false) + `
soft.test. 300 IN TXT "v=spf1 mx ~all"
soft.test. 300 IN TXT "google-site-verification=abc"
_dmarc.soft.test. 300 IN TXT "v=DMARC1; p=none"`, map[string]string{
			idSPFPermissive: "warn:low", idDMARCNone: "warn:low", idDMARCMissing: "pass", idDNSSECMissing: "warn:low",
		}},
		{"+all", "open.test", soa("open.test") + "\nopen.test. 300 IN TXT \"v=spf1 +all\"", map[string]string{
			idSPFPermissive: "fail:high",
		}},
		{"?all", "neutral.test", soa("neutral.test") + "\nneutral.test. 300 IN TXT \"v=spf1 a ?all\"", map[string]string{
			idSPFPermissive: "fail:medium",
		}},
		{"no all", "noall.test", soa("noall.test") + "\nnoall.test. 300 IN TXT \"v=spf1 a\"", map[string]string{
			idSPFPermissive: "fail:medium",
		}},
		{"all through redirect", "redir.test", soa("redir.test") + `
redir.test. 300 IN TXT "v=spf1 redirect=_spf.other.test"
_spf.other.test. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"`, map[string]string{
			idSPFPermissive: "pass", idSPFInvalid: "pass",
		}},
		{"more than 10 lookups", "many.test", soa("many.test") + `
many.test. 300 IN TXT "v=spf1 include:a.test include:b.test mx a -all"
a.test. 300 IN TXT "v=spf1 a mx ptr exists:x.test include:c.test -all"
b.test. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
c.test. 300 IN TXT "v=spf1 a mx a:x.test mx:y.test -all"`, map[string]string{
			idSPFInvalid + "/lookups": "fail:medium", idSPFPermissive: "pass",
		}},
		{"include loop is counted once", "loop.test", soa("loop.test") + `
loop.test. 300 IN TXT "v=spf1 include:l1.test -all"
l1.test. 300 IN TXT "v=spf1 include:l2.test -all"
l2.test. 300 IN TXT "v=spf1 include:l1.test -all"`, map[string]string{
			idSPFInvalid: "pass",
		}},
		{"include without SPF", "broken.test", soa("broken.test") + "\nbroken.test. 300 IN TXT \"v=spf1 include:missing.test -all\"", map[string]string{
			idSPFInvalid + "/include": "fail:medium",
		}},
		{"two SPF records", "twice.test", soa("twice.test") + `
twice.test. 300 IN TXT "v=spf1 -all"
twice.test. 300 IN TXT "v=spf1 a -all"`, map[string]string{
			idSPFMissing: "pass", idSPFInvalid + "/multiple": "fail:medium", idSPFPermissive: "skipped",
		}},
		{"split TXT strings", "split.test", soa("split.test") + "\nsplit.test. 300 IN TXT \"v=spf1 ip4:192.0.2.1 \" \"-all\"", map[string]string{
			idSPFPermissive: "pass",
		}},
		{"DMARC without policy", "nop.test", soa("nop.test") + "\n_dmarc.nop.test. 300 IN TXT \"v=DMARC1; rua=mailto:x@nop.test\"", map[string]string{
			idDMARCMissing: "fail:medium", idDMARCNone: "skipped",
		}},
		{"null MX", "nomail.test", soa("nomail.test") + "\nnomail.test. 300 IN MX 0 .", map[string]string{
			idMXMissing: "pass",
		}},
		{"subdomain: CAA and DNSSEC found at the zone", "www.zone.test", soa("zone.test") + "\n" + signed("zone.test", true) + `
zone.test. 300 IN CAA 0 issue "letsencrypt.org"
www.zone.test. 300 IN A 127.0.0.1`, map[string]string{
			idCAAMissing: "pass", idDNSSECMissing: "pass",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := dnsScan(t, c.domain, c.records, false)
			expect(t, rep, c.want)
			if !rep.Live {
				t.Error("existing domain should be live")
			}
			if len(rep.Errors) > 0 {
				t.Errorf("errors: %v", rep.Errors)
			}
		})
	}
}

func TestDNSNonexistentDomain(t *testing.T) {
	rep := dnsScan(t, "nx.test", soa("other.test"), false)
	for _, id := range []string{idSPFMissing, idDMARCMissing, idDNSSECMissing, idCAAMissing, idMXMissing} {
		expect(t, rep, map[string]string{id: "error"})
	}
	if rep.Live {
		t.Error("NXDOMAIN is not live")
	}
	if len(rep.Findings) != 0 {
		t.Errorf("no findings expected, got %d", len(rep.Findings))
	}
}

func TestDNSSECADBitRecorded(t *testing.T) {
	rep := dnsScan(t, "good.test", soa("good.test")+"\n"+signed("good.test", true), true)
	r := byCheck(rep)[idDNSSECMissing]
	if r.Outcome != OutcomePass || r.Evidence.Facts["ad"] != "true" {
		t.Errorf("got %s %v", r.Outcome, r.Evidence.Facts)
	}
}

// A domain's web checks run against the address its DNS gives, through the
// guard: here 127.0.0.1, allowed by the test scanner, with closed ports.
func TestDomainResolvesThroughConfiguredDNS(t *testing.T) {
	rep := dnsScan(t, "good.test", soa("good.test")+"\ngood.test. 300 IN A 127.0.0.1", false)
	if len(rep.Addresses) != 1 || rep.Addresses[0] != "127.0.0.1" {
		t.Errorf("addresses %v, errors %v", rep.Addresses, rep.Errors)
	}
	expect(t, rep, map[string]string{idHSTSMissing: "skipped", idCertExpired: "skipped"})

	// Without the loopback switch the same answer is refused.
	s := testScanner(t)
	s.Guard = Guard{}
	s.DNSServer = startDNS(t, soa("good.test")+"\ngood.test. 300 IN A 127.0.0.1", false)
	rep = s.ScanTarget(context.Background(), Target{AssetID: "d", Type: TargetDomain, Value: "good.test"}, nil)
	if len(rep.Errors) == 0 || !strings.Contains(rep.Errors[0], "refused") {
		t.Errorf("want a refusal, got %v", rep.Errors)
	}
	if _, ok := byCheck(rep)[idHSTSMissing]; ok {
		t.Error("no web check may run on a refused address")
	}
	expect(t, rep, map[string]string{idSPFMissing: "fail:medium"}) // DNS checks still run
}
