package scanner

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMain makes any stray name lookup fail loudly: tests may only talk to
// servers they started on 127.0.0.1, and every name must resolve through a
// test resolver or a test DNS server.
func TestMain(m *testing.M) {
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("tests must not use the system resolver")
	}}
	systemDNS = func() (string, error) { return "", errors.New("tests must not use the system resolver") }
	os.Exit(m.Run())
}

// blackhole accepts connections and never says a word.
func blackhole(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func TestTargetTimeout(t *testing.T) {
	s := testScanner(t)
	s.HTTPSPort = blackhole(t)
	s.HTTPPort = blackhole(t)
	s.IOTimeout = time.Minute // only the per-target timeout can end this run
	s.TargetTimeout = 300 * time.Millisecond
	rep := s.ScanTarget(context.Background(), Target{AssetID: "slow", Type: TargetIP, Value: "127.0.0.1"}, nil)
	if !rep.TimedOut || len(rep.Errors) == 0 {
		t.Fatalf("want a timed-out report, got %+v", rep)
	}
	if !rep.Live {
		t.Error("the host accepted connections: live")
	}
	if r := byCheck(rep)[idCertExpired]; r.Outcome != OutcomeError {
		t.Errorf("certificate check: %s %q", r.Outcome, r.Evidence.Summary)
	}
}

// A server that accepts and stays silent costs one I/O timeout for the
// whole TLS group, not one per probe.
func TestSilentTLSServer(t *testing.T) {
	s := testScanner(t)
	s.HTTPSPort = blackhole(t)
	s.IOTimeout = 200 * time.Millisecond
	rep := s.ScanTarget(context.Background(), Target{AssetID: "silent", Type: TargetIP, Value: "127.0.0.1"}, nil)
	for _, id := range []string{idCertUntrusted, idTLSModernMissing, idTLSWeakCipher, idTLSNoPFS, idHSTSMissing} {
		if r := byCheck(rep)[id]; r.Outcome != OutcomeError {
			t.Errorf("%s: %s %q", id, r.Outcome, r.Evidence.Summary)
		}
	}
	if rep.TimedOut {
		t.Error("per-check timeouts must not exhaust the target budget")
	}
}

func TestStopBetweenChecks(t *testing.T) {
	srv := httptest.NewServer(headers())
	defer srv.Close()
	s := testScanner(t)
	s.HTTPPort = portOf(t, srv.URL)
	calls := 0
	stop := func() bool { calls++; return calls > 1 } // flips after the first check
	rep := s.ScanTarget(context.Background(), Target{AssetID: "x", Type: TargetIP, Value: "127.0.0.1"}, stop)
	if !rep.Stopped {
		t.Fatal("not stopped")
	}
	for _, r := range rep.Results {
		if !strings.HasPrefix(r.CheckID, serviceCheckPrefix) {
			t.Errorf("%s ran after the stop", r.CheckID)
		}
	}
	if !rep.Live {
		t.Error("the first step reached the host")
	}

	// Scan: once ShouldStop says so, no new target starts.
	var stopped atomic.Bool
	targets := make([]Target, 50)
	for i := range targets {
		targets[i] = Target{AssetID: fmt.Sprint(i), Type: TargetIP, Value: "127.0.0.1"}
	}
	s.MaxConcurrency = 2
	var seen atomic.Int32
	sum := s.Scan(context.Background(), targets, Hooks{
		OnTarget:   func(TargetReport) { seen.Add(1); stopped.Store(true) },
		ShouldStop: stopped.Load,
	})
	if !sum.Stopped || sum.Done >= sum.Total || int(seen.Load()) != sum.Done {
		t.Errorf("summary %+v, reports %d", sum, seen.Load())
	}
}

func TestScanBoundedConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond) // widen the window in which overlap shows
	}))
	defer srv.Close()
	s := testScanner(t)
	s.HTTPPort = portOf(t, srv.URL)
	s.MaxConcurrency = 3
	targets := make([]Target, 12)
	for i := range targets {
		targets[i] = Target{AssetID: fmt.Sprint(i), Type: TargetIP, Value: "127.0.0.1"}
	}
	var reports atomic.Int32
	var last int
	monotonic := true
	sum := s.Scan(context.Background(), targets, Hooks{
		OnTarget: func(TargetReport) { reports.Add(1) },
		OnProgress: func(done, total int) {
			if done != last+1 || total != len(targets) {
				monotonic = false
			}
			last = done
		},
	})
	if p := peak.Load(); p > 3 || p < 1 {
		t.Errorf("peak concurrent requests %d, want 1..3", p)
	}
	if int(reports.Load()) != len(targets) || sum.Done != len(targets) || !monotonic || sum.Stopped {
		t.Errorf("reports %d, summary %+v, monotonic %v", reports.Load(), sum, monotonic)
	}
	if sum.Score.Score == nil || sum.Score.LiveHosts != len(targets) {
		t.Errorf("score %+v", sum.Score)
	}
}

