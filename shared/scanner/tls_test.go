package scanner

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"testing"
	"time"
)

// scanTLS scans one host target whose HTTPS port is the given server.
func scanTLS(t *testing.T, s *Scanner, target Target, port int) TargetReport {
	t.Helper()
	s.HTTPSPort = port
	return s.ScanTarget(context.Background(), target, nil)
}

func TestCertificateChecks(t *testing.T) {
	ca := newTestCA(t, keyCA())
	inter := ca.intermediate(t, keyEC256())
	otherCA := newTestCA(t, keyEC256())
	now := time.Now()
	host := Target{AssetID: "a1", Type: TargetHost, Value: "good.test"}
	ipTarget := Target{AssetID: "a2", Type: TargetIP, Value: "127.0.0.1"}
	good := []string{"good.test"}

	cases := []struct {
		name   string
		cert   tls.Certificate
		target Target
		want   map[string]string
	}{
		{"valid", ca.leaf(t, leafSpec{names: good}), host, map[string]string{
			idCertUntrusted: "pass", idCertSelfSigned: "pass", idCertHostname: "pass",
			idCertExpired: "pass", idCertWeakKey: "pass", idCertWeakSig: "pass",
		}},
		{"valid chain through an intermediate", inter.leaf(t, leafSpec{names: good}), host, map[string]string{
			idCertUntrusted: "pass", idCertHostname: "pass",
		}},
		{"missing intermediate", func() tls.Certificate {
			c := inter.leaf(t, leafSpec{names: good})
			c.Certificate = c.Certificate[:1]
			return c
		}(), host, map[string]string{idCertUntrusted: "fail:high", idCertSelfSigned: "pass"}},
		{"unknown issuer", otherCA.leaf(t, leafSpec{names: good}), host, map[string]string{
			idCertUntrusted: "fail:high", idCertSelfSigned: "pass", idCertHostname: "pass",
		}},
		{"expired", ca.leaf(t, leafSpec{names: good, notBefore: now.Add(-60 * 24 * time.Hour), notAfter: now.Add(-24 * time.Hour)}), host, map[string]string{
			idCertExpired: "fail:high", idCertUntrusted: "pass", // one cause, one finding
		}},
		{"not yet valid", ca.leaf(t, leafSpec{names: good, notBefore: now.Add(24 * time.Hour), notAfter: now.Add(90 * 24 * time.Hour)}), host, map[string]string{
			idCertExpired: "fail:high", idCertUntrusted: "pass",
		}},
		{"expires soon", ca.leaf(t, leafSpec{names: good, notAfter: now.Add(10 * 24 * time.Hour)}), host, map[string]string{
			idCertExpired: "warn:medium",
		}},
		{"wrong host", ca.leaf(t, leafSpec{names: []string{"other.test"}}), host, map[string]string{
			idCertHostname: "fail:high", idCertUntrusted: "pass",
		}},
		{"self-signed", ca.leaf(t, leafSpec{names: good, selfSigned: true}), host, map[string]string{
			idCertSelfSigned: "fail:high", idCertUntrusted: "skipped", idCertHostname: "pass",
		}},
		{"rsa 1024", ca.leaf(t, leafSpec{names: good, key: keyRSA1024()}), host, map[string]string{
			idCertWeakKey: "fail:high", idCertUntrusted: "pass",
		}},
		{"rsa 2048", ca.leaf(t, leafSpec{names: good, key: keyRSA2048()}), host, map[string]string{
			idCertWeakKey: "pass",
		}},
		{"sha-1 signature", ca.leaf(t, leafSpec{names: good, sigAlg: x509.ECDSAWithSHA1}), host, map[string]string{
			idCertWeakSig: "fail:high", idCertUntrusted: "skipped",
		}},
		{"ip target, no ip in certificate", ca.leaf(t, leafSpec{names: good}), ipTarget, map[string]string{
			idCertHostname: "skipped",
		}},
		{"ip target, ip in certificate", ca.leaf(t, leafSpec{names: good, ips: []string{"127.0.0.1"}}), ipTarget, map[string]string{
			idCertHostname: "pass",
		}},
		{"ip target, other ip in certificate", ca.leaf(t, leafSpec{names: good, ips: []string{"127.0.0.2"}}), ipTarget, map[string]string{
			idCertHostname: "fail:high",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{c.cert}}, nil)
			s := testScanner(t)
			s.RootCAs = ca.pool
			s.Guard.Resolver = staticResolver{"good.test": {"127.0.0.1"}}
			rep := scanTLS(t, s, c.target, portOf(t, srv.URL))
			expect(t, rep, c.want)
			if !rep.Live {
				t.Error("host answered but is not live")
			}
		})
	}
}

