package scanner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var headerCheckIDs = []string{
	idHSTSMissing, idHSTSShort, idHSTSSubdomains, idHSTSPreload,
	idCSPMissing, idCSPUnsafe, idCSPFrameAncestors, idXFOMissing, idXCTOMissing,
	idReferrerPolicy, idPermissionsPolicy,
	idCookieSecure, idCookieHTTPOnly, idCookieSameSite, idVersionDisclosure,
}

var (
	hstsIDs    = []string{idHSTSMissing, idHSTSShort, idHSTSSubdomains, idHSTSPreload}
	contentIDs = []string{idCSPMissing, idCSPUnsafe, idCSPFrameAncestors, idXFOMissing, idXCTOMissing, idReferrerPolicy, idPermissionsPolicy}
)

const (
	// Page bodies are drained (to reuse the connection) but never kept.
	pageDrainLimit   = 64 << 10
	securityTxtLimit = 32 << 10
	// Sensitive files are judged on their first KiB: enough to recognise a
	// Git ref or KEY=VALUE lines, and a hostile server cannot make the
	// scanner read more.
	sensitiveFileLimit = 1 << 10
	maxRedirects       = 5
	maxCookies         = 20
	hstsMinAge         = 15768000 // six months, the usual minimum
)

type httpState struct {
	transport *http.Transport
	client    *http.Client
}

// hop is one HTTP response.
type hop struct {
	url       *url.URL
	status    int
	header    http.Header
	body      []byte // only when asked for
	truncated bool
}

func (h hop) location() *url.URL {
	if h.status < 300 || h.status > 399 {
		return nil
	}
	loc := h.header.Get("Location")
	if loc == "" {
		return nil
	}
	u, err := h.url.Parse(loc)
	if err != nil {
		return nil
	}
	return u
}

func (r *run) client() *http.Client {
	if r.http == nil {
		r.http = r.newHTTPClient()
	}
	return r.http.client
}

// webURL builds scheme://host[:port] plus path, leaving the port out when it
// is the scheme's default (so the Host header is what a browser sends).
func (r *run) webURL(scheme, path string) *url.URL {
	port, def := r.httpPort, 80
	if scheme == "https" {
		port, def = r.httpsPort, 443
	}
	host := r.p.host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != def {
		host = hostPort(r.p.host, port)
	}
	base := &url.URL{Scheme: scheme, Host: host, Path: "/"}
	ref, err := url.Parse(path)
	if err != nil {
		return base
	}
	return base.ResolveReference(ref)
}

// startPath is where page checks begin: a url target's own path (over
// either scheme: an http:// asset should redirect to the same path over
// HTTPS), else the root.
func (r *run) startPath(string) string {
	if r.p.kind == TargetURL {
		return r.p.path
	}
	return "/"
}

// fetch issues one GET. keep is how many body bytes to keep (0 to drain and
// discard up to pageDrainLimit).
func (r *run) fetch(ctx context.Context, u *url.URL, keep int) (hop, error) {
	ctx, cancel := r.withIO(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return hop{}, err
	}
	req.Header.Set("User-Agent", r.s.userAgent())
	req.Header.Set("Accept", "*/*")
	if err := r.silent[u.Scheme]; err != nil {
		return hop{}, err
	}
	resp, err := r.client().Do(req)
	if err != nil {
		if isTimeout(err) {
			// A server that let one request time out gets no more: each
			// would wait the same I/O timeout.
			r.markSilent(u.Scheme, err)
		}
		return hop{}, err
	}
	defer resp.Body.Close()
	h := hop{url: u, status: resp.StatusCode, header: resp.Header}
	if keep == 0 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, pageDrainLimit))
		return h, nil
	}
	// A read error after the headers leaves a partial body that is still
	// worth judging; closing the body drops the connection.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, int64(keep)+1))
	if len(body) > keep {
		body, h.truncated = body[:keep], true
	}
	h.body = body
	return h, nil
}

func (r *run) markSilent(scheme string, err error) {
	if r.silent == nil {
		r.silent = map[string]error{}
	}
	r.silent[scheme] = fmt.Errorf("not tried after an earlier timeout on this port (%s)", shortErr(err))
}

