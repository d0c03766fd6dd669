package reports_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/objects"
	"rampart/shared/platform"
	"rampart/shared/reports"
	"rampart/shared/reports/reporttest"
	"rampart/shared/testenv"
)

// env is a platform on the emulators with an organization, a client, a
// session with findings and a completed scan.
type env struct {
	t       *testing.T
	p       *platform.Platform
	org     string
	admin   domain.Principal
	session domain.Session
	scan    domain.Scan
}

func newEnv(t *testing.T, findings int) *env {
	t.Helper()
	p := testenv.Platform(t)
	st := p.Store()
	org := domain.NewID()
	reporttest.Org(t, st, org, "Acme "+reporttest.UnicodeText)
	client := reporttest.Client(t, st, org, "Client GmbH")
	sess, _ := reporttest.Session(t, st, org, client, findings)
	sc := reporttest.Scan(t, st, org, findings, domain.ScanCompleted)
	return &env{t: t, p: p, org: org, admin: domain.Principal{UserID: domain.NewID(), OrgID: org, Role: domain.RoleAdmin},
		session: sess, scan: sc}
}

// service is the report service on a local workflow with the given worker
// and a sleep that records the waits instead of sleeping.
func (e *env) service(w *reports.Worker) (*reports.Service, *reports.Local, *[]time.Duration) {
	var mu sync.Mutex
	var waits []time.Duration
	local := &reports.Local{Worker: w, Policy: reports.Retry, Sleep: func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		return nil
	}}
	svc, err := e.p.Reports()
	if err != nil {
		e.t.Fatal(err)
	}
	svc.Workflow = local
	return svc, local, &waits
}

func (e *env) object(key string) ([]byte, map[string]string, map[string]string, objects.Info) {
	e.t.Helper()
	b := e.p.Bucket()
	ctx := context.Background()
	body, info, err := b.Open(ctx, key)
	if err != nil {
		e.t.Fatalf("open %s: %v", key, err)
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		e.t.Fatal(err)
	}
	tags, err := b.Tags(ctx, key)
	if err != nil {
		e.t.Fatal(err)
	}
	meta, err := b.Metadata(ctx, key)
	if err != nil {
		e.t.Fatal(err)
	}
	return data, tags, meta, info
}

// TestReportsWorkflowFormats renders each format for a session and for a
// scan through the local workflow (the state machine's steps) and parses
// the stored artifacts back.
func TestReportsWorkflowFormats(t *testing.T) {
	e := newEnv(t, 7)
	svc, local, _ := e.service(e.p.ReportWorker())
	ctx := context.Background()
	type job struct {
		subject, format string
		export          reports.Export
	}
	var jobs []*job
	for _, subject := range []string{reports.SubjectSession, reports.SubjectScan} {
		for _, format := range reports.Formats {
			r := reports.Request{SessionID: e.session.ID, Format: format}
			if subject == reports.SubjectScan {
				r = reports.Request{ScanID: e.scan.ID, Format: format}
			}
			ex, err := svc.Generate(ctx, e.admin, r)
			if err != nil {
				t.Fatalf("generate %s %s: %v", subject, format, err)
			}
			if ex.Status != reports.StatusQueued || ex.TaxonomyVersion != 1 || ex.Fingerprint == "" {
				t.Errorf("new export %+v", ex)
			}
			jobs = append(jobs, &job{subject: subject, format: format, export: ex})
		}
	}
	local.Wait()
	for _, j := range jobs {
		t.Run(j.subject+"/"+j.format, func(t *testing.T) {
			ex, err := svc.Get(ctx, e.admin, j.export.ID)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Status != reports.StatusSucceeded || ex.StartedAt == nil || ex.FinishedAt == nil || ex.Error != "" {
				t.Fatalf("export %+v", ex)
			}
			if want := reports.ArtifactKey(e.org, ex.ID, j.format); ex.Key != want {
				t.Errorf("key %s, want %s", ex.Key, want)
			}
			days := ex.ExpiresAt.Sub(ex.CreatedAt.Truncate(time.Second)).Hours() / 24
			if days != float64(reports.DefaultRetentionDays) {
				t.Errorf("retention %.1f days", days)
			}
			data, tags, meta, info := e.object(ex.Key)
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != ex.SHA256 || meta["sha256"] != ex.SHA256 || int64(len(data)) != ex.Size ||
				meta["export-id"] != ex.ID {
				t.Errorf("size %d/%d sha %s/%s meta %v", len(data), ex.Size, hex.EncodeToString(sum[:]), ex.SHA256, meta)
			}
			if tags[objects.TagKind] != objects.KindReport || len(tags) != 1 {
				t.Errorf("tags %v: the lifecycle rule expires rampart-kind=report", tags)
			}
			if info.ContentType != reports.ContentType(j.format) {
				t.Errorf("content type %q", info.ContentType)
			}
			checkArtifact(t, j.subject, j.format, data)
			if !strings.HasSuffix(ex.FileName, "."+j.format) {
				t.Errorf("file name %q", ex.FileName)
			}
		})
	}
}

