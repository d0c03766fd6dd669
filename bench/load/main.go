// Command load drives a running Rampart API with concurrent authenticated
// clients for a bounded time, across reads and writes, reports throughput and
// latency per operation, and afterwards checks that every write is accounted
// for in the lists and statistics.
//
// Without -base-url it builds ./functions/local and starts it on a free port
// of 127.0.0.1 against the emulators, with a table, a bucket and a data
// directory of its own (removed afterwards), and seeds the admin it signs in
// as. Run it under the emulators:
//
//	scripts/emulators.sh --mode test run-with -- go run ./bench/load -clients 16 -duration 20s
//
// Against a server that is already running (127.0.0.1 only):
//
//	go run ./bench/load -base-url http://127.0.0.1:8080 -email admin@rampart.local -password ...
//
// The accounting checks compare totals before and after the run, so nothing
// else may write findings or assets in that organization meanwhile.
//
// Exit status: 0 when every request got an HTTP answer below 500, no
// unexpected 4xx was seen (409 is expected: concurrent updates) and every
// check passed; 1 otherwise; 2 for bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"rampart/bench/internal/benchenv"
)

// Operations of the mix, with their weights (percent).
const (
	opListFindings  = "list_findings"
	opGetFinding    = "get_finding"
	opStats         = "finding_stats"
	opListAssets    = "list_assets"
	opCreateFinding = "create_finding"
	opPatchFinding  = "patch_finding"
	opCreateAsset   = "create_asset"
	opLogin         = "login"
)

type weighted struct {
	name   string
	weight int
}

// mix: 70 % reads, 30 % writes.
var mix = []weighted{
	{opListFindings, 25}, {opGetFinding, 20}, {opStats, 15}, {opListAssets, 10},
	{opCreateFinding, 12}, {opPatchFinding, 12}, {opCreateAsset, 6},
}

var (
	severities = []string{"critical", "high", "medium", "low", "info"}
	statuses   = []string{"open", "in_progress", "resolved", "accepted_risk", "false_positive"}
)

type options struct {
	baseURL         string
	email, password string
	clients         int
	duration        time.Duration
	warmup          time.Duration
	maxRequests     int64
	timeout         time.Duration
	setupClients    int
	setupAssets     int
	setupFindings   int
	jsonOut         bool
	allow4xx        bool
	serverPID       int // the self-started server, for its CPU time
}

func main() {
	var o options
	flag.StringVar(&o.baseURL, "base-url", "", "API to drive (127.0.0.1 only); empty: build and start ./functions/local on the emulators")
	flag.StringVar(&o.email, "email", envOr("RAMPART_SEED_ADMIN_EMAIL", "admin@rampart.local"), "admin email (default $RAMPART_SEED_ADMIN_EMAIL)")
	flag.StringVar(&o.password, "password", os.Getenv("RAMPART_SEED_ADMIN_PASSWORD"), "admin password (default $RAMPART_SEED_ADMIN_PASSWORD; generated when starting the server)")
	flag.IntVar(&o.clients, "clients", 16, "concurrent authenticated clients (1-256)")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "how long to drive the API (at most 10m)")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "run the mix this long first without recording latencies (writes still counted in the checks)")
	flag.Int64Var(&o.maxRequests, "max-requests", 1_000_000, "stop after this many requests of the mix, whichever comes first")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "timeout of one request")
	flag.IntVar(&o.setupClients, "setup-clients", 3, "clients (each with one session) created before the run")
	flag.IntVar(&o.setupAssets, "setup-assets", 20, "assets created before the run")
	flag.IntVar(&o.setupFindings, "setup-findings", 50, "findings created before the run")
	flag.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	flag.BoolVar(&o.allow4xx, "allow-4xx", false, "do not fail on 4xx answers other than 409")
	flag.Parse()
	if o.clients < 1 || o.clients > 256 || o.duration <= 0 || o.duration > 10*time.Minute || o.warmup < 0 || o.warmup > time.Minute ||
		o.maxRequests < 1 || o.setupClients < 1 || o.setupAssets < 1 || o.setupFindings < 1 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "load: -clients 1..256, -duration (0, 10m], -warmup [0, 1m], positive -max-requests and -setup-*; no arguments")
		os.Exit(2)
	}
	os.Exit(run(o))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func progress(format string, args ...any) { fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...) }