func sameHost(a, b *url.URL) bool { return strings.EqualFold(a.Hostname(), b.Hostname()) }

// webScheme prefers HTTPS, where the site should live.
func (r *run) webScheme() string {
	switch {
	case r.httpsOpen:
		return "https"
	case r.httpOpen:
		return "http"
	}
	return ""
}

func (r *run) noWeb() string {
	return fmt.Sprintf("no web service: ports %d and %d closed or filtered", r.httpPort, r.httpsPort)
}

func (r *run) stepRedirect(ctx context.Context) {
	if r.unreachable([]string{idHTTPSRedirect}) {
		return
	}
	if !r.httpOpen {
		r.add(idHTTPSRedirect, "", OutcomeSkipped, "", fmt.Sprintf("no plain-HTTP service: port %d closed or filtered", r.httpPort), nil)
		return
	}
	u := r.webURL("http", r.startPath("http"))
	noTLS := ""
	if !r.httpsOpen {
		noTLS = fmt.Sprintf(" (and no HTTPS service on port %d)", r.httpsPort)
	}
	for range maxRedirects + 1 {
		h, err := r.fetch(ctx, u, 0)
		if err != nil {
			r.add(idHTTPSRedirect, "", OutcomeError, "", "GET "+u.String()+": "+shortErr(err), nil)
			return
		}
		loc := h.location()
		facts := map[string]string{"url": u.String(), "status": strconv.Itoa(h.status)}
		switch {
		case loc == nil:
			r.add(idHTTPSRedirect, "", OutcomeFail, SeverityMedium,
				fmt.Sprintf("%s answers %d without redirecting to HTTPS%s", u, h.status, noTLS), facts)
			return
		case loc.Scheme == "https":
			facts["location"] = loc.String()
			r.add(idHTTPSRedirect, "", OutcomePass, "", fmt.Sprintf("%s redirects (%d) to %s", u, h.status, loc), facts)
			return
		case loc.Scheme != "http" || !sameHost(loc, u):
			facts["location"] = loc.String()
			r.add(idHTTPSRedirect, "", OutcomeFail, SeverityMedium,
				fmt.Sprintf("%s redirects to %s, not to HTTPS (other hosts are not followed)", u, loc), facts)
			return
		}
		u = loc
	}
	r.add(idHTTPSRedirect, "", OutcomeFail, SeverityMedium, fmt.Sprintf("more than %d plain-HTTP redirects without reaching HTTPS", maxRedirects), nil)
}

func (r *run) stepHeaders(ctx context.Context) {
	if r.unreachable(headerCheckIDs) {
		return
	}
	scheme := r.webScheme()
	if scheme == "" {
		r.addAll(headerCheckIDs, OutcomeSkipped, r.noWeb())
		return
	}
	// Follow redirects within the host and scheme to reach the page itself;
	// every hop counts for HSTS, cookies and version headers.
	u := r.webURL(scheme, r.startPath(scheme))
	var hops []hop
	for range maxRedirects + 1 {
		h, err := r.fetch(ctx, u, 0)
		if err != nil {
			if len(hops) == 0 {
				r.addAll(headerCheckIDs, OutcomeError, "GET "+u.String()+": "+shortErr(err))
				return
			}
			break
		}
		hops = append(hops, h)
		loc := h.location()
		if loc == nil || loc.Scheme != u.Scheme || !sameHost(loc, u) {
			break
		}
		u = loc
	}
	final := hops[len(hops)-1]

	r.checkHSTS(hops, scheme)
	if loc := final.location(); loc != nil && !sameHost(loc, final.url) {
		r.addAll(contentIDs, OutcomeSkipped, fmt.Sprintf("%s redirects to %s; page headers belong to that host (scan it as its own asset)", final.url, loc))
	} else {
		r.checkContentHeaders(final)
	}
	r.checkCookies(hops)
	r.checkDisclosure(hops)
}