// checkArtifact parses a stored report of the seeded data back.
func checkArtifact(t *testing.T, subject, format string, data []byte) {
	t.Helper()
	switch format {
	case reports.FormatPDF:
		text := strings.Join(strings.Fields(pdfText(t, data)), " ")
		want := []string{"Executive summary", "Findings by severity", "CRITICAL", "Informational",
			"Policies and procedures regarding the use of cryptography", "Incident handling", "Page 1 of",
			"Überprüfung", "Ελληνικά", "Проверка", "CVSS:3.1/AV:N"}
		if subject == reports.SubjectSession {
			want = append(want, "screenshot Überprüfung", "Client GmbH", "Security assessment report")
		} else {
			want = append(want, "65.0 / 100", "Security scan report")
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("PDF lacks %q", w)
			}
		}
		first, low := strings.Index(text, "(critical)"), strings.Index(text, "(low)")
		if first < 0 || low < first {
			t.Errorf("PDF findings not ordered by severity (critical at %d, low at %d)", first, low)
		}
	case reports.FormatCSV:
		rows := parseCSV(t, data)
		if len(rows) != 8 {
			t.Fatalf("%d CSV rows", len(rows))
		}
		sev, ev, title := index(reports.CSVHeader, "severity"), index(reports.CSVHeader, "evidence"), index(reports.CSVHeader, "title")
		order := ""
		for _, r := range rows[1:] {
			order += r[sev][:1]
			if !strings.HasPrefix(r[ev], "'"+reporttest.Formula) {
				t.Errorf("formula not neutralised: %q", r[ev])
			}
			if !strings.Contains(r[title], reporttest.UnicodeText) {
				t.Errorf("title %q", r[title])
			}
		}
		if order != "chmllii" { // 7 findings cycling from info: 2 info, 2 low, one of each other
			t.Errorf("severity order %q", order)
		}
	case reports.FormatJSON:
		m := validJSONReport(t, data)
		fs := m["findings"].([]any)
		if len(fs) != 7 || m["subject"].(map[string]any)["type"] != subject {
			t.Fatalf("%d findings, subject %v", len(fs), m["subject"])
		}
		if f := fs[0].(map[string]any); f["severity"] != "critical" || !strings.Contains(f["title"].(string), reporttest.UnicodeText) {
			t.Errorf("first finding %v", f)
		}
		if subject == reports.SubjectSession {
			if len(m["scope"].([]any)) != 2 || m["subject"].(map[string]any)["client_name"] != "Client GmbH" {
				t.Errorf("scope %v subject %v", m["scope"], m["subject"])
			}
		} else if m["scan"].(map[string]any)["score"] != 65.0 {
			t.Errorf("scan %v", m["scan"])
		}
	}
}