func run(o options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var local *benchenv.Local
	if o.baseURL == "" {
		var err error
		local, err = benchenv.StartLocal(ctx, benchenv.LocalOptions{Name: "load", Email: o.email,
			Password: o.password, Log: os.Stderr})
		if local != nil {
			defer func() {
				if err := local.Stop(); err != nil {
					progress("cleanup: %v", err)
				}
			}()
		}
		if err != nil {
			progress("%v", err)
			return 1
		}
		o.baseURL, o.password, o.serverPID = local.URL, local.Password, local.PID()
	} else if err := benchenv.CheckLoopback(o.baseURL); err != nil {
		progress("%v", err)
		return 2
	}
	if o.password == "" {
		progress("no admin password: give -password or RAMPART_SEED_ADMIN_PASSWORD")
		return 2
	}
	rep, err := drive(ctx, o)
	if err != nil {
		progress("%v", err)
		if local != nil {
			progress("server log:\n%s", local.LogTail(30))
		}
		return 1
	}
	rep.Server = o.baseURL
	rep.SelfStarted = local != nil
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.print()
	}
	if !rep.OK {
		if local != nil {
			progress("server log:\n%s", local.LogTail(30))
		}
		return 1
	}
	return 0
}

// ---------------------------------------------------------------------------
// Shared state of the run

// pool holds the ids every client may read or attach findings to.
type pool struct {
	mu       sync.RWMutex
	findings []string
	assets   []string
	sessions []string
}

func (p *pool) pick(r *rand.Rand, which *[]string) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if len(*which) == 0 {
		return ""
	}
	return (*which)[r.IntN(len(*which))]
}

func (p *pool) add(which *[]string, id string) {
	p.mu.Lock()
	*which = append(*which, id)
	p.mu.Unlock()
}

// tally counts what one client (or the setup) wrote successfully, so that the
// totals can be checked afterwards.
type tally struct {
	findings   int64
	assets     int64
	clients    int64
	sessions   int64
	bySeverity map[string]int64
	// owned is the current status of every finding this client may patch:
	// each finding is patched by one client only, so its final status is
	// known.
	owned map[string]string
}

func newTally() *tally { return &tally{bySeverity: map[string]int64{}, owned: map[string]string{}} }

func (t *tally) merge(o *tally) {
	t.findings += o.findings
	t.assets += o.assets
	t.clients += o.clients
	t.sessions += o.sessions
	for k, v := range o.bySeverity {
		t.bySeverity[k] += v
	}
	for k, v := range o.owned {
		t.owned[k] = v
	}
}

// recorder keeps one client's latencies and answers per operation.
type recorder struct {
	lat       map[string][]time.Duration
	status    map[string]map[int]int64
	transport map[string]int64
	errs      []string // first few unexpected answers, for the report
}

func newRecorder() *recorder {
	return &recorder{lat: map[string][]time.Duration{}, status: map[string]map[int]int64{}, transport: map[string]int64{}}
}

func (r *recorder) record(op string, d time.Duration, status int, err error, body []byte) {
	if err != nil {
		r.transport[op]++
		r.note(fmt.Sprintf("%s: transport error: %v", op, err))
		return
	}
	r.lat[op] = append(r.lat[op], d)
	if r.status[op] == nil {
		r.status[op] = map[int]int64{}
	}
	r.status[op][status]++
	if status >= 400 {
		r.note(fmt.Sprintf("%s: %d %.200s", op, status, body))
	}
}

func (r *recorder) note(s string) {
	if len(r.errs) < 5 {
		r.errs = append(r.errs, s)
	}
}

// ---------------------------------------------------------------------------
// The run

type counts struct {
	Findings   int64            `json:"findings"`
	Assets     int64            `json:"assets"`
	Clients    int64            `json:"clients"`
	Sessions   int64            `json:"sessions"`
	BySeverity map[string]int64 `json:"findings_by_severity"`
	ByStatus   map[string]int64 `json:"findings_by_status"`
	StatsTotal int64            `json:"stats_total"`
}

type stats struct {
	Total      int64            `json:"total"`
	BySeverity map[string]int64 `json:"by_severity"`
	ByStatus   map[string]int64 `json:"by_status"`
}

func listTotal(ctx context.Context, api *benchenv.API, path string) (int64, error) {
	var page struct {
		Total *int64 `json:"total"`
	}
	if err := api.JSON(ctx, http.MethodGet, path+"?per_page=1", nil, http.StatusOK, &page); err != nil {
		return 0, err
	}
	if page.Total == nil {
		return 0, fmt.Errorf("GET %s: no total", path)
	}
	return *page.Total, nil
}

