package scanner

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Keys are generated once per test binary: RSA generation dominates the
// cost of a certificate, and sharing keys does not change what is tested.
var (
	keyRSA2048 = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	keyRSA1024 = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(1024) })
	keyEC256   = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P256()) })
	keyEC224   = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P224()) })
	keyCA      = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P256()) })
	keyCARSA   = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

var serial int64 = 1000

func nextSerial() *big.Int {
	serial++
	return big.NewInt(serial)
}

// testCA is a private root the tests inject as the scanner's trust store.
type testCA struct {
	cert  *x509.Certificate
	key   crypto.Signer
	pool  *x509.CertPool // the root pool to trust
	chain [][]byte       // intermediates a server sends after its leaf
}

func newTestCA(t testing.TB, key crypto.Signer) *testCA {
	t.Helper()
	tpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: "Rampart Test Root"},
		NotBefore:    time.Now().Add(-365 * 24 * time.Hour), // roots predate their leaves

		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// intermediate issues a CA certificate under ca; leaves it signs carry it
// in their chain.
func (ca *testCA) intermediate(t testing.TB, key crypto.Signer) *testCA {
	t.Helper()
	tpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: "Rampart Test Intermediate"},
		NotBefore:             time.Now().Add(-365 * 24 * time.Hour),
		NotAfter:              time.Now().Add(5 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pool: ca.pool, chain: append([][]byte{der}, ca.chain...)}
}

// leafSpec describes a server certificate.
type leafSpec struct {
	names      []string
	ips        []string
	notBefore  time.Time
	notAfter   time.Time
	key        crypto.Signer // default ECDSA P-256
	sigAlg     x509.SignatureAlgorithm
	selfSigned bool
}

