package scanner

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ServicePort is one port of the exposed-service checks.
type ServicePort struct {
	Port int
	// Service names the catalogue entry service.exposed.<Service>; names
	// outside the built-in list report as service.exposed.other.
	Service  string
	Severity Severity
	// Banner reads what the server sends first (never sends anything).
	Banner bool
}

// DefaultPorts returns the built-in port list.
func DefaultPorts() []ServicePort {
	out := make([]ServicePort, len(services))
	for i, s := range services {
		out[i] = ServicePort{Port: s.port, Service: s.name, Severity: s.severity, Banner: s.banner}
	}
	return out
}

// Scanner runs the checks. The zero value is usable: every zero field means
// its documented default. A Scanner is safe for concurrent use once
// configured; do not change fields while scans run.
type Scanner struct {
	// Guard approves every address before it is dialled.
	Guard Guard
	// DNSServer is the recursive resolver ("host:port") the DNS checks ask.
	// Empty means the first nameserver of /etc/resolv.conf. When it is set
	// and Guard.Resolver is nil, target names are resolved through it too,
	// so one setting points all name resolution at one server.
	DNSServer string
	// Ports are the exposed-service checks. nil means DefaultPorts(); an
	// empty non-nil slice disables them.
	Ports []ServicePort
	// HTTPPort and HTTPSPort are where web and TLS checks connect (0: 80
	// and 443). A url target's explicit port overrides its scheme's port.
	HTTPPort, HTTPSPort int
	// RootCAs verifies certificate chains; nil means the system roots.
	RootCAs *x509.CertPool
	// TargetTimeout bounds one target's whole run (0: 2 minutes).
	TargetTimeout time.Duration
	// DialTimeout bounds one TCP connect (0: 3 seconds).
	DialTimeout time.Duration
	// IOTimeout bounds one exchange: a TLS handshake, an HTTP request, a
	// DNS query (0: 8 seconds).
	IOTimeout time.Duration
	// BannerTimeout bounds the wait for a service banner (0: 1 second).
	BannerTimeout time.Duration
	// MaxConcurrency bounds targets scanned at once by Scan (0: 16).
	MaxConcurrency int
	// UserAgent of HTTP requests (empty: a Rampart scanner agent string).
	UserAgent string
	// Now is the clock for certificate validity (nil: time.Now).
	Now func() time.Time
}

func (s *Scanner) targetTimeout() time.Duration { return orDur(s.TargetTimeout, 2*time.Minute) }
func (s *Scanner) dialTimeout() time.Duration   { return orDur(s.DialTimeout, 3*time.Second) }
func (s *Scanner) ioTimeout() time.Duration     { return orDur(s.IOTimeout, 8*time.Second) }
func (s *Scanner) bannerTimeout() time.Duration { return orDur(s.BannerTimeout, time.Second) }
func (s *Scanner) httpPort() int                { return orInt(s.HTTPPort, 80) }
func (s *Scanner) httpsPort() int               { return orInt(s.HTTPSPort, 443) }
func (s *Scanner) concurrency() int             { return orInt(s.MaxConcurrency, 16) }

func (s *Scanner) userAgent() string {
	if s.UserAgent != "" {
		return s.UserAgent
	}
	return "Mozilla/5.0 (compatible; RampartScanner/1.0; security assessment)"
}

func (s *Scanner) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Scanner) ports() []ServicePort {
	if s.Ports == nil {
		return DefaultPorts()
	}
	return s.Ports
}

func (s *Scanner) guard() *Guard {
	g := s.Guard
	if g.Resolver == nil && s.DNSServer != "" {
		g.Resolver = DNSResolver(s.DNSServer, s.ioTimeout())
	}
	return &g
}