func index(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// flakyObjects fails Put with a storage outage while fails > 0.
type flakyObjects struct {
	reports.Objects
	fails atomic.Int32
	puts  atomic.Int32
}

func (f *flakyObjects) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, m objects.Meta) error {
	f.puts.Add(1)
	if f.fails.Add(-1) >= 0 {
		return domain.Wrap(domain.KindUnavailable, errors.New("connection refused"), "storage unavailable")
	}
	return f.Objects.Put(ctx, key, body, size, m)
}

func TestReportsWorkflowRetriesAndFailure(t *testing.T) {
	e := newEnv(t, 2)
	ctx := context.Background()
	t.Run("transient errors are retried with the policy", func(t *testing.T) {
		w := e.p.ReportWorker()
		flaky := &flakyObjects{Objects: w.Objects}
		flaky.fails.Store(2)
		w.Objects = flaky
		svc, local, waits := e.service(w)
		ex, err := svc.Generate(ctx, e.admin, reports.Request{SessionID: e.session.ID, Format: reports.FormatCSV})
		if err != nil {
			t.Fatal(err)
		}
		local.Wait()
		got, _ := svc.Get(ctx, e.admin, ex.ID)
		if got.Status != reports.StatusSucceeded {
			t.Fatalf("export %+v", got)
		}
		if len(*waits) != 2 || (*waits)[0] != 2*time.Second || (*waits)[1] != 4*time.Second {
			t.Errorf("waits %v", *waits)
		}
	})
	t.Run("retries exhausted: the export fails with the reason", func(t *testing.T) {
		w := e.p.ReportWorker()
		flaky := &flakyObjects{Objects: w.Objects}
		flaky.fails.Store(1000)
		w.Objects = flaky
		svc, local, waits := e.service(w)
		ex, err := svc.Generate(ctx, e.admin, reports.Request{SessionID: e.session.ID, Format: reports.FormatJSON})
		if err != nil {
			t.Fatal(err)
		}
		local.Wait()
		got, _ := svc.Get(ctx, e.admin, ex.ID)
		if got.Status != reports.StatusFailed || got.FinishedAt == nil ||
			got.Error != "the database or storage stayed unavailable (storage unavailable); request the report again" {
			t.Fatalf("export %+v", got)
		}
		if n := flaky.puts.Load(); n != 4 {
			t.Errorf("%d attempts, want 1 + 3 retries", n)
		}
		if len(*waits) != 3 || (*waits)[2] != 8*time.Second {
			t.Errorf("waits %v", *waits)
		}
		if _, err := svc.Get(ctx, e.admin, ex.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.DownloadURL(ctx, e.admin, ex.ID); !domain.Is(err, domain.KindConflict) || !strings.Contains(err.Error(), "stayed unavailable") {
			t.Errorf("download of a failed export: %v", err)
		}
	})
	t.Run("a permanent error fails at once", func(t *testing.T) {
		// The session is gone by the time the workflow loads it.
		svc, _, waits := e.service(e.p.ReportWorker())
		now := time.Now().UTC()
		ex := reports.Export{ID: domain.NewID(), OrgID: e.org, SubjectType: reports.SubjectSession, SubjectID: domain.NewID(),
			Format: reports.FormatPDF, Status: reports.StatusQueued, TaxonomyVersion: 1, FileName: "x.pdf", CreatedAt: now,
			ExpiresAt: now.Add(time.Hour)}
		if err := e.p.Store().CreateExport(ctx, e.org, ex, nil); err != nil {
			t.Fatal(err)
		}
		local := svc.Workflow.(*reports.Local)
		err := local.Run(ctx, e.org, ex.ID)
		if err == nil || !strings.Contains(err.Error(), "step load") {
			t.Fatalf("run: %v", err)
		}
		got, _ := e.p.Store().GetExport(ctx, e.org, ex.ID)
		if got.Status != reports.StatusFailed || got.Error != "the report could not be produced: session not found" {
			t.Errorf("export %+v", got)
		}
		if len(*waits) != 0 {
			t.Errorf("a permanent error was retried: %v", *waits)
		}
		// Running the fail step again (a retried MarkFailed) changes nothing.
		res, err := e.p.ReportWorker().Run(ctx, reports.Task{Step: reports.StepFail, ExportID: ex.ID, OrgID: e.org,
			Error: &reports.TaskError{Error: "States.Timeout"}})
		if err != nil || res.Status != reports.StatusFailed {
			t.Errorf("fail again: %v %v", res, err)
		}
	})
	t.Run("a duplicate start is harmless", func(t *testing.T) {
		w := e.p.ReportWorker()
		counting := &flakyObjects{Objects: w.Objects}
		w.Objects = counting
		svc, local, _ := e.service(w)
		ex, err := svc.Generate(ctx, e.admin, reports.Request{SessionID: e.session.ID, Format: reports.FormatCSV})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := local.Start(ctx, e.org, ex.ID); err != nil {
				t.Fatal(err)
			}
		}
		local.Wait()
		if got, _ := svc.Get(ctx, e.admin, ex.ID); got.Status != reports.StatusSucceeded {
			t.Errorf("export %+v", got)
		}
		if n := counting.puts.Load(); n != 2 { // data and work artifact, once each
			t.Errorf("%d puts: the workflow ran more than once", n)
		}
		// A step run again after success changes nothing either.
		res, err := w.Run(ctx, reports.Task{Step: reports.StepFinish, ExportID: ex.ID, OrgID: e.org})
		if err != nil || res.Status != reports.StatusSucceeded {
			t.Errorf("finish again: %v %v", res, err)
		}
		if _, err := w.Run(ctx, reports.Task{Step: reports.StepLoad, ExportID: ex.ID, OrgID: e.org}); !domain.Is(err, domain.KindConflict) {
			t.Errorf("load of a finished export: %v", err)
		}
	})
}

