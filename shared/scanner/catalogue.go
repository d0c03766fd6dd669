package scanner

import (
	"slices"
	"strings"
	"sync"
)

// Category is a taxonomy category code. The built-in taxonomy must hold
// every code listed by Categories, since scan findings carry them.
type Category string

const (
	CategoryCryptography          Category = "cryptography"
	CategoryTLS                   Category = "tls"
	CategoryCertificates          Category = "certificates"
	CategoryHTTPHeaders           Category = "http_headers"
	CategoryEmailSecurity         Category = "email_security"
	CategoryDNS                   Category = "dns"
	CategoryExposedServices       Category = "exposed_services"
	CategoryInformationDisclosure Category = "information_disclosure"
	CategoryConfiguration         Category = "configuration"
)

// CategoryInfo is a category code with a default label.
type CategoryInfo struct {
	Code  Category `json:"code"`
	Label string   `json:"label"`
}

// categories is the one list of scanner categories; the taxonomy's built-in
// version and the check table below both draw on it.
var categories = []CategoryInfo{
	{CategoryCryptography, "Cryptography"},
	{CategoryTLS, "TLS configuration"},
	{CategoryCertificates, "Certificates"},
	{CategoryHTTPHeaders, "HTTP security headers"},
	{CategoryEmailSecurity, "Email security"},
	{CategoryDNS, "DNS"},
	{CategoryExposedServices, "Exposed services"},
	{CategoryInformationDisclosure, "Information disclosure"},
	{CategoryConfiguration, "Configuration"},
}

// Categories returns the scanner's category codes with default labels.
func Categories() []CategoryInfo { return slices.Clone(categories) }

// NIS2 Article 21(2) measures that scanner findings are evidence for. The
// letters follow Directive (EU) 2022/2555; the placement of individual checks
// follows the technical annex of Implementing Regulation (EU) 2024/2690:
//
//   - (h) "policies and procedures regarding the use of cryptography and,
//     where appropriate, encryption": everything that decides whether traffic
//     is encrypted with sound algorithms and authenticated keys, so TLS
//     versions and ciphers, certificates, HSTS and the HTTP-to-HTTPS
//     redirect (they enforce encryption in transit), the Secure cookie flag
//     (a cookie without it leaks over cleartext), DNSSEC (signed DNS
//     answers) and CAA (which CAs may issue certificates for the name).
//   - (e) "security in network and information systems acquisition,
//     development and maintenance, including vulnerability handling and
//     disclosure": secure configuration of what is deployed, so browser
//     security headers, cookie attributes other than Secure, version
//     disclosure (a patching signal), security.txt (vulnerability disclosure
//     is named in (e)), files left in the web root, and services exposed to
//     the internet (the annex's network-security measures sit under (e)).
//   - (g) "basic cyber hygiene practices": domain email authentication
//     (SPF, DMARC, MX), the baseline every domain owner is expected to
//     publish. (j) "secured ... text communications" could also be argued
//     for email; a finding names one measure, and (g) is how NIS2 readiness
//     reviews usually file it.
const (
	NIS2Development  = "e"
	NIS2CyberHygiene = "g"
	NIS2Cryptography = "h"
)

// Check is one catalogue entry: what a check looks for, how bad a failure
// is, and how to fix it.
type Check struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Severity is the severity of a typical failure; SeverityRules says when
	// a result is rated differently.
	Severity      Severity `json:"severity"`
	SeverityRules string   `json:"severity_rules"`
	Remediation   string   `json:"remediation"`
	References    []string `json:"references"`
	Category      Category `json:"category"`
	// NIS2 is the Article 21(2) letter the check is evidence for.
	NIS2 string `json:"nis2"`
	// AppliesTo lists the target types the check runs on.
	AppliesTo []string `json:"applies_to"`
}

var (
	webTargets  = []string{TargetDomain, TargetHost, TargetIP, TargetURL}
	hostTargets = []string{TargetHost, TargetIP, TargetURL}
	dnsTargets  = []string{TargetDomain}
)