func orDur(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func orInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// Hooks connect a scan to its caller. Every field may be nil.
type Hooks struct {
	// OnTarget receives each target's report as soon as it is done, from
	// the goroutine that scanned it (so up to MaxConcurrency calls run at
	// once). Scan keeps nothing of the report after the call returns, which
	// is what keeps memory flat over thousands of targets.
	OnTarget func(TargetReport)
	// OnProgress is called after each target with the number of targets
	// done so far and the total. Calls are serialized and done increases.
	OnProgress func(done, total int)
	// ShouldStop is polled between checks, one call at a time; true ends
	// the scan (running targets stop before their next check and report
	// Stopped, no new target starts). Once it has said true it is not
	// asked again.
	ShouldStop func() bool
}

// Summary is what Scan returns once every target is done or the scan stopped.
type Summary struct {
	Total   int  `json:"total"`
	Done    int  `json:"done"`
	Stopped bool `json:"stopped"`
	// Score is computed on the fly from the reports, without keeping them.
	Score ScoreResult `json:"score"`
}

// Scan scans targets with at most MaxConcurrency targets in flight, each
// under its own TargetTimeout, streaming reports through hooks.OnTarget.
func (s *Scanner) Scan(ctx context.Context, targets []Target, hooks Hooks) Summary {
	total := len(targets)
	var (
		mu      sync.Mutex // serializes tally, done and OnProgress
		tally   Tally
		done    int
		stopped atomic.Bool
		next    atomic.Int64
	)
	var stopMu sync.Mutex // callers need not make ShouldStop concurrency-safe
	shouldStop := func() bool {
		if stopped.Load() {
			return true
		}
		stopMu.Lock()
		defer stopMu.Unlock()
		if ctx.Err() != nil || (hooks.ShouldStop != nil && hooks.ShouldStop()) {
			stopped.Store(true)
			return true
		}
		return false
	}
	// A fixed pool of workers pulling indexes, rather than a goroutine per
	// target, keeps goroutines and memory proportional to MaxConcurrency.
	workers := min(s.concurrency(), total)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= total || shouldStop() {
					return
				}
				rep := s.ScanTarget(ctx, targets[i], shouldStop)
				mu.Lock()
				tally.Add(rep)
				mu.Unlock()
				if hooks.OnTarget != nil {
					hooks.OnTarget(rep)
				}
				mu.Lock()
				done++
				if hooks.OnProgress != nil {
					hooks.OnProgress(done, total)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return Summary{Total: total, Done: done, Stopped: stopped.Load(), Score: tally.Result()}
}

// step is one check (or a group of checks sharing one probe); ShouldStop is
// polled between steps.
type step struct {
	name   string
	checks []string
	run    func(r *run, ctx context.Context)
}

// run is the state of one target's scan.
type run struct {
	s   *Scanner
	t   Target
	p   parsedTarget
	rep *TargetReport

	httpPort, httpsPort int

	// Set by the reach step.
	resolved  bool
	noAddress string // why a domain has no web checks
	dialer    *pinnedDialer
	httpOpen  bool
	httpsOpen bool

	// Set by the DNS zone step.
	dnsc      *dnsClient
	zone      string
	dnsFailed string // why DNS checks cannot run

	tls    tlsFacts
	http   *httpState
	silent map[string]error // scheme -> why further requests are pointless

	covered map[string]bool // check ids that produced a result
}

// ScanTarget runs every check that applies to t, polling shouldStop (which
// may be nil) between checks, under the per-target timeout. It never fails:
// what went wrong is in the report (Errors, error outcomes, TimedOut,
// Stopped). A report with TimedOut or Stopped is partial.
func (s *Scanner) ScanTarget(ctx context.Context, t Target, shouldStop func() bool) TargetReport {
	rep := TargetReport{Target: t, Results: []Result{}, Findings: []Finding{}}
	p, err := parseTarget(t)
	if err != nil {
		rep.Host = t.Value
		rep.Errors = append(rep.Errors, "invalid target: "+err.Error())
		return rep
	}
	rep.Host = p.host
	ctx, cancel := context.WithTimeout(ctx, s.targetTimeout())
	defer cancel()

	r := &run{
		s: s, t: t, p: p, rep: &rep,
		httpPort:  orInt(p.httpPort, s.httpPort()),
		httpsPort: orInt(p.httpsPort, s.httpsPort()),
		covered:   map[string]bool{},
	}
	defer r.closeHTTP()

	for _, st := range r.plan() {
		if shouldStop != nil && shouldStop() {
			rep.Stopped = true
			break
		}
		if ctx.Err() != nil {
			r.timedOut(ctx)
			break
		}
		r.runStep(ctx, st)
	}
	if !rep.Stopped && !rep.TimedOut && ctx.Err() != nil {
		r.timedOut(ctx)
	}
	for _, res := range rep.Results {
		if f, ok := FindingFor(res); ok {
			rep.Findings = append(rep.Findings, f)
		}
	}
	return rep
}

func (r *run) timedOut(ctx context.Context) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		r.rep.TimedOut = true
		r.rep.Errors = append(r.rep.Errors, fmt.Sprintf("target timeout (%s) reached; remaining checks not run", r.s.targetTimeout()))
	} else {
		r.rep.Stopped = true
	}
}