func snapshot(ctx context.Context, api *benchenv.API) (counts, error) {
	var c counts
	var err error
	for _, x := range []struct {
		path string
		dst  *int64
	}{
		{"/api/v1/findings", &c.Findings}, {"/api/v1/assets", &c.Assets},
		{"/api/v1/clients", &c.Clients}, {"/api/v1/sessions", &c.Sessions},
	} {
		if *x.dst, err = listTotal(ctx, api, x.path); err != nil {
			return c, err
		}
	}
	var s stats
	if err := api.JSON(ctx, http.MethodGet, "/api/v1/findings/stats", nil, http.StatusOK, &s); err != nil {
		return c, err
	}
	c.StatsTotal, c.BySeverity, c.ByStatus = s.Total, s.BySeverity, s.ByStatus
	return c, nil
}

type idOnly struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// setup creates the clients, sessions, assets and findings the mix works on.
func setup(ctx context.Context, api *benchenv.API, o options, p *pool, t *tally, run string) error {
	var clientIDs []string
	for i := range o.setupClients {
		var c idOnly
		if err := api.JSON(ctx, http.MethodPost, "/api/v1/clients", map[string]any{
			"name": fmt.Sprintf("Load client %d (%s)", i+1, run), "contact_email": fmt.Sprintf("c%d@bench.example", i+1),
		}, http.StatusCreated, &c); err != nil {
			return err
		}
		t.clients++
		clientIDs = append(clientIDs, c.ID)
		var s idOnly
		if err := api.JSON(ctx, http.MethodPost, "/api/v1/sessions", map[string]any{
			"name": fmt.Sprintf("Load session %d (%s)", i+1, run), "client_id": c.ID,
			"start_date": time.Now().UTC().Format(time.DateOnly), "status": "in_progress",
		}, http.StatusCreated, &s); err != nil {
			return err
		}
		t.sessions++
		p.sessions = append(p.sessions, s.ID)
	}
	for i := range o.setupAssets {
		var a idOnly
		if err := api.JSON(ctx, http.MethodPost, "/api/v1/assets",
			assetBody(fmt.Sprintf("setup-%d-%s", i, run), clientIDs[i%len(clientIDs)]), http.StatusCreated, &a); err != nil {
			return err
		}
		t.assets++
		p.assets = append(p.assets, a.ID)
	}
	for i := range o.setupFindings {
		sev := severities[i%len(severities)]
		var f idOnly
		if err := api.JSON(ctx, http.MethodPost, "/api/v1/findings",
			findingBody(p.sessions[i%len(p.sessions)], p.assets[i%len(p.assets)], sev, fmt.Sprintf("setup %d", i)),
			http.StatusCreated, &f); err != nil {
			return err
		}
		t.findings++
		t.bySeverity[sev]++
		t.owned[f.ID] = f.Status
		p.findings = append(p.findings, f.ID)
	}
	return nil
}

func assetBody(unique, clientID string) map[string]any {
	// A reviewed artefact with a URL target: no DNS lookup (the SSRF guard
	// resolves network targets only), and a unique (type, target) marker.
	return map[string]any{
		"type": "web_application", "name": "App " + unique, "client_id": clientID,
		"target": "https://" + unique + ".bench.example/", "tags": []string{"bench", "load"},
	}
}

func findingBody(sessionID, assetID, severity, what string) map[string]any {
	return map[string]any{
		"session_id": sessionID, "asset_id": assetID, "severity": severity,
		"title":       "Missing security header (" + what + ")",
		"description": "The response lacks Content-Security-Policy; generated by bench/load.",
		"remediation": "Send a restrictive Content-Security-Policy header.",
		"category":    "other",
	}
}

// worker is one authenticated client.
type worker struct {
	id       int
	api      *benchenv.API
	email    string
	password string
	loggedAt time.Time
	r        *rand.Rand
	rec      *recorder
	t        *tally
	pool     *pool
	run      string
	seq      int
	ownedIDs []string
}

func (w *worker) login(ctx context.Context) error {
	start := time.Now()
	tok, err := w.api.Login(ctx, w.email, w.password)
	if err != nil {
		w.rec.transport[opLogin]++ // counted as a failure either way
		return err
	}
	w.rec.record(opLogin, time.Since(start), http.StatusOK, nil, nil)
	w.api, w.loggedAt = w.api.WithToken(tok), time.Now()
	return nil
}

