package scanner

import (
	"bytes"
	"crypto/dsa" //nolint:staticcheck // only to recognise DSA keys, never to use them
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"
)

const expiryWarning = 30 * 24 * time.Hour

// evaluateCertificates judges the presented chain (leaf first) and records
// one result per certificate check.
func (r *run) evaluateCertificates(chain []*x509.Certificate) {
	leaf := chain[0]
	now := r.s.now()
	base := certFacts(leaf)

	// The certificates whose properties the server is responsible for: the
	// leaf and the intermediates it sends. A self-signed certificate after
	// the leaf is a root the client already has (or not), never used from
	// the wire, so its signature and dates do not matter.
	var judged []*x509.Certificate
	for i, c := range chain {
		if i == 0 || !isSelfSigned(c) {
			judged = append(judged, c)
		}
	}

	// Signature algorithms first: a chain that only fails because of them
	// is reported once, as a weak signature.
	var weakSigs []string
	for _, c := range judged {
		switch c.SignatureAlgorithm {
		case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
			weakSigs = append(weakSigs, certName(c)+": "+c.SignatureAlgorithm.String())
		}
	}

	// Trust. When the chain is out of its validity period it is verified
	// again at a moment inside every presented certificate's validity, so
	// an expired but otherwise good chain reports as expired only.
	selfSigned := isSelfSigned(leaf)
	verr := r.verifyChain(chain, now)
	if verr != nil && isExpiryError(verr) {
		if at, ok := commonValidity(chain); ok {
			verr = r.verifyChain(chain, at)
		}
	}
	switch {
	case verr == nil:
		r.add(idCertUntrusted, "", OutcomePass, "", "chain verifies to a trusted root", maps.Clone(base))
		r.add(idCertSelfSigned, "", OutcomePass, "", "certificate is issued by a trusted CA", maps.Clone(base))
	case selfSigned:
		r.add(idCertUntrusted, "", OutcomeSkipped, "", "self-signed leaf: reported by "+idCertSelfSigned, maps.Clone(base))
		r.add(idCertSelfSigned, "", OutcomeFail, SeverityHigh, "self-signed certificate for "+certName(leaf)+" is not trusted", maps.Clone(base))
	case len(weakSigs) > 0:
		// Go (like browsers) refuses SHA-1/MD5 chains outright, so the
		// verification error says nothing beyond the weak signature.
		r.add(idCertUntrusted, "", OutcomeSkipped, "", "chain uses a SHA-1/MD5 signature that clients reject: reported by "+idCertWeakSig, withFact(base, "error", verr.Error()))
		r.add(idCertSelfSigned, "", OutcomePass, "", "certificate is not self-signed", maps.Clone(base))
	default:
		f := withFact(base, "error", verr.Error())
		r.add(idCertUntrusted, "", OutcomeFail, SeverityHigh, "chain does not verify: "+verr.Error(), f)
		r.add(idCertSelfSigned, "", OutcomePass, "", "certificate is not self-signed", maps.Clone(base))
	}

	// Host name. Clients connecting by IP literal match IP SANs only, and a
	// certificate without any is normal for a name-based site: skipping
	// avoids a finding for every IP asset behind such a site.
	switch {
	case r.p.isIP && len(leaf.IPAddresses) == 0:
		r.add(idCertHostname, "", OutcomeSkipped, "", "scanned by IP address and the certificate lists no IP address", maps.Clone(base))
	default:
		if err := leaf.VerifyHostname(r.p.host); err != nil {
			r.add(idCertHostname, "", OutcomeFail, SeverityHigh, r.p.host+" is not covered by the certificate (names: "+orNone(strings.Join(certNames(leaf), ", "))+")", maps.Clone(base))
		} else {
			r.add(idCertHostname, "", OutcomePass, "", r.p.host+" is covered by the certificate", maps.Clone(base))
		}
	}

	// Validity.
	var expired, notYet []string
	for _, c := range judged {
		if now.After(c.NotAfter) {
			expired = append(expired, fmt.Sprintf("%s expired %s", certName(c), c.NotAfter.UTC().Format(time.RFC3339)))
		}
		if now.Before(c.NotBefore) {
			notYet = append(notYet, fmt.Sprintf("%s not valid before %s", certName(c), c.NotBefore.UTC().Format(time.RFC3339)))
		}
	}
	left := leaf.NotAfter.Sub(now)
	vf := withFact(base, "days_left", strconv.Itoa(int(left.Hours()/24)))
	switch {
	case len(expired) > 0 || len(notYet) > 0:
		r.add(idCertExpired, "", OutcomeFail, SeverityHigh, strings.Join(append(expired, notYet...), "; "), vf)
	case left < expiryWarning:
		r.add(idCertExpired, "", OutcomeWarn, SeverityMedium, fmt.Sprintf("certificate expires in %d days (%s)", int(left.Hours()/24), leaf.NotAfter.UTC().Format(time.RFC3339)), vf)
	default:
		r.add(idCertExpired, "", OutcomePass, "", "valid until "+leaf.NotAfter.UTC().Format(time.RFC3339), vf)
	}

	// Key strength.
	var weakKeys []string
	for _, c := range judged {
		if why := weakKey(c); why != "" {
			weakKeys = append(weakKeys, certName(c)+": "+why)
		}
	}
	if len(weakKeys) > 0 {
		r.add(idCertWeakKey, "", OutcomeFail, SeverityHigh, strings.Join(weakKeys, "; "), withFact(base, "key", keyDesc(leaf)))
	} else {
		r.add(idCertWeakKey, "", OutcomePass, "", "key: "+keyDesc(leaf), withFact(base, "key", keyDesc(leaf)))
	}

	// Signature algorithm.
	sf := withFact(base, "signature", leaf.SignatureAlgorithm.String())
	if len(weakSigs) > 0 {
		r.add(idCertWeakSig, "", OutcomeFail, SeverityHigh, "weak signature: "+strings.Join(weakSigs, "; "), sf)
	} else {
		r.add(idCertWeakSig, "", OutcomePass, "", "signature: "+leaf.SignatureAlgorithm.String(), sf)
	}
}