func TestWeakKeySizes(t *testing.T) {
	for _, c := range []struct {
		key  any
		weak bool
	}{
		{keyEC224(), true}, {keyEC256(), false}, {keyRSA1024(), true}, {keyRSA2048(), false},
	} {
		tpl := &x509.Certificate{SerialNumber: nextSerial(), Subject: pkix.Name{CommonName: "k"}, NotAfter: time.Now().Add(time.Hour)}
		signer := c.key.(crypto.Signer)
		der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, signer.Public(), c.key)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		if got := weakKey(cert) != ""; got != c.weak {
			t.Errorf("%s: weak=%v, want %v", keyDesc(cert), got, c.weak)
		}
	}
}

func TestTLSProtocolsAndCiphers(t *testing.T) {
	ca := newTestCA(t, keyCA())
	ecCert := ca.leaf(t, leafSpec{names: []string{"good.test"}})
	rsaCert := ca.leaf(t, leafSpec{names: []string{"good.test"}, key: keyRSA2048()})

	std := func(cfg *tls.Config) func(t *testing.T) int {
		return func(t *testing.T) int { return portOf(t, tlsServer(t, cfg, nil).URL) }
	}
	fake := func(versions, suites []uint16) func(t *testing.T) int {
		return func(t *testing.T) int { return fakeTLS(t, versions, suites) }
	}
	cases := []struct {
		name   string
		server func(t *testing.T) int
		want   map[string]string
	}{
		{"TLS 1.2 and 1.3 with modern suites", std(&tls.Config{Certificates: []tls.Certificate{ecCert},
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}), map[string]string{
			idTLSLegacy + "/SSLv3": "pass", idTLSLegacy + "/TLS 1.0": "pass", idTLSLegacy + "/TLS 1.1": "pass",
			idTLSModernMissing: "pass", idTLSWeakCipher: "pass", idTLSNoPFS: "pass",
		}},
		{"TLS 1.3 only", std(&tls.Config{Certificates: []tls.Certificate{ecCert}, MinVersion: tls.VersionTLS13}), map[string]string{
			idTLSLegacy + "/SSLv3": "pass", idTLSLegacy + "/TLS 1.0": "pass", idTLSLegacy + "/TLS 1.1": "pass",
			idTLSModernMissing: "pass", idTLSWeakCipher: "pass", idTLSNoPFS: "pass",
			idCertUntrusted: "pass",
		}},
		{"TLS 1.0 only", std(&tls.Config{Certificates: []tls.Certificate{ecCert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}), map[string]string{
			idTLSLegacy + "/TLS 1.0": "fail:medium", idTLSLegacy + "/TLS 1.1": "pass", idTLSLegacy + "/SSLv3": "pass",
			idTLSModernMissing: "fail:high", idTLSWeakCipher + "/cbc_sha1": "warn:low", idTLSNoPFS: "pass",
			idCertUntrusted: "pass",
		}},
		{"TLS 1.1 and 1.2", std(&tls.Config{Certificates: []tls.Certificate{ecCert}, MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS12}), map[string]string{
			idTLSLegacy + "/TLS 1.1": "fail:medium", idTLSLegacy + "/TLS 1.0": "pass", idTLSModernMissing: "pass",
		}},
		{"static RSA key exchange only", std(&tls.Config{Certificates: []tls.Certificate{rsaCert}, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}), map[string]string{
			idTLSNoPFS: "fail:medium", idTLSWeakCipher: "pass", idTLSModernMissing: "pass",
		}},
		{"RC4 and 3DES accepted", std(&tls.Config{Certificates: []tls.Certificate{rsaCert}, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}}), map[string]string{
			idTLSWeakCipher + "/rc4": "fail:high", idTLSWeakCipher + "/3des": "fail:medium", idTLSNoPFS: "pass",
		}},
		{"SSLv3 only (raw server)", fake([]uint16{0x0300}, []uint16{0x0005, 0x000a}), map[string]string{
			idTLSLegacy + "/SSLv3": "fail:high", idTLSLegacy + "/TLS 1.0": "pass", idTLSModernMissing: "fail:high",
			idTLSWeakCipher + "/rc4": "fail:high", idTLSWeakCipher + "/3des": "fail:medium", idTLSNoPFS: "fail:medium",
			idCertUntrusted: "error",
		}},
		{"export, null and anonymous suites (raw server)", fake([]uint16{0x0301}, []uint16{0x0003, 0x0001, 0x0018}), map[string]string{
			idTLSLegacy + "/TLS 1.0":    "fail:medium",
			idTLSWeakCipher + "/export": "fail:high", idTLSWeakCipher + "/null": "fail:high", idTLSWeakCipher + "/anon": "fail:high",
			idTLSNoPFS: "fail:medium",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := testScanner(t)
			s.RootCAs = ca.pool
			s.Guard.Resolver = staticResolver{"good.test": {"127.0.0.1"}}
			rep := scanTLS(t, s, Target{AssetID: "a", Type: TargetHost, Value: "good.test"}, c.server(t))
			expect(t, rep, c.want)
		})
	}
}