// Check ids used by the checks. Constants keep the runner and the catalogue
// from drifting apart; the catalogue test fails when one lacks an entry.
const (
	idTLSLegacy        = "tls.protocol.legacy"
	idTLSModernMissing = "tls.protocol.modern.missing"
	idTLSWeakCipher    = "tls.cipher.weak"
	idTLSNoPFS         = "tls.cipher.forward_secrecy.missing"
	idCertUntrusted    = "tls.certificate.untrusted"
	idCertSelfSigned   = "tls.certificate.self_signed"
	idCertHostname     = "tls.certificate.hostname_mismatch"
	idCertExpired      = "tls.certificate.expired"
	idCertWeakKey      = "tls.certificate.weak_key"
	idCertWeakSig      = "tls.certificate.weak_signature"

	idHTTPSRedirect      = "http.https.redirect.missing"
	idHSTSMissing        = "http.hsts.missing"
	idHSTSShort          = "http.hsts.max_age.short"
	idHSTSSubdomains     = "http.hsts.include_subdomains.missing"
	idHSTSPreload        = "http.hsts.preload.missing"
	idCSPMissing         = "http.csp.missing"
	idCSPUnsafe          = "http.csp.unsafe"
	idCSPFrameAncestors  = "http.csp.frame_ancestors.missing"
	idXFOMissing         = "http.x_frame_options.missing"
	idXCTOMissing        = "http.x_content_type_options.missing"
	idReferrerPolicy     = "http.referrer_policy.missing"
	idPermissionsPolicy  = "http.permissions_policy.missing"
	idCookieSecure       = "http.cookie.secure.missing"
	idCookieHTTPOnly     = "http.cookie.httponly.missing"
	idCookieSameSite     = "http.cookie.samesite.missing"
	idVersionDisclosure  = "http.version.disclosure"
	idSecurityTxtMissing = "http.security_txt.missing"
	idSecurityTxtInvalid = "http.security_txt.invalid"
	idExposedGit         = "http.exposed.git"
	idExposedEnv         = "http.exposed.env"

	idSPFMissing    = "dns.spf.missing"
	idSPFPermissive = "dns.spf.permissive"
	idSPFInvalid    = "dns.spf.invalid"
	idDMARCMissing  = "dns.dmarc.missing"
	idDMARCNone     = "dns.dmarc.policy_none"
	idDNSSECMissing = "dns.dnssec.missing"
	idCAAMissing    = "dns.caa.missing"
	idMXMissing     = "dns.mx.missing"

	serviceCheckPrefix = "service.exposed."
	idServiceOther     = serviceCheckPrefix + "other"
)

// service describes a network service that should not face the internet.
type service struct {
	name     string
	label    string
	port     int
	severity Severity
	// banner: the server speaks first, so a short read costs nothing but
	// the wait and sends nothing.
	banner bool
	why    string
	refs   []string
}

var cisControls = "https://www.cisecurity.org/controls"

// services drives both DefaultPorts and the service.exposed.* entries.
var services = []service{
	{"ftp", "FTP", 21, SeverityMedium, true,
		"FTP sends credentials and data in cleartext and is a common brute-force target.",
		[]string{"https://www.rfc-editor.org/rfc/rfc4217", cisControls}},
	{"telnet", "Telnet", 23, SeverityHigh, true,
		"Telnet is an unencrypted remote shell: credentials cross the network in cleartext.",
		[]string{"https://www.rfc-editor.org/rfc/rfc4251", cisControls}},
	{"smb", "SMB", 445, SeverityCritical, false,
		"SMB exposed to the internet has been the entry point of wormable attacks (EternalBlue, WannaCry).",
		[]string{"https://nvd.nist.gov/vuln/detail/CVE-2017-0144", cisControls}},
	{"rdp", "RDP", 3389, SeverityCritical, false,
		"Internet-facing RDP is a leading ransomware entry point through brute force and pre-authentication flaws (BlueKeep).",
		[]string{"https://nvd.nist.gov/vuln/detail/CVE-2019-0708", cisControls}},
	{"mysql", "MySQL", 3306, SeverityCritical, true,
		"A database listening on the internet exposes its authentication and every pre-authentication flaw to anyone.",
		[]string{"https://dev.mysql.com/doc/refman/8.0/en/security-guidelines.html", cisControls}},
	{"postgres", "PostgreSQL", 5432, SeverityCritical, false,
		"A database listening on the internet exposes its authentication and every pre-authentication flaw to anyone.",
		[]string{"https://www.postgresql.org/docs/current/auth-pg-hba-conf.html", cisControls}},
	{"mssql", "Microsoft SQL Server", 1433, SeverityCritical, false,
		"A database listening on the internet exposes its authentication and every pre-authentication flaw to anyone.",
		[]string{"https://learn.microsoft.com/en-us/sql/relational-databases/security/securing-sql-server", cisControls}},
	{"redis", "Redis", 6379, SeverityCritical, false,
		"Redis often runs without authentication; an exposed instance gives away its data and, through CONFIG, the host.",
		[]string{"https://redis.io/docs/latest/operate/oss_and_stack/management/security/", cisControls}},
	{"mongodb", "MongoDB", 27017, SeverityCritical, false,
		"Exposed MongoDB instances are routinely found without authentication, emptied and held to ransom.",
		[]string{"https://www.mongodb.com/docs/manual/administration/security-checklist/", cisControls}},
	{"elasticsearch", "Elasticsearch", 9200, SeverityCritical, false,
		"An exposed Elasticsearch HTTP API without security enabled gives read and write access to every index.",
		[]string{"https://www.elastic.co/guide/en/elasticsearch/reference/current/secure-cluster.html", cisControls}},
	{"memcached", "Memcached", 11211, SeverityHigh, false,
		"Memcached has no authentication by default, leaks cached data and has been abused for DDoS amplification.",
		[]string{"https://nvd.nist.gov/vuln/detail/CVE-2018-1000115", cisControls}},
	{"vnc", "VNC", 5900, SeverityHigh, true,
		"VNC gives a remote desktop, often behind a weak password only.",
		[]string{"https://www.rfc-editor.org/rfc/rfc6143", cisControls}},
}

