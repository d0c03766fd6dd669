package blackbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"rampart/shared/config"
	"rampart/shared/platform"
	"rampart/shared/testenv"
)

var (
	// baseURL is the deployment under test.
	baseURL string
	// localServer is set when the suite started the server itself, so the
	// tests know its configuration (default settings).
	localServer bool
	// admin is the administrator the tests sign in as.
	admin struct{ Email, Password string }
)

// client returns a fresh client for the deployment under test.
func client() *Client { return NewClient(baseURL) }

// Login signs in as the seeded administrator (locally the suite seeds it;
// against a deployment RAMPART_ADMIN_EMAIL and RAMPART_ADMIN_PASSWORD, or
// RAMPART_BLACKBOX_EMAIL and RAMPART_BLACKBOX_PASSWORD, name it).
func Login(t testing.TB) *Client {
	t.Helper()
	if admin.Email == "" || admin.Password == "" {
		t.Fatal("no admin credentials: set RAMPART_ADMIN_EMAIL and RAMPART_ADMIN_PASSWORD")
	}
	return client().Login(t, admin.Email, admin.Password)
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	admin.Email, admin.Password = os.Getenv("RAMPART_ADMIN_EMAIL"), os.Getenv("RAMPART_ADMIN_PASSWORD")
	if admin.Email == "" {
		admin.Email, admin.Password = os.Getenv("RAMPART_BLACKBOX_EMAIL"), os.Getenv("RAMPART_BLACKBOX_PASSWORD")
	}
	if u := os.Getenv("RAMPART_BASE_URL"); u != "" {
		baseURL = strings.TrimRight(u, "/")
		return checkCoverage(m.Run())
	}
	if err := testenv.CheckEmulators(); err != nil {
		fmt.Fprintf(os.Stderr, "blackbox: set RAMPART_BASE_URL to test a deployment, or start a local server on the emulators: %v\n", err)
		return 1
	}
	srv, err := startLocal()
	if srv != nil {
		defer srv.stop()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "blackbox: %v\n", err)
		return 1
	}
	baseURL, localServer = srv.url, true
	code := checkCoverage(m.Run())
	if code != 0 {
		fmt.Fprintf(os.Stderr, "blackbox: server log:\n%s\n", srv.logTail(60))
	}
	return code
}

// localRun is the local server the suite started.
type localRun struct {
	dir, name, url, logFile string
	cmd                     *exec.Cmd
	exited                  chan error
}

// startLocal builds ./functions/local into a temporary directory and starts
// it on a free port of 127.0.0.1 with a table and a bucket of its own.
func startLocal() (*localRun, error) {
	dir, err := os.MkdirTemp("", "rampart-blackbox-")
	if err != nil {
		return nil, err
	}
	r := &localRun{dir: dir, name: testenv.NewName("blackbox"), logFile: filepath.Join(dir, "server.log")}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return r, fmt.Errorf("go not on PATH: %w", err)
	}
	bin := filepath.Join(dir, "rampart-local")
	build := exec.Command(goBin, "build", "-o", bin, "rampart/functions/local")
	if out, err := build.CombinedOutput(); err != nil {
		return r, fmt.Errorf("go build ./functions/local: %v\n%s", err, out)
	}
	if admin.Email == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		admin.Email, admin.Password = "admin@rampart.local", "bb-"+hex.EncodeToString(b)
	}
	// A port picked here may be taken before the server binds it: try again.
	for attempt := 1; ; attempt++ {
		err = r.start(bin)
		if err == nil || attempt == 3 || !strings.Contains(r.logTail(5), "address already in use") {
			return r, err
		}
	}
}

func (r *localRun) start(bin string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	r.url = "http://" + addr
	var env []string
	for _, kv := range os.Environ() {
		if inherit(kv) {
			env = append(env, kv)
		}
	}
	env = append(env,
		"RAMPART_ADDR="+addr,
		"RAMPART_TABLE="+r.name,
		"RAMPART_BUCKET="+r.name,
		"RAMPART_LOCAL=true",
		"RAMPART_DATA_DIR="+filepath.Join(r.dir, "data"),
		"RAMPART_SEED_ADMIN_EMAIL="+admin.Email,
		"RAMPART_SEED_ADMIN_PASSWORD="+admin.Password,
	)
	logf, err := os.Create(r.logFile)
	if err != nil {
		return err
	}
	defer logf.Close()
	r.cmd = exec.Command(bin)
	r.cmd.Env, r.cmd.Stdout, r.cmd.Stderr, r.cmd.Dir = env, logf, logf, r.dir
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.exited = make(chan error, 1)
	go func() { r.exited <- r.cmd.Wait() }()

	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-r.exited:
			r.cmd = nil
			return fmt.Errorf("local server exited before it was live (%v):\n%s", err, r.logTail(30))
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := hc.Get(r.url + "/api/v1/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("local server not live on %s after 90 s:\n%s", addr, r.logTail(30))
}

// inherit tells which of the caller's variables the server gets: the
// emulators' settings, but none of the caller's other Rampart settings (the
// tests expect the defaults) and no Lambda identity.
func inherit(kv string) bool {
	switch {
	case strings.HasPrefix(kv, "AWS_LAMBDA_"):
		return false
	case strings.HasPrefix(kv, "RAMPART_S3_PATH_STYLE="), strings.HasPrefix(kv, "RAMPART_TEST_EMULATORS="):
		return true
	default:
		return !strings.HasPrefix(kv, "RAMPART_")
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// stop ends the server (SIGTERM, then SIGKILL after 10 s), drops its table
// and bucket, and removes the temporary directory.
func (r *localRun) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
	}
	if err := r.drop(); err != nil {
		fmt.Fprintf(os.Stderr, "blackbox: cleanup: %v\n", err)
	}
	_ = os.RemoveAll(r.dir)
}

func (r *localRun) drop() error {
	cfg, err := config.Parse(os.LookupEnv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := platform.FromConfig(ctx, cfg)
	if err != nil {
		return err
	}
	return testenv.Drop(ctx, p.AWS.DynamoDB, p.AWS.S3, r.name, r.name)
}

// logTail returns the last n lines the server wrote.
func (r *localRun) logTail(n int) string {
	b, err := os.ReadFile(r.logFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no log)"
		}
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
