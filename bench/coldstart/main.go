// Command coldstart measures, for every function under functions/ (except
// functions/local), the size of its Lambda package and how long the process
// takes from start to its first answer.
//
//	scripts/emulators.sh --mode test run-with -- go run ./bench/coldstart -runs 5
//
// Sizes: each function is built as scripts/build.sh builds it (CGO off,
// -tags lambda.norpc, -trimpath, -ldflags "-s -w"), for linux/arm64 (what
// Lambda runs; zipped as build/lambda/<name>.zip is) and for the host, whose
// binaries are the ones started here.
//
// Start-up, two ways, each the median of -runs fresh processes:
//
//   - HTTP mode (HTTP functions): the binary runs as a plain HTTP server on a
//     free port of 127.0.0.1 against the emulators, on a table that a local
//     server created and seeded beforehand. "first answer" is process start
//     to the first HTTP answer of an unauthenticated GET on one of the
//     function's routes (401, or 200 for health), polled every millisecond:
//     configuration, AWS clients, keys, routes and listener are all done by
//     then. "first 2xx" follows at once with an authenticated GET on the same
//     function (token verification, membership read, the handler's DynamoDB
//     reads: first connections to DynamoDB included).
//   - Lambda mode (every function): the binary runs as Lambda starts it
//     (AWS_LAMBDA_FUNCTION_NAME set) against a fake Lambda Runtime API on
//     127.0.0.1 that this program serves. "init" is process start to the
//     runtime's first GET .../invocation/next (Lambda's init phase ends
//     there); "first invoke" is process start to the response of a sample
//     event (an unauthenticated API Gateway event for HTTP functions: 401,
//     the health sample event: 200; a "scan requested" event for a scan that
//     does not exist for the scan worker: one DynamoDB round trip). Secrets
//     Manager and EventBridge are not emulated: their endpoints point at a
//     closed port of 127.0.0.1, so the key rotator's invoke fails by design
//     (its init is still measured).
//
// Neither includes what AWS adds to a real cold start (sandbox creation,
// downloading the package, the runtime's own start): this is Rampart's own
// init on this machine's CPU.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"rampart/bench/internal/benchenv"
)

// routeOf names, per HTTP function, a GET route it serves: probed without a
// token, then asked with one. Functions added later fall back to
// /api/v1/<name> (any answer below 500 counts then).
var routeOf = map[string]string{
	"health":        "/api/v1/health/ready", // probe: /api/v1/health/live (public)
	"auth":          "/api/v1/auth/me",
	"users":         "/api/v1/users",
	"organizations": "/api/v1/organizations",
	"clients":       "/api/v1/clients",
	"assets":        "/api/v1/assets",
	"sessions":      "/api/v1/sessions",
	"findings":      "/api/v1/findings",
	"attachments":   "/api/v1/findings/{finding}/attachments",
	"taxonomy":      "/api/v1/taxonomy/current",
	"templates":     "/api/v1/templates",
	"scans":         "/api/v1/scans",
	"schedules":     "/api/v1/schedules",
	"reports":       "/api/v1/reports/sessions/{session}/exports",
}

type options struct {
	runs      int
	only      string
	lambda    bool
	jsonOut   bool
	timeout   time.Duration
	skipHTTP  bool
	buildOnly bool
	overlay   string
}

func main() {
	var o options
	flag.IntVar(&o.runs, "runs", 5, "fresh processes per function and mode (median reported), 1-50")
	flag.StringVar(&o.only, "functions", "", "comma-separated function names (default: every functions/* but local)")
	flag.BoolVar(&o.lambda, "lambda", true, "also measure init under a fake Lambda Runtime API")
	flag.BoolVar(&o.skipHTTP, "no-http", false, "skip the HTTP-server mode")
	flag.BoolVar(&o.buildOnly, "sizes-only", false, "build and report sizes only (no emulators needed)")
	flag.StringVar(&o.overlay, "overlay", "", "go build -overlay file (what-if builds: replaced sources, the repository untouched)")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up on one start after this long")
	flag.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	flag.Parse()
	if o.runs < 1 || o.runs > 50 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "coldstart: -runs 1..50, no arguments")
		os.Exit(2)
	}
	os.Exit(run(o))
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "coldstart: "+format+"\n", args...)
}

// ---------------------------------------------------------------------------
// Functions and builds

