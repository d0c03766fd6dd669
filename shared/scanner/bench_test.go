package scanner

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchSite is a reasonably configured site on loopback: HTTPS with a
// certificate from a test CA, HTTP redirecting to HTTPS, security headers,
// a cookie, security.txt, and (for host targets) one open and one closed
// service port.
func benchSite(b *testing.B, name string) *Scanner {
	b.Helper()
	ca := newTestCA(b, keyCA())
	expires := time.Now().Add(200 * 24 * time.Hour).UTC().Format(time.RFC3339)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/security.txt":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "Contact: mailto:security@%s\nExpires: %s\n", name, expires)
			return
		case "/":
		default:
			http.NotFound(w, r)
			return
		}
		hd := w.Header()
		hd.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		hd.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		hd.Set("Set-Cookie", "sid=1; Secure; HttpOnly; SameSite=Lax")
		hd.Set("Server", "nginx/1.25.3")
		fmt.Fprint(w, "<html><body>ok</body></html>")
	})
	tlsSrv := tlsServer(b, &tls.Config{Certificates: []tls.Certificate{ca.leaf(b, leafSpec{names: []string{name}, ips: []string{"127.0.0.1"}})}}, h)
	plain := httptest.NewServer(http.RedirectHandler("https://"+name+"/", http.StatusMovedPermanently))
	plain.Config.ErrorLog = quietLog()
	b.Cleanup(plain.Close)
	s := testScanner(b)
	s.RootCAs = ca.pool
	s.HTTPSPort = portOf(b, tlsSrv.URL)
	s.HTTPPort = portOf(b, plain.URL)
	s.Ports = []ServicePort{
		{Port: listen(b, "220 ready\r\n"), Service: "ftp", Severity: SeverityMedium, Banner: true},
		{Port: closedPort(b), Service: "redis", Severity: SeverityCritical},
	}
	s.DNSServer = startDNS(b, soa(name)+"\n"+signed(name, true)+`
`+name+`. 300 IN A 127.0.0.1
`+name+`. 300 IN TXT "v=spf1 include:_spf.mail.test -all"
_spf.mail.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.`+name+`. 300 IN TXT "v=DMARC1; p=reject"
`+name+`. 300 IN CAA 0 issue "letsencrypt.org"
`+name+`. 300 IN MX 10 mx.`+name+`.`, false)
	s.Guard.Resolver = nil // names resolve through the test DNS server
	return s
}

// BenchmarkScanTargetHTTPS fully checks one domain on loopback: DNS checks,
// the certificate, protocol and cipher probes, HTTP checks.
func BenchmarkScanTargetHTTPS(b *testing.B) {
	s := benchSite(b, "bench.test")
	target := Target{AssetID: "bench", Type: TargetDomain, Value: "bench.test"}
	rep := s.ScanTarget(context.Background(), target, nil)
	if !rep.Live || len(rep.Errors) > 0 {
		b.Fatalf("bad setup: %+v", rep.Errors)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.ScanTarget(context.Background(), target, nil)
	}
	b.ReportMetric(float64(len(rep.Results)), "results/target")
}

// BenchmarkScan1000 scans 1,000 host targets (every check that applies to
// a host, two service ports included) with the default concurrency, and
// reports the peak heap sampled while the scan runs.
func BenchmarkScan1000(b *testing.B) {
	s := benchSite(b, "bench.test")
	s.MaxConcurrency = 0 // the default
	targets := make([]Target, 1000)
	for i := range targets {
		targets[i] = Target{AssetID: fmt.Sprintf("asset-%04d", i), Type: TargetIP, Value: "127.0.0.1"}
	}
	b.ReportAllocs()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	var results atomic.Int64
	b.ResetTimer()
	for b.Loop() {
		sum := s.Scan(context.Background(), targets, Hooks{OnTarget: func(r TargetReport) { results.Add(int64(len(r.Results))) }})
		if sum.Done != len(targets) {
			b.Fatalf("done %d", sum.Done)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(results.Load())/float64(b.N)/float64(len(targets)), "results/target")
}
