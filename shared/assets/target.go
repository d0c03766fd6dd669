// Package assets holds the rules of assets: target parsing and
// normalisation per type, uniqueness of (type, target) in an organization,
// the SSRF check at creation, tags, lists and the CSV import.
package assets

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"rampart/shared/domain"
)

// Network asset types: the scanner reaches their targets. Every other value
// of the taxonomy's asset_type domain is a reviewed artefact.
const (
	TypeDomain = "domain"
	TypeHost   = "host"
	TypeIP     = "ip"
	TypeURL    = "url"
)

// MaxTargetLength bounds a target (URLs are the long ones).
const MaxTargetLength = 2048

// IsNetworkType reports whether assets of the type carry a target the
// scanner can check.
func IsNetworkType(typ string) bool { return slices.Contains(domain.NetworkAssets, typ) }

// NormalizeTarget parses a target for its type and returns its canonical
// form, so that two spellings of one target are the same asset:
//
//   - domain: a DNS name, IDNA-mapped to ASCII, lower case, no trailing dot,
//     at least two labels, a top-level label that starts with a letter, no
//     scheme, port or path;
//   - host: a host name like domain, or an IP literal (canonical, as for ip);
//   - ip: an IPv4 or IPv6 address in canonical form (net/netip), no zone,
//     no CIDR range, IPv4-mapped IPv6 written as IPv4;
//   - url: http or https only, no user info, host normalised like host,
//     default port dropped, empty path "/", fragment dropped;
//   - any other type (a reviewed artefact): no target, or a URL normalised
//     like url.
//
// The error is a message for the caller (no location).
func NormalizeTarget(typ, target string) (string, error) {
	t := strings.TrimSpace(target)
	if len(t) > MaxTargetLength {
		return "", fmt.Errorf("must be at most %d characters", MaxTargetLength)
	}
	if strings.IndexFunc(t, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }) >= 0 {
		return "", errors.New("must not contain spaces or control characters")
	}
	if !utf8.ValidString(t) {
		return "", errors.New("must be valid UTF-8")
	}
	switch typ {
	case TypeDomain:
		if t == "" {
			return "", errors.New("required for a domain asset")
		}
		if strings.Contains(t, "://") || strings.ContainsAny(t, "/?#@:[]") {
			return "", errors.New("a domain is a bare DNS name like example.com: no scheme, port or path")
		}
		if _, err := netip.ParseAddr(t); err == nil {
			return "", errors.New("an IP address is not a domain: use the ip type")
		}
		return normalizeHostname(t)
	case TypeHost:
		if t == "" {
			return "", errors.New("required for a host asset")
		}
		if strings.Contains(t, "://") || strings.ContainsAny(t, "/?#@") {
			return "", errors.New("a host is a host name or an IP address: no scheme or path")
		}
		if a, ok, err := parseIP(t, true); ok {
			if err != nil {
				return "", err
			}
			return a.String(), nil
		}
		return normalizeHostname(t)
	case TypeIP:
		if t == "" {
			return "", errors.New("required for an ip asset")
		}
		a, ok, err := parseIP(t, false)
		if !ok {
			return "", errors.New("must be an IPv4 or IPv6 address")
		}
		if err != nil {
			return "", err
		}
		return a.String(), nil
	case TypeURL:
		if t == "" {
			return "", errors.New("required for a url asset")
		}
		return normalizeURL(t)
	}
	// A reviewed artefact: a URL or nothing.
	if t == "" {
		return "", nil
	}
	return normalizeURL(t)
}

// HostOf returns the host a normalised target of a network type points at
// ("" for artefacts and empty targets): what the SSRF check judges.
func HostOf(typ, target string) string {
	if target == "" {
		return ""
	}
	switch typ {
	case TypeDomain, TypeHost, TypeIP:
		return target
	case TypeURL:
		u, err := url.Parse(target)
		if err != nil {
			return ""
		}
		return u.Hostname()
	}
	return ""
}

