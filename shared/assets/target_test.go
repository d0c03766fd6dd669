package assets_test

import (
	"strings"
	"testing"

	"rampart/shared/assets"
)

func TestNormalizeTarget(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", assets.MaxTargetLength)
	cases := []struct {
		typ, in, want string
		err           string // substring of the error; "" means valid
	}{
		// domain
		{"domain", "Example.COM", "example.com", ""},
		{"domain", "example.com.", "example.com", ""},
		{"domain", "  www.example.org  ", "www.example.org", ""},
		{"domain", "bücher.de", "xn--bcher-kva.de", ""},
		{"domain", "BÜCHER.de", "xn--bcher-kva.de", ""},
		{"domain", "xn--bcher-kva.de", "xn--bcher-kva.de", ""},
		{"domain", "例え.テスト", "xn--r8jz45g.xn--zckzah", ""},
		{"domain", "localhost", "", "at least two labels"},
		{"domain", "com", "", "at least two labels"},
		{"domain", "", "", "required"},
		{"domain", "https://example.com", "", "no scheme"},
		{"domain", "example.com/path", "", "no scheme"},
		{"domain", "example.com:443", "", "no scheme, port"},
		{"domain", "192.0.2.1", "", "use the ip type"},
		{"domain", "-bad.example.com", "", "invalid label"},
		{"domain", "bad-.example.com", "", "invalid label"},
		{"domain", "a..b.com", "", "1 to 63"},
		{"domain", ".example.com", "", "DNS name"},
		{"domain", "exa mple.com", "", "spaces"},
		{"domain", "under_score.example.com", "", "DNS name"},
		{"domain", strings.Repeat("a", 64) + ".com", "", "1 to 63"},
		{"domain", "127.1", "", "top-level label"},
		{"domain", "0x7f.1", "", "top-level label"},
		{"domain", "example.123", "", "top-level label"},
		// host
		{"host", "Mail.Example.com", "mail.example.com", ""},
		{"host", "192.0.2.10", "192.0.2.10", ""},
		{"host", "2001:DB8::0:1", "2001:db8::1", ""},
		{"host", "[2001:db8::1]", "2001:db8::1", ""},
		{"host", "::ffff:192.0.2.1", "192.0.2.1", ""},
		{"host", "fileserver", "", "at least two labels"},
		{"host", "http://example.com", "", "no scheme"},
		{"host", "example.com:22", "", "DNS name"},
		{"host", "010.1.1.1", "", "dotted-decimal"},
		{"host", "1.2.3", "", "dotted-decimal"},
		{"host", "fe80::1%eth0", "", "zone"},
		// ip
		{"ip", "192.0.2.1", "192.0.2.1", ""},
		{"ip", " 2001:0db8:0000::0001 ", "2001:db8::1", ""},
		{"ip", "::FFFF:10.0.0.1", "10.0.0.1", ""},
		{"ip", "10.0.0.0/8", "", "not a range"},
		{"ip", "2001:db8::/32", "", "not a range"},
		{"ip", "fe80::1%25eth0", "", "zone"},
		{"ip", "fe80::1%eth0", "", "zone"},
		{"ip", "example.com", "", "IPv4 or IPv6"},
		{"ip", "256.1.1.1", "", "dotted-decimal"},
		{"ip", "01.2.3.4", "", "dotted-decimal"},
		{"ip", "", "", "required"},
		// url
		{"url", "HTTPS://Example.com", "https://example.com/", ""},
		{"url", "https://example.com:443/a/b?x=1#frag", "https://example.com/a/b?x=1", ""},
		{"url", "http://example.com:80", "http://example.com/", ""},
		{"url", "http://example.com:8080/", "http://example.com:8080/", ""},
		{"url", "https://example.com:80/", "https://example.com:80/", ""},
		{"url", "https://bücher.de/pfad", "https://xn--bcher-kva.de/pfad", ""},
		{"url", "http://[2001:db8::1]:8443/x", "http://[2001:db8::1]:8443/x", ""},
		{"url", "http://192.0.2.1", "http://192.0.2.1/", ""},
		{"url", "https://example.com/?", "https://example.com/?", ""},
		{"url", "ftp://example.com/", "", "http or https"},
		{"url", "javascript:alert(1)", "", "http or https"},
		{"url", "example.com/path", "", "http or https"},
		{"url", "https://user:pw@example.com/", "", "user info"},
		{"url", "https://user@example.com/", "", "user info"},
		{"url", "https://example.com:0/", "", "port"},
		{"url", "https://example.com:99999/", "", "port"},
		{"url", "https://example.com:/", "", "port"},
		{"url", "https:///path", "", "host"},
		{"url", "https://localhost/", "", "two labels"},
		{"url", "https://exa mple.com/", "", "spaces"},
		{"url", long, "", "at most"},
		{"url", "", "", "required"},
		// artefacts: a URL or nothing
		{"web_application", "", "", ""},
		{"web_application", "https://App.example.com", "https://app.example.com/", ""},
		{"repository", "https://github.com/org/repo#readme", "https://github.com/org/repo", ""},
		{"mobile_app", "com.example.app", "", "http or https"},
		{"other", "=HYPERLINK(\"http://evil.example\")", "", "http or https"},
		{"a_future_type", "https://example.com/x", "https://example.com/x", ""},
	}
	for _, c := range cases {
		t.Run(c.typ+"/"+c.in, func(t *testing.T) {
			got, err := assets.NormalizeTarget(c.typ, c.in)
			if c.err == "" {
				if err != nil || got != c.want {
					t.Fatalf("NormalizeTarget(%q, %q) = %q, %v; want %q", c.typ, c.in, got, err, c.want)
				}
				// Normalisation is idempotent: a stored target normalises to itself.
				if again, err := assets.NormalizeTarget(c.typ, got); err != nil || again != got {
					t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("NormalizeTarget(%q, %q) = %q, %v; want an error with %q", c.typ, c.in, got, err, c.err)
			}
		})
	}
}

func TestNormalizeTags(t *testing.T) {
	cases := []struct {
		in   []string
		want string
		err  string
	}{
		{[]string{"PCI", "pci", " web ", "", "prod_eu", "v1.2"}, "pci,web,prod_eu,v1.2", ""},
		{nil, "", ""},
		{[]string{"-x"}, "", "slug"},
		{[]string{"a b"}, "", "slug"},
		{[]string{"a#b"}, "", "slug"},
		{[]string{strings.Repeat("a", 65)}, "", "longer than 64"},
		{[]string{strings.Repeat("a", 64)}, strings.Repeat("a", 64), ""},
		{strings.Split("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u", ","), "", "at most 20"},
		{strings.Split("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,t,T", ","), "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t", ""},
	}
	for _, c := range cases {
		got, err := assets.NormalizeTags(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("NormalizeTags(%q) = %v, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != c.want {
			t.Errorf("NormalizeTags(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
}

func TestHostOf(t *testing.T) {
	for _, c := range []struct{ typ, target, want string }{
		{"domain", "example.com", "example.com"},
		{"ip", "2001:db8::1", "2001:db8::1"},
		{"url", "https://[2001:db8::1]:8443/x", "2001:db8::1"},
		{"url", "https://example.com/", "example.com"},
		{"web_application", "https://example.com/", ""},
		{"url", "", ""},
	} {
		if got := assets.HostOf(c.typ, c.target); got != c.want {
			t.Errorf("HostOf(%q, %q) = %q, want %q", c.typ, c.target, got, c.want)
		}
	}
}
