package scanner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Resolver resolves host names to addresses. *net.Resolver satisfies it;
// DNSResolver builds one that asks a given DNS server.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard keeps the scanner away from addresses it must not reach: the cloud
// metadata service, the scanner's own host and network, and ranges that are
// not routable on the internet. A target is refused when any address its
// name resolves to is refused, because a mixed answer is the usual shape of
// a rebinding attempt.
//
// The zero Guard refuses every non-public address and resolves with the
// system resolver.
type Guard struct {
	// AllowPrivate permits private-use ranges: RFC 1918, CGNAT 100.64/10
	// and IPv6 unique-local fc00::/7. This is the organization setting
	// "scans may target private address ranges".
	AllowPrivate bool
	// AllowLoopback permits 127/8 and ::1. It is separate from AllowPrivate
	// because loopback is the scanner itself: in Lambda 127.0.0.1:9001 is
	// the runtime API, and locally the emulators listen there. Tests and
	// local development set it; a tenant setting must never.
	AllowLoopback bool
	// Resolver resolves target names; nil means net.DefaultResolver.
	Resolver Resolver
}

// RefusedError says why the guard refused an address.
type RefusedError struct {
	Host   string
	Addr   netip.Addr
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Host != "" && e.Host != e.Addr.String() {
		return fmt.Sprintf("target %s refused: it resolves to %s (%s)", e.Host, e.Addr, e.Reason)
	}
	return fmt.Sprintf("target %s refused: %s", e.Addr, e.Reason)
}

var errNoAddress = errors.New("no addresses")

// rangeClass says which switch, if any, can open a range.
type rangeClass int

const (
	alwaysBlocked rangeClass = iota
	privateRange             // AllowPrivate opens it
	loopbackRange            // AllowLoopback opens it
)

type blockedRange struct {
	prefix netip.Prefix
	class  rangeClass
	reason string
}

// blockedRanges is checked in order, so a specific entry placed before a
// broader one gives the more useful reason and class (fd00:ec2::254 is the
// AWS metadata service inside the ULA range that AllowPrivate opens).
var blockedRanges = func() []blockedRange {
	rows := []struct {
		cidr   string
		class  rangeClass
		reason string
	}{
		// IPv4 (RFC 6890 special-purpose registry).
		{"0.0.0.0/8", alwaysBlocked, "unspecified / \"this network\" (RFC 1122)"},
		{"10.0.0.0/8", privateRange, "private network (RFC 1918)"},
		{"100.64.0.0/10", privateRange, "carrier-grade NAT shared space (RFC 6598)"},
		{"127.0.0.0/8", loopbackRange, "loopback (RFC 1122)"},
		{"169.254.0.0/16", alwaysBlocked, "link-local, including the cloud metadata service 169.254.169.254 (RFC 3927)"},
		{"172.16.0.0/12", privateRange, "private network (RFC 1918)"},
		{"192.0.0.0/24", alwaysBlocked, "IETF protocol assignments (RFC 6890)"},
		{"192.0.2.0/24", alwaysBlocked, "documentation TEST-NET-1 (RFC 5737)"},
		{"192.88.99.0/24", alwaysBlocked, "deprecated 6to4 relay anycast (RFC 7526)"},
		{"192.168.0.0/16", privateRange, "private network (RFC 1918)"},
		{"198.18.0.0/15", alwaysBlocked, "benchmarking (RFC 2544)"},
		{"198.51.100.0/24", alwaysBlocked, "documentation TEST-NET-2 (RFC 5737)"},
		{"203.0.113.0/24", alwaysBlocked, "documentation TEST-NET-3 (RFC 5737)"},
		{"224.0.0.0/4", alwaysBlocked, "multicast (RFC 5771)"},
		{"240.0.0.0/4", alwaysBlocked, "reserved, including broadcast 255.255.255.255 (RFC 1112)"},
		// IPv6 (IANA IPv6 special-purpose registry).
		{"::/128", alwaysBlocked, "unspecified address (RFC 4291)"},
		{"::1/128", loopbackRange, "loopback (RFC 4291)"},
		{"::/96", alwaysBlocked, "deprecated IPv4-compatible address (RFC 4291)"},
		{"64:ff9b:1::/48", alwaysBlocked, "local-use IPv4/IPv6 translation (RFC 8215)"},
		{"100::/64", alwaysBlocked, "discard-only (RFC 6666)"},
		{"2001:db8::/32", alwaysBlocked, "documentation (RFC 3849)"},
		{"2001::/23", alwaysBlocked, "IETF protocol assignments, including Teredo and benchmarking (RFC 2928)"},
		{"2002::/16", alwaysBlocked, "6to4, which embeds an arbitrary IPv4 address (RFC 3056)"},
		{"3fff::/20", alwaysBlocked, "documentation (RFC 9637)"},
		{"5f00::/16", alwaysBlocked, "segment routing SIDs (RFC 9602)"},
		{"fd00:ec2::254/128", alwaysBlocked, "AWS instance metadata service (IPv6)"},
		{"fc00::/7", privateRange, "unique local address (RFC 4193)"},
		{"fe80::/10", alwaysBlocked, "link-local (RFC 4291)"},
		{"fec0::/10", alwaysBlocked, "deprecated site-local (RFC 3879)"},
		{"ff00::/8", alwaysBlocked, "multicast (RFC 4291)"},
	}
	out := make([]blockedRange, len(rows))
	for i, r := range rows {
		out[i] = blockedRange{netip.MustParsePrefix(r.cidr), r.class, r.reason}
	}
	return out
}()

