package routes_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/findings"
	"rampart/shared/reports"
	"rampart/shared/reports/reporttest"
)

// repEnv is the assessment test server with the report routes, a session
// of the client member's client, one of another client, and a completed
// and a running scan.
type repEnv struct {
	*asmEnv
	session, otherClientSession string
	findings                    []string
	scan, runningScan           string
}

func newRepEnv(t *testing.T) *repEnv {
	e := newAsmEnv(t)
	rr, err := e.p.ReportRoutes()
	if err != nil {
		t.Fatal(err)
	}
	rr.Register(e.srv.API)
	st := e.p.Store()
	sess, ids := reporttest.Session(t, st, e.org, e.client, 6)
	other := reporttest.Client(t, st, e.org, "Another client")
	otherSess, _ := reporttest.Session(t, st, e.org, other, 1)
	sc := reporttest.Scan(t, st, e.org, 3, domain.ScanCompleted)
	running := reporttest.Scan(t, st, e.org, 1, domain.ScanRunning)
	t.Cleanup(e.p.LocalReports().Wait)
	return &repEnv{asmEnv: e, session: sess.ID, otherClientSession: otherSess.ID, findings: ids, scan: sc.ID, runningScan: running.ID}
}

type repView struct {
	TaskID          string `json:"task_id"`
	Status          string `json:"status"`
	Detail          string `json:"detail"`
	Format          string `json:"format"`
	Size            *int64 `json:"size"`
	SHA256          string `json:"sha256"`
	TaxonomyVersion int    `json:"taxonomy_version"`
	SessionID       string `json:"session_id"`
	ScanID          string `json:"scan_id"`
	FileName        string `json:"file_name"`
	FinishedAt      string `json:"finished_at"`
}

func (e *repEnv) view(t *testing.T, r *asmResp) repView {
	t.Helper()
	var v repView
	r.decode(t, &v)
	return v
}

// succeeded waits for the local workflow and reads the task's status.
func (e *repEnv) succeeded(t *testing.T, id string, user asmUser) repView {
	t.Helper()
	e.p.LocalReports().Wait()
	r := e.call(http.MethodGet, "/api/v1/reports/status/"+id, user, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("status: %d %s", r.Code, r.Body)
	}
	v := e.view(t, r)
	if v.Status != reports.StatusSucceeded {
		t.Fatalf("task %s: %+v", id, v)
	}
	return v
}

