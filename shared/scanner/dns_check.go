package scanner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// dnsClient asks one recursive resolver.
type dnsClient struct {
	addr    string
	timeout time.Duration
}

var systemDNS = sync.OnceValues(func() (string, error) {
	cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return "", err
	}
	if len(cfg.Servers) == 0 {
		return "", errors.New("no nameserver in /etc/resolv.conf")
	}
	return net.JoinHostPort(cfg.Servers[0], cfg.Port), nil
})

func (s *Scanner) dnsServer() (string, error) {
	if s.DNSServer != "" {
		return s.DNSServer, nil
	}
	return systemDNS()
}

// query sends one recursive query. With dnssec it sets DO (to get RRSIGs)
// and AD (to ask whether the resolver validated, RFC 6840 section 5.7).
// NXDOMAIN is an answer, not an error; other failure codes are errors.
func (c *dnsClient) query(ctx context.Context, name string, qtype uint16, dnssec bool) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(1232, dnssec)
	m.AuthenticatedData = dnssec
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cl := &dns.Client{Net: "udp", Timeout: c.timeout, UDPSize: 1232}
	resp, _, err := cl.ExchangeContext(ctx, m, c.addr)
	if err == nil && resp.Truncated {
		cl.Net = "tcp"
		resp, _, err = cl.ExchangeContext(ctx, m, c.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, dns.TypeToString[qtype], err)
	}
	if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
		return nil, fmt.Errorf("%s %s: %s", name, dns.TypeToString[qtype], dns.RcodeToString[resp.Rcode])
	}
	return resp, nil
}

// txt returns the TXT strings at name, each record's strings joined as
// RFC 7208 section 3.3 says.
func (c *dnsClient) txt(ctx context.Context, name string) ([]string, error) {
	resp, err := c.query(ctx, name, dns.TypeTXT, false)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range resp.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, nil
}

// DNSResolver returns a Resolver that asks the DNS server at addr
// ("host:port") for A and AAAA records. Guard uses it so tests and
// deployments can pin name resolution to one server.
func DNSResolver(addr string, timeout time.Duration) Resolver {
	return &dnsResolver{c: dnsClient{addr: addr, timeout: orDur(timeout, 5*time.Second)}}
}

type dnsResolver struct{ c dnsClient }