// runStep runs one step, turning a panic into error results: a scanner
// parses hostile input (certificates, headers, DNS), and one bad server must
// not take down the worker.
func (r *run) runStep(ctx context.Context, st step) {
	defer func() {
		if v := recover(); v != nil {
			msg := fmt.Sprintf("internal error in %s: %v", st.name, v)
			for _, id := range st.checks {
				if !r.covered[id] {
					r.add(id, "", OutcomeError, "", msg, nil)
				}
			}
		}
	}()
	st.run(r, ctx)
}

// plan lists the steps for the target's type: DNS checks for domains, the
// reachability sweep (which also covers exposed services), then TLS and web.
func (r *run) plan() []step {
	var steps []step
	if r.p.dns {
		steps = append(steps,
			step{"dns.zone", nil, (*run).stepDNSZone},
			step{"dns.spf", []string{idSPFMissing, idSPFPermissive, idSPFInvalid}, (*run).stepSPF},
			step{"dns.dmarc", []string{idDMARCMissing, idDMARCNone}, (*run).stepDMARC},
			step{"dns.dnssec", []string{idDNSSECMissing}, (*run).stepDNSSEC},
			step{"dns.caa", []string{idCAAMissing}, (*run).stepCAA},
			step{"dns.mx", []string{idMXMissing}, (*run).stepMX},
		)
	}
	var svc []string
	if r.p.services {
		for _, sp := range r.s.ports() {
			svc = append(svc, serviceCheckID(sp.Service))
		}
	}
	steps = append(steps,
		step{"reach", svc, (*run).stepReach},
		step{"tls.certificate", certCheckIDs, (*run).stepCertificate},
		step{"tls.protocols", []string{idTLSLegacy, idTLSModernMissing}, (*run).stepProtocols},
		step{"tls.ciphers", []string{idTLSWeakCipher, idTLSNoPFS}, (*run).stepCiphers},
		step{"http.redirect", []string{idHTTPSRedirect}, (*run).stepRedirect},
		step{"http.headers", headerCheckIDs, (*run).stepHeaders},
		step{"http.security_txt", []string{idSecurityTxtMissing, idSecurityTxtInvalid}, (*run).stepSecurityTxt},
		step{"http.exposed_files", []string{idExposedGit, idExposedEnv}, (*run).stepExposedFiles},
	)
	return steps
}

// add records one result. Severity is dropped for outcomes that are not
// findings, so results stay unambiguous.
func (r *run) add(checkID, subject string, outcome Outcome, sev Severity, summary string, facts map[string]string) {
	if outcome != OutcomeFail && outcome != OutcomeWarn {
		sev = ""
	} else if sev == "" {
		if c, ok := LookupCheck(checkID); ok {
			sev = c.Severity
		}
	}
	r.covered[checkID] = true
	r.rep.Results = append(r.rep.Results, Result{
		AssetID:  r.t.AssetID,
		CheckID:  checkID,
		Host:     r.p.host,
		Subject:  subject,
		Outcome:  outcome,
		Severity: sev,
		Evidence: Evidence{Summary: summary, Facts: facts},
	})
}

// addAll records the same non-finding outcome for several checks.
func (r *run) addAll(ids []string, outcome Outcome, summary string) {
	for _, id := range ids {
		r.add(id, "", outcome, "", summary, nil)
	}
}

