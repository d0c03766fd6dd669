package scans_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/events"
	"rampart/shared/platform"
	"rampart/shared/taxonomy"
	"rampart/shared/testenv"
)

// target is a web server on 127.0.0.1 whose behaviour the test changes
// between scans: mode 0 lacks HSTS, mode 1 fixes that and sets a cookie
// without flags.
type target struct {
	mode  atomic.Int32
	https *httptest.Server
	http  *httptest.Server
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tg.https = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "camera=()")
		if tg.mode.Load() == 1 {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload")
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "x"})
		}
		if r.URL.Path == "/" {
			fmt.Fprint(w, "ok")
			return
		}
		http.NotFound(w, r)
	}))
	tg.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://127.0.0.1:"+port(tg.https)+r.URL.Path, http.StatusMovedPermanently)
	}))
	t.Cleanup(tg.https.Close)
	t.Cleanup(tg.http.Close)
	return tg
}

func port(s *httptest.Server) string {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	return p
}

type fixture struct {
	t     *testing.T
	p     *platform.Platform
	api   *httptest.Server
	token string
	org   string
}

func newFixture(t *testing.T, tg *target, allowPrivate bool) *fixture {
	t.Setenv("RAMPART_SCAN_HTTPS_PORT", port(tg.https))
	t.Setenv("RAMPART_SCAN_HTTP_PORT", port(tg.http))
	t.Setenv("RAMPART_SCAN_PORTS", "none")
	t.Setenv("RAMPART_SCAN_ALLOW_LOOPBACK", "true")
	t.Setenv("RAMPART_SCAN_TARGET_TIMEOUT", "20s")
	p := testenv.Platform(t)
	ctx := context.Background()
	svc, err := p.Identity(true)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := svc.Register(ctx, "owner@example.com", "a long enough password", "Owner", "Scanner org")
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.Store().GetUserByEmail(ctx, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Store().SeedTaxonomy(ctx, u.DefaultOrgID, taxonomy.Builtin()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Store().UpdateOrg(ctx, u.DefaultOrgID, func(o *domain.Organization) error {
		o.Settings.AllowPrivateTargets = allowPrivate
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	srv, err := p.Server()
	if err != nil {
		t.Fatal(err)
	}
	sr, err := p.ScanRoutes()
	if err != nil {
		t.Fatal(err)
	}
	sr.Register(srv.API)
	p.FindingRoutes().Register(srv.API)
	api := httptest.NewServer(srv)
	t.Cleanup(api.Close)
	return &fixture{t: t, p: p, api: api, token: sess.AccessToken, org: u.DefaultOrgID}
}

func (f *fixture) asset(typ, target string) string {
	f.t.Helper()
	now := time.Now().UTC()
	a := domain.Asset{ID: domain.NewID(), Type: typ, Target: target, Name: target, CreatedAt: now, UpdatedAt: now}
	if err := f.p.Store().CreateAsset(context.Background(), f.org, a); err != nil {
		f.t.Fatal(err)
	}
	return a.ID
}

func (f *fixture) do(method, path string, body any, out any) int {
	f.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, f.api.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil && res.StatusCode != http.StatusNoContent {
			f.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return res.StatusCode
}

type scanView struct {
	ID          string         `json:"id"`
	Status      string         `json:"status"`
	Score       *float64       `json:"score"`
	ScoreReason string         `json:"score_reason"`
	LiveHosts   int            `json:"live_hosts"`
	Counts      map[string]int `json:"counts"`
	Findings    int            `json:"findings"`
	Progress    struct{ Done, Total int }
}

func (f *fixture) scan(assets ...string) scanView {
	f.t.Helper()
	var s scanView
	if code := f.do("POST", "/api/v1/scans", map[string]any{"asset_ids": assets}, &s); code != http.StatusAccepted {
		f.t.Fatalf("create scan: %d", code)
	}
	if s.Status != domain.ScanPending {
		f.t.Fatalf("new scan status %q, want pending", s.Status)
	}
	f.p.LocalBus.Wait()
	var done scanView
	f.do("GET", "/api/v1/scans/"+s.ID, nil, &done)
	return done
}

type findingView struct {
	ID           string `json:"id"`
	CheckID      string `json:"check_id"`
	Status       string `json:"status"`
	Fingerprint  string `json:"fingerprint"`
	Observations int    `json:"observation_count"`
	NIS2         string `json:"nis2"`
	Category     string `json:"category"`
}

func (f *fixture) scanFindings(id string) map[string]findingView {
	var page struct {
		Items []findingView `json:"items"`
		Total int           `json:"total"`
	}
	if code := f.do("GET", "/api/v1/scans/"+id+"/findings?per_page=100", nil, &page); code != 200 {
		var e map[string]any
		f.do("GET", "/api/v1/scans/"+id+"/findings?per_page=100", nil, &e)
		f.t.Fatalf("scan findings: %d %v", code, e)
	}
	out := map[string]findingView{}
	for _, it := range page.Items {
		out[it.CheckID] = it
	}
	if page.Total != len(page.Items) {
		f.t.Errorf("scan findings total %d, items %d", page.Total, len(page.Items))
	}
	return out
}

func TestScanLifecycleEndToEnd(t *testing.T) {
	tg := newTarget(t)
	f := newFixture(t, tg, true)
	asset := f.asset("ip", "127.0.0.1")

	first := f.scan(asset)
	if first.Status != domain.ScanCompleted || first.Score == nil || first.LiveHosts != 1 || first.Progress.Done != 1 {
		t.Fatalf("first scan = %+v, want completed with a score and one live host", first)
	}
	found := f.scanFindings(first.ID)
	hsts, ok := found["http.hsts.missing"]
	if !ok {
		t.Fatalf("first scan findings %v lack http.hsts.missing", keys(found))
	}
	if hsts.NIS2 == "" || hsts.Category != "http_headers" {
		t.Errorf("hsts finding NIS2 %q category %q: every finding names its NIS2 point", hsts.NIS2, hsts.Category)
	}
	if _, ok := found["http.cookie.secure.missing"]; ok {
		t.Fatal("first scan reports a cookie the server does not set")
	}
	// Score follows the contract: 100 minus the penalties of this host.
	penalty := map[string]float64{"critical": 50, "high": 20, "medium": 10, "low": 5}
	want := 100.0
	for sev, n := range first.Counts {
		want -= penalty[sev] * float64(n)
	}
	if *first.Score != max(want, 0) {
		t.Errorf("score %v, want %v from counts %v", *first.Score, max(want, 0), first.Counts)
	}
	var results struct {
		Items []struct {
			CheckID string `json:"check_id"`
			Outcome string `json:"outcome"`
		} `json:"items"`
		Total int `json:"total"`
	}
	f.do("GET", "/api/v1/scans/"+first.ID+"/results?per_page=100", nil, &results)
	outcomes := map[string]string{}
	for _, r := range results.Items {
		outcomes[r.CheckID] = r.Outcome
	}
	if outcomes["http.hsts.missing"] != "fail" || outcomes["http.x_frame_options.missing"] != "pass" {
		t.Errorf("results outcomes = %v", outcomes)
	}

	// A duplicate event for a finished scan changes nothing.
	if err := f.p.LocalBus.PublishScanRequested(context.Background(), events.ScanRequested{OrgID: f.org, ScanID: first.ID}); err != nil {
		t.Fatal(err)
	}
	f.p.LocalBus.Wait()
	var again findingView
	f.do("GET", "/api/v1/findings/"+hsts.ID, nil, &again)
	if again.Observations != 1 {
		t.Errorf("duplicate event: observation count %d, want 1", again.Observations)
	}

	// Fix HSTS, introduce a cookie without flags.
	tg.mode.Store(1)
	second := f.scan(asset)
	var cmp struct {
		ScoreDelta *float64 `json:"score_delta"`
		New        []struct {
			CheckID string `json:"check_id"`
		}
		Resolved []struct {
			CheckID string `json:"check_id"`
		}
		Persistent []struct {
			CheckID string `json:"check_id"`
		}
	}
	if code := f.do("GET", "/api/v1/scans/"+first.ID+"/compare/"+second.ID, nil, &cmp); code != 200 {
		t.Fatalf("compare: %d", code)
	}
	if !hasCheck(cmp.Resolved, "http.hsts.missing") || !hasCheck(cmp.New, "http.cookie.secure.missing") || len(cmp.Persistent) == 0 {
		t.Errorf("compare = %+v", cmp)
	}
	if cmp.ScoreDelta == nil || *cmp.ScoreDelta != *second.Score-*first.Score {
		t.Errorf("score delta %v, want %v", cmp.ScoreDelta, *second.Score-*first.Score)
	}
	f.do("GET", "/api/v1/findings/"+hsts.ID, nil, &again)
	if again.Status != "resolved" {
		t.Errorf("HSTS finding after it was fixed: status %q, want resolved automatically", again.Status)
	}
	var hist struct {
		Items []struct{ Field, From, To, Reason string } `json:"items"`
	}
	f.do("GET", "/api/v1/findings/"+hsts.ID+"/history", nil, &hist)
	if n := len(hist.Items); n < 2 || hist.Items[n-1].To != "resolved" || hist.Items[n-1].Reason == "" {
		t.Errorf("history of the resolved finding = %+v", hist.Items)
	}

	// The problem comes back: the same finding reopens.
	tg.mode.Store(0)
	third := f.scan(asset)
	found3 := f.scanFindings(third.ID)
	if found3["http.hsts.missing"].ID != hsts.ID {
		t.Fatalf("reappearing problem got a new finding %q, want %q", found3["http.hsts.missing"].ID, hsts.ID)
	}
	f.do("GET", "/api/v1/findings/"+hsts.ID, nil, &again)
	if again.Status != "open" || again.Observations != 2 {
		t.Errorf("reopened finding: status %q observations %d, want open and 2", again.Status, again.Observations)
	}

	var listed struct {
		Total int `json:"total"`
		Items []scanView
	}
	if code := f.do("GET", "/api/v1/scans?status=completed", nil, &listed); code != 200 || listed.Total != 3 || len(listed.Items) != 3 {
		t.Errorf("completed scans: %d total %d items %d, want 3", code, listed.Total, len(listed.Items))
	}
	if code := f.do("GET", "/api/v1/scans?status=running", nil, &listed); code != 200 || listed.Total != 0 {
		t.Errorf("running scans: %d total %d, want 0", code, listed.Total)
	}

	// Deleting the second scan removes the cookie finding only it saw.
	cookie := f.scanFindings(second.ID)["http.cookie.secure.missing"]
	if code := f.do("DELETE", "/api/v1/scans/"+second.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete scan: %d", code)
	}
	if code := f.do("GET", "/api/v1/findings/"+cookie.ID, nil, nil); code != http.StatusNotFound {
		t.Errorf("finding seen only by the deleted scan: %d, want 404", code)
	}
	if code := f.do("GET", "/api/v1/findings/"+hsts.ID, nil, nil); code != 200 {
		t.Errorf("finding other scans saw: %d, want 200", code)
	}
	if code := f.do("GET", "/api/v1/scans/"+second.ID, nil, nil); code != http.StatusNotFound {
		t.Errorf("deleted scan: %d, want 404", code)
	}
	var stats struct{ Total int }
	f.do("GET", "/api/v1/findings/stats", nil, &stats)
	var all struct{ Total int }
	f.do("GET", "/api/v1/findings?per_page=100", nil, &all)
	if stats.Total != all.Total || stats.Total != len(found3) {
		t.Errorf("after deletion: stats total %d, list total %d, want %d", stats.Total, all.Total, len(found3))
	}
}

func TestScanRefusesPrivateTargetsAndScoresNothing(t *testing.T) {
	tg := newTarget(t)
	f := newFixture(t, tg, false) // the organization does not allow private ranges
	s := f.scan(f.asset("ip", "127.0.0.1"))
	if s.Status != domain.ScanCompleted || s.Score != nil || s.ScoreReason == "" || s.LiveHosts != 0 {
		t.Fatalf("scan of a refused target = %+v, want completed, no score, a reason", s)
	}
}

func TestScanCancelAndTimeout(t *testing.T) {
	// A server that accepts connections and never answers holds every check
	// until the per-target timeout.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	tg := newTarget(t)
	f := newFixture(t, tg, true)
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	t.Setenv("RAMPART_SCAN_HTTPS_PORT", p) // not read again: use a url target instead
	stuck := f.asset("url", "https://127.0.0.1:"+p+"/")

	var s scanView
	if code := f.do("POST", "/api/v1/scans", map[string]any{"asset_ids": []string{stuck}}, &s); code != http.StatusAccepted {
		t.Fatalf("create: %d", code)
	}
	// Cancel while it is pending or running: either way it ends cancelled.
	var c scanView
	if code := f.do("POST", "/api/v1/scans/"+s.ID+"/cancel", nil, &c); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	f.p.LocalBus.Wait()
	var done scanView
	f.do("GET", "/api/v1/scans/"+s.ID, nil, &done)
	if done.Status != domain.ScanCancelled {
		t.Fatalf("cancelled scan ended %q", done.Status)
	}
	if code := f.do("POST", "/api/v1/scans/"+s.ID+"/cancel", nil, nil); code != http.StatusConflict {
		t.Errorf("cancel of a cancelled scan: %d, want 409", code)
	}
}

func hasCheck(list []struct {
	CheckID string `json:"check_id"`
}, id string) bool {
	for _, o := range list {
		if o.CheckID == id {
			return true
		}
	}
	return false
}

func keys(m map[string]findingView) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

var _ = strconv.Itoa