func (r *run) checkHSTS(hops []hop, scheme string) {
	if scheme != "https" {
		r.addAll(hstsIDs, OutcomeSkipped, fmt.Sprintf("no HTTPS service on port %d: HSTS needs HTTPS", r.httpsPort))
		return
	}
	var raw string
	var from *url.URL
	for _, h := range hops {
		if h.url.Scheme == "https" {
			if v := h.header.Get("Strict-Transport-Security"); v != "" {
				raw, from = v, h.url
				break
			}
		}
	}
	maxAge, sub, preload, ok := parseHSTS(raw)
	if !ok {
		summary := "HTTPS responses carry no Strict-Transport-Security header"
		var facts map[string]string
		if raw != "" {
			summary = "Strict-Transport-Security has no valid max-age: " + clip(raw, 120)
			facts = map[string]string{"header": clip(raw, 200)}
		}
		r.add(idHSTSMissing, "", OutcomeFail, SeverityMedium, summary, facts)
		r.addAll(hstsIDs[1:], OutcomeSkipped, "no valid HSTS header: reported by "+idHSTSMissing)
		return
	}
	facts := map[string]string{"header": clip(raw, 200), "url": from.String()}
	r.add(idHSTSMissing, "", OutcomePass, "", "Strict-Transport-Security: "+clip(raw, 120), facts)
	if maxAge < hstsMinAge {
		r.add(idHSTSShort, "", OutcomeWarn, SeverityLow, fmt.Sprintf("max-age=%d is below %d (six months)", maxAge, hstsMinAge), facts)
	} else {
		r.add(idHSTSShort, "", OutcomePass, "", fmt.Sprintf("max-age=%d", maxAge), facts)
	}
	if sub {
		r.add(idHSTSSubdomains, "", OutcomePass, "", "includeSubDomains set", facts)
	} else {
		r.add(idHSTSSubdomains, "", OutcomeWarn, SeverityLow, "includeSubDomains not set", facts)
	}
	if preload {
		r.add(idHSTSPreload, "", OutcomePass, "", "preload set", facts)
	} else {
		r.add(idHSTSPreload, "", OutcomeWarn, SeverityInfo, "preload not set", facts)
	}
}

// parseHSTS reads an RFC 6797 header; ok is false without a valid max-age.
func parseHSTS(v string) (maxAge int64, sub, preload, ok bool) {
	for _, d := range strings.Split(v, ";") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
			if err != nil || n < 0 {
				return 0, false, false, false
			}
			maxAge, ok = n, true
		case "includesubdomains":
			sub = true
		case "preload":
			preload = true
		}
	}
	return maxAge, sub, preload, ok
}

// cspPolicy maps directive names to their lower-cased source lists.
type cspPolicy map[string][]string

func parseCSPHeader(h http.Header) []cspPolicy {
	var out []cspPolicy
	for _, v := range h.Values("Content-Security-Policy") {
		// Several policies may be joined with commas; each is enforced.
		for _, pol := range strings.Split(v, ",") {
			p := cspPolicy{}
			for _, d := range strings.Split(pol, ";") {
				f := strings.Fields(strings.ToLower(d))
				if len(f) == 0 {
					continue
				}
				if _, dup := p[f[0]]; !dup { // the first occurrence wins
					p[f[0]] = f[1:]
				}
			}
			if len(p) > 0 {
				out = append(out, p)
			}
		}
	}
	return out
}

func (p cspPolicy) scriptSources() ([]string, bool) {
	if s, ok := p["script-src"]; ok {
		return s, true
	}
	s, ok := p["default-src"]
	return s, ok
}

func (p cspPolicy) allowsInline() bool {
	src, ok := p.scriptSources()
	if !ok {
		return true
	}
	if !slices.Contains(src, "'unsafe-inline'") {
		return false
	}
	// A nonce, hash or 'strict-dynamic' makes browsers ignore 'unsafe-inline'
	// (it stays only as a fallback for very old browsers).
	for _, s := range src {
		if strings.HasPrefix(s, "'nonce-") || strings.HasPrefix(s, "'sha256-") || strings.HasPrefix(s, "'sha384-") || strings.HasPrefix(s, "'sha512-") || s == "'strict-dynamic'" {
			return false
		}
	}
	return true
}