// stepReach resolves the host through the guard and connects to the web
// ports and the service ports at once: one sweep tells which later checks
// apply, marks the host live and yields the exposed-service results.
func (r *run) stepReach(ctx context.Context) {
	var ports []ServicePort
	if r.p.services {
		ports = r.s.ports()
	}
	addrs, err := r.s.guard().Resolve(ctx, r.p.host)
	if err != nil {
		if r.p.kind == TargetDomain && isNotFound(err) {
			// A domain without addresses (mail-only, parked) is normal:
			// its web checks do not apply, and nothing went wrong.
			r.noAddress = "no web checks: " + r.p.host + " has no A or AAAA record"
			return
		}
		// Without an approved address no network check runs; the reason is
		// in Errors once rather than repeated on every check.
		r.rep.Errors = append(r.rep.Errors, err.Error())
		return
	}
	r.resolved = true
	r.dialer = &pinnedDialer{addrs: addrs, timeout: r.s.dialTimeout()}
	for _, a := range addrs {
		r.rep.Addresses = append(r.rep.Addresses, a.String())
	}

	type probe struct {
		port   int
		svc    *ServicePort
		open   bool
		banner string
		err    error
	}
	probes := []*probe{{port: r.httpPort}, {port: r.httpsPort}}
	for i := range ports {
		probes = append(probes, &probe{port: ports[i].Port, svc: &ports[i]})
	}
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, pr := range probes {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			banner := pr.svc != nil && pr.svc.Banner
			pr.open, pr.banner, pr.err = r.connect(ctx, pr.port, banner)
		})
	}
	wg.Wait()

	r.httpOpen, r.httpsOpen = probes[0].open, probes[1].open
	for _, pr := range probes {
		if pr.open {
			r.rep.Live = true
		}
	}
	for _, pr := range probes[2:] {
		r.serviceResult(pr.svc, pr.open, pr.banner, pr.err)
	}
}

// unreachable reports whether the network checks cannot run because the
// host did not resolve to an approved address; for a domain without
// addresses it records them as skipped.
func (r *run) unreachable(ids []string) bool {
	if r.resolved {
		return false
	}
	if r.noAddress != "" {
		r.addAll(ids, OutcomeSkipped, r.noAddress)
	}
	return true
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.Is(err, errNoAddress) || errors.As(err, &de) && de.IsNotFound
}

// connect opens and closes one TCP connection to an approved address,
// optionally reading what the server volunteers.
func (r *run) connect(ctx context.Context, port int, banner bool) (bool, string, error) {
	c, err := r.dialer.DialContext(ctx, "tcp", hostPort(r.p.host, port))
	if err != nil {
		return false, "", err
	}
	defer c.Close()
	if !banner {
		return true, "", nil
	}
	_ = c.SetReadDeadline(deadline(ctx, r.s.bannerTimeout()))
	buf := make([]byte, 256)
	n, _ := readSome(c, buf)
	return true, sanitizeBanner(buf[:n]), nil
}

// readSome reads until the buffer is full, the peer pauses past the
// deadline, or the connection ends; banners often arrive in pieces.
func readSome(c net.Conn, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m > 0 && bytesContainNewline(buf[:n]) {
			return n, nil
		}
	}
	return n, nil
}

func bytesContainNewline(b []byte) bool { return slices.Contains(b, '\n') }

// deadline is now+d capped by the context's deadline.
func deadline(ctx context.Context, d time.Duration) time.Time {
	t := time.Now().Add(d)
	if cd, ok := ctx.Deadline(); ok && cd.Before(t) {
		return cd
	}
	return t
}

// withIO derives a context for one exchange.
func (r *run) withIO(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.s.ioTimeout())
}

func (r *run) webAddr(port int) string { return hostPort(r.p.host, port) }

// closeHTTP releases the target's idle connections.
func (r *run) closeHTTP() {
	if r.http != nil && r.http.transport != nil {
		r.http.transport.CloseIdleConnections()
	}
}

// newHTTPClient builds the per-target HTTP client. Its transport dials the
// guard-approved addresses only, ignores proxy settings from the
// environment (a proxy would dial the name itself) and never follows
// redirects on its own.
func (r *run) newHTTPClient() *httpState {
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            r.dialer.DialContext,
		TLSClientConfig:        r.stdTLSConfig(),
		TLSHandshakeTimeout:    r.s.ioTimeout(),
		ResponseHeaderTimeout:  r.s.ioTimeout(),
		MaxResponseHeaderBytes: 64 << 10,
		DisableCompression:     true,
		MaxIdleConns:           4,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        10 * time.Second,
		ForceAttemptHTTP2:      false,
	}
	return &httpState{
		transport: tr,
		client: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
			Timeout: r.s.ioTimeout(),
		},
	}
}

func serviceCheckID(name string) string {
	for _, s := range services {
		if s.name == name {
			return serviceCheckPrefix + name
		}
	}
	return idServiceOther
}
