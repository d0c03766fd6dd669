package scanner

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// webScan scans host web.test with the given HTTPS and HTTP handlers on
// loopback; a nil handler leaves that port closed.
func webScan(t *testing.T, httpsH, httpH http.Handler) TargetReport {
	t.Helper()
	ca := newTestCA(t, keyCA())
	s := testScanner(t)
	s.RootCAs = ca.pool
	s.Guard.Resolver = staticResolver{"web.test": {"127.0.0.1"}}
	if httpsH != nil {
		srv := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, leafSpec{names: []string{"web.test"}})}}, httpsH)
		s.HTTPSPort = portOf(t, srv.URL)
	}
	if httpH != nil {
		srv := httptest.NewServer(httpH)
		t.Cleanup(srv.Close)
		s.HTTPPort = portOf(t, srv.URL)
	}
	return s.ScanTarget(context.Background(), Target{AssetID: "web", Type: TargetHost, Value: "web.test"}, nil)
}

// headers returns a handler answering every path with the given headers.
func headers(kv ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Add(kv[i], kv[i+1])
		}
		fmt.Fprint(w, "<html><body>hello</body></html>")
	})
}

func TestHTTPHeaders(t *testing.T) {
	cases := []struct {
		name string
		h    http.Handler
		want map[string]string
	}{
		{"hardened", headers(
			"Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload",
			"Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-r4nd0m' 'unsafe-inline'; frame-ancestors 'none'",
			"X-Content-Type-Options", "nosniff",
			"X-Frame-Options", "DENY",
			"Referrer-Policy", "strict-origin-when-cross-origin",
			"Permissions-Policy", "camera=(), microphone=()",
			"Set-Cookie", "session=abc; Path=/; Secure; HttpOnly; SameSite=Lax",
			"Server", "nginx",
		), map[string]string{
			idHSTSMissing: "pass", idHSTSShort: "pass", idHSTSSubdomains: "pass", idHSTSPreload: "pass",
			idCSPMissing: "pass", idCSPUnsafe: "pass", idCSPFrameAncestors: "pass",
			idXFOMissing: "pass", idXCTOMissing: "pass", idReferrerPolicy: "pass", idPermissionsPolicy: "pass",
			idCookieSecure + "/session": "pass", idCookieHTTPOnly + "/session": "pass", idCookieSameSite + "/session": "pass",
			idVersionDisclosure: "pass",
		}},
		{"bare", headers(), map[string]string{
			idHSTSMissing: "fail:medium", idHSTSShort: "skipped",
			idCSPMissing: "fail:medium", idCSPUnsafe: "skipped",
			idXFOMissing: "fail:medium", idXCTOMissing: "fail:low",
			idReferrerPolicy: "warn:low", idPermissionsPolicy: "warn:info",
			idCookieSecure: "pass", idVersionDisclosure: "pass",
		}},
		{"weak", headers(
			"Strict-Transport-Security", "max-age=300",
			"Content-Security-Policy", "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
			"X-Frame-Options", "ALLOW-FROM https://example.com",
			"Referrer-Policy", "unsafe-url",
			"Server", "Apache/2.4.41 (Ubuntu)",
			"X-Powered-By", "PHP/8.1.2",
		), map[string]string{
			idHSTSMissing: "pass", idHSTSShort: "warn:low", idHSTSSubdomains: "warn:low", idHSTSPreload: "warn:info",
			idCSPMissing: "pass", idCSPUnsafe + "/unsafe-inline": "warn:low", idCSPUnsafe + "/unsafe-eval": "warn:low",
			idCSPFrameAncestors: "warn:info", idXFOMissing: "fail:medium", idReferrerPolicy: "fail:low",
			idVersionDisclosure + "/server": "fail:low", idVersionDisclosure + "/x-powered-by": "fail:low",
		}},
		{"invalid HSTS", headers("Strict-Transport-Security", "includeSubDomains"), map[string]string{
			idHSTSMissing: "fail:medium", idHSTSSubdomains: "skipped",
		}},
		{"frame-ancestors stands in for X-Frame-Options", headers(
			"Content-Security-Policy", "default-src 'self'; frame-ancestors 'self'",
		), map[string]string{idXFOMissing: "pass", idCSPFrameAncestors: "pass", idCSPUnsafe: "pass"}},
		{"CSP that does not restrict scripts", headers("Content-Security-Policy", "frame-ancestors 'none'"), map[string]string{
			idCSPUnsafe + "/no-script-src": "warn:low",
		}},
		{"cookies", headers(
			"Set-Cookie", "plain=1",
			"Set-Cookie", "good=2; Secure; HttpOnly; SameSite=None",
			"Set-Cookie", "crossinsecure=3; HttpOnly; SameSite=None",
			"Set-Cookie", "strict=4; Secure; SameSite=Strict",
		), map[string]string{
			idCookieSecure + "/plain": "fail:medium", idCookieHTTPOnly + "/plain": "warn:low", idCookieSameSite + "/plain": "warn:low",
			idCookieSecure + "/good": "pass", idCookieHTTPOnly + "/good": "pass", idCookieSameSite + "/good": "pass",
			idCookieSecure + "/crossinsecure": "fail:medium", idCookieSameSite + "/crossinsecure": "fail:low",
			idCookieHTTPOnly + "/strict": "warn:low", idCookieSameSite + "/strict": "pass",
		}},
		{"same-host redirect is followed to the page", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/" {
				w.Header().Set("Set-Cookie", "first=1; Secure; HttpOnly; SameSite=Lax")
				http.Redirect(w, r, "/home", http.StatusFound)
				return
			}
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}), map[string]string{
			idXCTOMissing: "pass", idHSTSMissing: "pass", idCookieSecure + "/first": "pass",
		}},
		{"redirect to another host is not followed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
			http.Redirect(w, r, "https://www.web.test/", http.StatusMovedPermanently)
		}), map[string]string{
			idHSTSMissing: "pass", idCSPMissing: "skipped", idXFOMissing: "skipped", idXCTOMissing: "skipped",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, webScan(t, c.h, nil), c.want)
		})
	}
}