func (p cspPolicy) allowsEval() bool {
	src, ok := p.scriptSources()
	return !ok || slices.Contains(src, "'unsafe-eval'")
}

func (r *run) checkContentHeaders(h hop) {
	hdr := h.header
	facts := func(name string) map[string]string {
		m := map[string]string{"url": h.url.String()}
		if v := hdr.Get(name); v != "" {
			m["header"] = clip(v, 300)
		}
		return m
	}

	// CSP. With several policies a script runs only if every one allows it.
	pols := parseCSPHeader(hdr)
	frameAncestors := false
	for _, p := range pols {
		if _, ok := p["frame-ancestors"]; ok {
			frameAncestors = true
		}
	}
	if len(pols) == 0 {
		r.add(idCSPMissing, "", OutcomeFail, SeverityMedium, "no Content-Security-Policy header", facts(""))
		r.addAll([]string{idCSPUnsafe, idCSPFrameAncestors}, OutcomeSkipped, "no CSP: reported by "+idCSPMissing)
	} else {
		r.add(idCSPMissing, "", OutcomePass, "", "Content-Security-Policy present", facts("Content-Security-Policy"))
		unrestricted, inline, eval := true, true, true
		for _, p := range pols {
			_, restricts := p.scriptSources()
			unrestricted = unrestricted && !restricts
			inline = inline && p.allowsInline()
			eval = eval && p.allowsEval()
		}
		switch {
		case unrestricted:
			r.add(idCSPUnsafe, "no-script-src", OutcomeWarn, SeverityLow, "the policy has neither script-src nor default-src, so scripts are unrestricted", facts("Content-Security-Policy"))
		case !inline && !eval:
			r.add(idCSPUnsafe, "", OutcomePass, "", "scripts are restricted without unsafe-inline or unsafe-eval", facts("Content-Security-Policy"))
		default:
			if inline {
				r.add(idCSPUnsafe, "unsafe-inline", OutcomeWarn, SeverityLow, "script sources allow 'unsafe-inline' without a nonce, hash or 'strict-dynamic'", facts("Content-Security-Policy"))
			}
			if eval {
				r.add(idCSPUnsafe, "unsafe-eval", OutcomeWarn, SeverityLow, "script sources allow 'unsafe-eval'", facts("Content-Security-Policy"))
			}
		}
		if frameAncestors {
			r.add(idCSPFrameAncestors, "", OutcomePass, "", "frame-ancestors set", facts("Content-Security-Policy"))
		} else {
			r.add(idCSPFrameAncestors, "", OutcomeWarn, SeverityInfo, "the policy does not set frame-ancestors", facts("Content-Security-Policy"))
		}
	}

	// Clickjacking.
	xfo := strings.ToUpper(strings.TrimSpace(hdr.Get("X-Frame-Options")))
	switch {
	case xfo == "DENY" || xfo == "SAMEORIGIN":
		r.add(idXFOMissing, "", OutcomePass, "", "X-Frame-Options: "+xfo, facts("X-Frame-Options"))
	case frameAncestors:
		r.add(idXFOMissing, "", OutcomePass, "", "CSP frame-ancestors set", facts("Content-Security-Policy"))
	case xfo != "":
		r.add(idXFOMissing, "", OutcomeFail, SeverityMedium, "X-Frame-Options value "+clip(xfo, 60)+" is not honoured by browsers, and CSP frame-ancestors is not set", facts("X-Frame-Options"))
	default:
		r.add(idXFOMissing, "", OutcomeFail, SeverityMedium, "neither X-Frame-Options nor CSP frame-ancestors is set", facts(""))
	}

	if strings.EqualFold(strings.TrimSpace(hdr.Get("X-Content-Type-Options")), "nosniff") {
		r.add(idXCTOMissing, "", OutcomePass, "", "X-Content-Type-Options: nosniff", facts("X-Content-Type-Options"))
	} else {
		r.add(idXCTOMissing, "", OutcomeFail, SeverityLow, "X-Content-Type-Options: nosniff is not set", facts("X-Content-Type-Options"))
	}

	// Referrer-Policy: browsers use the last token they understand.
	policy := ""
	for _, tok := range strings.Split(strings.ToLower(strings.Join(hdr.Values("Referrer-Policy"), ",")), ",") {
		switch tok = strings.TrimSpace(tok); tok {
		case "no-referrer", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin",
			"same-origin", "strict-origin", "strict-origin-when-cross-origin", "unsafe-url":
			policy = tok
		}
	}
	switch policy {
	case "":
		r.add(idReferrerPolicy, "", OutcomeWarn, SeverityLow, "no Referrer-Policy (browsers fall back to their default)", facts("Referrer-Policy"))
	case "unsafe-url", "no-referrer-when-downgrade":
		r.add(idReferrerPolicy, "", OutcomeFail, SeverityLow, "Referrer-Policy "+policy+" sends full URLs to other sites", facts("Referrer-Policy"))
	default:
		r.add(idReferrerPolicy, "", OutcomePass, "", "Referrer-Policy: "+policy, facts("Referrer-Policy"))
	}

	if hdr.Get("Permissions-Policy") != "" {
		r.add(idPermissionsPolicy, "", OutcomePass, "", "Permissions-Policy present", facts("Permissions-Policy"))
	} else if hdr.Get("Feature-Policy") != "" {
		r.add(idPermissionsPolicy, "", OutcomePass, "", "legacy Feature-Policy present", facts("Feature-Policy"))
	} else {
		r.add(idPermissionsPolicy, "", OutcomeWarn, SeverityInfo, "no Permissions-Policy header", facts(""))
	}
}