func (ca *testCA) leaf(t testing.TB, s leafSpec) tls.Certificate {
	t.Helper()
	if s.key == nil {
		s.key = keyEC256()
	}
	if s.notBefore.IsZero() {
		s.notBefore = time.Now().Add(-time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = time.Now().Add(90 * 24 * time.Hour)
	}
	tpl := &x509.Certificate{
		SerialNumber:       nextSerial(),
		Subject:            pkix.Name{CommonName: firstOr(s.names, "leaf")},
		DNSNames:           s.names,
		NotBefore:          s.notBefore,
		NotAfter:           s.notAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		SignatureAlgorithm: s.sigAlg,
	}
	for _, ip := range s.ips {
		tpl.IPAddresses = append(tpl.IPAddresses, net.ParseIP(ip))
	}
	parent, signer := ca.cert, ca.key
	if s.selfSigned {
		parent, signer = tpl, s.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, s.key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	chain := [][]byte{der}
	if !s.selfSigned {
		chain = append(chain, ca.chain...)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: s.key}
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// closedPort returns a loopback port with nothing listening: it was bound
// and released, which is as close to "closed" as a test can get.
func closedPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func portOf(t testing.TB, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// staticResolver answers from a map without any network traffic.
type staticResolver map[string][]string

func (s staticResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := s[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, ip := range ips {
		out = append(out, netip.MustParseAddr(ip))
	}
	return out, nil
}

// testScanner is a scanner with loopback allowed, short timeouts, no
// service ports and both web ports closed; tests open what they need.
func testScanner(t testing.TB) *Scanner {
	return &Scanner{
		Guard:         Guard{AllowLoopback: true, Resolver: staticResolver{"localhost": {"127.0.0.1"}}},
		Ports:         []ServicePort{},
		HTTPPort:      closedPort(t),
		HTTPSPort:     closedPort(t),
		TargetTimeout: 30 * time.Second,
		DialTimeout:   2 * time.Second,
		IOTimeout:     3 * time.Second,
		BannerTimeout: 300 * time.Millisecond,
	}
}

// tlsServer starts an HTTPS server on 127.0.0.1 with the given TLS config.
func tlsServer(t testing.TB, cfg *tls.Config, h http.Handler) *httptest.Server {
	t.Helper()
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = cfg
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// byCheck indexes results by check id and subject ("id" or "id/subject").
func byCheck(rep TargetReport) map[string]Result {
	m := map[string]Result{}
	for _, r := range rep.Results {
		k := r.CheckID
		if r.Subject != "" {
			k += "/" + r.Subject
		}
		m[k] = r
	}
	return m
}

// expect asserts outcomes (and severities where given as "fail:high").
func expect(t *testing.T, rep TargetReport, want map[string]string) {
	t.Helper()
	got := byCheck(rep)
	for k, w := range want {
		r, ok := got[k]
		if !ok {
			t.Errorf("%s: no result (have %v)", k, keys(got))
			continue
		}
		outcome, sev, _ := strings.Cut(w, ":")
		if string(r.Outcome) != outcome || (sev != "" && string(r.Severity) != sev) {
			t.Errorf("%s: got %s:%s (%s), want %s", k, r.Outcome, r.Severity, r.Evidence.Summary, w)
		}
	}
}

func keys(m map[string]Result) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// fakeTLS answers ClientHellos with a bare ServerHello for the best version
// and suite it shares with the client, then hangs up. It stands in for
// servers no Go TLS stack can be: SSLv3, EXPORT, NULL and anonymous suites.
func fakeTLS(t testing.TB, versions []uint16, suites []uint16) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go fakeTLSConn(c, versions, suites)
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func fakeTLSConn(c net.Conn, versions, suites []uint16) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(c, hdr); err != nil || hdr[0] != 0x16 {
		return
	}
	body := make([]byte, binary.BigEndian.Uint16(hdr[3:5]))
	if _, err := io.ReadFull(c, body); err != nil || len(body) < 43 || body[0] != 1 {
		return
	}
	clientVersion := binary.BigEndian.Uint16(body[4:6])
	p := 38
	p += 1 + int(body[p]) // session id
	n := int(binary.BigEndian.Uint16(body[p : p+2]))
	offered := map[uint16]bool{}
	for i := 0; i < n; i += 2 {
		offered[binary.BigEndian.Uint16(body[p+2+i:])] = true
	}
	alert := func(desc byte) { c.Write([]byte{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, desc}) }
	var ver uint16
	for _, v := range versions {
		if v <= clientVersion && v > ver {
			ver = v
		}
	}
	if ver == 0 {
		alert(70) // protocol_version
		return
	}
	var suite uint16
	for _, s := range suites {
		if offered[s] {
			suite = s
			break
		}
	}
	if suite == 0 {
		alert(40) // handshake_failure
		return
	}
	hello := []byte{2, 0, 0, 0, byte(ver >> 8), byte(ver)}
	hello = append(hello, make([]byte, 32)...) // random
	hello = append(hello, 0)                   // session id
	hello = append(hello, byte(suite>>8), byte(suite), 0)
	l := len(hello) - 4
	hello[1], hello[2], hello[3] = byte(l>>16), byte(l>>8), byte(l)
	rec := []byte{0x16, byte(ver >> 8), byte(ver), byte(len(hello) >> 8), byte(len(hello))}
	c.Write(append(rec, hello...))
}

// dnsZone is the test DNS server's data: records by owner, plus whether
// answers carry the AD bit.
type dnsZone struct {
	records []dns.RR
	ad      bool
}

// startDNS serves zone over UDP on 127.0.0.1 and returns its address.
func startDNS(t testing.TB, zone string, ad bool) string {
	t.Helper()
	z := dnsZone{ad: ad}
	for _, line := range strings.Split(zone, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("bad test record %q: %v", line, err)
		}
		z.records = append(z.records, rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: z, NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// ServeDNS answers like a recursive resolver that knows only these records:
// NXDOMAIN for unknown names, an empty answer with the SOA in authority for
// known names without the type, RRSIGs only when DO is set.
func (z dnsZone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	do := false
	if o := req.IsEdns0(); o != nil {
		do = o.Do()
		m.SetEdns0(1232, do)
	}
	exists := false
	for _, rr := range z.records {
		h := rr.Header()
		owner := strings.ToLower(h.Name)
		if owner != name {
			// A record below name makes name an empty non-terminal.
			if dns.IsSubDomain(name, owner) {
				exists = true
			}
			continue
		}
		exists = true
		switch {
		case h.Rrtype == q.Qtype:
			m.Answer = append(m.Answer, rr)
		case h.Rrtype == dns.TypeRRSIG && rr.(*dns.RRSIG).TypeCovered == q.Qtype && do:
			m.Answer = append(m.Answer, rr)
		}
	}
	if !exists {
		m.Rcode = dns.RcodeNameError
	}
	if len(m.Answer) == 0 {
		// Authority: the closest enclosing SOA, as a resolver would return.
		for _, rr := range z.records {
			if soa, ok := rr.(*dns.SOA); ok && dns.IsSubDomain(strings.ToLower(soa.Hdr.Name), name) {
				m.Ns = append(m.Ns, soa)
			}
		}
	}
	m.AuthenticatedData = z.ad && do
	w.WriteMsg(m)
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