func TestHTTPSRedirect(t *testing.T) {
	page := headers()
	cases := []struct {
		name string
		http http.Handler
		want string
	}{
		{"redirects to https", http.RedirectHandler("https://web.test/", http.StatusMovedPermanently), "pass"},
		{"serves content", page, "fail:medium"},
		{"same-host hop then https", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/" {
				http.Redirect(w, r, "/next", http.StatusFound)
				return
			}
			http.Redirect(w, r, "https://web.test/next", http.StatusPermanentRedirect)
		}), "pass"},
		{"redirects to another plain-HTTP host", http.RedirectHandler("http://elsewhere.test/", http.StatusFound), "fail:medium"},
		{"no plain HTTP", nil, "skipped"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, webScan(t, page, c.http), map[string]string{idHTTPSRedirect: c.want})
		})
	}
	// Plain HTTP only: the site has no HTTPS at all.
	rep := webScan(t, nil, page)
	expect(t, rep, map[string]string{idHTTPSRedirect: "fail:medium", idHSTSMissing: "skipped", idCSPMissing: "fail:medium", idCertExpired: "skipped"})
	if r := byCheck(rep)[idHTTPSRedirect]; !strings.Contains(r.Evidence.Summary, "no HTTPS") {
		t.Errorf("evidence should say there is no HTTPS: %q", r.Evidence.Summary)
	}
}

func TestSecurityTxt(t *testing.T) {
	future := time.Now().Add(100 * 24 * time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	file := func(body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/.well-known/security.txt" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprint(w, body)
		})
	}
	cases := []struct {
		name string
		h    http.Handler
		want map[string]string
	}{
		{"valid", file("# hello\nContact: mailto:security@web.test\nExpires: " + future + "\n"),
			map[string]string{idSecurityTxtMissing: "pass", idSecurityTxtInvalid: "pass"}},
		{"signed and valid", file("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nContact: https://web.test/report\nExpires: " + future + "\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n"),
			map[string]string{idSecurityTxtMissing: "pass", idSecurityTxtInvalid: "pass"}},
		{"expired", file("Contact: mailto:security@web.test\nExpires: " + past + "\n"),
			map[string]string{idSecurityTxtMissing: "pass", idSecurityTxtInvalid: "warn:low"}},
		{"no contact", file("Expires: " + future + "\nPolicy: https://web.test/policy\n"),
			map[string]string{idSecurityTxtInvalid: "warn:low"}},
		{"no expires", file("Contact: mailto:security@web.test\n"),
			map[string]string{idSecurityTxtInvalid: "warn:low"}},
		{"absent", http.NotFoundHandler(),
			map[string]string{idSecurityTxtMissing: "fail:low", idSecurityTxtInvalid: "skipped"}},
		{"single-page app answers everything with HTML", headers(),
			map[string]string{idSecurityTxtMissing: "fail:low"}},
		{"200 without fields", file("nothing here"),
			map[string]string{idSecurityTxtMissing: "fail:low"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { expect(t, webScan(t, c.h, nil), c.want) })
	}
}