func (r *run) checkCookies(hops []hop) {
	var cookies []*http.Cookie
	from := map[string]string{}
	for _, h := range hops {
		for _, c := range (&http.Response{Header: h.header}).Cookies() {
			if _, seen := from[c.Name]; seen || len(cookies) >= maxCookies {
				continue
			}
			from[c.Name] = h.url.String()
			cookies = append(cookies, c)
		}
	}
	ids := []string{idCookieSecure, idCookieHTTPOnly, idCookieSameSite}
	if len(cookies) == 0 {
		r.addAll(ids, OutcomePass, "no cookies set")
		return
	}
	for _, c := range cookies {
		facts := map[string]string{"cookie": c.Name, "url": from[c.Name]}
		if c.Secure {
			r.add(idCookieSecure, c.Name, OutcomePass, "", "cookie "+c.Name+" is Secure", facts)
		} else {
			r.add(idCookieSecure, c.Name, OutcomeFail, SeverityMedium, "cookie "+c.Name+" is set without Secure", facts)
		}
		if c.HttpOnly {
			r.add(idCookieHTTPOnly, c.Name, OutcomePass, "", "cookie "+c.Name+" is HttpOnly", facts)
		} else {
			r.add(idCookieHTTPOnly, c.Name, OutcomeWarn, SeverityLow, "cookie "+c.Name+" is readable by scripts (no HttpOnly)", facts)
		}
		switch c.SameSite {
		case http.SameSiteLaxMode, http.SameSiteStrictMode:
			r.add(idCookieSameSite, c.Name, OutcomePass, "", "cookie "+c.Name+" has SameSite", facts)
		case http.SameSiteNoneMode:
			if c.Secure {
				r.add(idCookieSameSite, c.Name, OutcomePass, "", "cookie "+c.Name+" is SameSite=None; Secure", facts)
			} else {
				r.add(idCookieSameSite, c.Name, OutcomeFail, SeverityLow, "cookie "+c.Name+" is SameSite=None without Secure (browsers reject it)", facts)
			}
		default:
			r.add(idCookieSameSite, c.Name, OutcomeWarn, SeverityLow, "cookie "+c.Name+" has no valid SameSite attribute", facts)
		}
	}
}

// versionLike matches "product/1", "1.2" and similar version numbers.
var versionLike = regexp.MustCompile(`/v?\d|\d+\.\d+`)