func (w *worker) pickOp() string {
	n := w.r.IntN(100)
	for _, m := range mix {
		if n < m.weight {
			return m.name
		}
		n -= m.weight
	}
	return mix[0].name
}

// step runs one operation of the mix; its latency and answer are recorded
// when record is set (after the warm-up).
func (w *worker) step(ctx context.Context, record bool) {
	op := w.pickOp()
	if op == opPatchFinding && len(w.ownedIDs) == 0 {
		op = opCreateFinding
	}
	var (
		method, path string
		body         any
		want         = http.StatusOK
		sev          string
		patchID      string
		newStatus    string
	)
	switch op {
	case opListFindings:
		method, path = http.MethodGet, "/api/v1/findings?per_page=25"
	case opGetFinding:
		method, path = http.MethodGet, "/api/v1/findings/"+w.pool.pick(w.r, &w.pool.findings)
	case opStats:
		method, path = http.MethodGet, "/api/v1/findings/stats"
	case opListAssets:
		method, path = http.MethodGet, "/api/v1/assets?per_page=25"
	case opCreateFinding:
		w.seq++
		sev = severities[w.r.IntN(len(severities))]
		method, path, want = http.MethodPost, "/api/v1/findings", http.StatusCreated
		body = findingBody(w.pool.pick(w.r, &w.pool.sessions), w.pool.pick(w.r, &w.pool.assets), sev,
			fmt.Sprintf("client %d #%d", w.id, w.seq))
	case opPatchFinding:
		patchID = w.ownedIDs[w.r.IntN(len(w.ownedIDs))]
		cur := w.t.owned[patchID]
		for newStatus = cur; newStatus == cur; {
			newStatus = statuses[w.r.IntN(len(statuses))]
		}
		method, path = http.MethodPatch, "/api/v1/findings/"+patchID
		b := map[string]any{"status": newStatus}
		if newStatus != "open" && newStatus != "in_progress" {
			b["resolution_note"] = "set by bench/load"
		}
		body = b
	case opCreateAsset:
		w.seq++
		method, path, want = http.MethodPost, "/api/v1/assets", http.StatusCreated
		body = assetBody(fmt.Sprintf("c%d-%d-%s", w.id, w.seq, w.run), "")
	}
	start := time.Now()
	status, raw, err := w.api.Do(ctx, method, path, body)
	d := time.Since(start)
	if err != nil && ctx.Err() != nil {
		return // interrupted: not a server failure
	}
	if record || err != nil || status >= 500 {
		w.rec.record(op, d, status, err, raw) // failures count in the warm-up too
	}
	if err != nil || status != want {
		return
	}
	switch op {
	case opCreateFinding:
		var f idOnly
		if json.Unmarshal(raw, &f) == nil && f.ID != "" {
			w.t.findings++
			w.t.bySeverity[sev]++
			w.t.owned[f.ID] = f.Status
			w.ownedIDs = append(w.ownedIDs, f.ID)
			w.pool.add(&w.pool.findings, f.ID)
		} else {
			w.rec.note("create_finding: answer without id")
		}
	case opPatchFinding:
		w.t.owned[patchID] = newStatus
	case opCreateAsset:
		var a idOnly
		if json.Unmarshal(raw, &a) == nil && a.ID != "" {
			w.t.assets++
			w.pool.add(&w.pool.assets, a.ID)
		} else {
			w.rec.note("create_asset: answer without id")
		}
	}
}

