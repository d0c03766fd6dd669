// Package benchenv is what the benchmark programs under bench/ share: a
// description of the machine they ran on, a small JSON client for the API,
// and a local Rampart server started on the emulators (as shared/blackbox
// starts one: built from ./functions/local, on a free port of 127.0.0.1, with
// a table, a bucket and a data directory of its own, removed afterwards).
//
// All traffic stays on 127.0.0.1: CheckLoopback refuses anything else.
package benchenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"rampart/shared/config"
	"rampart/shared/platform"
	"rampart/shared/testenv"
)

// Machine describes the host a figure was measured on.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemTotal string `json:"mem_total"`
	MemAvail string `json:"mem_available"`
	// LoadAvg is /proc/loadavg's 1, 5 and 15 minute averages.
	LoadAvg string `json:"load_avg"`
	GoOS    string `json:"goos"`
	GoArch  string `json:"goarch"`
	Go      string `json:"go"`
}

// Loaded reports whether the 1-minute load average exceeds the CPU count:
// other work competed for the CPUs during the measurement.
func (m Machine) Loaded() bool {
	var one float64
	_, _ = fmt.Sscan(m.LoadAvg, &one)
	return m.CPUs > 0 && one > float64(m.CPUs)
}

func (m Machine) String() string {
	s := fmt.Sprintf("%d CPUs (%s), memory %s total / %s available, load average %s, %s/%s, %s",
		m.CPUs, m.CPUModel, m.MemTotal, m.MemAvail, m.LoadAvg, m.GoOS, m.GoArch, m.Go)
	if m.Loaded() {
		s += " [SHARED AND LOADED: load average above the CPU count]"
	}
	return s
}

// ReadMachine reads /proc (Linux); missing pieces stay empty.
func ReadMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoOS: runtime.GOOS, GoArch: runtime.GOARCH, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 2 {
				continue
			}
			var kb int64
			_, _ = fmt.Sscan(f[1], &kb)
			switch f[0] {
			case "MemTotal:":
				m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			case "MemAvailable:":
				m.MemAvail = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// CheckLoopback refuses a base URL that is not on 127.0.0.1 (or ::1,
// localhost): the benchmarks never send traffic elsewhere.
func CheckLoopback(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("base URL %q: %w", base, err)
	}
	h := u.Hostname()
	if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("base URL %q is not on 127.0.0.1: the benchmarks only talk to the local machine", base)
	}
	return nil
}

// FreePort returns a port of 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---------------------------------------------------------------------------
// API client

// API is a minimal JSON client of one Rampart deployment.
type API struct {
	Base  string
	HTTP  *http.Client
	Token string
}