// A thousand targets go through a fixed pool of workers: goroutines stay
// proportional to MaxConcurrency, not to the number of targets, and no
// report is kept after its callback.
func TestScanThousandTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	srv := httptest.NewServer(headers("Server", "nginx/1.25.3"))
	srv.Config.ErrorLog = quietLog()
	defer srv.Close()
	s := testScanner(t)
	s.HTTPPort = portOf(t, srv.URL)
	s.MaxConcurrency = 16
	targets := make([]Target, 1000)
	for i := range targets {
		targets[i] = Target{AssetID: fmt.Sprintf("asset-%04d", i), Type: TargetIP, Value: "127.0.0.1"}
	}
	base := runtime.NumGoroutine()
	var peakG atomic.Int64
	var findings atomic.Int64
	sum := s.Scan(context.Background(), targets, Hooks{OnTarget: func(r TargetReport) {
		findings.Add(int64(len(r.Findings)))
		if g := int64(runtime.NumGoroutine()); g > peakG.Load() {
			peakG.Store(g)
		}
	}})
	if sum.Done != 1000 || sum.Score.LiveHosts != 1000 || sum.Score.Score == nil {
		t.Fatalf("summary %+v", sum)
	}
	// Each in-flight target holds a few goroutines (its HTTP connection on
	// both sides); one per target would be thousands.
	if g := peakG.Load(); g > int64(base+16*20) {
		t.Errorf("peak goroutines %d (base %d): not bounded by MaxConcurrency", g, base)
	}
	if findings.Load() == 0 {
		t.Error("no findings streamed")
	}
}

func TestRefusedAndInvalidTargets(t *testing.T) {
	s := &Scanner{Ports: []ServicePort{}, Guard: Guard{Resolver: staticResolver{}}}
	for _, tg := range []Target{
		{AssetID: "1", Type: TargetIP, Value: "10.0.0.1"},
		{AssetID: "2", Type: TargetIP, Value: "169.254.169.254"},
		{AssetID: "3", Type: TargetURL, Value: "http://[::1]:9001/2018-06-01/runtime/invocation/next"},
		{AssetID: "4", Type: TargetIP, Value: "nonsense"},
	} {
		rep := s.ScanTarget(context.Background(), tg, nil)
		if len(rep.Errors) == 0 || rep.Live || len(rep.Results) != 0 {
			t.Errorf("%+v: %+v", tg, rep)
		}
	}
	sum := s.Scan(context.Background(), []Target{{AssetID: "1", Type: TargetIP, Value: "10.0.0.1"}}, Hooks{})
	if sum.Score.Score != nil || !strings.Contains(sum.Score.Reason, "refused") {
		t.Errorf("score %+v", sum.Score)
	}
}

// A url target scans its own port and path.
func TestURLTarget(t *testing.T) {
	ca := newTestCA(t, keyCA())
	var paths sync.Map
	srv := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, leafSpec{names: []string{"app.test"}})}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths.Store(r.URL.Path, true)
		w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload")
	}))
	s := testScanner(t)
	s.RootCAs = ca.pool
	s.Guard.Resolver = staticResolver{"app.test": {"127.0.0.1"}}
	rep := s.ScanTarget(context.Background(), Target{AssetID: "u", Type: TargetURL, Value: fmt.Sprintf("https://app.test:%d/portal/login", portOf(t, srv.URL))}, nil)
	expect(t, rep, map[string]string{idHSTSMissing: "pass", idCertHostname: "pass", idCertUntrusted: "pass"})
	if _, ok := paths.Load("/portal/login"); !ok {
		t.Error("the url's path was not requested")
	}
}