func (d *dnsResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var types []uint16
	switch network {
	case "ip4":
		types = []uint16{dns.TypeA}
	case "ip6":
		types = []uint16{dns.TypeAAAA}
	default:
		types = []uint16{dns.TypeA, dns.TypeAAAA}
	}
	var out []netip.Addr
	var firstErr error
	for _, t := range types {
		resp, err := d.c.query(ctx, host, t, false)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		// The answer may start with a CNAME chain; the addresses at its end
		// are the ones for host.
		for _, rr := range resp.Answer {
			switch v := rr.(type) {
			case *dns.A:
				if a, ok := netip.AddrFromSlice(v.A); ok {
					out = append(out, a.Unmap())
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(v.AAAA); ok {
					out = append(out, a)
				}
			}
		}
	}
	if len(out) == 0 {
		if firstErr != nil {
			return nil, firstErr
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

// stepDNSZone checks that the domain exists and finds its zone apex, which
// the DNSSEC check needs (a name below the apex has no DNSKEY of its own).
func (r *run) stepDNSZone(ctx context.Context) {
	addr, err := r.s.dnsServer()
	if err != nil {
		r.dnsFailed = "no DNS resolver: " + err.Error()
		return
	}
	r.dnsc = &dnsClient{addr: addr, timeout: r.s.ioTimeout()}
	resp, err := r.dnsc.query(ctx, r.p.host, dns.TypeSOA, false)
	if err != nil {
		r.dnsFailed = "DNS query failed: " + err.Error()
		return
	}
	if resp.Rcode == dns.RcodeNameError {
		r.dnsFailed = r.p.host + " does not exist (NXDOMAIN)"
		return
	}
	// The name exists: its DNS answered for it, which counts as live.
	r.rep.Live = true
	r.zone = r.p.host
	for _, rr := range append(append([]dns.RR{}, resp.Answer...), resp.Ns...) {
		if soa, ok := rr.(*dns.SOA); ok {
			r.zone = strings.TrimSuffix(strings.ToLower(soa.Hdr.Name), ".")
			break
		}
	}
}

func (r *run) dnsUnavailable(ids []string) bool {
	if r.dnsFailed == "" && r.dnsc != nil {
		return false
	}
	why := r.dnsFailed
	if why == "" {
		why = "DNS not checked"
	}
	r.addAll(ids, OutcomeError, why)
	return true
}

func spfRecords(txts []string) []string {
	var out []string
	for _, t := range txts {
		l := strings.ToLower(strings.TrimSpace(t))
		if l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ") {
			out = append(out, strings.TrimSpace(t))
		}
	}
	return out
}

type spfTerm struct {
	qual byte
	mech string // lower-case mechanism name
	arg  string // domain-spec or address, as written
}

type spfRecord struct {
	terms    []spfTerm
	redirect string
}

func parseSPF(rec string) spfRecord {
	var out spfRecord
	f := strings.Fields(rec)
	for _, tok := range f[1:] {
		if name, val, ok := strings.Cut(tok, "="); ok && !strings.ContainsAny(name, ":/") {
			if strings.EqualFold(name, "redirect") {
				out.redirect = val
			}
			continue // modifiers other than redirect do not affect the result
		}
		t := spfTerm{qual: '+'}
		if strings.ContainsRune("+-~?", rune(tok[0])) {
			t.qual, tok = tok[0], tok[1:]
		}
		name, arg := tok, ""
		if i := strings.IndexAny(tok, ":/"); i >= 0 {
			name, arg = tok[:i], strings.TrimPrefix(tok[i:], ":")
		}
		t.mech, t.arg = strings.ToLower(name), arg
		out.terms = append(out.terms, t)
	}
	return out
}

func (s spfRecord) all() (spfTerm, bool) {
	for _, t := range s.terms {
		if t.mech == "all" {
			return t, true // terms after all are never reached
		}
	}
	return spfTerm{}, false
}

// spfWalk counts DNS-querying terms through includes and redirects, the
// way receivers apply the limit of RFC 7208 section 4.6.4.
type spfWalk struct {
	c       *dnsClient
	lookups int
	queries int
	broken  []string
	visited map[string]bool
}

// Enough to tell "over the limit" while bounding the queries one hostile
// record can make the scanner send.
const spfMaxQueries = 20

func (w *spfWalk) walk(ctx context.Context, rec spfRecord, depth int) {
	follow := func(domain string) {
		if w.lookups > 10 || depth >= 10 || w.queries >= spfMaxQueries || strings.Contains(domain, "%") {
			return // macros expand per message; the term still counted
		}
		d := strings.ToLower(strings.TrimSuffix(domain, "."))
		if w.visited[d] {
			return
		}
		w.visited[d] = true
		w.queries++
		txts, err := w.c.txt(ctx, d)
		if err != nil {
			return
		}
		recs := spfRecords(txts)
		if len(recs) != 1 {
			w.broken = append(w.broken, d)
			return
		}
		w.walk(ctx, parseSPF(recs[0]), depth+1)
	}
	for _, t := range rec.terms {
		switch t.mech {
		case "include":
			w.lookups++
			follow(t.arg)
		case "a", "mx", "ptr", "exists":
			w.lookups++
		}
	}
	if _, hasAll := rec.all(); rec.redirect != "" && !hasAll {
		w.lookups++
		follow(rec.redirect)
	}
}

func (r *run) stepSPF(ctx context.Context) {
	ids := []string{idSPFMissing, idSPFPermissive, idSPFInvalid}
	if r.dnsUnavailable(ids) {
		return
	}
	txts, err := r.dnsc.txt(ctx, r.p.host)
	if err != nil {
		r.addAll(ids, OutcomeError, err.Error())
		return
	}
	recs := spfRecords(txts)
	switch len(recs) {
	case 0:
		r.add(idSPFMissing, "", OutcomeFail, SeverityMedium, "no SPF (v=spf1) TXT record at "+r.p.host, nil)
		r.addAll(ids[1:], OutcomeSkipped, "no SPF record: reported by "+idSPFMissing)
		return
	case 1:
	default:
		facts := map[string]string{"records": strconv.Itoa(len(recs))}
		r.add(idSPFMissing, "", OutcomePass, "", fmt.Sprintf("%d SPF records published", len(recs)), facts)
		r.add(idSPFInvalid, "multiple", OutcomeFail, SeverityMedium, fmt.Sprintf("%d SPF records: receivers return permerror", len(recs)), facts)
		r.add(idSPFPermissive, "", OutcomeSkipped, "", "multiple SPF records: evaluation ends in permerror", nil)
		return
	}
	rec := parseSPF(recs[0])
	facts := map[string]string{"record": clip(recs[0], 300)}
	r.add(idSPFMissing, "", OutcomePass, "", "SPF: "+clip(recs[0], 200), facts)

	// The final qualifier, following redirects when there is no all.
	all, hasAll := rec.all()
	for hop, cur := 0, rec; !hasAll && cur.redirect != "" && hop < 3; hop++ {
		txts, err := r.dnsc.txt(ctx, cur.redirect)
		if err != nil {
			break
		}
		rs := spfRecords(txts)
		if len(rs) != 1 {
			break
		}
		cur = parseSPF(rs[0])
		all, hasAll = cur.all()
	}
	switch {
	case !hasAll:
		r.add(idSPFPermissive, "", OutcomeFail, SeverityMedium, "no all mechanism: unlisted senders get a neutral result", facts)
	case all.qual == '+':
		r.add(idSPFPermissive, "", OutcomeFail, SeverityHigh, "+all authorises every sender on the internet", facts)
	case all.qual == '?':
		r.add(idSPFPermissive, "", OutcomeFail, SeverityMedium, "?all gives unlisted senders a neutral result", facts)
	case all.qual == '~':
		r.add(idSPFPermissive, "", OutcomeWarn, SeverityLow, "~all only soft-fails unlisted senders", facts)
	default:
		r.add(idSPFPermissive, "", OutcomePass, "", "-all rejects unlisted senders", facts)
	}

	w := &spfWalk{c: r.dnsc, visited: map[string]bool{strings.ToLower(r.p.host): true}}
	w.walk(ctx, rec, 0)
	lf := withFact(facts, "lookups", strconv.Itoa(w.lookups))
	bad := false
	if w.lookups > 10 {
		bad = true
		more := ""
		if w.queries >= spfMaxQueries {
			more = " (counting stopped early)"
		}
		r.add(idSPFInvalid, "lookups", OutcomeFail, SeverityMedium, fmt.Sprintf("at least %d DNS-querying terms, above the limit of 10%s: receivers return permerror", w.lookups, more), lf)
	}
	if len(w.broken) > 0 {
		bad = true
		r.add(idSPFInvalid, "include", OutcomeFail, SeverityMedium, "included or redirected domains without exactly one SPF record: "+strings.Join(w.broken, ", "), withFact(lf, "broken", strings.Join(w.broken, ",")))
	}
	if !bad {
		r.add(idSPFInvalid, "", OutcomePass, "", fmt.Sprintf("%d DNS-querying terms (limit 10)", w.lookups), lf)
	}
}

func (r *run) stepDMARC(ctx context.Context) {
	ids := []string{idDMARCMissing, idDMARCNone}
	if r.dnsUnavailable(ids) {
		return
	}
	name := "_dmarc." + r.p.host
	txts, err := r.dnsc.txt(ctx, name)
	if err != nil {
		r.addAll(ids, OutcomeError, err.Error())
		return
	}
	var recs []string
	for _, t := range txts {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), "v=dmarc1") {
			recs = append(recs, strings.TrimSpace(t))
		}
	}
	skip := func() {
		r.add(idDMARCNone, "", OutcomeSkipped, "", "no valid DMARC record: reported by "+idDMARCMissing, nil)
	}
	switch len(recs) {
	case 0:
		r.add(idDMARCMissing, "", OutcomeFail, SeverityMedium, "no DMARC record at "+name, nil)
		skip()
		return
	case 1:
	default:
		r.add(idDMARCMissing, "", OutcomeFail, SeverityMedium, fmt.Sprintf("%d DMARC records at %s: receivers apply none", len(recs), name), nil)
		skip()
		return
	}
	tags := map[string]string{}
	for _, part := range strings.Split(recs[0], ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok {
			tags[strings.ToLower(strings.TrimSpace(k))] = strings.ToLower(strings.TrimSpace(v))
		}
	}
	facts := map[string]string{"record": clip(recs[0], 300), "p": tags["p"]}
	if pct, ok := tags["pct"]; ok {
		facts["pct"] = pct
	}
	switch tags["p"] {
	case "none":
		r.add(idDMARCMissing, "", OutcomePass, "", "DMARC: "+clip(recs[0], 200), facts)
		r.add(idDMARCNone, "", OutcomeWarn, SeverityLow, "p=none: failing mail is delivered anyway", facts)
	case "quarantine", "reject":
		r.add(idDMARCMissing, "", OutcomePass, "", "DMARC: "+clip(recs[0], 200), facts)
		r.add(idDMARCNone, "", OutcomePass, "", "p="+tags["p"], facts)
	default:
		r.add(idDMARCMissing, "", OutcomeFail, SeverityMedium, "DMARC record without a valid p= policy: "+clip(recs[0], 200), facts)
		skip()
	}
}

// stepDNSSEC decides "signed" from the DNSKEY RRset at the zone apex and
// "delegated" from the DS RRset the parent publishes. The AD bit is recorded
// but does not decide: it only means something when the configured resolver
// validates and the path to it is trusted (RFC 6840 section 5.8), and
// neither holds for the resolvers the scanner usually gets (a VPC resolver,
// a local stub, the tests' server). DNSKEY without DS is the common failure
// of a zone signed at the DNS host but never delegated at the registrar.
func (r *run) stepDNSSEC(ctx context.Context) {
	if r.dnsUnavailable([]string{idDNSSECMissing}) {
		return
	}
	resp, err := r.dnsc.query(ctx, r.zone, dns.TypeDNSKEY, true)
	if err != nil {
		r.add(idDNSSECMissing, "", OutcomeError, "", err.Error(), nil)
		return
	}
	keys, sigs := 0, 0
	for _, rr := range resp.Answer {
		switch v := rr.(type) {
		case *dns.DNSKEY:
			keys++
		case *dns.RRSIG:
			if v.TypeCovered == dns.TypeDNSKEY {
				sigs++
			}
		}
	}
	facts := map[string]string{"zone": r.zone, "dnskeys": strconv.Itoa(keys), "rrsigs": strconv.Itoa(sigs),
		"ad": strconv.FormatBool(resp.AuthenticatedData)}
	if keys == 0 {
		r.add(idDNSSECMissing, "", OutcomeFail, SeverityLow, "no DNSKEY at zone apex "+r.zone+": the zone is not signed", facts)
		return
	}
	ds, err := r.dnsc.query(ctx, r.zone, dns.TypeDS, true)
	if err != nil {
		r.add(idDNSSECMissing, "", OutcomeError, "", err.Error(), facts)
		return
	}
	n := 0
	for _, rr := range ds.Answer {
		if _, ok := rr.(*dns.DS); ok {
			n++
		}
	}
	facts["ds"] = strconv.Itoa(n)
	if n == 0 {
		r.add(idDNSSECMissing, "", OutcomeWarn, SeverityLow, "zone "+r.zone+" is signed but its parent publishes no DS record: resolvers cannot validate it", facts)
		return
	}
	r.add(idDNSSECMissing, "", OutcomePass, "", fmt.Sprintf("zone %s signed (%d DNSKEY) and delegated (%d DS)", r.zone, keys, n), facts)
}

// stepCAA climbs from the name towards the registered domain as CAs do
// (RFC 8659 section 3), stopping before the top-level domain.
func (r *run) stepCAA(ctx context.Context) {
	if r.dnsUnavailable([]string{idCAAMissing}) {
		return
	}
	name := r.p.host
	for {
		resp, err := r.dnsc.query(ctx, name, dns.TypeCAA, false)
		if err != nil {
			r.add(idCAAMissing, "", OutcomeError, "", err.Error(), nil)
			return
		}
		var recs []string
		for _, rr := range resp.Answer {
			if c, ok := rr.(*dns.CAA); ok {
				recs = append(recs, fmt.Sprintf("%d %s %q", c.Flag, c.Tag, c.Value))
			}
		}
		if len(recs) > 0 {
			r.add(idCAAMissing, "", OutcomePass, "", "CAA at "+name+": "+clip(strings.Join(recs, "; "), 200),
				map[string]string{"at": name, "records": clip(strings.Join(recs, "; "), 300)})
			return
		}
		_, parent, ok := strings.Cut(name, ".")
		if !ok || !strings.Contains(parent, ".") {
			break
		}
		name = parent
	}
	r.add(idCAAMissing, "", OutcomeWarn, SeverityLow, "no CAA record at "+r.p.host+" or its parent domains: any CA may issue for it", nil)
}

func (r *run) stepMX(ctx context.Context) {
	if r.dnsUnavailable([]string{idMXMissing}) {
		return
	}
	resp, err := r.dnsc.query(ctx, r.p.host, dns.TypeMX, false)
	if err != nil {
		r.add(idMXMissing, "", OutcomeError, "", err.Error(), nil)
		return
	}
	var hosts []string
	null := false
	for _, rr := range resp.Answer {
		if mx, ok := rr.(*dns.MX); ok {
			if mx.Mx == "." {
				null = true
				continue
			}
			hosts = append(hosts, fmt.Sprintf("%d %s", mx.Preference, strings.TrimSuffix(mx.Mx, ".")))
		}
	}
	switch {
	case null && len(hosts) == 0:
		r.add(idMXMissing, "", OutcomePass, "", "null MX: the domain declares it receives no mail", map[string]string{"mx": "."})
	case len(hosts) > 0:
		r.add(idMXMissing, "", OutcomePass, "", "MX: "+clip(strings.Join(hosts, ", "), 200), map[string]string{"mx": clip(strings.Join(hosts, ","), 300)})
	default:
		r.add(idMXMissing, "", OutcomeWarn, SeverityInfo, "no MX record (publish a null MX if the domain receives no mail)", nil)
	}
}