func TestExposedFiles(t *testing.T) {
	files := func(m map[string]string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, ok := m[r.URL.Path]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			fmt.Fprint(w, body)
		})
	}
	cases := []struct {
		name string
		h    http.Handler
		want map[string]string
	}{
		{"git and env exposed", files(map[string]string{
			"/.git/HEAD": "ref: refs/heads/main\n",
			"/.env":      "# app\nDB_PASSWORD=hunter2\nexport API_KEY=sk_live_123\nAPP_ENV=production\n",
		}), map[string]string{idExposedGit: "fail:high", idExposedEnv: "fail:critical"}},
		{"detached HEAD", files(map[string]string{"/.git/HEAD": "0123456789abcdef0123456789abcdef01234567\n"}),
			map[string]string{idExposedGit: "fail:high", idExposedEnv: "pass"}},
		{"nothing exposed", files(nil), map[string]string{idExposedGit: "pass", idExposedEnv: "pass"}},
		{"mislabelled as HTML", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			if r.URL.Path == "/.git/HEAD" {
				fmt.Fprint(w, "ref: refs/heads/master\n")
				return
			}
			fmt.Fprint(w, "<!doctype html><p>A=1</p>")
		}), map[string]string{idExposedGit: "fail:high", idExposedEnv: "pass"}},
		{"single-page app", headers(), map[string]string{idExposedGit: "pass", idExposedEnv: "pass"}},
		{"text that is not an env file", files(map[string]string{"/.env": "Welcome! Our motto: a=b is not always true.\nSee you soon.\nBye\n"}),
			map[string]string{idExposedEnv: "pass"}},
		{"redirect is not followed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/.env" || r.URL.Path == "/.git/HEAD" {
				http.Redirect(w, r, "/login", http.StatusFound)
				return
			}
			fmt.Fprint(w, "A=1\nB=2\n")
		}), map[string]string{idExposedGit: "pass", idExposedEnv: "pass"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := webScan(t, c.h, nil)
			expect(t, rep, c.want)
			for _, r := range rep.Results {
				if strings.Contains(fmt.Sprint(r.Evidence), "hunter2") || strings.Contains(fmt.Sprint(r.Evidence), "sk_live") {
					t.Errorf("secret value copied into evidence: %+v", r.Evidence)
				}
			}
		})
	}
}

// An endless .env must not be read past the byte limit: without the limit
// the check would read until the timeout and report an error instead.
func TestExposedEnvByteLimit(t *testing.T) {
	var written atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.env" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		for i := 0; ; i++ {
			n, err := fmt.Fprintf(w, "SECRET_%d=value%d\n", i, i)
			written.Add(int64(n))
			if err != nil || r.Context().Err() != nil {
				return
			}
		}
	})
	rep := webScan(t, h, nil)
	expect(t, rep, map[string]string{idExposedEnv: "fail:critical"})
	got := byCheck(rep)[idExposedEnv]
	if n, _ := strconv.Atoi(got.Evidence.Facts["bytes_read"]); n == 0 || n > sensitiveFileLimit {
		t.Errorf("bytes_read %q, want 1..%d", got.Evidence.Facts["bytes_read"], sensitiveFileLimit)
	}
	// The server can only get ahead of the reader by the socket buffers.
	if w := written.Load(); w > 64<<20 {
		t.Errorf("server wrote %d bytes: the client kept reading", w)
	}
}

func TestParseHSTS(t *testing.T) {
	cases := []struct {
		in       string
		age      int64
		sub, pre bool
		ok       bool
	}{
		{"max-age=31536000; includeSubDomains; preload", 31536000, true, true, true},
		{`max-age="600"`, 600, false, false, true},
		{"MAX-AGE=0", 0, false, false, true},
		{"includeSubDomains", 0, true, false, false},
		{"max-age=abc", 0, false, false, false},
		{"", 0, false, false, false},
	}
	for _, c := range cases {
		age, sub, pre, ok := parseHSTS(c.in)
		if ok != c.ok || (ok && (age != c.age || sub != c.sub || pre != c.pre)) {
			t.Errorf("%q: %d %v %v %v", c.in, age, sub, pre, ok)
		}
	}
}
