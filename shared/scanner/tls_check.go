package scanner

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	ztls "github.com/zmap/zcrypto/tls"
)

var certCheckIDs = []string{idCertUntrusted, idCertSelfSigned, idCertHostname, idCertExpired, idCertWeakKey, idCertWeakSig}

// tlsFacts carries what the certificate step learned to the protocol and
// cipher steps.
type tlsFacts struct {
	// unavailable: later TLS steps report unavailableOutcome with why
	// instead of probing (port closed, or the server never answered).
	unavailable        bool
	unavailableOutcome Outcome
	why                string
	tls13              bool            // the stdlib handshake negotiated TLS 1.3
	versions           map[uint16]bool // protocol probes: version accepted
}

func (r *run) sni() string {
	if r.p.isIP {
		return ""
	}
	return r.p.host
}

var stdSuites = sync.OnceValue(func() []uint16 {
	var ids []uint16
	for _, s := range tls.CipherSuites() {
		ids = append(ids, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		ids = append(ids, s.ID)
	}
	return ids
})

// stdTLSConfig is the configuration of the certificate handshake and of the
// web checks' HTTPS client. Verification is off on purpose: the certificate
// checks judge the chain themselves, and the header checks must still see a
// site whose certificate is bad. Legacy versions and suites are enabled so a
// poorly configured server still yields its certificate and headers.
func (r *run) stdTLSConfig() *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true,
		ServerName:         r.sni(),
		MinVersion:         tls.VersionTLS10,
		CipherSuites:       stdSuites(),
	}
}

// tlsUnavailable marks the TLS steps as not applicable or not answerable
// and records that outcome for the given checks.
func (r *run) tlsUnavailable(ids []string, outcome Outcome, why string) {
	r.tls.unavailable, r.tls.unavailableOutcome, r.tls.why = true, outcome, why
	r.addAll(ids, outcome, why)
}