// TestReportsLoadPaged reads a session's and a scan's findings with a page
// size smaller than their number: every finding arrives once, most severe
// first.
func TestReportsLoadPaged(t *testing.T) {
	e := newEnv(t, 23)
	ctx := context.Background()
	w := e.p.ReportWorker()
	w.PageSize = 4
	svc, local, _ := e.service(w)
	for _, r := range []reports.Request{{SessionID: e.session.ID, Format: reports.FormatJSON}, {ScanID: e.scan.ID, Format: reports.FormatJSON}} {
		ex, err := svc.Generate(ctx, e.admin, r)
		if err != nil {
			t.Fatal(err)
		}
		local.Wait()
		got, err := svc.Get(ctx, e.admin, ex.ID)
		if err != nil || got.Status != reports.StatusSucceeded {
			t.Fatalf("%+v %v", got, err)
		}
		data, _, _, _ := e.object(got.Key)
		m := validJSONReport(t, data)
		seen := map[string]bool{}
		last := -1
		for _, f := range m["findings"].([]any) {
			f := f.(map[string]any)
			if seen[f["id"].(string)] {
				t.Errorf("finding %s twice", f["id"])
			}
			seen[f["id"].(string)] = true
			rank := domain.SeverityRank(f["severity"].(string))
			if rank < last {
				t.Errorf("order: %s after rank %d", f["severity"], last)
			}
			last = rank
		}
		if len(seen) != 23 {
			t.Errorf("%d findings", len(seen))
		}
		if n := m["summary"].(map[string]any)["by_severity"].(map[string]any)["critical"]; n != 4.0 {
			t.Errorf("critical count %v", n)
		}
		// The intermediate file holds no more than the report's data.
		raw, _, _, _ := e.object(reports.DataKey(ex.ID))
		if !bytes.HasPrefix(raw, []byte(`{"meta":`)) {
			t.Errorf("data file starts %q", raw[:20])
		}
	}
}
