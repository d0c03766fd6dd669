package scanner

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestGuardCheckAddr(t *testing.T) {
	type flags struct{ private, loopback bool }
	none, priv, loop := flags{}, flags{private: true}, flags{loopback: true}
	both := flags{true, true}
	cases := []struct {
		addr    string
		g       flags
		allowed bool
	}{
		{"93.184.215.14", none, true},
		{"8.8.8.8", none, true},
		{"2606:4700::6810:84e5", none, true},
		{"127.0.0.1", none, false},
		{"127.0.0.1", priv, false}, // the org setting never opens loopback
		{"127.0.0.1", loop, true},
		{"127.255.255.254", loop, true},
		{"::1", none, false},
		{"::1", loop, true},
		{"10.0.0.1", none, false},
		{"10.0.0.1", priv, true},
		{"172.16.5.4", none, false},
		{"172.31.255.255", priv, true},
		{"172.32.0.1", none, true},
		{"192.168.1.1", none, false},
		{"192.168.1.1", priv, true},
		{"100.64.0.1", none, false},
		{"100.64.0.1", priv, true},
		{"169.254.169.254", none, false},
		{"169.254.169.254", both, false}, // metadata stays closed whatever the flags
		{"169.254.1.1", both, false},
		{"fd00:ec2::254", both, false},
		{"fc00::1", none, false},
		{"fd12:3456::1", priv, true},
		{"fe80::1", both, false},
		{"0.0.0.0", both, false},
		{"::", both, false},
		{"224.0.0.1", both, false},
		{"ff02::1", both, false},
		{"255.255.255.255", both, false},
		{"240.0.0.1", both, false},
		{"192.0.2.10", both, false},
		{"198.51.100.7", both, false},
		{"203.0.113.9", both, false},
		{"2001:db8::1", both, false},
		{"198.18.0.1", both, false},
		{"192.0.0.8", both, false},
		{"::ffff:127.0.0.1", none, false},
		{"::ffff:10.1.2.3", none, false},
		{"::ffff:8.8.8.8", none, true},
		{"64:ff9b::a9fe:a9fe", none, false}, // NAT64 of 169.254.169.254
		{"64:ff9b::808:808", none, true},    // NAT64 of 8.8.8.8
		{"2002:7f00:1::1", none, false},     // 6to4 of 127.0.0.1
		{"2001::1", none, false},            // Teredo
		{"::a00:1", none, false},            // IPv4-compatible 10.0.0.1
		{"100::1", none, false},
		{"4000::1", none, false}, // outside 2000::/3
	}
	for _, c := range cases {
		g := Guard{AllowPrivate: c.g.private, AllowLoopback: c.g.loopback}
		err := g.CheckAddr(netip.MustParseAddr(c.addr))
		if (err == nil) != c.allowed {
			t.Errorf("%s with %+v: err=%v, want allowed=%v", c.addr, c.g, err, c.allowed)
		}
		if err != nil {
			var re *RefusedError
			if !errors.As(err, &re) || re.Reason == "" {
				t.Errorf("%s: want a RefusedError with a reason, got %v", c.addr, err)
			}
		}
	}
}