func (r *run) verifyChain(chain []*x509.Certificate, at time.Time) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         r.s.RootCAs,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

// commonValidity is the middle of the span in which every presented
// certificate is valid, if there is one.
func commonValidity(chain []*x509.Certificate) (time.Time, bool) {
	lo, hi := chain[0].NotBefore, chain[0].NotAfter
	for _, c := range chain[1:] {
		if c.NotBefore.After(lo) {
			lo = c.NotBefore
		}
		if c.NotAfter.Before(hi) {
			hi = c.NotAfter
		}
	}
	if !lo.Before(hi) {
		return time.Time{}, false
	}
	return lo.Add(hi.Sub(lo) / 2), true
}

func isExpiryError(err error) bool {
	var ie x509.CertificateInvalidError
	return errors.As(err, &ie) && ie.Reason == x509.Expired
}

// isSelfSigned: issuer equals subject and the certificate's own key signs
// it. When the signature algorithm is too weak for Go to check (MD5), equal
// key identifiers stand in for the signature check.
func isSelfSigned(c *x509.Certificate) bool {
	if !bytes.Equal(c.RawIssuer, c.RawSubject) {
		return false
	}
	err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
	if err == nil {
		return true
	}
	var insecure x509.InsecureAlgorithmError
	if errors.As(err, &insecure) {
		return len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)
	}
	return false
}

func weakKey(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 {
			return fmt.Sprintf("RSA %d bits (minimum 2048)", n)
		}
	case *ecdsa.PublicKey:
		if n := k.Curve.Params().BitSize; n < 256 {
			return fmt.Sprintf("ECDSA %d bits (minimum 256)", n)
		}
	case *dsa.PublicKey:
		return "DSA key (deprecated)"
	}
	return ""
}

func keyDesc(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	}
	return c.PublicKeyAlgorithm.String()
}

func certName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return "CN=" + c.Subject.CommonName
	}
	return c.Subject.String()
}

func certNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) > 10 {
		names = append(names[:10], fmt.Sprintf("(+%d more)", len(names)-10))
	}
	return names
}

func certFacts(c *x509.Certificate) map[string]string {
	return map[string]string{
		"subject":   certName(c),
		"issuer":    "CN=" + c.Issuer.CommonName,
		"not_after": c.NotAfter.UTC().Format(time.RFC3339),
		"names":     strings.Join(certNames(c), ", "),
	}
}

// withFact copies facts and adds one, since results must not share maps.
func withFact(facts map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(facts)+1)
	for a, b := range facts {
		out[a] = b
	}
	out[k] = v
	return out
}