var (
	nat64         = netip.MustParsePrefix("64:ff9b::/96")
	globalUnicast = netip.MustParsePrefix("2000::/3")
)

// CheckAddr returns a *RefusedError when the address must not be scanned.
func (g *Guard) CheckAddr(a netip.Addr) error {
	if !a.IsValid() {
		return &RefusedError{Addr: a, Reason: "invalid address"}
	}
	if a.Zone() != "" {
		return &RefusedError{Addr: a, Reason: "zoned (link-scoped) address"}
	}
	// An IPv4-mapped or NAT64 address reaches the embedded IPv4 address,
	// so that is the one to judge.
	a = a.Unmap()
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		v4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		if err := g.CheckAddr(v4); err != nil {
			var re *RefusedError
			if errors.As(err, &re) {
				return &RefusedError{Addr: a, Reason: "NAT64 address of " + v4.String() + ": " + re.Reason}
			}
			return err
		}
		return nil
	}
	for _, r := range blockedRanges {
		if !r.prefix.Contains(a) {
			continue
		}
		switch {
		case r.class == privateRange && g.AllowPrivate,
			r.class == loopbackRange && g.AllowLoopback:
			return nil
		}
		return &RefusedError{Addr: a, Reason: r.reason}
	}
	// Outside 2000::/3 nothing in IPv6 is global unicast today; refusing it
	// keeps future special ranges out without a table update.
	if a.Is6() && !globalUnicast.Contains(a) {
		return &RefusedError{Addr: a, Reason: "not IPv6 global unicast (2000::/3)"}
	}
	return nil
}

// Resolve resolves host once and returns its addresses when every one is
// allowed. IP literals are judged without any lookup. Callers dial the
// returned addresses, never the name again.
func (g *Guard) Resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := parseIPLiteral(host); err == nil {
		if err := g.CheckAddr(a); err != nil {
			return nil, err
		}
		return []netip.Addr{a}, nil
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: %w", host, errNoAddress)
	}
	out := make([]netip.Addr, 0, len(addrs))
	seen := make(map[netip.Addr]bool, len(addrs))
	for _, a := range addrs {
		if err := g.CheckAddr(a); err != nil {
			var re *RefusedError
			if errors.As(err, &re) {
				re.Host = host
			}
			return nil, err
		}
		a = a.Unmap()
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// ValidateTarget checks at asset-creation time that a target parses for its
// type and that its host resolves only to allowed addresses. A domain that
// does not resolve at all is accepted: its DNS checks still apply.
func (g *Guard) ValidateTarget(ctx context.Context, t Target) error {
	p, err := parseTarget(t)
	if err != nil {
		return err
	}
	_, err = g.Resolve(ctx, p.host)
	if err != nil && t.Type == TargetDomain {
		var re *RefusedError
		if !errors.As(err, &re) {
			return nil
		}
	}
	return err
}

// pinnedDialer dials only the addresses the guard approved for one target.
// The host part of the address it is asked for is ignored: HTTP redirects,
// SNI and Host headers can name anything, the socket still goes to an
// approved IP, so no later DNS answer can move it.
type pinnedDialer struct {
	addrs   []netip.Addr
	timeout time.Duration
}

func (d *pinnedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	_, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("bad port in %q", address)
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("network %q not allowed", network)
	}
	if len(d.addrs) == 0 {
		return nil, errors.New("no approved address")
	}
	nd := net.Dialer{Timeout: d.timeout}
	var firstErr error
	for _, a := range d.addrs {
		c, err := nd.DialContext(ctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}