type function struct {
	Name string `json:"name"`
	// HTTP functions serve routes; the others take events (lambda.Start).
	HTTP bool `json:"http"`
	// Baseline is bench/coldstart/baseline, the yardstick: no Rampart code.
	Baseline bool `json:"baseline,omitempty"`

	HostBinary  int64  `json:"host_bootstrap_bytes"`
	ARMBinary   int64  `json:"arm64_bootstrap_bytes"`
	ARMZip      int64  `json:"arm64_zip_bytes"`
	MakeZip     int64  `json:"make_build_zip_bytes,omitempty"` // build/lambda/<name>.zip when present
	MakeZipTime string `json:"make_build_zip_time,omitempty"`

	Route       string   `json:"route,omitempty"`
	FirstAnswer *sample  `json:"http_first_answer,omitempty"`
	First2xx    *sample  `json:"http_first_2xx,omitempty"`
	RSSKiB      *sample  `json:"http_max_rss_kib,omitempty"`
	LambdaInit  *sample  `json:"lambda_init,omitempty"`
	LambdaFirst *sample  `json:"lambda_first_invoke,omitempty"`
	Notes       []string `json:"notes,omitempty"`
	// PackageInitMs is the sum of the package initializers' clock time
	// (GODEBUG=inittrace=1, from an untimed warm-up start); SlowestInits
	// names the three slowest.
	PackageInitMs float64  `json:"package_init_ms,omitempty"`
	SlowestInits  []string `json:"slowest_inits,omitempty"`

	pkg string
	bin string
}