func (r *run) checkDisclosure(hops []hop) {
	seen := map[string]bool{}
	n := 0
	for _, h := range hops {
		for _, name := range []string{"Server", "X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version"} {
			v := strings.TrimSpace(h.header.Get(name))
			key := strings.ToLower(name)
			if v == "" || seen[key] || (name == "Server" && !versionLike.MatchString(v)) {
				continue
			}
			seen[key] = true
			n++
			r.add(idVersionDisclosure, key, OutcomeFail, SeverityLow, name+": "+clip(v, 120),
				map[string]string{"header": name, "value": clip(v, 200), "url": h.url.String()})
		}
	}
	if n == 0 {
		r.add(idVersionDisclosure, "", OutcomePass, "", "no version-disclosing header", nil)
	}
}

func (r *run) stepSecurityTxt(ctx context.Context) {
	ids := []string{idSecurityTxtMissing, idSecurityTxtInvalid}
	if r.unreachable(ids) {
		return
	}
	scheme := r.webScheme()
	if scheme == "" {
		r.addAll(ids, OutcomeSkipped, r.noWeb())
		return
	}
	u := r.webURL(scheme, "/.well-known/security.txt")
	var h hop
	for i := 0; ; i++ {
		var err error
		h, err = r.fetch(ctx, u, securityTxtLimit)
		if err != nil {
			r.addAll(ids, OutcomeError, "GET "+u.String()+": "+shortErr(err))
			return
		}
		loc := h.location()
		if loc == nil || !sameHost(loc, u) || i >= maxRedirects {
			break
		}
		u = loc
	}
	facts := map[string]string{"url": u.String(), "status": strconv.Itoa(h.status)}
	fields, _ := parseSecurityTxt(h.body)
	if h.status != http.StatusOK || looksLikeHTML(h) || fields == 0 {
		why := fmt.Sprintf("%s answers %d", u, h.status)
		if h.status == http.StatusOK {
			// Sites that answer 200 to every path are common; only content
			// with security.txt fields counts as the file.
			why = u.String() + " answers 200 but not with a security.txt file"
		}
		r.add(idSecurityTxtMissing, "", OutcomeFail, SeverityLow, why, facts)
		r.add(idSecurityTxtInvalid, "", OutcomeSkipped, "", "no security.txt: reported by "+idSecurityTxtMissing, nil)
		return
	}
	r.add(idSecurityTxtMissing, "", OutcomePass, "", "security.txt served at "+u.String(), facts)
	problems := securityTxtProblems(h.body, r.s.now())
	if u.Scheme != "https" {
		problems = append(problems, "served over plain HTTP (RFC 9116 requires HTTPS)")
	}
	if len(problems) > 0 {
		r.add(idSecurityTxtInvalid, "", OutcomeWarn, SeverityLow, strings.Join(problems, "; "), facts)
	} else {
		r.add(idSecurityTxtInvalid, "", OutcomePass, "", "Contact and a future Expires present", facts)
	}
}

// securityTxtFields are the field names RFC 9116 defines.
var securityTxtFields = map[string]bool{
	"acknowledgments": true, "canonical": true, "contact": true, "encryption": true, "expires": true,
	"hiring": true, "policy": true, "preferred-languages": true, "csaf": true,
}

// parseSecurityTxt returns how many RFC 9116 fields the body holds and the
// values by lower-cased field name.
func parseSecurityTxt(body []byte) (int, map[string][]string) {
	n := 0
	vals := map[string][]string{}
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "-----BEGIN PGP SIGNATURE") {
			break // the signature block ends the signed content
		}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "-----") {
			continue
		}
		name, val, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || !securityTxtFields[name] {
			continue
		}
		n++
		vals[name] = append(vals[name], strings.TrimSpace(val))
	}
	return n, vals
}

// securityTxtProblems checks the RFC 9116 fields that make the file usable:
// at least one Contact and exactly one Expires in the future.
func securityTxtProblems(body []byte, now time.Time) []string {
	_, vals := parseSecurityTxt(body)
	var problems []string
	contacts := 0
	for _, c := range vals["contact"] {
		if c != "" {
			contacts++
		}
	}
	if contacts == 0 {
		problems = append(problems, "no Contact field")
	}
	expires := vals["expires"]
	switch {
	case len(expires) == 0:
		problems = append(problems, "no Expires field")
	case len(expires) > 1:
		problems = append(problems, "more than one Expires field")
	default:
		t, err := time.Parse(time.RFC3339, expires[0])
		switch {
		case err != nil:
			problems = append(problems, "Expires is not an RFC 3339 date: "+clip(expires[0], 60))
		case !t.After(now):
			problems = append(problems, "Expires "+expires[0]+" has passed")
		}
	}
	return problems
}

