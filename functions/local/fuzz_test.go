package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
	"rampart/shared/platform"
	"rampart/shared/testenv"
)

// fuzzServer is one local server with an admin, shared by every input of a
// fuzz run (building it per input would dwarf the request).
type fuzzServer struct {
	srv   http.Handler
	token string
	ops   []*huma.Operation
}

var (
	fuzzOnce sync.Once
	fuzzSrv  *fuzzServer
	fuzzErr  error
)

func fuzzTarget(f *testing.F) *fuzzServer {
	fuzzOnce.Do(func() {
		p := testenv.Platform(f)
		// Scans a fuzzed request starts must not leave the machine.
		p.Config.Scan.DNSServer, p.Config.Scan.Ports, p.Config.Scan.AllowLoopback = "127.0.0.1:9", "none", false
		p.Config.Scan.TargetTimeout = time.Second
		srv, err := p.LocalServer(f.Context())
		if err != nil {
			fuzzErr = err
			return
		}
		svc, err := p.Identity(true)
		if err != nil {
			fuzzErr = err
			return
		}
		sess, err := svc.Register(f.Context(), "fuzz@example.com", "a long fuzzing password", "Fuzz", "Fuzz org")
		if err != nil {
			fuzzErr = err
			return
		}
		var ops []*huma.Operation
		for _, item := range srv.API.OpenAPI().Paths {
			for _, op := range []*huma.Operation{item.Post, item.Patch, item.Put} {
				if op != nil && op.RequestBody != nil {
					ops = append(ops, op)
				}
			}
		}
		sort.Slice(ops, func(i, j int) bool { return ops[i].OperationID < ops[j].OperationID })
		fuzzSrv = &fuzzServer{srv: srv, token: sess.AccessToken, ops: ops}
		f.Cleanup(func() { waitScans(p) })
	})
	if fuzzErr != nil {
		f.Fatal(fuzzErr)
	}
	return fuzzSrv
}

func waitScans(p *platform.Platform) {
	if p.LocalBus != nil {
		p.LocalBus.Wait()
	}
	p.LocalReports().Wait()
}

var pathParam = regexp.MustCompile(`\{[a-z_]+\}`)

// checkAnswer fails on a server error or an error answer outside the
// envelope: whatever the input, Rampart answers a 4xx it explains.
func checkAnswer(t *testing.T, method, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
	}
	if rec.Code >= 400 {
		var env struct {
			Detail *string `json:"detail"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Detail == nil || *env.Detail == "" {
			t.Fatalf("%s %s: %d without the error envelope: %s", method, path, rec.Code, rec.Body.String())
		}
		if strings.Contains(rec.Body.String(), "goroutine ") || strings.Contains(rec.Body.String(), ".go:") {
			t.Fatalf("%s %s: error shows internals: %s", method, path, rec.Body.String())
		}
	}
}

// FuzzRouteBodies sends arbitrary bodies to every operation that takes one,
// as an admin of a real organization on the emulators.
func FuzzRouteBodies(f *testing.F) {
	for _, seed := range []string{`{}`, `[]`, `null`, `{"name":1}`, `{"title":"x","severity":"critical"}`,
		`{"email":"a@b.c","password":"x"}`, `{"asset_ids":["` + domain.NewID() + `"]}`, `{"cron":"61 * * * *"}`,
		`{"ids":[]}`, `{"type":"url","target":"http://[::1"}`, "\x00", `{"a":` + strings.Repeat("[", 200) + `}`} {
		for i := range 4 {
			f.Add(uint8(i*7), []byte(seed))
		}
	}
	s := fuzzTarget(f)
	f.Fuzz(func(t *testing.T, pick uint8, body []byte) {
		op := s.ops[int(pick)%len(s.ops)]
		path := pathParam.ReplaceAllString(op.Path, domain.NewID())
		req := httptest.NewRequest(op.Method, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.token)
		rec := httptest.NewRecorder()
		s.srv.ServeHTTP(rec, req)
		checkAnswer(t, op.Method, op.Path, rec)
	})
}

// FuzzListQueries sends arbitrary query strings to the lists that take
// filters.
func FuzzListQueries(f *testing.F) {
	for _, seed := range []string{"", "page=0", "per_page=101", "severity=high&severity=critical,low", "status=nope",
		"sort=-severity&order=asc", "q=%00", "cursor=e30", "cursor=!!", "asset_id=" + domain.NewID() + "&session_id=x",
		"active=maybe", "role=reviewer", "type=url&tag=a"} {
		f.Add(uint8(0), seed)
		f.Add(uint8(3), seed)
	}
	s := fuzzTarget(f)
	lists := []string{"/api/v1/findings", "/api/v1/findings/stats", "/api/v1/assets", "/api/v1/clients", "/api/v1/sessions",
		"/api/v1/scans", "/api/v1/schedules", "/api/v1/templates", "/api/v1/users", "/api/v1/organizations"}
	f.Fuzz(func(t *testing.T, pick uint8, query string) {
		path := lists[int(pick)%len(lists)]
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.URL.RawQuery = query
		req.Header.Set("Authorization", "Bearer "+s.token)
		rec := httptest.NewRecorder()
		s.srv.ServeHTTP(rec, req)
		checkAnswer(t, http.MethodGet, path, rec)
	})
}