// NewAPI returns a client with its own connection pool (maxConns idle
// connections kept) and a per-request timeout.
func NewAPI(base string, maxConns int, timeout time.Duration) *API {
	tr := &http.Transport{
		Proxy:               nil, // never through a proxy: 127.0.0.1 only
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        maxConns,
		MaxIdleConnsPerHost: maxConns,
		IdleConnTimeout:     90 * time.Second,
	}
	return &API{Base: strings.TrimRight(base, "/"), HTTP: &http.Client{
		Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// WithToken returns a copy of a sending token (sharing the connection pool).
func (a *API) WithToken(token string) *API { c := *a; c.Token = token; return &c }

// Do sends one request; body nil or a value encoded as JSON. It returns the
// status and the raw body; err is a transport error (no HTTP answer).
func (a *API) Do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.Base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, raw, fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, raw, nil
}

// JSON sends a request that must answer want, and decodes the body into out
// (when out is not nil).
func (a *API) JSON(ctx context.Context, method, path string, body any, want int, out any) error {
	status, raw, err := a.Do(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status != want {
		return fmt.Errorf("%s %s: status %d, want %d: %.300s", method, path, status, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w: %.300s", method, path, err, raw)
		}
	}
	return nil
}

// Login signs in and returns the access token.
func (a *API) Login(ctx context.Context, email, password string) (string, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err := a.JSON(ctx, http.MethodPost, "/api/v1/auth/login",
		map[string]string{"email": email, "password": password}, http.StatusOK, &tok)
	if err == nil && tok.AccessToken == "" {
		err = errors.New("login: no access_token in the answer")
	}
	return tok.AccessToken, err
}

// ---------------------------------------------------------------------------
// Local server

// LocalOptions configure StartLocal.
type LocalOptions struct {
	// Name is a hint for the table and bucket name.
	Name string
	// Email and Password of the seeded admin; Password "" generates one.
	Email, Password string
	// Env is added to the server's environment (after the defaults).
	Env []string
	// Log, when set, receives progress lines.
	Log io.Writer
}

// Local is a local server that StartLocal started.
type Local struct {
	URL             string
	Email, Password string
	// Name is the table and bucket name; Dir the temporary directory with the
	// binary, the data directory (signing key) and the server log.
	Name, Dir, DataDir, LogFile string

	cmd    *exec.Cmd
	exited chan error
}

// CheckEmulators fails unless the emulator settings of scripts/emulators.sh
// are present and on 127.0.0.1.
func CheckEmulators() error { return testenv.CheckEmulators() }

// BuildLocal builds ./functions/local (the module must be the working
// directory's) into dir.
func BuildLocal(dir string) (string, error) {
	bin := filepath.Join(dir, "rampart-local")
	out, err := exec.Command("go", "build", "-o", bin, "rampart/functions/local").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./functions/local: %v\n%s", err, out)
	}
	return bin, nil
}

// InheritEnv is the caller's environment for a server: the emulators'
// settings, but none of the caller's other Rampart settings and no Lambda
// identity (as shared/blackbox does).
func InheritEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "AWS_LAMBDA_"):
		case strings.HasPrefix(kv, "RAMPART_S3_PATH_STYLE="), strings.HasPrefix(kv, "RAMPART_TEST_EMULATORS="):
			env = append(env, kv)
		case strings.HasPrefix(kv, "RAMPART_"):
		default:
			env = append(env, kv)
		}
	}
	return env
}