// parseIP reads an IP literal (bracketed IPv6 allowed when bracketOK). ok is
// false when s does not look like an address at all; err says why an
// address-like value is refused (zone, range, leading zeros).
func parseIP(s string, bracketOK bool) (netip.Addr, bool, error) {
	if bracketOK && strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if strings.Contains(s, "/") {
		if _, err := netip.ParsePrefix(s); err == nil {
			return netip.Addr{}, true, errors.New("must be one address, not a range (CIDR)")
		}
		return netip.Addr{}, false, nil
	}
	if i := strings.IndexByte(s, '%'); i >= 0 {
		if _, err := netip.ParseAddr(s); err == nil {
			return netip.Addr{}, true, errors.New("must not carry a zone (link-scoped addresses cannot be assets)")
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		if looksLikeIPv4(s) {
			return netip.Addr{}, true, errors.New("is not an IPv4 address in dotted-decimal form (four numbers 0-255 without leading zeros)")
		}
		return netip.Addr{}, false, nil
	}
	return a.Unmap(), true, nil
}

// looksLikeIPv4 reports digits and dots only: such a value is an address
// attempt, never a host name.
func looksLikeIPv4(s string) bool {
	return s != "" && strings.Trim(s, "0123456789.") == "" && strings.Contains(s, ".")
}

var lookup = idna.Lookup

// normalizeHostname maps a (possibly internationalised) DNS name to its
// ASCII form and checks letter-digit-hyphen syntax. Names whose top-level
// label does not start with a letter are refused: resolvers read "127.1" or
// "0x7f.1" as addresses, which would dodge the SSRF check.
func normalizeHostname(s string) (string, error) {
	name := strings.TrimSuffix(s, ".")
	if name == "" || strings.HasPrefix(name, ".") {
		return "", errors.New("must be a DNS name like example.com")
	}
	ascii, err := lookup.ToASCII(name)
	if err == nil {
		// The ASCII form must itself be a valid name: invalid input (bytes
		// that are not UTF-8, say) can map to a Punycode label that decodes
		// to a disallowed character, which a second normalisation refuses.
		_, err = lookup.ToASCII(ascii)
	}
	if err != nil {
		return "", fmt.Errorf("is not a valid DNS name: %v", idnaReason(err))
	}
	ascii = strings.ToLower(ascii)
	if len(ascii) > 253 {
		return "", errors.New("DNS name longer than 253 characters")
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", errors.New("must have at least two labels, like example.com")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", errors.New("every label must have 1 to 63 characters")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("label %q must not start or end with a hyphen", l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", fmt.Errorf("label %q contains %q", l, c)
			}
		}
	}
	if tld := labels[len(labels)-1]; tld[0] < 'a' || tld[0] > 'z' {
		return "", fmt.Errorf("top-level label %q must start with a letter", tld)
	}
	return ascii, nil
}

// idnaReason shortens the idna package's messages.
func idnaReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// normalizeURL accepts absolute http(s) URLs only.
func normalizeURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("must be an absolute http or https URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("must be an absolute http or https URL")
	}
	if u.Opaque != "" || u.Host == "" {
		return "", errors.New("must be an absolute http or https URL with a host")
	}
	if u.User != nil {
		return "", errors.New("must not contain user info (credentials do not belong in a target)")
	}
	host := u.Hostname()
	var normHost string
	if a, ok, err := parseIP(host, false); ok {
		if err != nil {
			return "", fmt.Errorf("host %s", err)
		}
		normHost = a.String()
		if a.Is6() {
			normHost = "[" + normHost + "]"
		}
	} else {
		if normHost, err = normalizeHostname(host); err != nil {
			return "", fmt.Errorf("host %s", err)
		}
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || (len(p) > 1 && p[0] == '0') {
			return "", errors.New("port must be a number from 1 to 65535")
		}
		if !(scheme == "http" && n == 80) && !(scheme == "https" && n == 443) {
			normHost += ":" + strconv.Itoa(n)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "", errors.New("port must be a number from 1 to 65535")
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	out := scheme + "://" + normHost + path
	if u.RawQuery != "" || u.ForceQuery {
		out += "?" + u.RawQuery
	}
	return out, nil
}
