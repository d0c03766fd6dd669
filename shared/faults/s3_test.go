package faults_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/reports"
	"rampart/shared/reports/reporttest"
)

type exportView struct {
	TaskID string `json:"task_id"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

func TestFaultsS3(t *testing.T) {
	start := time.Now()
	e := newEnv(t, nil)
	token, _, org := e.admin("objects")
	client := e.mustCreate("/api/v1/clients", token, map[string]any{"name": "Faults client"})
	asset := e.mustCreate("/api/v1/assets", token, map[string]any{"type": "ip", "target": "10.20.30.41", "client_id": client})
	session := e.mustCreate("/api/v1/sessions", token, map[string]any{"name": "Faults session", "client_id": client,
		"asset_ids": []string{asset}})
	finding := e.mustCreate("/api/v1/findings", token, map[string]any{"session_id": session, "asset_id": asset,
		"title": "Evidence needed", "severity": "high"})
	attachments := func() int {
		r := e.call(http.MethodGet, "/api/v1/findings/"+finding+"/attachments", token, nil)
		if r.code != http.StatusOK {
			t.Fatalf("list attachments: %d %s", r.code, r.body)
		}
		var p struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			Total int `json:"total"`
		}
		r.decode(t, &p)
		if p.Total != len(p.Items) {
			t.Errorf("attachments: total %d, %d items", p.Total, len(p.Items))
		}
		return len(p.Items)
	}
	var text strings.Builder
	for i := 0; text.Len() < 256<<10; i++ {
		fmt.Fprintf(&text, "GET /login HTTP/1.1 -> 200 (request %d, %s)\n", i, rand.Text())
	}
	data := []byte(text.String())
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="evidence.txt"`)
	h.Set("Content-Type", "text/plain")
	part, _ := mw.CreatePart(h)
	_, _ = part.Write(data)
	_ = mw.Close()
	body := form.Bytes()
	path := "/api/v1/findings/" + finding + "/attachments"

	// --- MinIO dies while the multipart body is on its way ------------------------------------
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write(body[:len(body)/2])
		time.Sleep(200 * time.Millisecond)
		e.s3.kill()
		_, _ = pw.Write(body[len(body)/2:])
		_ = pw.Close()
	}()
	e.unavailable("upload while S3 dies", e.raw(http.MethodPost, path, token, mw.FormDataContentType(), pr))
	if n := attachments(); n != 0 {
		t.Errorf("%d attachments listed after the failed upload, want 0", n)
	}
	ready := e.call(http.MethodGet, "/api/v1/health/ready", "", nil)
	if ready.code != http.StatusServiceUnavailable || !strings.Contains(string(ready.body), "s3 unavailable") {
		t.Errorf("ready while S3 is down: %d %s", ready.code, ready.body)
	}
	e.s3.start()
	if r := e.raw(http.MethodPost, path, token, mw.FormDataContentType(), bytes.NewReader(body)); r.code != http.StatusCreated {
		t.Fatalf("upload after MinIO's restart: %d %s", r.code, r.body)
	}
	if n := attachments(); n != 1 {
		t.Errorf("%d attachments listed after the upload, want 1", n)
	}
	t.Logf("upload: %s", time.Since(start).Round(time.Millisecond))

	// --- Reports while MinIO is down ---------------------------------------------------------------
	scan := reporttest.Scan(t, e.p.Store(), org, 3, domain.ScanCompleted)
	generate := func() string {
		r := e.call(http.MethodPost, "/api/v1/reports/generate", token, map[string]any{"scan_id": scan.ID, "format": "json"})
		if r.code != http.StatusAccepted {
			t.Fatalf("generate: %d %s", r.code, r.body)
		}
		var v exportView
		r.decode(t, &v)
		return v.TaskID
	}
	status := func(id string) exportView {
		r := e.call(http.MethodGet, "/api/v1/reports/status/"+id, token, nil)
		if r.code != http.StatusOK {
			t.Fatalf("report status: %d %s", r.code, r.body)
		}
		e.internals("report status", string(r.body))
		var v exportView
		r.decode(t, &v)
		return v
	}
	workflows := e.p.LocalReports()

	// MinIO stays down past the retry window (reports.Retry: 2, 4, 8 s).
	e.s3.kill()
	t0 := time.Now()
	down := generate()
	if !waitFor(t, "the report workflow with S3 down", 90*time.Second, workflows.Wait) {
		t.FailNow()
	}
	if v := status(down); v.Status != reports.StatusFailed || v.Detail == "" {
		t.Errorf("report stored while S3 stays down: %+v, want failed with a reason", v)
	} else {
		t.Logf("report with S3 down: failed after %s: %q", time.Since(t0).Round(time.Millisecond), v.Detail)
	}

	// MinIO returns within the retry window.
	t0 = time.Now()
	back := generate()
	time.Sleep(3 * time.Second)
	e.s3.start()
	if !waitFor(t, "the report workflow with S3 back", 90*time.Second, workflows.Wait) {
		t.FailNow()
	}
	switch v := status(back); {
	case v.Status == reports.StatusSucceeded:
		t.Logf("report with S3 back within the retry window: succeeded after %s", time.Since(t0).Round(time.Millisecond))
		req, _ := http.NewRequest(http.MethodGet, e.api.URL+"/api/v1/reports/download/"+back, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		noRedirect := &http.Client{Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound {
			t.Fatalf("download the stored report: %d", res.StatusCode)
		}
		got, err := http.Get(res.Header.Get("Location")) // presigned: no credentials
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(got.Body)
		got.Body.Close()
		if got.StatusCode != http.StatusOK || len(b) == 0 {
			t.Errorf("the stored report: %d, %d bytes", got.StatusCode, len(b))
		}
	case v.Status == reports.StatusFailed && v.Detail != "":
		t.Logf("report with S3 back within the retry window: failed: %q", v.Detail)
	default:
		t.Errorf("report with S3 back: %+v, want succeeded, or failed with a reason", v)
	}
	t.Logf("S3 phase: %s", time.Since(start).Round(time.Millisecond))
}