func TestGuardValidateTarget(t *testing.T) {
	// Every name resolves through this map: no packet leaves the process.
	res := staticResolver{
		"public.example":   {"93.184.215.14"},
		"internal.example": {"10.1.2.3"},
		"mixed.example":    {"93.184.215.14", "169.254.169.254"},
		"loop.example":     {"127.0.0.1"},
		"v6.example":       {"2606:4700::1", "::1"},
	}
	g := Guard{Resolver: res}
	cases := []struct {
		t       Target
		refused bool // a RefusedError
		bad     bool // any other error
	}{
		{Target{Type: TargetIP, Value: "127.0.0.1"}, true, false},
		{Target{Type: TargetIP, Value: "10.0.0.8"}, true, false},
		{Target{Type: TargetIP, Value: "169.254.169.254"}, true, false},
		{Target{Type: TargetIP, Value: "::1"}, true, false},
		{Target{Type: TargetIP, Value: "[::1]"}, true, false},
		{Target{Type: TargetIP, Value: "93.184.215.14"}, false, false},
		{Target{Type: TargetIP, Value: "not-an-ip"}, false, true},
		{Target{Type: TargetIP, Value: "fe80::1%eth0"}, false, true},
		{Target{Type: TargetHost, Value: "public.example"}, false, false},
		{Target{Type: TargetHost, Value: "internal.example"}, true, false},
		{Target{Type: TargetHost, Value: "mixed.example"}, true, false},
		{Target{Type: TargetHost, Value: "v6.example"}, true, false},
		{Target{Type: TargetHost, Value: "unknown.example"}, false, true},
		{Target{Type: TargetHost, Value: "bad_host!"}, false, true},
		{Target{Type: TargetURL, Value: "https://loop.example/login"}, true, false},
		{Target{Type: TargetURL, Value: "http://169.254.169.254/latest/meta-data/"}, true, false},
		{Target{Type: TargetURL, Value: "http://[::1]:8080/"}, true, false},
		{Target{Type: TargetURL, Value: "https://public.example:8443/app"}, false, false},
		{Target{Type: TargetURL, Value: "ftp://public.example/"}, false, true},
		{Target{Type: TargetURL, Value: "https:///nohost"}, false, true},
		{Target{Type: TargetDomain, Value: "public.example"}, false, false},
		{Target{Type: TargetDomain, Value: "internal.example"}, true, false},
		// A domain without addresses is still a valid asset: DNS checks apply.
		{Target{Type: TargetDomain, Value: "mail-only.example"}, false, false},
		{Target{Type: TargetDomain, Value: "1.2.3.4"}, false, true},
		{Target{Type: TargetDomain, Value: "localhost"}, false, true},
		{Target{Type: "repository", Value: "x"}, false, true},
		{Target{Type: TargetHost, Value: ""}, false, true},
	}
	for _, c := range cases {
		err := g.ValidateTarget(context.Background(), c.t)
		var re *RefusedError
		refused := errors.As(err, &re)
		if refused != c.refused || (err != nil && !refused) != c.bad {
			t.Errorf("%+v: err=%v, want refused=%v bad=%v", c.t, err, c.refused, c.bad)
		}
	}
	// With the private switch on, internal names pass and metadata does not.
	gp := Guard{AllowPrivate: true, Resolver: res}
	if err := gp.ValidateTarget(context.Background(), Target{Type: TargetHost, Value: "internal.example"}); err != nil {
		t.Errorf("AllowPrivate: %v", err)
	}
	if err := gp.ValidateTarget(context.Background(), Target{Type: TargetHost, Value: "mixed.example"}); err == nil {
		t.Error("AllowPrivate must not open link-local")
	}
}

// The pinned dialer connects to the approved address whatever name it is
// asked for, which is what makes DNS rebinding between the guard's check and
// the connection impossible. The name below does not exist; no lookup is made.
func TestPinnedDialerIgnoresName(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
			accepted <- struct{}{}
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	d := &pinnedDialer{addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}
	c, err := d.DialContext(context.Background(), "tcp", hostPort("rebound.invalid", port))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	<-accepted
	if _, err := d.DialContext(context.Background(), "udp", hostPort("x", port)); err == nil {
		t.Error("udp must be refused")
	}
}

func TestTargetValidate(t *testing.T) {
	ok := []Target{
		{Type: TargetDomain, Value: "Example.COM."},
		{Type: TargetHost, Value: "www.example.com"},
		{Type: TargetHost, Value: "192.0.2.1"},
		{Type: TargetIP, Value: "2001:db8::1"},
		{Type: TargetURL, Value: "https://example.com:8443/path?q=1"},
	}
	for _, tg := range ok {
		if err := tg.Validate(); err != nil {
			t.Errorf("%+v: %v", tg, err)
		}
	}
	p, _ := parseTarget(Target{Type: TargetURL, Value: "https://Example.com:8443/a/b?q=1"})
	if p.host != "example.com" || p.httpsPort != 8443 || p.httpPort != 0 || p.path != "/a/b?q=1" {
		t.Errorf("parsed url: %+v", p)
	}
}