func looksLikeHTML(h hop) bool {
	if strings.Contains(strings.ToLower(h.header.Get("Content-Type")), "html") {
		return true
	}
	return bytes.HasPrefix(bytes.TrimSpace(h.body), []byte("<"))
}

var (
	gitHeadRef  = regexp.MustCompile(`^(ref: refs/\S+|[0-9a-f]{40}|[0-9a-f]{64})$`)
	envLine     = regexp.MustCompile(`^(export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=`)
	maxEnvNames = 10
)

func (r *run) stepExposedFiles(ctx context.Context) {
	ids := []string{idExposedGit, idExposedEnv}
	if r.unreachable(ids) {
		return
	}
	scheme := r.webScheme()
	if scheme == "" {
		r.addAll(ids, OutcomeSkipped, r.noWeb())
		return
	}
	// No redirect is followed: a file that is only reachable through a
	// redirect is not sitting in the web root, and the target of a redirect
	// may be another host.
	for _, f := range []struct {
		id, path string
		judge    func(hop) (bool, string, map[string]string)
	}{
		{idExposedGit, "/.git/HEAD", judgeGitHead},
		{idExposedEnv, "/.env", judgeEnv},
	} {
		u := r.webURL(scheme, f.path)
		h, err := r.fetch(ctx, u, sensitiveFileLimit)
		if err != nil {
			r.add(f.id, "", OutcomeError, "", "GET "+u.String()+": "+shortErr(err), nil)
			continue
		}
		facts := map[string]string{"url": u.String(), "status": strconv.Itoa(h.status)}
		// Judged on the bytes, not the Content-Type: servers label stray
		// files oddly, and an HTML error page matches neither pattern.
		if h.status != http.StatusOK {
			r.add(f.id, "", OutcomePass, "", fmt.Sprintf("%s answers %d", u, h.status), facts)
			continue
		}
		exposed, summary, more := f.judge(h)
		for k, v := range more {
			facts[k] = v
		}
		if exposed {
			c, _ := LookupCheck(f.id)
			r.add(f.id, "", OutcomeFail, c.Severity, u.String()+" is served: "+summary, facts)
		} else {
			r.add(f.id, "", OutcomePass, "", u.String()+" answers 200 but "+summary, facts)
		}
	}
}

func judgeGitHead(h hop) (bool, string, map[string]string) {
	first, _, _ := strings.Cut(strings.TrimSpace(string(h.body)), "\n")
	first = strings.TrimSpace(first)
	if gitHeadRef.MatchString(first) {
		return true, "Git HEAD " + clip(first, 100), map[string]string{"head": clip(first, 100)}
	}
	return false, "the content is not a Git HEAD", nil
}

// judgeEnv recognises KEY=VALUE files. Only names go into the evidence:
// the values are the customer's secrets and must not be copied into
// Rampart's storage and reports.
func judgeEnv(h hop) (bool, string, map[string]string) {
	lines := strings.Split(string(h.body), "\n")
	if h.truncated && len(lines) > 1 {
		lines = lines[:len(lines)-1] // the cut-off line proves nothing
	}
	var names []string
	total, matched := 0, 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		total++
		if m := envLine.FindStringSubmatch(l); m != nil {
			matched++
			if len(names) < maxEnvNames {
				names = append(names, m[2])
			}
		}
	}
	// Most lines must be assignments so a page that merely contains an "="
	// does not count.
	if matched == 0 || matched*5 < total*4 {
		return false, "the content does not look like KEY=VALUE lines", nil
	}
	summary := fmt.Sprintf("%d KEY=VALUE lines in the first %d bytes (names: %s)", matched, len(h.body), strings.Join(names, ", "))
	return true, summary, map[string]string{"variables": strings.Join(names, ","), "bytes_read": strconv.Itoa(len(h.body))}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