// sample is a set of measurements (milliseconds, or KiB for RSS).
type sample struct {
	Values []float64 `json:"values"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	// Status is the answer's status (HTTP status, or "error" for a failed
	// Lambda invoke) of the last run.
	Status string `json:"status,omitempty"`
}

func (s *sample) add(v float64) {
	s.Values = append(s.Values, v)
	sorted := slices.Clone(s.Values)
	slices.Sort(sorted)
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	n := len(sorted)
	if n%2 == 1 {
		s.Median = sorted[n/2]
	} else {
		s.Median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
}

func discover(only string) ([]*function, error) {
	dirs, err := filepath.Glob("functions/*/main.go")
	if err != nil || len(dirs) == 0 {
		return nil, fmt.Errorf("no functions/*/main.go here: run from the repository root")
	}
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var out []*function
	for _, m := range dirs {
		name := filepath.Base(filepath.Dir(m))
		if name == "local" || (len(want) > 0 && !want[name]) {
			continue
		}
		delete(want, name)
		src, err := os.ReadFile(m)
		if err != nil {
			return nil, err
		}
		out = append(out, &function{Name: name, pkg: "./functions/" + name, HTTP: !bytes.Contains(src, []byte("lambda.Start("))})
	}
	for n := range want {
		if n != "baseline" {
			return nil, fmt.Errorf("no functions/%s/main.go", n)
		}
	}
	if len(want) == 0 || want["baseline"] {
		out = append(out, &function{Name: "baseline", pkg: "./bench/coldstart/baseline", HTTP: true, Baseline: true})
	}
	return out, nil
}

// build builds every function for goarch into dir/<name> with the flags of
// scripts/build.sh, in one go command (it builds packages in parallel).
func build(fns []*function, goarch, dir, overlay string) error {
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", dir + "/"}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	for _, f := range fns {
		args = append(args, f.pkg)
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build (%s): %v\n%s", goarch, err, out)
	}
	return nil
}

// zipSize zips bin as "bootstrap" the way scripts/build.sh does (zip -j -X,
// when zip is installed; archive/zip's deflate otherwise, a few percent
// larger) and returns the archive's size.
func zipSize(bin string) (int64, error) {
	dir, err := os.MkdirTemp(filepath.Dir(bin), "zip-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	boot := filepath.Join(dir, "bootstrap")
	if err := os.Link(bin, boot); err != nil {
		return 0, err
	}
	out := filepath.Join(dir, "function.zip")
	if _, err := exec.LookPath("zip"); err == nil {
		if b, err := exec.Command("zip", "-q", "-j", "-X", out, boot).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("zip: %v: %s", err, b)
		}
		return size(out), nil
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(data); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(buf.Len()), nil
}

func size(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// ---------------------------------------------------------------------------
// Run

type report struct {
	Runs      int              `json:"runs"`
	HostArch  string           `json:"host_arch"`
	Functions []*function      `json:"functions"`
	Machine   benchenv.Machine `json:"machine"`
	OK        bool             `json:"ok"`
}

func run(o options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fns, err := discover(o.only)
	if err != nil {
		progress("%v", err)
		return 2
	}
	if !o.buildOnly {
		if err := benchenv.CheckEmulators(); err != nil {
			progress("%v (or -sizes-only)", err)
			return 2
		}
	}
	dir, err := os.MkdirTemp("", "rampart-coldstart-")
	if err != nil {
		progress("%v", err)
		return 1
	}
	defer os.RemoveAll(dir)

	progress("building %d functions for linux/arm64 and linux/%s", len(fns), runtime.GOARCH)
	armDir, hostDir := filepath.Join(dir, "arm64"), filepath.Join(dir, "host")
	if err := build(fns, "arm64", armDir, o.overlay); err != nil {
		progress("%v", err)
		return 1
	}
	if err := build(fns, runtime.GOARCH, hostDir, o.overlay); err != nil {
		progress("%v", err)
		return 1
	}
	for _, f := range fns {
		f.bin = filepath.Join(hostDir, f.Name)
		f.HostBinary, f.ARMBinary = size(f.bin), size(filepath.Join(armDir, f.Name))
		if f.ARMZip, err = zipSize(filepath.Join(armDir, f.Name)); err != nil {
			progress("zip %s: %v", f.Name, err)
			return 1
		}
		mz := filepath.Join("build", "lambda", f.Name+".zip")
		if st, err := os.Stat(mz); err == nil {
			f.MakeZip, f.MakeZipTime = st.Size(), st.ModTime().UTC().Format(time.RFC3339)
		}
	}
	rep := &report{Runs: o.runs, HostArch: runtime.GOOS + "/" + runtime.GOARCH, Functions: fns, OK: true}
	if !o.buildOnly {
		if err := measure(ctx, o, fns, rep); err != nil {
			progress("%v", err)
			return 1
		}
	}
	rep.Machine = benchenv.ReadMachine()
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.print(o)
	}
	if !rep.OK {
		return 1
	}
	return 0
}

// fixture is what the authenticated requests need: a table with the seeded
// admin, the data directory with the signing key, a token and some ids.
type fixture struct {
	local   *benchenv.Local
	token   string
	finding string
	session string
}

func prepare(ctx context.Context) (*fixture, error) {
	// Tokens outlive the whole measurement: nothing can refresh them once the
	// local server is stopped.
	l, err := benchenv.StartLocal(ctx, benchenv.LocalOptions{Name: "coldstart", Log: os.Stderr,
		Env: []string{"RAMPART_ACCESS_TOKEN_TTL=3h", "RAMPART_LOG_LEVEL=warn"}})
	fx := &fixture{local: l}
	if err != nil {
		return fx, err
	}
	api := benchenv.NewAPI(l.URL, 2, 30*time.Second)
	if fx.token, err = api.Login(ctx, l.Email, l.Password); err != nil {
		return fx, err
	}
	api = api.WithToken(fx.token)
	var c, a, s, f struct {
		ID string `json:"id"`
	}
	steps := []struct {
		path string
		body map[string]any
		out  any
	}{
		{"/api/v1/clients", map[string]any{"name": "Cold start client"}, &c},
		{"/api/v1/assets", map[string]any{"type": "web_application", "name": "Cold start app", "target": "https://cold.bench.example/"}, &a},
		{"/api/v1/sessions", nil, &s},
		{"/api/v1/findings", nil, &f},
	}
	for i, st := range steps {
		switch i {
		case 2:
			st.body = map[string]any{"name": "Cold start session", "client_id": c.ID}
		case 3:
			st.body = map[string]any{"session_id": s.ID, "asset_id": a.ID, "title": "Cold start finding", "severity": "low"}
		}
		if err := api.JSON(ctx, http.MethodPost, st.path, st.body, http.StatusCreated, st.out); err != nil {
			return fx, err
		}
	}
	fx.finding, fx.session = f.ID, s.ID
	// The functions run on their own from here: the local server (and its
	// in-process workers) would compete for the CPUs.
	l.StopProcess()
	return fx, nil
}

func measure(ctx context.Context, o options, fns []*function, rep *report) error {
	progress("preparing a table with the seeded admin and one client, asset, session and finding")
	fx, err := prepare(ctx)
	if fx.local != nil {
		defer func() {
			if err := fx.local.Stop(); err != nil {
				progress("cleanup: %v", err)
			}
		}()
	}
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	rt, err := newFakeRuntime()
	if err != nil {
		return err
	}
	defer rt.close()
	logDir := filepath.Join(fx.local.Dir, "logs")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return err
	}
	// An untimed start of each first: the binary into the page cache, and
	// the package initializers' times (GODEBUG=inittrace=1).
	if o.lambda {
		progress("warm-up start of each function, with GODEBUG=inittrace=1")
		for _, f := range fns {
			logf := filepath.Join(logDir, f.Name+"-inittrace.log")
			if err := lambdaRun(ctx, o, f, fx, rt, logf, true); err != nil {
				f.note("warm-up: " + err.Error())
			}
		}
	}
	// Runs interleave functions, so that a burst of load on the machine
	// spreads over all of them instead of spoiling one.
	for i := range o.runs {
		progress("run %d of %d", i+1, o.runs)
		for _, f := range fns {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			logf := filepath.Join(logDir, fmt.Sprintf("%s-%d.log", f.Name, i))
			if f.HTTP && !o.skipHTTP {
				if err := httpRun(ctx, o, f, fx, logf+".http"); err != nil {
					f.note(fmt.Sprintf("HTTP run %d: %v", i+1, err))
					rep.OK = false
				}
			}
			if o.lambda {
				if err := lambdaRun(ctx, o, f, fx, rt, logf+".lambda", false); err != nil {
					f.note(fmt.Sprintf("Lambda run %d: %v", i+1, err))
					rep.OK = false
				}
			}
		}
	}
	return nil
}

func (f *function) note(s string) {
	if !slices.Contains(f.Notes, s) && len(f.Notes) < 6 {
		f.Notes = append(f.Notes, s)
	}
}

func routeFor(f *function, fx *fixture) (probe, authed string, known bool) {
	r, known := routeOf[f.Name]
	if !known {
		r = "/api/v1/" + f.Name
	}
	if f.Baseline {
		r, known = "/api/v1/health/live", false
	}
	r = strings.NewReplacer("{finding}", fx.finding, "{session}", fx.session).Replace(r)
	probe = r
	if f.Name == "health" {
		probe = "/api/v1/health/live"
	}
	return probe, r, known
}

// baseEnv is the environment of a function process: the emulators'
// settings, the fixture's table, bucket and data directory (signing key).
func baseEnv(fx *fixture) []string {
	return append(benchenv.InheritEnv(),
		"RAMPART_TABLE="+fx.local.Name,
		"RAMPART_BUCKET="+fx.local.Name,
		"RAMPART_DATA_DIR="+fx.local.DataDir,
	)
}

// rssKiB is the peak resident set of a running process (VmHWM).
func rssKiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return n
		}
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// start runs bin with env, its output to logFile; the caller stops it.
func start(bin string, env []string, logFile string) (*exec.Cmd, chan error, error) {
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, nil, err
	}
	defer lf.Close()
	cmd := exec.Command(bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd, exited, nil
}

func stopProc(cmd *exec.Cmd, exited chan error, sig syscall.Signal) {
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// httpRun starts f as an HTTP server once and records its first answers.
func httpRun(ctx context.Context, o options, f *function, fx *fixture, logFile string) error {
	probe, authed, known := routeFor(f, fx)
	if !f.Baseline {
		f.Route = authed
	}
	port, err := benchenv.FreePort()
	if err != nil {
		return err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := append(baseEnv(fx), fmt.Sprintf("RAMPART_ADDR=127.0.0.1:%d", port))
	api := benchenv.NewAPI(base, 1, 5*time.Second)
	defer api.HTTP.CloseIdleConnections()

	t0 := time.Now()
	cmd, exited, err := start(f.bin, env, logFile)
	if err != nil {
		return err
	}
	defer stopProc(cmd, exited, syscall.SIGTERM)
	deadline := t0.Add(o.timeout)
	var status int
	for {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("no answer on %s within %s: %s", base, o.timeout, tail(logFile, 3))
		}
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("exited before answering (%v): %s", err, tail(logFile, 3))
		default:
		}
		status, _, err = api.Do(ctx, http.MethodGet, probe, nil)
		if err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	first := time.Since(t0)
	if status >= 500 {
		return fmt.Errorf("GET %s answered %d: %s", probe, status, tail(logFile, 3))
	}
	if f.FirstAnswer == nil {
		f.FirstAnswer = &sample{}
	}
	f.FirstAnswer.add(ms(first))
	f.FirstAnswer.Status = strconv.Itoa(status)
	if f.Baseline {
		return nil
	}

	status, body, err := api.WithToken(fx.token).Do(ctx, http.MethodGet, authed, nil)
	full := time.Since(t0)
	if err != nil {
		return fmt.Errorf("GET %s: %w", authed, err)
	}
	if status >= 500 || (known && status/100 != 2) {
		return fmt.Errorf("GET %s answered %d: %.200s", authed, status, body)
	}
	if f.First2xx == nil {
		f.First2xx = &sample{}
	}
	f.First2xx.add(ms(full))
	f.First2xx.Status = strconv.Itoa(status)
	if f.RSSKiB == nil {
		f.RSSKiB = &sample{}
	}
	f.RSSKiB.add(rssKiB(cmd.Process.Pid))
	return nil
}

// ---------------------------------------------------------------------------
// Lambda mode

// lambdaEvent returns the sample event for f, and why its invoke is
// expected to fail ("" when it is expected to succeed).
func lambdaEvent(f *function, fx *fixture) (event []byte, failure string, err error) {
	switch {
	case f.Name == "health":
		event, err = os.ReadFile("events/http/health/health.json")
	case f.HTTP:
		// The health sample event, retargeted at one of f's routes, without
		// a token: the answer is 401 after the whole start-up.
		var b []byte
		if b, err = os.ReadFile("events/http/health/health.json"); err != nil {
			return nil, "", err
		}
		probe, _, _ := routeFor(f, fx)
		var e map[string]any
		if err = json.Unmarshal(b, &e); err != nil {
			return nil, "", err
		}
		e["rawPath"], e["routeKey"] = probe, "GET "+probe
		rc := e["requestContext"].(map[string]any)
		rc["routeKey"] = "GET " + probe
		rc["http"].(map[string]any)["path"] = probe
		event, err = json.Marshal(e)
	case f.Name == "scan-worker":
		// A scan that does not exist: the claim (one conditional write)
		// fails, and so does the invoke.
		failure = "the scan does not exist (the claim, one conditional write, answers not found)"
		event, err = json.Marshal(map[string]any{
			"version": "0", "id": "bench-" + benchenv.RandomHex(4), "detail-type": "ScanRequested",
			"source": "rampart.scans", "account": "123456789012", "time": time.Now().UTC().Format(time.RFC3339),
			"region": "us-east-1", "resources": []string{},
			"detail": map[string]string{"org_id": fx.finding, "scan_id": fx.finding},
		})
	case f.Name == "schedule-dispatcher":
		// The EventBridge rule's tick: reads the due index, nothing is due.
		event, err = os.ReadFile("events/eventbridge/schedule-tick.json")
	case f.Name == "report-worker":
		// The load step of an export that does not exist: one read, then
		// the function error the state machine catches.
		event, err = json.Marshal(map[string]string{"step": "load", "export_id": fx.finding, "org_id": fx.finding})
		failure = "the export does not exist (one DynamoDB read, then the ReportFailed function error)"
	case f.Name == "key-rotator":
		event, err = os.ReadFile("events/secretsmanager/rotation-testSecret.json")
		failure = "Secrets Manager is not emulated (its endpoint is a closed port of 127.0.0.1)"
	default:
		event, failure = []byte(`{}`), "no sample event for this function"
	}
	return event, failure, err
}

// lambdaRun starts f as Lambda would, against rt, and records its init and
// its first invoke.
//
// With trace it runs under GODEBUG=inittrace=1, records the package
// initializers' times instead, and the start-up is not counted.
func lambdaRun(ctx context.Context, o options, f *function, fx *fixture, rt *fakeRuntime, logFile string, trace bool) error {
	event, failure, err := lambdaEvent(f, fx)
	if err != nil {
		return err
	}
	inv := rt.arm(event)
	const nowhere = "http://127.0.0.1:1" // services not emulated: fail fast, locally
	env := append(baseEnv(fx),
		"AWS_LAMBDA_FUNCTION_NAME=rampart-"+f.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/rampart-"+f.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=bench",
		"AWS_LAMBDA_RUNTIME_API="+rt.addr,
		"AWS_ENDPOINT_URL="+nowhere,
		"AWS_MAX_ATTEMPTS=1",
		"RAMPART_VERIFY_KEYS_SECRET_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-verify",
		"RAMPART_SIGNING_KEY_SECRET_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-signing",
		"RAMPART_EVENT_BUS=bench-bus",
		"RAMPART_REPORT_STATE_MACHINE=arn:aws:states:us-east-1:123456789012:stateMachine:bench",
		"RAMPART_S3_PATH_STYLE=true",
	)
	if trace {
		env = append(env, "GODEBUG=inittrace=1")
	}
	t0 := time.Now()
	cmd, exited, err := start(f.bin, env, logFile)
	if err != nil {
		return err
	}
	stop := sync.OnceFunc(func() { stopProc(cmd, exited, syscall.SIGKILL) }) // Lambda ends sandboxes with SIGKILL
	defer stop()
	timer := time.NewTimer(o.timeout)
	defer timer.Stop()
	var initAt, doneAt time.Time
	var outcome string
	for doneAt.IsZero() {
		select {
		case t := <-inv.next:
			initAt = t
		case r := <-inv.done:
			doneAt, outcome = r.at, r.outcome
		case err := <-exited:
			exited <- err
			return fmt.Errorf("exited (%v): %s", err, tail(logFile, 3))
		case <-timer.C:
			return fmt.Errorf("no invoke within %s: %s", o.timeout, tail(logFile, 3))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if trace {
		stop()
		f.PackageInitMs, f.SlowestInits = parseInitTrace(logFile)
		return nil
	}
	if f.LambdaInit == nil {
		f.LambdaInit, f.LambdaFirst = &sample{}, &sample{}
	}
	f.LambdaInit.add(ms(initAt.Sub(t0)))
	f.LambdaFirst.add(ms(doneAt.Sub(t0)))
	f.LambdaFirst.Status = outcome
	if failure == "" && (outcome == "error" || strings.HasPrefix(outcome, "5")) {
		return fmt.Errorf("invoke answered %s: %s", outcome, tail(logFile, 3))
	}
	if failure != "" && outcome == "error" {
		f.note("first invoke is a function error by design: " + failure)
	}
	return nil
}

// parseInitTrace sums the "init <pkg> @t ms, N ms clock, ..." lines of
// GODEBUG=inittrace=1 and names the three slowest packages.
func parseInitTrace(logFile string) (float64, []string) {
	b, err := os.ReadFile(logFile)
	if err != nil {
		return 0, nil
	}
	type pi struct {
		pkg   string
		ms    float64
		bytes int64
	}
	var all []pi
	var total float64
	for _, line := range strings.Split(string(b), "\n") {
		var p pi
		var at float64
		var allocs int64
		if n, _ := fmt.Sscanf(line, "init %s @%f ms, %f ms clock, %d bytes, %d allocs", &p.pkg, &at, &p.ms, &p.bytes, &allocs); n == 5 {
			total += p.ms
			all = append(all, p)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ms > all[j].ms })
	var top []string
	for _, p := range all[:min(3, len(all))] {
		top = append(top, fmt.Sprintf("%s %.1f ms (%.1f MiB)", p.pkg, p.ms, float64(p.bytes)/(1<<20)))
	}
	return total, top
}

type invokeResult struct {
	at      time.Time
	outcome string // HTTP status of an API Gateway response, "ok", or "error"
}

type invocation struct {
	id    string
	event []byte
	next  chan time.Time
	done  chan invokeResult
}

// fakeRuntime serves the Lambda Runtime API (2018-06-01) on 127.0.0.1 for
// one invocation at a time.
type fakeRuntime struct {
	addr string
	srv  *http.Server
	mu   sync.Mutex
	cur  *invocation
	stop chan struct{}
}

func newFakeRuntime() (*fakeRuntime, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rt := &fakeRuntime{addr: ln.Addr().String(), stop: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", rt.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", rt.handleResult)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", rt.handleResult)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})
	rt.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = rt.srv.Serve(ln) }()
	return rt, nil
}

func (rt *fakeRuntime) close() {
	close(rt.stop)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = rt.srv.Shutdown(ctx)
}

// arm sets the event of the next process's first invocation.
func (rt *fakeRuntime) arm(event []byte) *invocation {
	inv := &invocation{id: "bench-" + benchenv.RandomHex(8), event: event,
		next: make(chan time.Time, 1), done: make(chan invokeResult, 1)}
	rt.mu.Lock()
	rt.cur = inv
	rt.mu.Unlock()
	return inv
}

func (rt *fakeRuntime) handleNext(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	rt.mu.Lock()
	inv := rt.cur
	rt.cur = nil // one invocation per process: later calls wait
	rt.mu.Unlock()
	if inv == nil {
		select { // the process is about to be killed
		case <-r.Context().Done():
		case <-rt.stop:
		}
		return
	}
	inv.next <- at
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:rampart-bench")
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(inv.event)
	pending.Store(inv.id, inv)
}

var pending sync.Map // request id -> *invocation

func (rt *fakeRuntime) handleResult(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	w.WriteHeader(http.StatusAccepted)
	v, ok := pending.LoadAndDelete(r.PathValue("id"))
	if !ok {
		return
	}
	outcome := "ok"
	if strings.HasSuffix(r.URL.Path, "/error") {
		outcome = "error"
	} else {
		var resp struct {
			StatusCode int `json:"statusCode"`
		}
		if json.Unmarshal(body, &resp) == nil && resp.StatusCode != 0 {
			outcome = strconv.Itoa(resp.StatusCode)
		}
	}
	v.(*invocation).done <- invokeResult{at: at, outcome: outcome}
}

// ---------------------------------------------------------------------------
// Output

func mib(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func cell(s *sample, unit string) string {
	if s == nil || len(s.Values) == 0 {
		return "-"
	}
	if unit == "MiB" {
		return fmt.Sprintf("%.0f MiB", s.Median/1024)
	}
	return fmt.Sprintf("%.0f (%.0f-%.0f)", s.Median, s.Min, s.Max)
}

func (r *report) print(o options) {
	fns := slices.Clone(r.Functions)
	rank := func(f *function) int {
		switch {
		case f.Baseline:
			return 2
		case f.HTTP:
			return 0
		}
		return 1
	}
	sort.SliceStable(fns, func(i, j int) bool { return rank(fns[i]) < rank(fns[j]) })
	if o.buildOnly {
		fmt.Printf("Rampart functions: sizes (linux/arm64 as deployed, host %s)\n", r.HostArch)
	} else {
		fmt.Printf("Rampart functions: sizes (linux/arm64 as deployed, host %s) and start-up, median (min-max) ms of %d fresh processes\n",
			r.HostArch, r.Runs)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "function\tkind\tarm64 zip\tarm64 bootstrap\thost bootstrap\tpkg init ms\tHTTP first answer\tHTTP first 2xx\tpeak RSS\tLambda init\tLambda first invoke\t")
	for _, f := range fns {
		kind := "http"
		switch {
		case f.Baseline:
			kind = "yardstick"
		case !f.HTTP:
			kind = "event"
		}
		pkgInit := "-"
		if f.PackageInitMs > 0 {
			pkgInit = fmt.Sprintf("%.1f", f.PackageInitMs)
		}
		inv := cell(f.LambdaFirst, "ms")
		if f.LambdaFirst != nil && f.LambdaFirst.Status != "" {
			inv += " [" + f.LambdaFirst.Status + "]"
		}
		ans := cell(f.FirstAnswer, "ms")
		if f.FirstAnswer != nil {
			ans += " [" + f.FirstAnswer.Status + "]"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", f.Name, kind, mib(f.ARMZip), mib(f.ARMBinary),
			mib(f.HostBinary), pkgInit, ans, cell(f.First2xx, "ms"), cell(f.RSSKiB, "MiB"), cell(f.LambdaInit, "ms"), inv)
	}
	_ = w.Flush()
	for _, f := range fns {
		if f.Route != "" {
			fmt.Printf("  %s: authenticated GET %s\n", f.Name, f.Route)
		}
	}
	for _, f := range fns {
		if len(f.SlowestInits) > 0 {
			fmt.Printf("  %s: slowest package inits: %s\n", f.Name, strings.Join(f.SlowestInits, ", "))
		}
	}
	for _, f := range fns {
		for _, n := range f.Notes {
			fmt.Printf("  note: %s: %s\n", f.Name, n)
		}
	}
	for _, f := range fns {
		if f.MakeZip != 0 {
			fmt.Printf("  build/lambda/%s.zip (make build, %s): %d bytes; this build: %d bytes\n", f.Name, f.MakeZipTime, f.MakeZip, f.ARMZip)
		}
	}
	fmt.Printf("machine: %s\n", r.Machine)
	if !r.OK {
		fmt.Println("result: FAILED (see notes)")
	} else {
		fmt.Println("result: OK")
	}
}
