package scanner

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
)

// listen opens a loopback listener that greets every connection with
// banner (nothing when empty) and keeps it open until the client leaves.
func listen(t testing.TB, banner string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if banner != "" {
					c.Write([]byte(banner))
				}
				buf := make([]byte, 64)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func TestExposedServices(t *testing.T) {
	ftp := listen(t, "220 ProFTPD 1.3.5 Server (Test) [127.0.0.1]\r\n")
	redis := listen(t, "")
	vncSilent := listen(t, "")
	custom := listen(t, "\x00\x01binary\xffbanner\n")
	closed := closedPort(t)

	s := testScanner(t)
	s.Ports = []ServicePort{
		{Port: ftp, Service: "ftp", Severity: SeverityMedium, Banner: true},
		{Port: redis, Service: "redis", Severity: SeverityCritical},
		{Port: vncSilent, Service: "vnc", Severity: SeverityHigh, Banner: true},
		{Port: custom, Service: "jmx", Severity: SeverityHigh, Banner: true},
		{Port: closed, Service: "mysql", Severity: SeverityCritical, Banner: true},
	}
	rep := s.ScanTarget(context.Background(), Target{AssetID: "h", Type: TargetIP, Value: "127.0.0.1"}, nil)
	sub := func(p int) string { return "/tcp/" + strconv.Itoa(p) }
	expect(t, rep, map[string]string{
		"service.exposed.ftp" + sub(ftp):       "fail:medium",
		"service.exposed.redis" + sub(redis):   "fail:critical",
		"service.exposed.vnc" + sub(vncSilent): "fail:high",
		idServiceOther + sub(custom):           "fail:high",
		"service.exposed.mysql" + sub(closed):  "pass",
	})
	got := byCheck(rep)
	if b := got["service.exposed.ftp"+sub(ftp)].Evidence.Facts["banner"]; !strings.HasPrefix(b, "220 ProFTPD 1.3.5") {
		t.Errorf("ftp banner %q", b)
	}
	if b := got[idServiceOther+sub(custom)].Evidence.Facts["banner"]; b != "..binary.banner" {
		t.Errorf("binary banner not sanitised: %q", b)
	}
	if _, ok := got["service.exposed.redis"+sub(redis)].Evidence.Facts["banner"]; ok {
		t.Error("redis is not asked for a banner")
	}
	if !rep.Live {
		t.Error("open ports make the host live")
	}
	// Each open service is a finding with its own fingerprint.
	fps := map[string]bool{}
	for _, f := range rep.Findings {
		if strings.HasPrefix(f.CheckID, serviceCheckPrefix) {
			fps[f.Fingerprint] = true
			if f.Category != CategoryExposedServices || f.NIS2 != NIS2Development {
				t.Errorf("%s: category %s nis2 %s", f.CheckID, f.Category, f.NIS2)
			}
		}
	}
	if len(fps) != 4 {
		t.Errorf("%d service findings, want 4", len(fps))
	}
}

// A domain gets no port checks; a url target gets them for its host.
func TestPortChecksByTargetType(t *testing.T) {
	redis := listen(t, "")
	s := testScanner(t)
	s.Guard.Resolver = staticResolver{"svc.test": {"127.0.0.1"}}
	s.DNSServer = startDNS(t, soa("svc.test"), false)
	s.Ports = []ServicePort{{Port: redis, Service: "redis", Severity: SeverityCritical}}
	key := "service.exposed.redis/tcp/" + strconv.Itoa(redis)
	for _, c := range []struct {
		target Target
		has    bool
	}{
		{Target{AssetID: "1", Type: TargetDomain, Value: "svc.test"}, false},
		{Target{AssetID: "2", Type: TargetHost, Value: "svc.test"}, true},
		{Target{AssetID: "3", Type: TargetURL, Value: "https://svc.test/app"}, true},
	} {
		_, has := byCheck(s.ScanTarget(context.Background(), c.target, nil))[key]
		if has != c.has {
			t.Errorf("%s: port result %v, want %v", c.target.Type, has, c.has)
		}
	}
}