func drive(ctx context.Context, o options) (*report, error) {
	base := benchenv.NewAPI(o.baseURL, o.clients*2, o.timeout)
	tok, err := base.Login(ctx, o.email, o.password)
	if err != nil {
		return nil, fmt.Errorf("admin login: %w", err)
	}
	admin := base.WithToken(tok)
	before, err := snapshot(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("totals before the run: %w", err)
	}
	run := benchenv.RandomHex(4)
	p := &pool{}
	setupTally := newTally()
	progress("setup: %d clients and sessions, %d assets, %d findings", o.setupClients, o.setupAssets, o.setupFindings)
	if err := setup(ctx, admin, o, p, setupTally, run); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}

	// Every client signs in on its own (argon2id: not part of the mix).
	workers := make([]*worker, o.clients)
	for i := range workers {
		workers[i] = &worker{id: i, api: base, email: o.email, password: o.password,
			r:   rand.New(rand.NewPCG(uint64(i)+1, uint64(time.Now().UnixNano()))),
			rec: newRecorder(), t: newTally(), pool: p, run: run}
	}
	// The setup's findings are shared out: each is patched by one client.
	for i, id := range p.findings {
		w := workers[i%len(workers)]
		w.t.owned[id] = setupTally.owned[id]
		w.ownedIDs = append(w.ownedIDs, id)
	}
	setupTally.owned = map[string]string{}
	progress("signing in %d clients", o.clients)
	var wg sync.WaitGroup
	loginErrs := make([]error, len(workers))
	for i, w := range workers {
		wg.Go(func() { loginErrs[i] = w.login(ctx) })
	}
	wg.Wait()
	if err := errors.Join(loginErrs...); err != nil {
		return nil, fmt.Errorf("client login: %w", err)
	}

	progress("driving %s with %d clients: %s warm-up, then %s measured (at most %d requests)",
		o.baseURL, o.clients, o.warmup, o.duration, o.maxRequests)
	var issued atomic.Int64
	runCtx, cancel := context.WithTimeout(ctx, o.warmup+o.duration+o.timeout+10*time.Second)
	defer cancel()
	start := time.Now().Add(o.warmup)
	deadline := start.Add(o.duration)
	// CPU time of the server, of DynamoDB Local (when it is found by its
	// port) and of this program over the measured period.
	ddbPID := benchenv.ListenerPID(benchenv.EndpointPort("AWS_ENDPOINT_URL_DYNAMODB"))
	var srvCPU0, selfCPU0, ddbCPU0 time.Duration
	cpuTaken := make(chan struct{})
	go func() {
		defer close(cpuTaken)
		select {
		case <-time.After(time.Until(start)):
		case <-runCtx.Done():
			return
		}
		if o.serverPID != 0 {
			srvCPU0, _ = benchenv.ProcCPU(o.serverPID)
		}
		if ddbPID != 0 {
			ddbCPU0, _ = benchenv.ProcCPU(ddbPID)
		}
		selfCPU0 = benchenv.SelfCPU()
	}()
	for _, w := range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) && runCtx.Err() == nil {
				measured := !time.Now().Before(start)
				if measured && issued.Add(1) > o.maxRequests {
					break
				}
				if time.Since(w.loggedAt) > 10*time.Minute { // tokens live 15 minutes
					if err := w.login(runCtx); err != nil {
						w.rec.note("re-login: " + err.Error())
						return
					}
				}
				w.step(runCtx, measured)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	<-cpuTaken
	var srvCPU time.Duration
	if o.serverPID != 0 {
		if c, err := benchenv.ProcCPU(o.serverPID); err == nil && srvCPU0 > 0 {
			srvCPU = c - srvCPU0
		}
	}
	selfCPU := benchenv.SelfCPU() - selfCPU0
	var ddbCPU time.Duration
	if ddbPID != 0 {
		if c, err := benchenv.ProcCPU(ddbPID); err == nil && ddbCPU0 > 0 {
			ddbCPU = c - ddbCPU0
		}
	}
	if ctx.Err() != nil {
		return nil, errors.New("interrupted")
	}

	total := newTally()
	total.merge(setupTally)
	rec := newRecorder()
	for _, w := range workers {
		total.merge(w.t)
		for op, l := range w.rec.lat {
			rec.lat[op] = append(rec.lat[op], l...)
		}
		for op, m := range w.rec.status {
			if rec.status[op] == nil {
				rec.status[op] = map[int]int64{}
			}
			for s, n := range m {
				rec.status[op][s] += n
			}
		}
		for op, n := range w.rec.transport {
			rec.transport[op] += n
		}
		for _, e := range w.rec.errs {
			rec.note(e)
		}
	}
	after, err := snapshot(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("totals after the run: %w", err)
	}
	rep := buildReport(o, rec, elapsed)
	if srvCPU > 0 && rep.Requests > 0 {
		rep.ServerCPUs = srvCPU.Seconds()
		rep.ServerCPUPerReqMs = float64(srvCPU.Microseconds()) / 1000 / float64(rep.Requests)
	}
	rep.LoadCPUs = selfCPU.Seconds()
	rep.DynamoCPUs = ddbCPU.Seconds()
	rep.Checks = verify(before, after, total)
	rep.Machine = benchenv.ReadMachine()
	rep.OK = rep.TransportErrors == 0 && rep.Status5xx == 0 && (o.allow4xx || rep.Unexpected4xx == 0)
	for _, c := range rep.Checks {
		rep.OK = rep.OK && c.OK
	}
	return rep, nil
}