// fetch downloads a presigned URL with a plain client (no credentials),
// as a browser would.
func fetch(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	if !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Fatalf("presigned URL %q does not point at the local S3", u)
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestReportsFamilyB(t *testing.T) {
	e := newRepEnv(t)
	var task string
	e.run(t, []asmCase{
		{name: "scan report from the query", method: http.MethodPost, user: e.viewer, code: http.StatusAccepted,
			path: "/api/v1/reports/generate?scan_id=" + e.scan + "&format=pdf", check: func(t *testing.T, r *asmResp) {
				v := e.view(t, r)
				task = v.TaskID
				if v.Status != reports.StatusQueued || v.ScanID != e.scan || v.Format != "pdf" || v.TaxonomyVersion != 1 {
					t.Errorf("task %+v", v)
				}
				if r.Header.Get("Location") != "/api/v1/reports/status/"+v.TaskID {
					t.Errorf("Location %q", r.Header.Get("Location"))
				}
			}},
		{name: "session report from the body", method: http.MethodPost, user: e.auditor, code: http.StatusAccepted,
			path: "/api/v1/reports/generate", body: map[string]any{"session_id": e.session, "format": "json"}},
		{name: "format defaults to pdf", method: http.MethodPost, user: e.admin, code: http.StatusAccepted,
			path: "/api/v1/reports/generate", body: map[string]any{"scan_id": e.scan},
			check: func(t *testing.T, r *asmResp) {
				if v := e.view(t, r); v.Format != "pdf" {
					t.Errorf("format %s", v.Format)
				}
			}},
		{name: "client member: own client's session", method: http.MethodPost, user: e.member, code: http.StatusAccepted,
			path: "/api/v1/reports/generate?session_id=" + e.session + "&format=csv"},
		{name: "running scan", method: http.MethodPost, user: e.admin, code: http.StatusConflict,
			path: "/api/v1/reports/generate?scan_id=" + e.runningScan + "&format=pdf", detail: "completed"},
		{name: "client member: scans refused", method: http.MethodPost, user: e.member, code: http.StatusForbidden,
			path: "/api/v1/reports/generate?scan_id=" + e.scan + "&format=pdf"},
		{name: "client member: another client's session", method: http.MethodPost, user: e.member, code: http.StatusNotFound,
			path: "/api/v1/reports/generate?session_id=" + e.otherClientSession + "&format=pdf"},
		{name: "another organization's session", method: http.MethodPost, user: e.admin, code: http.StatusNotFound,
			path: "/api/v1/reports/generate?session_id=" + e.otherSession + "&format=pdf"},
		{name: "unknown scan", method: http.MethodPost, user: e.admin, code: http.StatusNotFound,
			path: "/api/v1/reports/generate?scan_id=" + domain.NewID() + "&format=pdf"},
		{name: "unknown format", method: http.MethodPost, user: e.admin, code: http.StatusUnprocessableEntity,
			path: "/api/v1/reports/generate", body: map[string]any{"scan_id": e.scan, "format": "docx"}},
		{name: "unknown format in the query", method: http.MethodPost, user: e.admin, code: http.StatusUnprocessableEntity,
			path: "/api/v1/reports/generate?scan_id=" + e.scan + "&format=xml"},
		{name: "no subject", method: http.MethodPost, user: e.admin, code: http.StatusUnprocessableEntity,
			path: "/api/v1/reports/generate?format=pdf", locs: []string{"body.scan_id"}},
		{name: "both subjects", method: http.MethodPost, user: e.admin, code: http.StatusUnprocessableEntity,
			path: "/api/v1/reports/generate?format=pdf&scan_id=" + e.scan + "&session_id=" + e.session},
		{name: "query and body disagree", method: http.MethodPost, user: e.admin, code: http.StatusUnprocessableEntity,
			path: "/api/v1/reports/generate?format=pdf", body: map[string]any{"scan_id": e.scan, "format": "csv"},
			locs: []string{"query.format"}},
		{name: "no token", method: http.MethodPost, code: http.StatusUnauthorized,
			path: "/api/v1/reports/generate?scan_id=" + e.scan + "&format=pdf"},
	})
	v := e.succeeded(t, task, e.viewer)
	if v.Size == nil || *v.Size == 0 || len(v.SHA256) != 64 || v.FinishedAt == "" || v.Detail != "the report is ready" {
		t.Errorf("status %+v", v)
	}
	// Download: 302 to a presigned URL that a plain client can fetch.
	r := e.call(http.MethodGet, "/api/v1/reports/download/"+task, e.viewer, nil)
	if r.Code != http.StatusFound {
		t.Fatalf("download: %d %s", r.Code, r.Body)
	}
	loc := r.Header.Get("Location")
	res, body := fetch(t, loc)
	sum := sha256.Sum256(body)
	if res.StatusCode != http.StatusOK || hex.EncodeToString(sum[:]) != v.SHA256 || !strings.HasPrefix(string(body), "%PDF-") {
		t.Fatalf("presigned GET: %d, %d bytes", res.StatusCode, len(body))
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("content type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; ") || !strings.Contains(cd, "filename*=UTF-8''Scan%20"+e.scan) {
		t.Errorf("content disposition %q", cd)
	}
	if u, _ := url.Parse(loc); u.Query().Get("X-Amz-Expires") != "300" {
		t.Errorf("presigned URL lifetime %q", u.Query().Get("X-Amz-Expires"))
	}
	// A tampered URL is refused by S3 (it checks the signature).
	if res, _ := fetch(t, strings.Replace(loc, ".pdf", ".csv", 1)); res.StatusCode != http.StatusForbidden {
		t.Errorf("tampered URL: %d", res.StatusCode)
	}
	// Not ready: a queued task's download is 409.
	now := time.Now().UTC()
	queued := reports.Export{ID: domain.NewID(), OrgID: e.org, SubjectType: reports.SubjectScan, SubjectID: e.scan,
		Format: "csv", Status: reports.StatusQueued, TaxonomyVersion: 1, FileName: "q.csv", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := e.p.Store().CreateExport(context.Background(), e.org, queued, nil); err != nil {
		t.Fatal(err)
	}
	expired := queued
	expired.ID, expired.Status, expired.ExpiresAt = domain.NewID(), reports.StatusSucceeded, now.Add(-time.Second)
	if err := e.p.Store().CreateExport(context.Background(), e.org, expired, nil); err != nil {
		t.Fatal(err)
	}
	e.run(t, []asmCase{
		{name: "download while queued", method: http.MethodGet, path: "/api/v1/reports/download/" + queued.ID, user: e.viewer,
			code: http.StatusConflict, detail: "not ready"},
		{name: "status while queued", method: http.MethodGet, path: "/api/v1/reports/status/" + queued.ID, user: e.viewer,
			code: http.StatusOK, check: func(t *testing.T, r *asmResp) {
				if v := e.view(t, r); v.Status != "queued" || v.Size != nil {
					t.Errorf("%+v", v)
				}
			}},
		{name: "expired export", method: http.MethodGet, path: "/api/v1/reports/status/" + expired.ID, user: e.viewer,
			code: http.StatusNotFound},
		{name: "another organization's task: status", method: http.MethodGet, path: "/api/v1/reports/status/" + task,
			user: e.other, code: http.StatusNotFound},
		{name: "another organization's task: download", method: http.MethodGet, path: "/api/v1/reports/download/" + task,
			user: e.other, code: http.StatusNotFound},
		{name: "another organization's task: export download", method: http.MethodGet,
			path: "/api/v1/reports/exports/" + task + "/download", user: e.other, code: http.StatusNotFound},
		{name: "client member: a scan's task", method: http.MethodGet, path: "/api/v1/reports/status/" + task,
			user: e.member, code: http.StatusNotFound},
		{name: "junk id", method: http.MethodGet, path: "/api/v1/reports/status/nope", user: e.viewer, code: http.StatusNotFound},
	})
}

// sessionReport asks for a session's report until it is ready (302) and
// returns the export id and the presigned URL.
func (e *repEnv) sessionReport(t *testing.T, session, format string, user asmUser) (string, string) {
	t.Helper()
	for i := 0; i < 20; i++ {
		r := e.call(http.MethodGet, "/api/v1/reports/sessions/"+session+"/"+format, user, nil)
		v := e.view(t, r)
		switch r.Code {
		case http.StatusFound:
			return v.TaskID, r.Header.Get("Location")
		case http.StatusAccepted:
			if r.Header.Get("Location") != "/api/v1/reports/status/"+v.TaskID || r.Header.Get("Retry-After") == "" {
				t.Fatalf("202 without Location or Retry-After: %v", r.Header)
			}
			e.p.LocalReports().Wait()
		default:
			t.Fatalf("session report: %d %s", r.Code, r.Body)
		}
	}
	t.Fatal("the report never became ready")
	return "", ""
}

func TestReportsFamilyA(t *testing.T) {
	e := newRepEnv(t)
	ctx := context.Background()
	first, loc := e.sessionReport(t, e.session, "csv", e.auditor)
	res, body := fetch(t, loc)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "\ufeffid,title,") ||
		!strings.Contains(string(body), reporttest.UnicodeText) || !strings.Contains(string(body), `"'`+strings.ReplaceAll(reporttest.Formula, `"`, `""`)) {
		t.Fatalf("csv: %d %.200s", res.StatusCode, body)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, "filename*=UTF-8''Pentest%20%C3%9Cberpr%C3%BCfung") {
		t.Errorf("content disposition %q", cd)
	}
	// Nothing changed: the same export.
	again, _ := e.sessionReport(t, e.session, "csv", e.viewer)
	if again != first {
		t.Errorf("unchanged session: new export %s, want %s", again, first)
	}
	// Another format is another export.
	pdf, _ := e.sessionReport(t, e.session, "pdf", e.viewer)
	if pdf == first {
		t.Error("pdf reused the csv export")
	}
	// A finding changes: a new export.
	if _, err := e.p.Store().UpdateFinding(ctx, e.org, e.findings[2], 0, func(f *domain.Finding) ([]domain.HistoryEntry, error) {
		old := *f
		f.Status, f.UpdatedAt, f.Version = "resolved", time.Now().UTC(), old.Version+1
		return findings.History(old, *f, []string{"status"}, e.auditor.ID, "", f.UpdatedAt), nil
	}); err != nil {
		t.Fatal(err)
	}
	changed, _ := e.sessionReport(t, e.session, "csv", e.viewer)
	if changed == first {
		t.Error("a finding changed but the old export was reused")
	}
	if again, _ := e.sessionReport(t, e.session, "csv", e.member); again != changed {
		t.Errorf("second request after the change: %s, want %s", again, changed)
	}
	e.run(t, []asmCase{
		{name: "exports, newest first", method: http.MethodGet, path: "/api/v1/reports/sessions/" + e.session + "/exports",
			user: e.viewer, code: http.StatusOK, check: func(t *testing.T, r *asmResp) {
				p := struct {
					Items []repView `json:"items"`
					Total int       `json:"total"`
				}{}
				r.decode(t, &p)
				if p.Total != 3 || len(p.Items) != 3 || p.Items[0].TaskID != changed || p.Items[1].TaskID != pdf || p.Items[2].TaskID != first {
					t.Errorf("exports %+v", p)
				}
			}},
		{name: "exports, paged", method: http.MethodGet, path: "/api/v1/reports/sessions/" + e.session + "/exports?per_page=1&page=2",
			user: e.viewer, code: http.StatusOK, check: func(t *testing.T, r *asmResp) {
				p := struct {
					Items []repView `json:"items"`
					Total int       `json:"total"`
					Pages int       `json:"pages"`
				}{}
				r.decode(t, &p)
				if p.Total != 3 || p.Pages != 3 || len(p.Items) != 1 || p.Items[0].TaskID != pdf {
					t.Errorf("page 2: %+v", p)
				}
			}},
		{name: "download a stored export", method: http.MethodGet, path: "/api/v1/reports/exports/" + pdf + "/download",
			user: e.member, code: http.StatusFound, check: func(t *testing.T, r *asmResp) {
				res, body := fetch(t, r.Header.Get("Location"))
				if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "%PDF-") {
					t.Errorf("%d", res.StatusCode)
				}
			}},
	})
	jsonID, loc := e.sessionReport(t, e.session, "json", e.viewer)
	res, body = fetch(t, loc)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(string(body), `"schema_version":"1.0"`) || jsonID == "" {
		t.Errorf("json: %d %.100s", res.StatusCode, body)
	}
	e.run(t, []asmCase{
		{name: "client member: another client's session", method: http.MethodGet,
			path: "/api/v1/reports/sessions/" + e.otherClientSession + "/pdf", user: e.member, code: http.StatusNotFound},
		{name: "client member: another client's exports", method: http.MethodGet,
			path: "/api/v1/reports/sessions/" + e.otherClientSession + "/exports", user: e.member, code: http.StatusNotFound},
		{name: "no token", method: http.MethodGet, path: "/api/v1/reports/status/" + jsonID, code: http.StatusUnauthorized},
		{name: "another organization's session", method: http.MethodGet,
			path: "/api/v1/reports/sessions/" + e.session + "/pdf", user: e.other, code: http.StatusNotFound},
		{name: "the other organization's session, asked by this one", method: http.MethodGet,
			path: "/api/v1/reports/sessions/" + e.otherSession + "/pdf", user: e.admin, code: http.StatusNotFound},
		{name: "another organization's exports", method: http.MethodGet,
			path: "/api/v1/reports/sessions/" + e.session + "/exports", user: e.other, code: http.StatusNotFound},
		{name: "another organization's export download", method: http.MethodGet,
			path: "/api/v1/reports/exports/" + first + "/download", user: e.other, code: http.StatusNotFound},
		{name: "unknown session", method: http.MethodGet, path: "/api/v1/reports/sessions/" + domain.NewID() + "/csv",
			user: e.viewer, code: http.StatusNotFound},
		{name: "unknown format", method: http.MethodGet, path: "/api/v1/reports/sessions/" + e.session + "/docx",
			user: e.viewer, code: http.StatusNotFound},
	})
}