// StartLocal builds and starts ./functions/local against the emulators with
// RAMPART_LOCAL=true (it creates its table and bucket and seeds the admin).
// Stop it with Stop, which also drops the table and bucket.
func StartLocal(ctx context.Context, o LocalOptions) (*Local, error) {
	if err := CheckEmulators(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rampart-bench-")
	if err != nil {
		return nil, err
	}
	l := &Local{Dir: dir, DataDir: filepath.Join(dir, "data"), LogFile: filepath.Join(dir, "server.log"),
		Name: testenv.NewName(o.Name), Email: o.Email, Password: o.Password}
	if l.Email == "" {
		l.Email = "admin@rampart.local"
	}
	if l.Password == "" {
		l.Password = "bench-" + RandomHex(12)
	}
	logf(o.Log, "building ./functions/local")
	bin, err := BuildLocal(dir)
	if err != nil {
		return l, err
	}
	for attempt := 1; ; attempt++ {
		err = l.start(ctx, bin, o)
		if err == nil || attempt == 3 || !strings.Contains(l.LogTail(5), "address already in use") {
			return l, err
		}
	}
}

func (l *Local) start(ctx context.Context, bin string, o LocalOptions) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	l.URL = "http://" + addr
	env := append(InheritEnv(),
		"RAMPART_ADDR="+addr,
		"RAMPART_TABLE="+l.Name,
		"RAMPART_BUCKET="+l.Name,
		"RAMPART_LOCAL=true",
		"RAMPART_DATA_DIR="+l.DataDir,
		"RAMPART_SEED_ADMIN_EMAIL="+l.Email,
		"RAMPART_SEED_ADMIN_PASSWORD="+l.Password,
	)
	env = append(env, o.Env...)
	f, err := os.Create(l.LogFile)
	if err != nil {
		return err
	}
	defer f.Close()
	l.cmd = exec.Command(bin)
	l.cmd.Env, l.cmd.Stdout, l.cmd.Stderr, l.cmd.Dir = env, f, f, l.Dir
	l.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	logf(o.Log, "starting the local server on %s (table and bucket %s)", l.URL, l.Name)
	if err := l.cmd.Start(); err != nil {
		return err
	}
	l.exited = make(chan error, 1)
	go func() { l.exited <- l.cmd.Wait() }()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-l.exited:
			l.cmd = nil
			return fmt.Errorf("local server exited before it was live (%v):\n%s", err, l.LogTail(30))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := hc.Get(l.URL + "/api/v1/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("local server not live on %s after 90 s:\n%s", addr, l.LogTail(30))
}

// PID is the server process's id (0 when it is not running).
func (l *Local) PID() int {
	if l.cmd == nil || l.cmd.Process == nil {
		return 0
	}
	return l.cmd.Process.Pid
}

// ProcCPU is the CPU time (user + system) a process has used so far, from
// /proc/<pid>/stat (Linux; clock ticks of 10 ms).
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from its ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	var utime, stime int64
	_, err1 := fmt.Sscan(f[11], &utime)
	_, err2 := fmt.Sscan(f[12], &stime)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// ListenerPID returns the process listening on 127.0.0.1:port (for the CPU
// time of an emulator), or 0 when it cannot be found: /proc/net/tcp names
// the socket's inode, and /proc/<pid>/fd the process holding it.
func ListenerPID(port int) int {
	var b []byte
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} { // Java may listen on a v6 socket
		t, _ := os.ReadFile(f)
		b = append(b, t...)
	}
	want := fmt.Sprintf(":%04X", port)
	inode := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		// local_address, ..., st (0A: LISTEN), ..., inode (field 10)
		if len(f) > 9 && strings.HasSuffix(f[1], want) && f[3] == "0A" {
			inode = f[9]
			break
		}
	}
	if inode == "" {
		return 0
	}
	target := "socket:[" + inode + "]"
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		var pid int
		if _, err := fmt.Sscan(p.Name(), &pid); err != nil {
			continue
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); l == target {
				return pid
			}
		}
	}
	return 0
}

// EndpointPort is the port of an http://127.0.0.1:<port> endpoint variable.
func EndpointPort(env string) int {
	u, err := url.Parse(os.Getenv(env))
	if err != nil {
		return 0
	}
	var port int
	_, _ = fmt.Sscan(u.Port(), &port)
	return port
}

// SelfCPU is the CPU time this process has used so far.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// StopProcess ends the server process (SIGTERM, SIGKILL after 10 s) but keeps
// its table, bucket and data directory.
func (l *Local) StopProcess() {
	if l.cmd != nil && l.cmd.Process != nil {
		_ = l.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-l.exited:
		case <-time.After(10 * time.Second):
			_ = l.cmd.Process.Kill()
			<-l.exited
		}
		l.cmd = nil
	}
}

// Stop ends the server, drops its table and bucket and removes its directory.
func (l *Local) Stop() error {
	l.StopProcess()
	err := DropTableAndBucket(l.Name)
	_ = os.RemoveAll(l.Dir)
	return err
}

// DropTableAndBucket deletes a table and a bucket on the emulators.
func DropTableAndBucket(name string) error {
	cfg, err := config.Parse(func(k string) (string, bool) {
		if k == "AWS_LAMBDA_FUNCTION_NAME" {
			return "", false
		}
		return os.LookupEnv(k)
	})
	if err != nil {
		return err
	}
	cfg.LogLevel = "error"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := platform.FromConfig(ctx, cfg)
	if err != nil {
		return err
	}
	return testenv.Drop(ctx, p.AWS.DynamoDB, p.AWS.S3, name, name)
}

// LogTail returns the last n lines the server wrote.
func (l *Local) LogTail(n int) string {
	b, err := os.ReadFile(l.LogFile)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