// ---------------------------------------------------------------------------
// Checks

type check struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	OK   bool   `json:"ok"`
}

func eq(name string, want, got int64) check {
	return check{Name: name, Want: fmt.Sprint(want), Got: fmt.Sprint(got), OK: want == got}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func mapString(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}

func delta(after, before map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for k, v := range after {
		d[k] += v
	}
	for k, v := range before {
		d[k] -= v
	}
	return d
}

func verify(before, after counts, t *tally) []check {
	byStatus := map[string]int64{}
	for _, s := range t.owned {
		byStatus[s]++
	}
	// The findings that existed before the run keep their status (nobody
	// else writes), so the change of by_status is the distribution of the
	// final statuses of the findings this run created.
	gotStatus := delta(after.ByStatus, before.ByStatus)
	gotSeverity := delta(after.BySeverity, before.BySeverity)
	return []check{
		eq("findings created (2xx) = list total after - before", t.findings, after.Findings-before.Findings),
		eq("findings created (2xx) = stats total after - before", t.findings, after.StatsTotal-before.StatsTotal),
		eq("stats total = list total", after.Findings, after.StatsTotal),
		eq("sum of stats by_status = stats total", after.StatsTotal, sum(after.ByStatus)),
		eq("sum of stats by_severity = stats total", after.StatsTotal, sum(after.BySeverity)),
		{Name: "stats by_status change = final statuses of the findings written", Want: mapString(byStatus),
			Got: mapString(gotStatus), OK: mapString(byStatus) == mapString(gotStatus)},
		{Name: "stats by_severity change = severities of the findings created", Want: mapString(t.bySeverity),
			Got: mapString(gotSeverity), OK: mapString(t.bySeverity) == mapString(gotSeverity)},
		eq("assets created (2xx) = list total after - before", t.assets, after.Assets-before.Assets),
		eq("clients created = list total after - before", t.clients, after.Clients-before.Clients),
		eq("sessions created = list total after - before", t.sessions, after.Sessions-before.Sessions),
	}
}

// ---------------------------------------------------------------------------
// Report

type opReport struct {
	Op        string           `json:"op"`
	Count     int64            `json:"count"`
	Errors    int64            `json:"errors"`
	P50ms     float64          `json:"p50_ms"`
	P95ms     float64          `json:"p95_ms"`
	P99ms     float64          `json:"p99_ms"`
	Maxms     float64          `json:"max_ms"`
	Statuses  map[string]int64 `json:"statuses"`
	Transport int64            `json:"transport_errors"`
}

type report struct {
	Server      string  `json:"server"`
	SelfStarted bool    `json:"self_started"`
	Clients     int     `json:"clients"`
	Duration    string  `json:"duration"`
	Warmup      string  `json:"warmup"`
	ElapsedS    float64 `json:"elapsed_s"`
	Requests    int64   `json:"requests"`
	Throughput  float64 `json:"throughput_rps"`
	// CPU time over the measured period: the Rampart server (self-started
	// only), per request, and this load generator.
	ServerCPUs        float64          `json:"server_cpu_s,omitempty"`
	ServerCPUPerReqMs float64          `json:"server_cpu_ms_per_request,omitempty"`
	LoadCPUs          float64          `json:"load_generator_cpu_s"`
	DynamoCPUs        float64          `json:"dynamodb_local_cpu_s,omitempty"`
	Ops               []opReport       `json:"ops"`
	Overall           opReport         `json:"overall"`
	Login             *opReport        `json:"login,omitempty"`
	Statuses          map[string]int64 `json:"statuses"`
	TransportErrors   int64            `json:"transport_errors"`
	Status5xx         int64            `json:"status_5xx"`
	Unexpected4xx     int64            `json:"unexpected_4xx"`
	FirstErrors       []string         `json:"first_errors,omitempty"`
	Checks            []check          `json:"checks"`
	Machine           benchenv.Machine `json:"machine"`
	OK                bool             `json:"ok"`
}

func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.999999) - 1 // nearest rank
	i = min(max(i, 0), len(sorted)-1)
	return float64(sorted[i].Microseconds()) / 1000
}