// A plain-text service on the TLS port is not reported as lacking TLS 1.2:
// nothing could be negotiated, so the TLS checks are errors.
func TestTLSPortWithoutTLS(t *testing.T) {
	s := testScanner(t)
	s.HTTPSPort = listen(t, "SSH-2.0-OpenSSH_9.6\r\n")
	rep := s.ScanTarget(context.Background(), Target{AssetID: "a", Type: TargetIP, Value: "127.0.0.1"}, nil)
	expect(t, rep, map[string]string{
		idTLSModernMissing: "error", idTLSLegacy: "error", idTLSWeakCipher: "error", idTLSNoPFS: "error", idCertUntrusted: "error",
	})
	if len(rep.Findings) != 0 {
		t.Errorf("findings on a non-TLS port: %+v", rep.Findings)
	}
}

// A closed HTTPS port makes every TLS check skipped, not failed.
func TestTLSSkippedWhenClosed(t *testing.T) {
	s := testScanner(t)
	rep := s.ScanTarget(context.Background(), Target{AssetID: "a", Type: TargetIP, Value: "127.0.0.1"}, nil)
	for _, id := range append(append([]string{}, certCheckIDs...), idTLSLegacy, idTLSModernMissing, idTLSWeakCipher, idTLSNoPFS) {
		expect(t, rep, map[string]string{id: "skipped"})
	}
	if rep.Live {
		t.Error("nothing listens: not live")
	}
}

// probeConn hands zcrypto the ServerHello alone, also when the server packs
// it with later messages in one record (as OpenSSL does), and passes
// anything else through.
func TestProbeConnCutsAfterServerHello(t *testing.T) {
	hello := []byte{2, 0, 0, 3, 0xaa, 0xbb, 0xcc}
	cert := []byte{11, 0, 0, 2, 0x01, 0x02}
	record := func(typ byte, body ...[]byte) []byte {
		var b []byte
		for _, x := range body {
			b = append(b, x...)
		}
		return append([]byte{typ, 3, 3, byte(len(b) >> 8), byte(len(b))}, b...)
	}
	cases := []struct {
		name string
		wire []byte
		want []byte
	}{
		{"packed with the certificate", record(22, hello, cert), record(22, hello)},
		{"own record", append(record(22, hello), record(22, cert)...), record(22, hello)},
		{"alert passes through", record(21, []byte{2, 70}), record(21, []byte{2, 70})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client, server := net.Pipe()
			go func() {
				// Byte by byte: the cut must not depend on read sizes. The
				// connection stays open: an alert must come through without
				// waiting for more bytes.
				for _, b := range c.wire {
					server.Write([]byte{b})
				}
			}()
			defer server.Close()
			pc := &probeConn{Conn: client}
			got := make([]byte, 0, len(c.want))
			buf := make([]byte, 64)
			for len(got) < len(c.want) {
				n, err := pc.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					break
				}
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("got %x, want %x", got, c.want)
			}
			if _, err := pc.Write([]byte("x")); err == nil {
				t.Error("a write after the server answered must be refused")
			}
		})
	}
}