func (r *run) stepCertificate(ctx context.Context) {
	if r.unreachable(certCheckIDs) {
		return
	}
	if !r.httpsOpen {
		r.tlsUnavailable(certCheckIDs, OutcomeSkipped, fmt.Sprintf("no TLS service: port %d closed or filtered", r.httpsPort))
		return
	}
	certs, version, err := r.stdHandshake(ctx)
	if err == nil {
		r.tls.tls13 = version == tls.VersionTLS13
	} else {
		if isTimeout(err) {
			// A server that accepts and then says nothing would make every
			// later probe wait for the same timeout.
			r.tlsUnavailable(certCheckIDs, OutcomeError, "no TLS answer: "+shortErr(err))
			r.markSilent("https", err)
			return
		}
		// Servers limited to suites or versions Go no longer speaks (DHE,
		// export, SSLv3-era) still hand their certificate to zcrypto.
		certs = r.legacyCertificates(ctx)
		if len(certs) == 0 {
			r.addAll(certCheckIDs, OutcomeError, "no handshake completed to read the certificate: "+shortErr(err))
			return
		}
	}
	if len(certs) == 0 {
		r.addAll(certCheckIDs, OutcomeError, "the server sent no certificate")
		return
	}
	r.evaluateCertificates(certs)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// stdHandshake completes one crypto/tls handshake at the highest version the
// server accepts and returns the presented chain.
func (r *run) stdHandshake(ctx context.Context) ([]*x509.Certificate, uint16, error) {
	ctx, cancel := r.withIO(ctx)
	defer cancel()
	c, err := r.dialer.DialContext(ctx, "tcp", r.webAddr(r.httpsPort))
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(deadline(ctx, r.s.ioTimeout()))
	tc := tls.Client(c, r.stdTLSConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, 0, err
	}
	st := tc.ConnectionState()
	return st.PeerCertificates, st.Version, nil
}

// legacyCertificates reads the chain with zcrypto, which still implements
// DHE and other suites crypto/tls dropped. The chain is taken from the
// handshake log, so it is there even when the handshake fails afterwards.
func (r *run) legacyCertificates(ctx context.Context) []*x509.Certificate {
	ctx, cancel := r.withIO(ctx)
	defer cancel()
	c, err := r.dialer.DialContext(ctx, "tcp", r.webAddr(r.httpsPort))
	if err != nil {
		return nil
	}
	defer c.Close()
	_ = c.SetDeadline(deadline(ctx, r.s.ioTimeout()))
	zc := ztls.Client(c, &ztls.Config{
		InsecureSkipVerify: true,
		ServerName:         r.sni(),
		MinVersion:         ztls.VersionTLS10,
		MaxVersion:         ztls.VersionTLS12,
		CipherSuites:       ztls.PortableCiphers,
	})
	_ = zc.HandshakeContext(ctx)
	log := zc.GetHandshakeLog()
	if log == nil || log.ServerCertificates == nil {
		return nil
	}
	raws := [][]byte{log.ServerCertificates.Certificate.Raw}
	for _, cc := range log.ServerCertificates.Chain {
		raws = append(raws, cc.Raw)
	}
	var out []*x509.Certificate
	for i, raw := range raws {
		cert, err := x509.ParseCertificate(raw)
		if err != nil {
			if i == 0 {
				return nil
			}
			continue
		}
		out = append(out, cert)
	}
	return out
}

// helloProbe is what a server answered to one ClientHello.
type helloProbe struct {
	accepted bool   // a ServerHello came back
	version  uint16 // the version it chose
	suite    uint16 // the suite it chose
}

var errProbeDone = errors.New("probe complete")

// probeConn sits between zcrypto and the socket of a probe. It hands zcrypto
// a record holding only the server's ServerHello and then end-of-file, so
// the client stops right after the one message the probe needs: no
// certificate parsing or chain building, no key exchange, which makes a
// probe cost little more than a round trip. Anything it does not expect (an
// alert, a ServerHello split across records) passes through untouched.
// Writes are refused once the server has answered, so nothing but the
// ClientHello is ever sent.
type probeConn struct {
	net.Conn
	read        int    // bytes received from the server
	in          []byte // received, not yet handed over
	out         []byte // ready for zcrypto
	done        bool   // the ServerHello record has been handed over
	passthrough bool
	buf         [2048]byte
}

func (c *probeConn) Read(b []byte) (int, error) {
	for len(c.out) == 0 {
		switch {
		case c.done:
			return 0, io.EOF
		case c.passthrough && len(c.in) == 0:
			n, err := c.Conn.Read(b)
			c.read += n
			return n, err
		case c.passthrough:
			c.out, c.in = c.in, nil
			continue
		}
		n, err := c.Conn.Read(c.buf[:])
		c.read += n
		c.in = append(c.in, c.buf[:n]...)
		c.extractServerHello()
		if err != nil && len(c.out) == 0 {
			if len(c.in) > 0 {
				c.out, c.in, c.passthrough = c.in, nil, true
				continue
			}
			return 0, err
		}
	}
	n := copy(b, c.out)
	c.out = c.out[n:]
	return n, nil
}

func (c *probeConn) extractServerHello() {
	// Decide as soon as the bytes allow: a server that sends an alert and
	// keeps the connection open must not leave the probe waiting for more.
	if len(c.in) >= 1 && c.in[0] != 22 || len(c.in) >= 6 && c.in[5] != 2 {
		c.passthrough = true
		return
	}
	if len(c.in) < 9 {
		return
	}
	recLen := int(c.in[3])<<8 | int(c.in[4])
	msgLen := int(c.in[6])<<16 | int(c.in[7])<<8 | int(c.in[8])
	if 4+msgLen > recLen {
		c.passthrough = true
		return
	}
	if len(c.in) < 9+msgLen {
		return
	}
	rec := make([]byte, 9+msgLen)
	copy(rec, c.in)
	rec[3], rec[4] = byte((4+msgLen)>>8), byte(4+msgLen)
	c.out, c.in, c.done = rec, nil, true
}

func (c *probeConn) Write(b []byte) (int, error) {
	if c.read > 0 {
		return 0, errProbeDone
	}
	return c.Conn.Write(b)
}

// sigAlgsExtension is the TLS 1.2 signature_algorithms extension with wire
// code points. zcrypto's own SignatureAlgorithmExtension maps ECDSA to an
// internal value and cannot offer it, and a server with an ECDSA
// certificate then refuses every probe.
type sigAlgsExtension struct{}

var probeSigAlgs = []uint16{
	0x0403, 0x0503, 0x0603, // ecdsa_secp256r1_sha256 ... secp521r1_sha512
	0x0804, 0x0805, 0x0806, // rsa_pss_rsae_sha256 ... sha512
	0x0807,                 // ed25519
	0x0401, 0x0501, 0x0601, // rsa_pkcs1_sha256 ... sha512
	0x0203, 0x0201, 0x0402, 0x0202, // SHA-1 and DSA, for old servers
}

func (sigAlgsExtension) Marshal() []byte {
	n := 2 * len(probeSigAlgs)
	b := []byte{0x00, 0x0d, byte((n + 2) >> 8), byte(n + 2), byte(n >> 8), byte(n)}
	for _, a := range probeSigAlgs {
		b = append(b, byte(a>>8), byte(a))
	}
	return b
}

func (sigAlgsExtension) CheckImplemented() error          { return nil }
func (sigAlgsExtension) WriteToConfig(*ztls.Config) error { return nil }

// probeHello sends one ClientHello for exactly the given version and suites
// and reports the ServerHello. zcrypto's fingerprint configuration builds the
// hello, because it can offer SSLv3 and suites no Go stack implements; its
// handshake log records the ServerHello before any version or suite check
// fails.
func (r *run) probeHello(ctx context.Context, version uint16, offer []uint16) (helloProbe, error) {
	ctx, cancel := r.withIO(ctx)
	defer cancel()
	c, err := r.dialer.DialContext(ctx, "tcp", r.webAddr(r.httpsPort))
	if err != nil {
		return helloProbe{}, err
	}
	defer c.Close()
	_ = c.SetDeadline(deadline(ctx, r.s.ioTimeout()))
	pc := &probeConn{Conn: c}
	var exts []ztls.ClientExtension
	if sni := r.sni(); sni != "" {
		exts = append(exts, &ztls.SNIExtension{Domains: []string{sni}})
	}
	exts = append(exts,
		&ztls.SupportedCurvesExtension{Curves: []ztls.CurveID{ztls.X25519, ztls.CurveP256, ztls.CurveP384, ztls.CurveP521}},
		&ztls.PointFormatExtension{Formats: []uint8{0}},
		&ztls.SecureRenegotiationExtension{},
	)
	if version >= ztls.VersionTLS12 {
		exts = append(exts, sigAlgsExtension{})
	}
	zc := ztls.Client(pc, &ztls.Config{
		InsecureSkipVerify: true,
		ServerName:         r.sni(),
		ForceSuites:        true,
		ClientFingerprintConfiguration: &ztls.ClientFingerprintConfiguration{
			HandshakeVersion:   version,
			CipherSuites:       offer,
			CompressionMethods: []uint8{0},
			Extensions:         exts,
		},
	})
	herr := zc.HandshakeContext(ctx)
	if log := zc.GetHandshakeLog(); log != nil && log.ServerHello != nil {
		return helloProbe{accepted: true, version: uint16(log.ServerHello.Version), suite: uint16(log.ServerHello.CipherSuite)}, nil
	}
	if pc.read > 0 {
		// An alert (protocol_version, handshake_failure): a clear no.
		return helloProbe{}, nil
	}
	if herr == nil {
		herr = errors.New("no answer")
	}
	return helloProbe{}, herr
}

var legacyVersions = []uint16{ztls.VersionSSL30, ztls.VersionTLS10, ztls.VersionTLS11}

func (r *run) stepProtocols(ctx context.Context) {
	ids := []string{idTLSLegacy, idTLSModernMissing}
	if r.unreachable(ids) {
		return
	}
	if r.tls.unavailable {
		r.addAll(ids, r.tls.unavailableOutcome, r.tls.why)
		return
	}
	r.tls.versions = map[uint16]bool{}
	probeErr := map[uint16]error{}
	for _, v := range []uint16{ztls.VersionSSL30, ztls.VersionTLS10, ztls.VersionTLS11, ztls.VersionTLS12} {
		res, err := r.probeHello(ctx, v, suites().all)
		if err != nil {
			probeErr[v] = err
			continue
		}
		r.tls.versions[v] = res.accepted && res.version == v
		// A server that answers an older hello with a newer version would
		// be broken; one that answers a newer hello with an older version
		// tells us that older version works.
		if res.accepted && res.version < v {
			r.tls.versions[res.version] = true
		}
	}
	anyVersion := r.tls.tls13
	for _, ok := range r.tls.versions {
		anyVersion = anyVersion || ok
	}
	if !anyVersion {
		// Nothing negotiated at all: a plain-text service on the TLS port,
		// or one speaking only what no probe offers. Saying "not offered"
		// or "no modern TLS" would be a guess.
		why := fmt.Sprintf("no TLS version could be negotiated on port %d (is it a TLS service?)", r.httpsPort)
		for v, err := range probeErr {
			why += "; " + versionName(v) + " probe: " + shortErr(err)
			break
		}
		r.tlsUnavailable(ids, OutcomeError, why)
		return
	}
	for _, v := range legacyVersions {
		name := versionName(v)
		switch {
		case r.tls.versions[v]:
			sev := SeverityMedium
			if v == ztls.VersionSSL30 {
				sev = SeverityHigh
			}
			r.add(idTLSLegacy, name, OutcomeFail, sev, name+" is offered", map[string]string{"version": name})
		case probeErr[v] != nil:
			r.add(idTLSLegacy, name, OutcomeError, "", name+" probe failed: "+shortErr(probeErr[v]), nil)
		default:
			r.add(idTLSLegacy, name, OutcomePass, "", name+" is not offered", nil)
		}
	}
	var offered []string
	for _, v := range []uint16{ztls.VersionSSL30, ztls.VersionTLS10, ztls.VersionTLS11, ztls.VersionTLS12} {
		if r.tls.versions[v] {
			offered = append(offered, versionName(v))
		}
	}
	if r.tls.tls13 {
		offered = append(offered, versionName(ztls.VersionTLS13))
	}
	facts := map[string]string{"offered": strings.Join(offered, ", ")}
	switch {
	case r.tls.versions[ztls.VersionTLS12] || r.tls.tls13:
		r.add(idTLSModernMissing, "", OutcomePass, "", "offered: "+facts["offered"], facts)
	case probeErr[ztls.VersionTLS12] != nil:
		r.add(idTLSModernMissing, "", OutcomeError, "", "TLS 1.2 probe failed: "+shortErr(probeErr[ztls.VersionTLS12]), facts)
	default:
		r.add(idTLSModernMissing, "", OutcomeFail, SeverityHigh, "neither TLS 1.2 nor TLS 1.3 is offered; offered: "+orNone(facts["offered"]), facts)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (r *run) stepCiphers(ctx context.Context) {
	ids := []string{idTLSWeakCipher, idTLSNoPFS}
	if r.unreachable(ids) {
		return
	}
	if r.tls.unavailable {
		r.addAll(ids, r.tls.unavailableOutcome, r.tls.why)
		return
	}
	// Suites are negotiated per version; the highest and the lowest legacy
	// version cover what real servers do (export suites, for one, only
	// exist up to TLS 1.0).
	var legacy []uint16
	for _, v := range []uint16{ztls.VersionTLS12, ztls.VersionTLS11, ztls.VersionTLS10, ztls.VersionSSL30} {
		if r.tls.versions[v] {
			legacy = append(legacy, v)
		}
	}
	if len(legacy) == 0 {
		if r.tls.tls13 {
			r.add(idTLSWeakCipher, "", OutcomePass, "", "only TLS 1.3 is offered, whose suites are all AEAD", nil)
			r.add(idTLSNoPFS, "", OutcomePass, "", "only TLS 1.3 is offered, whose key exchange is always ephemeral", nil)
		} else {
			r.addAll(ids, OutcomeError, "no protocol version could be negotiated")
		}
		return
	}
	probeVersions := []uint16{legacy[0]}
	if low := legacy[len(legacy)-1]; low != legacy[0] {
		probeVersions = append(probeVersions, low)
	}
	tab := suites()
	weak := 0
	for _, fam := range weakFamilies {
		var hit *helloProbe
		var lastErr error
		for _, v := range probeVersions {
			res, err := r.probeHello(ctx, v, tab.families[fam.name])
			if err != nil {
				lastErr = err
				continue
			}
			if res.accepted && tab.family[res.suite] == fam.name {
				hit = &res
				break
			}
		}
		switch {
		case hit != nil:
			weak++
			name, ver := suiteName(hit.suite), versionName(hit.version)
			r.add(idTLSWeakCipher, fam.name, fam.outcome, fam.severity,
				fmt.Sprintf("%s accepted with %s: %s", name, ver, fam.why),
				map[string]string{"family": fam.name, "suite": name, "version": ver})
		case lastErr != nil:
			r.add(idTLSWeakCipher, fam.name, OutcomeError, "", fam.name+" probe failed: "+shortErr(lastErr), nil)
		}
	}
	if weak == 0 {
		r.add(idTLSWeakCipher, "", OutcomePass, "", "no weak cipher suite accepted", nil)
	}

	if r.tls.tls13 {
		r.add(idTLSNoPFS, "", OutcomePass, "", "TLS 1.3 is offered; its key exchange is always ephemeral", nil)
		return
	}
	res, err := r.probeHello(ctx, legacy[0], tab.pfs)
	switch {
	case err != nil:
		r.add(idTLSNoPFS, "", OutcomeError, "", "forward secrecy probe failed: "+shortErr(err), nil)
	case res.accepted:
		name := suiteName(res.suite)
		r.add(idTLSNoPFS, "", OutcomePass, "", name+" accepted", map[string]string{"suite": name})
	default:
		r.add(idTLSNoPFS, "", OutcomeFail, SeverityMedium, "no ECDHE or DHE suite accepted and no TLS 1.3: key exchange is static RSA", nil)
	}
}