func summarize(op string, lat []time.Duration, st map[int]int64, transport int64) opReport {
	slices.Sort(lat)
	r := opReport{Op: op, Count: int64(len(lat)) + transport, Transport: transport, Statuses: map[string]int64{}}
	r.P50ms, r.P95ms, r.P99ms = pct(lat, 50), pct(lat, 95), pct(lat, 99)
	if len(lat) > 0 {
		r.Maxms = float64(lat[len(lat)-1].Microseconds()) / 1000
	}
	r.Errors = transport
	for s, n := range st {
		r.Statuses[fmt.Sprint(s)] += n
		if s >= 400 {
			r.Errors += n
		}
	}
	return r
}

func buildReport(o options, rec *recorder, elapsed time.Duration) *report {
	rep := &report{Clients: o.clients, Duration: o.duration.String(), Warmup: o.warmup.String(), ElapsedS: elapsed.Seconds(),
		Statuses: map[string]int64{}, FirstErrors: rec.errs}
	var all []time.Duration
	allStatus := map[int]int64{}
	var allTransport int64
	for _, m := range mix {
		r := summarize(m.name, rec.lat[m.name], rec.status[m.name], rec.transport[m.name])
		rep.Ops = append(rep.Ops, r)
		all = append(all, rec.lat[m.name]...)
		for s, n := range rec.status[m.name] {
			allStatus[s] += n
			switch {
			case s >= 500:
				rep.Status5xx += n
			case s >= 400 && s != http.StatusConflict:
				rep.Unexpected4xx += n
			}
		}
		allTransport += rec.transport[m.name]
	}
	rep.Overall = summarize("overall", all, allStatus, allTransport)
	rep.Statuses = rep.Overall.Statuses
	rep.TransportErrors = allTransport + rec.transport[opLogin]
	rep.Requests = rep.Overall.Count
	rep.Throughput = float64(rep.Requests) / elapsed.Seconds()
	if l := rec.lat[opLogin]; len(l) > 0 {
		lr := summarize(opLogin, l, rec.status[opLogin], rec.transport[opLogin])
		rep.Login = &lr
	}
	return rep
}

func (r *report) print() {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(os.Stdout, "Rampart load: %s, %d clients, %s measured (%.1f s) after %s warm-up, %d requests, %.0f req/s\n",
		r.Server, r.Clients, r.Duration, r.ElapsedS, r.Warmup, r.Requests, r.Throughput)
	fmt.Fprintln(w, "operation\tcount\terrors\tp50 ms\tp95 ms\tp99 ms\tmax ms\tstatuses\t")
	row := func(o opReport) {
		fmt.Fprintf(w, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t\n", o.Op, o.Count, o.Errors,
			o.P50ms, o.P95ms, o.P99ms, o.Maxms, statusString(o.Statuses, o.Transport))
	}
	for _, o := range r.Ops {
		row(o)
	}
	row(r.Overall)
	if r.Login != nil {
		row(*r.Login)
	}
	_ = w.Flush()
	if r.ServerCPUs > 0 {
		fmt.Printf("CPU time over the measured period (%.0f s x %d CPUs = %.0f CPU-s available): Rampart server %.1f s (%.2f ms per request)",
			r.ElapsedS, r.Machine.CPUs, r.ElapsedS*float64(r.Machine.CPUs), r.ServerCPUs, r.ServerCPUPerReqMs)
		if r.DynamoCPUs > 0 {
			fmt.Printf(", DynamoDB Local %.1f s", r.DynamoCPUs)
		}
		fmt.Printf(", load generator %.1f s; the rest: other processes of the machine\n", r.LoadCPUs)
	}
	fmt.Printf("5xx: %d, transport errors: %d, 4xx other than 409: %d\n", r.Status5xx, r.TransportErrors, r.Unexpected4xx)
	for _, e := range r.FirstErrors {
		fmt.Printf("  e.g. %s\n", e)
	}
	fmt.Println("accounting:")
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Printf("  %s %s: want %s, got %s\n", mark, c.Name, c.Want, c.Got)
	}
	fmt.Printf("machine: %s\n", r.Machine)
	if r.OK {
		fmt.Println("result: OK")
	} else {
		fmt.Println("result: FAILED")
	}
}

func statusString(m map[string]int64, transport int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	if transport > 0 {
		parts = append(parts, fmt.Sprintf("transport:%d", transport))
	}
	return strings.Join(parts, " ")
}