var (
	refMozillaTLS = "https://wiki.mozilla.org/Security/Server_Side_TLS"
	refNIST80052  = "https://csrc.nist.gov/pubs/sp/800/52/r2/final"
	refOWASPHdrs  = "https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html"
	refHSTS       = "https://www.rfc-editor.org/rfc/rfc6797"
	refCSP        = "https://www.w3.org/TR/CSP3/"
	refCookies    = "https://www.rfc-editor.org/rfc/rfc6265"
	refOWASPSess  = "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html"
	refSecTxt     = "https://www.rfc-editor.org/rfc/rfc9116"
	refSPF        = "https://www.rfc-editor.org/rfc/rfc7208"
	refDMARC      = "https://www.rfc-editor.org/rfc/rfc7489"
	refBaseline   = "https://cabforum.org/working-groups/server/baseline-requirements/requirements/"
)

func buildCatalogue() []Check {
	cs := []Check{
		{
			ID: idTLSLegacy, Title: "Legacy TLS/SSL protocol version offered",
			Description:   "The server completes a handshake with SSLv3, TLS 1.0 or TLS 1.1. These versions rely on obsolete constructions (MD5/SHA-1 PRF, CBC without encrypt-then-MAC) and are deprecated by RFC 8996; SSLv3 is broken by POODLE. One result per version.",
			Severity:      SeverityMedium,
			SeverityRules: "SSLv3 offered: high. TLS 1.0 or TLS 1.1 offered: medium. Not offered: pass.",
			Remediation:   "Disable SSLv3, TLS 1.0 and TLS 1.1 on the server or load balancer; offer TLS 1.2 and TLS 1.3 only.",
			References:    []string{"https://www.rfc-editor.org/rfc/rfc8996", refMozillaTLS, refNIST80052},
			Category:      CategoryTLS, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idTLSModernMissing, Title: "Neither TLS 1.2 nor TLS 1.3 supported",
			Description:   "The server speaks TLS but accepts neither TLS 1.2 nor TLS 1.3, so every client uses a deprecated protocol version.",
			Severity:      SeverityHigh,
			SeverityRules: "No TLS 1.2 and no TLS 1.3: high. Either supported: pass.",
			Remediation:   "Upgrade the TLS stack and enable TLS 1.2 and TLS 1.3.",
			References:    []string{"https://www.rfc-editor.org/rfc/rfc8446", refNIST80052},
			Category:      CategoryTLS, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idTLSWeakCipher, Title: "Weak TLS cipher suites accepted",
			Description:   "The server negotiates cipher suites from a weak family. One result per family: null (no encryption), anon (no authentication), export (40/56-bit keys, FREAK/Logjam), des (56-bit), rc4 (RFC 7465), 3des (64-bit blocks, Sweet32) and cbc_sha1 (CBC with HMAC-SHA1, padding-oracle prone and excluded from current recommendations).",
			Severity:      SeverityHigh,
			SeverityRules: "null, anon, export, des or rc4 accepted: fail, high. 3des accepted: fail, medium. cbc_sha1 accepted: warn, low. None accepted: pass.",
			Remediation:   "Restrict the cipher list to AEAD suites with ECDHE key exchange (for TLS 1.2: ECDHE with AES-GCM or ChaCha20-Poly1305); TLS 1.3 suites are all sound.",
			References:    []string{"https://www.rfc-editor.org/rfc/rfc7465", "https://sweet32.info/", "https://weakdh.org/", refMozillaTLS},
			Category:      CategoryCryptography, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idTLSNoPFS, Title: "No forward secrecy",
			Description:   "The server accepts no key exchange with forward secrecy (TLS 1.3, or ECDHE/DHE in TLS 1.2 and below), so a stolen private key decrypts recorded past traffic.",
			Severity:      SeverityMedium,
			SeverityRules: "No TLS 1.3 and no ECDHE/DHE suite accepted: medium. Otherwise pass.",
			Remediation:   "Enable TLS 1.3 and ECDHE cipher suites, and prefer them over static RSA key exchange.",
			References:    []string{refMozillaTLS, refNIST80052},
			Category:      CategoryCryptography, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idCertUntrusted, Title: "Certificate chain not trusted",
			Description:   "The certificate chain the server presents does not build to a trusted root (unknown issuer, missing intermediate, invalid signature or constraints). Browsers refuse the connection or users learn to click through warnings. A self-signed leaf or a SHA-1/MD5-signed chain is reported by its own check instead, so one cause yields one finding.",
			Severity:      SeverityHigh,
			SeverityRules: "Chain does not verify: high. Verifies: pass. Self-signed leaf or weak signature: skipped here.",
			Remediation:   "Serve a certificate from a publicly trusted CA together with its full intermediate chain.",
			References:    []string{"https://www.rfc-editor.org/rfc/rfc5280", refBaseline},
			Category:      CategoryCertificates, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idCertSelfSigned, Title: "Self-signed certificate",
			Description:   "The server presents a self-signed certificate that is not itself a trusted root: clients cannot authenticate the server, which makes interception undetectable.",
			Severity:      SeverityHigh,
			SeverityRules: "Self-signed and not trusted: high. Otherwise pass.",
			Remediation:   "Replace the certificate with one issued by a publicly trusted CA (for example through ACME).",
			References:    []string{refBaseline},
			Category:      CategoryCertificates, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idCertHostname, Title: "Certificate does not match the host name",
			Description:   "None of the certificate's subject alternative names covers the scanned name, so clients reject it as issued for someone else.",
			Severity:      SeverityHigh,
			SeverityRules: "Name not covered: high. Covered: pass. IP targets whose certificate lists no IP address: skipped (nobody browses by address).",
			Remediation:   "Issue a certificate whose subject alternative names include every name the service is reached by.",
			References:    []string{"https://www.rfc-editor.org/rfc/rfc9525"},
			Category:      CategoryCertificates, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idCertExpired, Title: "Certificate expired, not yet valid or expiring soon",
			Description:   "A certificate of the presented chain is outside its validity period, or the leaf expires within 30 days.",
			Severity:      SeverityHigh,
			SeverityRules: "Expired or not yet valid: fail, high. Leaf expires within 30 days: warn, medium. Otherwise pass.",
			Remediation:   "Renew the certificate and automate renewal (ACME) with monitoring of expiry dates.",
			References:    []string{"https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.5", refBaseline},
			Category:      CategoryCertificates, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idCertWeakKey, Title: "Weak certificate key",
			Description:   "A presented certificate uses a key below current minimums (RSA under 2048 bits, ECDSA under 256 bits, or DSA).",
			Severity:      SeverityHigh,
			SeverityRules: "RSA < 2048 bits, ECDSA < 256 bits or DSA: high. Otherwise pass.",
			Remediation:   "Generate a new key (RSA 2048+ or ECDSA P-256+) and reissue the certificate.",
			References:    []string{refBaseline, refNIST80052},
			Category:      CategoryCertificates, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idCertWeakSig, Title: "Certificate signed with SHA-1 or MD5",
			Description:   "A presented certificate (other than a trust anchor) is signed with SHA-1 or MD5, for which practical collisions exist; browsers reject such chains.",
			Severity:      SeverityHigh,
			SeverityRules: "SHA-1 or MD5 signature in the chain: high. Otherwise pass.",
			Remediation:   "Reissue the certificate (and any intermediate) with a SHA-256 or stronger signature.",
			References:    []string{"https://shattered.io/", refBaseline},
			Category:      CategoryCertificates, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idHTTPSRedirect, Title: "HTTP does not redirect to HTTPS",
			Description:   "The plain-HTTP service answers without redirecting to HTTPS, so users who type the name or follow an http:// link stay on an unencrypted, tamperable connection.",
			Severity:      SeverityMedium,
			SeverityRules: "HTTP serves content or redirects to another http:// URL: medium. Redirects to https://: pass. No HTTP service: skipped.",
			Remediation:   "Answer every plain-HTTP request with a 301 or 308 redirect to the same resource over HTTPS, and add HSTS.",
			References:    []string{refHSTS, refOWASPHdrs},
			Category:      CategoryTLS, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idHSTSMissing, Title: "HSTS header missing",
			Description:   "HTTPS responses carry no Strict-Transport-Security header, so browsers will still try plain HTTP first and an active attacker can strip TLS.",
			Severity:      SeverityMedium,
			SeverityRules: "No HSTS on HTTPS: medium. Present: pass. No HTTPS service: skipped.",
			Remediation:   "Send Strict-Transport-Security: max-age=31536000; includeSubDomains on every HTTPS response.",
			References:    []string{refHSTS, refOWASPHdrs},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idHSTSShort, Title: "HSTS max-age too short",
			Description:   "The HSTS max-age is below six months (15768000 seconds), so the protection lapses between visits.",
			Severity:      SeverityLow,
			SeverityRules: "max-age below 15768000: warn, low. Otherwise pass.",
			Remediation:   "Raise max-age to at least 15768000, preferably 31536000 (one year).",
			References:    []string{refHSTS, "https://hstspreload.org/"},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idHSTSSubdomains, Title: "HSTS without includeSubDomains",
			Description:   "HSTS does not cover subdomains, so a cleartext subdomain can be used to set or overwrite cookies for the site.",
			Severity:      SeverityLow,
			SeverityRules: "HSTS present without includeSubDomains: warn, low. Otherwise pass.",
			Remediation:   "Add includeSubDomains once every subdomain serves HTTPS.",
			References:    []string{refHSTS},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idHSTSPreload, Title: "HSTS not marked for preloading",
			Description:   "HSTS lacks the preload directive, so the very first visit to the site is still unprotected.",
			Severity:      SeverityInfo,
			SeverityRules: "HSTS present without preload: warn, info. Otherwise pass.",
			Remediation:   "When the whole domain serves HTTPS, add preload and submit the domain to the browser preload list.",
			References:    []string{"https://hstspreload.org/"},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idCSPMissing, Title: "Content-Security-Policy missing",
			Description:   "The page sets no Content-Security-Policy, the main browser defence that limits the impact of cross-site scripting and content injection.",
			Severity:      SeverityMedium,
			SeverityRules: "No CSP header: medium. Present: pass. Response redirects to another host: skipped.",
			Remediation:   "Define a Content-Security-Policy restricting script sources (nonces or hashes), object-src 'none', base-uri and frame-ancestors.",
			References:    []string{refCSP, "https://developer.mozilla.org/en-US/docs/Web/HTTP/CSP"},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idCSPUnsafe, Title: "Content-Security-Policy allows unsafe script sources",
			Description:   "The policy's script-src (or default-src) allows 'unsafe-inline' without nonces, hashes or 'strict-dynamic', or allows 'unsafe-eval', which gives injected scripts a way to run. One result per keyword.",
			Severity:      SeverityLow,
			SeverityRules: "'unsafe-inline' (not neutralised by a nonce, hash or 'strict-dynamic') or 'unsafe-eval' for scripts: warn, low. Otherwise pass.",
			Remediation:   "Replace inline scripts with nonce- or hash-based sources and remove 'unsafe-eval'.",
			References:    []string{refCSP},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idCSPFrameAncestors, Title: "Content-Security-Policy without frame-ancestors",
			Description:   "The policy does not set frame-ancestors, the standard replacement for X-Frame-Options.",
			Severity:      SeverityInfo,
			SeverityRules: "CSP present without frame-ancestors: warn, info. No CSP: skipped (reported as missing).",
			Remediation:   "Add frame-ancestors 'self' (or 'none') to the policy.",
			References:    []string{refCSP},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idXFOMissing, Title: "Clickjacking protection missing",
			Description:   "The page sets neither X-Frame-Options (DENY or SAMEORIGIN) nor CSP frame-ancestors, so another site can frame it and trick users into clicks.",
			Severity:      SeverityMedium,
			SeverityRules: "Neither header: medium. Either present: pass.",
			Remediation:   "Send X-Frame-Options: DENY (or SAMEORIGIN) and CSP frame-ancestors.",
			References:    []string{"https://www.rfc-editor.org/rfc/rfc7034", refOWASPHdrs},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idXCTOMissing, Title: "X-Content-Type-Options: nosniff missing",
			Description:   "Without nosniff, browsers may guess a response's type and execute uploaded or reflected content as script or style.",
			Severity:      SeverityLow,
			SeverityRules: "Header absent or not nosniff: low. Otherwise pass.",
			Remediation:   "Send X-Content-Type-Options: nosniff on every response.",
			References:    []string{refOWASPHdrs},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idReferrerPolicy, Title: "Referrer-Policy missing or unsafe",
			Description:   "Without a Referrer-Policy the browser default applies; unsafe-url or no-referrer-when-downgrade send full URLs (with tokens in query strings) to other sites.",
			Severity:      SeverityLow,
			SeverityRules: "unsafe-url or no-referrer-when-downgrade: fail, low. Absent: warn, low (modern browsers default to strict-origin-when-cross-origin). Otherwise pass.",
			Remediation:   "Send Referrer-Policy: strict-origin-when-cross-origin (or stricter).",
			References:    []string{"https://www.w3.org/TR/referrer-policy/", refOWASPHdrs},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idPermissionsPolicy, Title: "Permissions-Policy missing",
			Description:   "No Permissions-Policy restricts powerful browser features (camera, microphone, geolocation) for the page and its frames.",
			Severity:      SeverityInfo,
			SeverityRules: "Absent: warn, info. Present: pass.",
			Remediation:   "Send a Permissions-Policy that disables the features the site does not use, e.g. camera=(), microphone=(), geolocation=().",
			References:    []string{"https://www.w3.org/TR/permissions-policy/", refOWASPHdrs},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idCookieSecure, Title: "Cookie without the Secure flag",
			Description:   "A cookie is set without Secure, so the browser also sends it over plain HTTP where it can be read or altered. One result per cookie.",
			Severity:      SeverityMedium,
			SeverityRules: "Cookie without Secure: medium. All cookies Secure, or no cookies: pass.",
			Remediation:   "Set the Secure attribute on every cookie (and serve the site over HTTPS only).",
			References:    []string{refCookies, refOWASPSess},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Cryptography, AppliesTo: webTargets,
		},
		{
			ID: idCookieHTTPOnly, Title: "Cookie without the HttpOnly flag",
			Description:   "A cookie is readable by page scripts, so a cross-site scripting flaw can steal it. Some cookies (CSRF tokens) need script access by design. One result per cookie.",
			Severity:      SeverityLow,
			SeverityRules: "Cookie without HttpOnly: warn, low. Otherwise pass.",
			Remediation:   "Set HttpOnly on session and authentication cookies.",
			References:    []string{refCookies, refOWASPSess},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idCookieSameSite, Title: "Cookie without a safe SameSite attribute",
			Description:   "A cookie has no SameSite attribute (browser behaviour then varies) or SameSite=None without Secure (browsers drop it). One result per cookie.",
			Severity:      SeverityLow,
			SeverityRules: "SameSite=None without Secure: fail, low. SameSite absent: warn, low. Otherwise pass.",
			Remediation:   "Set SameSite=Lax or Strict; use SameSite=None only with Secure for cookies that must cross sites.",
			References:    []string{"https://datatracker.ietf.org/doc/draft-ietf-httpbis-rfc6265bis/", refOWASPSess},
			Category:      CategoryHTTPHeaders, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idVersionDisclosure, Title: "Software version disclosed in HTTP headers",
			Description:   "Response headers name the server software with its version (Server with a version number, X-Powered-By, X-AspNet-Version), which lets attackers match known vulnerabilities without probing. One result per header.",
			Severity:      SeverityLow,
			SeverityRules: "A disclosing header: low. None: pass.",
			Remediation:   "Remove X-Powered-By and X-AspNet-Version and reduce Server to a product name without version; keep the software patched regardless.",
			References:    []string{"https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/01-Information_Gathering/02-Fingerprint_Web_Server"},
			Category:      CategoryInformationDisclosure, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idSecurityTxtMissing, Title: "security.txt missing",
			Description:   "No /.well-known/security.txt tells researchers how to report a vulnerability, which NIS2 Article 21(2)(e) expects to be handled.",
			Severity:      SeverityLow,
			SeverityRules: "Not served (or an HTML page instead): low. Served: pass.",
			Remediation:   "Publish /.well-known/security.txt over HTTPS with at least Contact and Expires fields (RFC 9116).",
			References:    []string{refSecTxt, "https://securitytxt.org/"},
			Category:      CategoryConfiguration, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idSecurityTxtInvalid, Title: "security.txt incomplete or expired",
			Description:   "The security.txt file lacks a Contact field or a valid future Expires field, so reporters cannot rely on it.",
			Severity:      SeverityLow,
			SeverityRules: "No Contact, no Expires, unparsable or past Expires: warn, low. Otherwise pass. File missing: skipped.",
			Remediation:   "Add Contact (mailto: or https:) and an RFC 3339 Expires less than a year ahead, and renew it before it passes.",
			References:    []string{refSecTxt},
			Category:      CategoryConfiguration, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idExposedGit, Title: "Git repository exposed",
			Description:   "/.git/HEAD is served, so the repository (source code, history, often credentials) can be downloaded.",
			Severity:      SeverityHigh,
			SeverityRules: "/.git/HEAD answers with a Git ref: high. Otherwise pass.",
			Remediation:   "Remove the .git directory from the web root (deploy build artefacts only) and block dot-paths at the server; rotate secrets that were committed.",
			References:    []string{"https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/02-Configuration_and_Deployment_Management_Testing/04-Review_Old_Backup_and_Unreferenced_Files_for_Sensitive_Information"},
			Category:      CategoryInformationDisclosure, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idExposedEnv, Title: "Environment file (.env) exposed",
			Description:   "/.env is served and reads as KEY=VALUE lines: application secrets such as database passwords and API keys are public. The evidence names variables, never values.",
			Severity:      SeverityCritical,
			SeverityRules: "/.env answers with KEY=VALUE lines: critical. Otherwise pass.",
			Remediation:   "Remove the file from the web root, block dot-files at the server, and rotate every secret it contained.",
			References:    []string{"https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/02-Configuration_and_Deployment_Management_Testing/04-Review_Old_Backup_and_Unreferenced_Files_for_Sensitive_Information"},
			Category:      CategoryInformationDisclosure, NIS2: NIS2Development, AppliesTo: webTargets,
		},
		{
			ID: idSPFMissing, Title: "SPF record missing",
			Description:   "The domain publishes no SPF record, so receivers cannot tell which servers may send mail for it and spoofed mail is easier to deliver. Domains that send no mail should publish v=spf1 -all.",
			Severity:      SeverityMedium,
			SeverityRules: "No v=spf1 TXT record: medium. Present: pass.",
			Remediation:   "Publish a TXT record v=spf1 listing the sending services and ending in -all (or ~all while rolling out).",
			References:    []string{refSPF},
			Category:      CategoryEmailSecurity, NIS2: NIS2CyberHygiene, AppliesTo: dnsTargets,
		},
		{
			ID: idSPFPermissive, Title: "SPF policy too permissive",
			Description:   "The SPF record's final qualifier does not reject unlisted senders: +all authorises everyone, ?all or a missing all yields neutral, ~all only soft-fails.",
			Severity:      SeverityHigh,
			SeverityRules: "+all: fail, high. ?all or no all (and no redirect): fail, medium. ~all: warn, low. -all: pass.",
			Remediation:   "End the SPF record with -all once every legitimate sender is listed; pair it with DMARC.",
			References:    []string{refSPF},
			Category:      CategoryEmailSecurity, NIS2: NIS2CyberHygiene, AppliesTo: dnsTargets,
		},
		{
			ID: idSPFInvalid, Title: "SPF record invalid",
			Description:   "SPF evaluation ends in a permanent error that receivers treat like having no SPF: more than one SPF record, or more than 10 DNS-querying terms (include, a, mx, ptr, exists, redirect, counted through includes).",
			Severity:      SeverityMedium,
			SeverityRules: "Multiple records or more than 10 lookups: medium. Otherwise pass.",
			Remediation:   "Keep a single SPF record and flatten or remove includes until evaluation needs at most 10 lookups.",
			References:    []string{"https://www.rfc-editor.org/rfc/rfc7208#section-4.6.4"},
			Category:      CategoryEmailSecurity, NIS2: NIS2CyberHygiene, AppliesTo: dnsTargets,
		},
		{
			ID: idDMARCMissing, Title: "DMARC record missing or invalid",
			Description:   "No valid v=DMARC1 record with a p= policy at _dmarc.<domain>, so receivers have no instruction for mail that fails SPF and DKIM alignment, and the owner gets no reports.",
			Severity:      SeverityMedium,
			SeverityRules: "None, several, or without p=: medium. Valid: pass.",
			Remediation:   "Publish _dmarc TXT v=DMARC1; p=quarantine (or reject); rua=mailto:... after aligning SPF and DKIM.",
			References:    []string{refDMARC},
			Category:      CategoryEmailSecurity, NIS2: NIS2CyberHygiene, AppliesTo: dnsTargets,
		},
		{
			ID: idDMARCNone, Title: "DMARC policy is none",
			Description:   "The DMARC policy is p=none (monitoring only): spoofed mail is still delivered.",
			Severity:      SeverityLow,
			SeverityRules: "p=none: warn, low. quarantine or reject: pass.",
			Remediation:   "After reviewing aggregate reports, move to p=quarantine and then p=reject.",
			References:    []string{refDMARC},
			Category:      CategoryEmailSecurity, NIS2: NIS2CyberHygiene, AppliesTo: dnsTargets,
		},
		{
			ID: idDNSSECMissing, Title: "DNSSEC not enabled",
			Description:   "The domain's zone is not signed with DNSSEC (no DNSKEY), or is signed but the parent holds no DS record, so resolvers cannot authenticate its answers and spoofed records go undetected.",
			Severity:      SeverityLow,
			SeverityRules: "No DNSKEY at the zone apex: fail, low. DNSKEY and signatures but no DS at the parent: warn, low. Signed and delegated: pass.",
			Remediation:   "Enable DNSSEC signing at the DNS provider and publish the DS record at the registrar.",
			References:    []string{"https://www.rfc-editor.org/rfc/rfc4033"},
			Category:      CategoryDNS, NIS2: NIS2Cryptography, AppliesTo: dnsTargets,
		},
		{
			ID: idCAAMissing, Title: "No CAA record",
			Description:   "No CAA record (at the name or a parent) limits which certificate authorities may issue certificates for the domain.",
			Severity:      SeverityLow,
			SeverityRules: "No CAA up the tree: warn, low. Present: pass.",
			Remediation:   "Publish CAA records naming the CAs you use, e.g. 0 issue \"letsencrypt.org\", and an iodef contact.",
			References:    []string{"https://www.rfc-editor.org/rfc/rfc8659"},
			Category:      CategoryDNS, NIS2: NIS2Cryptography, AppliesTo: dnsTargets,
		},
		{
			ID: idMXMissing, Title: "No MX record",
			Description:   "The domain has no MX record. If it receives no mail this is expected, but an explicit null MX (RFC 7505) says so and stops mail being attempted at the A record.",
			Severity:      SeverityInfo,
			SeverityRules: "No MX: warn, info. MX or null MX: pass.",
			Remediation:   "Publish MX records for mail-receiving domains, or a null MX (0 .) for domains that receive no mail.",
			References:    []string{"https://www.rfc-editor.org/rfc/rfc7505"},
			Category:      CategoryEmailSecurity, NIS2: NIS2CyberHygiene, AppliesTo: dnsTargets,
		},
	}
	for _, s := range services {
		cs = append(cs, Check{
			ID:            serviceCheckPrefix + s.name,
			Title:         s.label + " exposed to the internet",
			Description:   s.why + " The result names the port and any banner the service sent unprompted; one result per port.",
			Severity:      s.severity,
			SeverityRules: "Port accepts connections: " + string(s.severity) + " (the scanner's port list can change it). Closed or filtered: pass.",
			Remediation:   "Close the port at the firewall or security group, or restrict it to known addresses or a VPN; never expose " + s.label + " directly.",
			References:    s.refs,
			Category:      CategoryExposedServices, NIS2: NIS2Development, AppliesTo: hostTargets,
		})
	}
	cs = append(cs, Check{
		ID:            idServiceOther,
		Title:         "Sensitive service exposed to the internet",
		Description:   "A port from the scanner's configured list that is not one of the built-in services accepts connections.",
		Severity:      SeverityMedium,
		SeverityRules: "Port accepts connections: the severity configured for it (medium by default). Closed or filtered: pass.",
		Remediation:   "Close the port or restrict it to known addresses or a VPN.",
		References:    []string{cisControls},
		Category:      CategoryExposedServices, NIS2: NIS2Development, AppliesTo: hostTargets,
	})
	slices.SortFunc(cs, func(a, b Check) int { return strings.Compare(a.ID, b.ID) })
	return cs
}

var catalogue = sync.OnceValues(func() ([]Check, map[string]int) {
	cs := buildCatalogue()
	idx := make(map[string]int, len(cs))
	for i, c := range cs {
		idx[c.ID] = i
	}
	return cs, idx
})

// Catalogue returns every check, sorted by id. The slice is a copy the
// caller may keep.
func Catalogue() []Check {
	cs, _ := catalogue()
	out := make([]Check, len(cs))
	for i, c := range cs {
		out[i] = c.clone()
	}
	return out
}

// LookupCheck returns the catalogue entry with the given id.
func LookupCheck(id string) (Check, bool) {
	cs, idx := catalogue()
	i, ok := idx[id]
	if !ok {
		return Check{}, false
	}
	return cs[i].clone(), true
}

// The catalogue is shared; callers get copies so they cannot edit it.
func (c Check) clone() Check {
	c.References = slices.Clone(c.References)
	c.AppliesTo = slices.Clone(c.AppliesTo)
	return c
}
