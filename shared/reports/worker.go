package reports

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"

	"rampart/shared/attachments"
	"rampart/shared/domain"
	"rampart/shared/findings"
	"rampart/shared/objects"
)

// Steps of the workflow, as the state machine names them in the "step"
// field of each task's payload (infra/stack.go: Load, Render, Store, Finish
// and MarkFailed).
const (
	StepLoad   = "load"
	StepRender = "render"
	StepStore  = "store"
	StepFinish = "finish"
	StepFail   = "fail"
)

// Steps lists the steps in order (fail runs only after a failure).
var Steps = []string{StepLoad, StepRender, StepStore, StepFinish}

// Error types the worker reports to the state machine (the Lambda
// function error's errorType). The state machine retries TransientErrorType
// and goes to MarkFailed for anything else.
const (
	TransientErrorType = "Rampart.Transient"
	FailedErrorType    = "Rampart.ReportFailed"
)

// RetryPolicy is how a failed step is retried: after Interval, then
// Interval×BackoffRate, and so on, at most MaxAttempts retries.
type RetryPolicy struct {
	Interval    time.Duration
	BackoffRate float64
	MaxAttempts int
}

// Delay is the wait before retry number n (from 0).
func (p RetryPolicy) Delay(n int) time.Duration {
	d := float64(p.Interval)
	for range n {
		d *= p.BackoffRate
	}
	return time.Duration(d)
}

// Retry is the one retry policy of the report steps: the state machine's
// Retry on Rampart.Transient (infra/stack.go: IntervalSeconds 2, BackoffRate
// 2, MaxAttempts 3) and the local workflow's.
var Retry = RetryPolicy{Interval: 2 * time.Second, BackoffRate: 2, MaxAttempts: 3}

// Task is the payload the state machine sends report-worker: the step, the
// export and organization ids, the previous step's result under its step
// name, and for fail the caught error.
type Task struct {
	Step     string     `json:"step"`
	ExportID string     `json:"export_id"`
	OrgID    string     `json:"org_id"`
	Load     *Result    `json:"load,omitempty"`
	Render   *Result    `json:"render,omitempty"`
	Store    *Result    `json:"store,omitempty"`
	Error    *TaskError `json:"error,omitempty"`
}

// Result is what a step returns (kept at $.<step> in the execution): keys
// and small facts, never report data.
type Result struct {
	Step     string `json:"step"`
	Key      string `json:"key,omitempty"`
	Size     int64  `json:"size,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Findings int    `json:"findings,omitempty"`
	Status   string `json:"status,omitempty"`
}

// TaskError is what a Catch puts at $.error: the error type and its cause
// (for a Lambda function error, the JSON of {errorMessage, errorType}).
type TaskError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Source is what the load step reads: the subject, its findings page by
// page, their attachments, the taxonomy version, the scope.
type Source interface {
	GetOrg(ctx context.Context, id string) (domain.Organization, error)
	GetAssessmentSession(ctx context.Context, orgID, id string) (domain.Session, error)
	GetClient(ctx context.Context, orgID, id string) (domain.Client, error)
	GetScan(ctx context.Context, orgID, id string) (domain.Scan, error)
	GetTaxonomyVersion(ctx context.Context, orgID string, version int) (domain.Taxonomy, int, error)
	GetAssets(ctx context.Context, orgID string, ids []string) ([]domain.Asset, error)
	Targets(ctx context.Context, orgID, scanID string) ([]domain.ScanTarget, error)
	// ListFindings with the severity sort lists a session's findings most
	// severe first, a page at a time (the store's severity list entries).
	ListFindings(ctx context.Context, orgID string, q findings.Query) (domain.Page[domain.Finding], error)
	// ScanFindingsPage reads a page of the findings a scan observed.
	ScanFindingsPage(ctx context.Context, orgID, scanID, cursor string, limit int) ([]domain.Finding, string, error)
	// FindingAttachmentList lists the available attachments of findings.
	FindingAttachmentList(ctx context.Context, orgID string, findingIDs []string) (map[string][]Attachment, error)
}

// Objects is the bucket (objects.Bucket).
type Objects interface {
	Put(ctx context.Context, key string, body io.ReadSeeker, size int64, m objects.Meta) error
	PutWithMetadata(ctx context.Context, key string, body io.ReadSeeker, size int64, m objects.Meta, metadata map[string]string) error
	Open(ctx context.Context, key string) (io.ReadCloser, objects.Info, error)
}

// Worker runs the steps. Each step is idempotent: the state machine (or
// the local runner) may run it again after a transient failure.
type Worker struct {
	Store   Store
	Source  Source
	Objects Objects
	Clock   domain.Clock
	Log     *slog.Logger
	// TempDir holds spool files (Lambda: /tmp); "" is os.TempDir().
	TempDir string
	// PageSize is how many findings a read fetches (default 100).
	PageSize int
}

func (w *Worker) now() time.Time {
	if w.Clock == nil {
		return domain.SystemClock()
	}
	return w.Clock()
}

func (w *Worker) log() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// Transient reports whether err may go away on retry: a dependency that is
// down or throttling. Anything else fails the export.
func Transient(err error) bool {
	k := domain.KindOf(err)
	return k == domain.KindUnavailable || k == domain.KindThrottled
}

// PublicMessage is what an export's failure may say about err.
func PublicMessage(err error) string {
	var de *domain.Error
	switch {
	case errors.Is(err, objects.ErrNotFound):
		return "the intermediate report data is missing (it expires after a day)"
	case errors.Is(err, ErrBadData):
		return "the intermediate report data is malformed"
	case errors.As(err, &de) && de.Kind != domain.KindInternal:
		return de.Message
	}
	return "internal error"
}

// LambdaError is the error a Lambda handler returns for a failed step: its
// type (what the state machine's Retry and Catch match) is
// Rampart.Transient for errors worth retrying and Rampart.ReportFailed for
// the others. aws-lambda-go reports a messages.InvokeResponse_Error value
// as is; for any other error it would use the Go type's name.
func LambdaError(err error) error {
	if err == nil {
		return nil
	}
	typ := FailedErrorType
	if Transient(err) {
		typ = TransientErrorType
	}
	return messages.InvokeResponse_Error{Type: typ, Message: PublicMessage(err)}
}

// Run runs one step of one export.
func (w *Worker) Run(ctx context.Context, t Task) (Result, error) {
	if !domain.ValidID(t.ExportID) || !domain.ValidID(t.OrgID) {
		return Result{}, domain.Invalid("the task names no valid export_id and org_id")
	}
	var (
		res Result
		err error
	)
	switch t.Step {
	case StepLoad:
		res, err = w.load(ctx, t)
	case StepRender:
		res, err = w.render(ctx, t)
	case StepStore:
		res, err = w.store(ctx, t)
	case StepFinish:
		res, err = w.finish(ctx, t)
	case StepFail:
		res, err = w.fail(ctx, t)
	default:
		return Result{}, domain.Invalid(fmt.Sprintf("unknown step %q", t.Step))
	}
	if err != nil {
		w.log().Warn("report step failed", "step", t.Step, "export_id", t.ExportID, "org_id", t.OrgID,
			"transient", Transient(err), "error", err.Error())
		return Result{}, err
	}
	res.Step = t.Step
	return res, nil
}

// active reads an export that the workflow may still work on.
func (w *Worker) active(ctx context.Context, t Task) (Export, error) {
	e, err := w.Store.GetExport(ctx, t.OrgID, t.ExportID)
	if err != nil {
		return Export{}, err
	}
	if e.Finished() {
		return Export{}, domain.E(domain.KindConflict, "the export already %s", e.Status)
	}
	return e, nil
}

func (w *Worker) tempFile(pattern string) (*os.File, error) {
	f, err := os.CreateTemp(w.TempDir, pattern)
	if err != nil {
		return nil, domain.Wrap(domain.KindInternal, err, "temporary file")
	}
	return f, nil
}

func dropFile(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// put uploads a spooled file (seekable, as the SDK wants over plain HTTP).
func (w *Worker) put(ctx context.Context, f *os.File, key string, m objects.Meta) (int64, error) {
	size, err := f.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return 0, domain.Wrap(domain.KindInternal, err, "temporary file")
	}
	return size, w.Objects.Put(ctx, key, f, size, m)
}

// load reads the subject and its findings page by page and writes the
// intermediate file: meta, scope, findings by severity. Findings are
// spooled to one local file per severity, so memory holds one page.
func (w *Worker) load(ctx context.Context, t Task) (Result, error) {
	e, err := w.active(ctx, t)
	if err != nil {
		return Result{}, err
	}
	if e.Status == StatusQueued {
		now := w.now()
		if e, err = w.Store.UpdateExport(ctx, t.OrgID, t.ExportID, func(x *Export) error {
			if x.Status == StatusQueued {
				x.Status, x.StartedAt = StatusRunning, &now
			}
			return nil
		}); err != nil {
			return Result{}, err
		}
	}
	tax, _, err := w.Source.GetTaxonomyVersion(ctx, t.OrgID, e.TaxonomyVersion)
	if err != nil {
		return Result{}, err
	}
	lk := NewLookups(tax)
	org, err := w.Source.GetOrg(ctx, t.OrgID)
	if err != nil {
		return Result{}, err
	}
	meta := Meta{SchemaVersion: SchemaVersion,
		Export:       ExportInfo{ID: e.ID, Format: e.Format, GeneratedAt: w.now(), TaxonomyVersion: tax.Version},
		Organization: OrgInfo{ID: org.ID, Name: org.Name}, Taxonomy: lk.Info(), Summary: newSummary()}
	if meta.Export.TaxonomyVersion == 0 {
		meta.Export.TaxonomyVersion, meta.Taxonomy.Version = e.TaxonomyVersion, e.TaxonomyVersion
	}
	sp, err := newSpool(w.TempDir)
	if err != nil {
		return Result{}, err
	}
	defer sp.close()
	switch e.SubjectType {
	case SubjectSession:
		err = w.loadSession(ctx, t.OrgID, e.SubjectID, lk, &meta, sp)
	case SubjectScan:
		err = w.loadScan(ctx, t.OrgID, e.SubjectID, lk, &meta, sp)
	default:
		err = domain.E(domain.KindInternal, "export %s has subject type %q", e.ID, e.SubjectType)
	}
	if err != nil {
		return Result{}, err
	}
	out, err := w.tempFile("report-data-*.jsonl")
	if err != nil {
		return Result{}, err
	}
	defer dropFile(out)
	bw := bufio.NewWriterSize(out, 64<<10)
	if err := NewDataWriter(bw).Meta(meta); err != nil {
		return Result{}, domain.Wrap(domain.KindInternal, err, "write report data")
	}
	if err := sp.copyTo(bw); err != nil {
		return Result{}, err
	}
	if err := bw.Flush(); err != nil {
		return Result{}, domain.Wrap(domain.KindInternal, err, "write report data")
	}
	if _, err := w.put(ctx, out, DataKey(e.ID), objects.Meta{ContentType: "application/x-ndjson"}); err != nil {
		return Result{}, err
	}
	return Result{Key: DataKey(e.ID), Findings: meta.Summary.Findings}, nil
}

func (w *Worker) pageSize() int {
	if w.PageSize <= 0 {
		return 100
	}
	return w.PageSize
}

// addFindings converts one page of findings, with their attachments.
func (w *Worker) addFindings(ctx context.Context, org string, fs []domain.Finding, lk Lookups, meta *Meta, sp *spool) error {
	if len(fs) == 0 {
		return nil
	}
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	atts, err := w.Source.FindingAttachmentList(ctx, org, ids)
	if err != nil {
		return err
	}
	for _, f := range fs {
		item := lk.Finding(f, atts[f.ID])
		s := &meta.Summary
		s.Findings++
		s.BySeverity[item.Severity]++
		s.ByStatus[item.Status]++
		s.ByCategory[item.Category]++
		if item.NIS2 != nil {
			s.ByNIS2[item.NIS2.Point]++
		}
		if err := sp.finding(item); err != nil {
			return err
		}
	}
	return nil
}

func (w *Worker) loadSession(ctx context.Context, org, id string, lk Lookups, meta *Meta, sp *spool) error {
	sess, err := w.Source.GetAssessmentSession(ctx, org, id)
	if err != nil {
		return err
	}
	meta.Subject = SubjectInfo{Type: SubjectSession, ID: sess.ID, Name: sess.Name, ClientID: sess.ClientID,
		Status: sess.Status, StatusLabel: lk.label(domain.DomainSessionStatus, sess.Status), StartDate: sess.StartDate,
		EndDate: sess.EndDate, Description: sess.Description, CreatedAt: sess.CreatedAt, UpdatedAt: sess.UpdatedAt}
	if sess.ClientID != "" {
		c, err := w.Source.GetClient(ctx, org, sess.ClientID)
		if err != nil && !domain.Is(err, domain.KindNotFound) {
			return err
		}
		meta.Subject.ClientName = c.Name
	}
	q := findings.Query{SessionID: sess.ID, Sort: findings.SortSeverity, Desc: true,
		Page: domain.PageRequest{Page: 1, PerPage: w.pageSize()}}
	for {
		p, err := w.Source.ListFindings(ctx, org, q)
		if err != nil {
			return err
		}
		if err := w.addFindings(ctx, org, p.Items, lk, meta, sp); err != nil {
			return err
		}
		if p.NextCursor == "" || len(p.Items) == 0 {
			break
		}
		q.Page.Cursor = p.NextCursor
	}
	if len(sess.AssetIDs) == 0 { // no fixed scope: the assets of its findings
		return sp.seenAssets(&meta.Summary)
	}
	for start := 0; start < len(sess.AssetIDs); start += 100 {
		batch := sess.AssetIDs[start:min(start+100, len(sess.AssetIDs))]
		as, err := w.Source.GetAssets(ctx, org, batch)
		if err != nil {
			return err
		}
		byID := make(map[string]domain.Asset, len(as))
		for _, a := range as {
			byID[a.ID] = a
		}
		for _, id := range batch {
			if a, ok := byID[id]; ok {
				if err := sp.asset(Asset{ID: a.ID, Type: a.Type, Target: a.Target, Name: a.Name}, &meta.Summary); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (w *Worker) loadScan(ctx context.Context, org, id string, lk Lookups, meta *Meta, sp *spool) error {
	sc, err := w.Source.GetScan(ctx, org, id)
	if err != nil {
		return err
	}
	meta.Subject = SubjectInfo{Type: SubjectScan, ID: sc.ID, Status: sc.Status, StatusLabel: sc.Status,
		CreatedAt: sc.CreatedAt, UpdatedAt: sc.UpdatedAt, CompletedAt: sc.CompletedAt}
	meta.Scan = &ScanInfo{Score: sc.Score, ScoreReason: sc.ScoreReason, Targets: sc.Targets, Hosts: sc.Hosts,
		LiveHosts: sc.LiveHosts, StartedAt: sc.StartedAt, CompletedAt: sc.CompletedAt}
	cursor := ""
	for {
		fs, next, err := w.Source.ScanFindingsPage(ctx, org, id, cursor, w.pageSize())
		if err != nil {
			return err
		}
		if err := w.addFindings(ctx, org, fs, lk, meta, sp); err != nil {
			return err
		}
		if next == "" || len(fs) == 0 {
			break
		}
		cursor = next
	}
	targets, err := w.Source.Targets(ctx, org, id)
	if err != nil {
		return err
	}
	for _, tg := range targets {
		if err := sp.asset(Asset{ID: tg.AssetID, Type: tg.Type, Target: tg.Target}, &meta.Summary); err != nil {
			return err
		}
	}
	return nil
}

// render streams the intermediate file into the export's renderer.
func (w *Worker) render(ctx context.Context, t Task) (Result, error) {
	e, err := w.active(ctx, t)
	if err != nil {
		return Result{}, err
	}
	r, err := RendererFor(e.Format)
	if err != nil {
		return Result{}, domain.Wrap(domain.KindInternal, err, "unknown report format")
	}
	body, _, err := w.Objects.Open(ctx, DataKey(e.ID))
	if err != nil {
		return Result{}, err
	}
	defer body.Close()
	src := &sourceReader{r: body}
	d, err := ReadData(src)
	if err != nil {
		return Result{}, src.classify(err)
	}
	out, err := w.tempFile("report-artifact-*")
	if err != nil {
		return Result{}, err
	}
	defer dropFile(out)
	if err := r.Render(out, d); err != nil {
		return Result{}, src.classify(err)
	}
	size, err := w.put(ctx, out, WorkArtifactKey(e.ID), objects.Meta{ContentType: ContentType(e.Format)})
	if err != nil {
		return Result{}, err
	}
	return Result{Key: WorkArtifactKey(e.ID), Size: size}, nil
}

// sourceReader remembers the error of reading an object's body, so that a
// failure while streaming it can be told from a failure of what consumed it.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// classify names what failed: reading from storage is transient, the data
// being malformed is not, and anything else (a renderer, the local disk) is
// internal.
func (s *sourceReader) classify(err error) error {
	var de *domain.Error
	switch {
	case s.err != nil:
		return domain.Wrap(domain.KindUnavailable, err, "storage unavailable while reading report data")
	case errors.Is(err, ErrBadData) || errors.As(err, &de):
		return err
	}
	return domain.Wrap(domain.KindInternal, err, "rendering failed")
}

// store copies the rendered artifact to its final key, hashing it on the
// way, with its content type, download name, the rampart-kind=report tag
// and its SHA-256 (which S3 verifies), and records size and digest.
func (w *Worker) store(ctx context.Context, t Task) (Result, error) {
	e, err := w.active(ctx, t)
	if err != nil {
		return Result{}, err
	}
	body, _, err := w.Objects.Open(ctx, WorkArtifactKey(e.ID))
	if err != nil {
		return Result{}, err
	}
	defer body.Close()
	tmp, err := w.tempFile("report-store-*")
	if err != nil {
		return Result{}, err
	}
	defer dropFile(tmp)
	h := sha256.New()
	src := &sourceReader{r: body}
	size, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return Result{}, src.classify(err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return Result{}, domain.Wrap(domain.KindInternal, err, "temporary file")
	}
	digest := h.Sum(nil)
	sum := hex.EncodeToString(digest)
	key := ArtifactKey(t.OrgID, e.ID, e.Format)
	err = w.Objects.PutWithMetadata(ctx, key, tmp, size, objects.Meta{
		ContentType: ContentType(e.Format), ContentDisposition: attachments.ContentDisposition(e.FileName),
		Tags: map[string]string{objects.TagKind: objects.KindReport}, SHA256: digest,
	}, map[string]string{"export-id": e.ID, "sha256": sum})
	if err != nil {
		return Result{}, err
	}
	if _, err := w.Store.UpdateExport(ctx, t.OrgID, e.ID, func(x *Export) error {
		x.Size, x.SHA256, x.Key = size, sum, key
		return nil
	}); err != nil {
		return Result{}, err
	}
	return Result{Key: key, Size: size, SHA256: sum}, nil
}

// finish marks the export succeeded (once stored).
func (w *Worker) finish(ctx context.Context, t Task) (Result, error) {
	e, err := w.Store.GetExport(ctx, t.OrgID, t.ExportID)
	if err != nil {
		return Result{}, err
	}
	if e.Status == StatusSucceeded {
		return Result{Key: e.Key, Status: e.Status}, nil
	}
	now := w.now()
	e, err = w.Store.UpdateExport(ctx, t.OrgID, t.ExportID, func(x *Export) error {
		switch {
		case x.Status == StatusFailed:
			return domain.E(domain.KindConflict, "the export already failed")
		case x.Key == "" || x.SHA256 == "":
			return domain.E(domain.KindConflict, "the report was not stored")
		}
		x.Status, x.FinishedAt, x.Error = StatusSucceeded, &now, ""
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return Result{Key: e.Key, Status: e.Status}, nil
}

// fail marks the export failed with what the caught error says; an export
// that already finished (succeeded, or failed before) or no longer exists is
// left alone.
func (w *Worker) fail(ctx context.Context, t Task) (Result, error) {
	detail := FailureDetail(t.Error)
	w.log().Error("report failed", "export_id", t.ExportID, "org_id", t.OrgID, "detail", detail, "caught", t.Error)
	now := w.now()
	e, err := w.Store.UpdateExport(ctx, t.OrgID, t.ExportID, func(x *Export) error {
		if !x.Finished() { // a retried MarkFailed keeps the first reason
			x.Status, x.Error, x.FinishedAt = StatusFailed, detail, &now
		}
		return nil
	})
	if domain.Is(err, domain.KindNotFound) {
		return Result{Status: StatusFailed}, nil
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Status: e.Status}, nil
}

// FailureDetail turns a caught error into the export's failure reason.
func FailureDetail(te *TaskError) string {
	if te == nil {
		return "the report could not be produced"
	}
	msg := te.Cause
	var lambdaErr struct {
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(te.Cause), &lambdaErr) == nil && lambdaErr.Message != "" {
		msg = lambdaErr.Message
	}
	var out string
	switch te.Error {
	case FailedErrorType:
		out = "the report could not be produced: " + msg
	case TransientErrorType:
		out = "the database or storage stayed unavailable (" + msg + "); request the report again"
	case "States.Timeout", "Sandbox.Timedout":
		out = "the report took longer than the workflow allows"
	default:
		out = "the report could not be produced (" + te.Error + ")"
	}
	if r := []rune(out); len(r) > 500 {
		out = string(r[:500])
	}
	return out
}

// spool holds what load has read, on local disk: the scope's assets and
// one file of findings per severity rank.
type spool struct {
	dir    string
	assets *spoolFile
	sev    []*spoolFile
	seen   map[string]Asset // assets of findings, for sessions without a scope
}

type spoolFile struct {
	f *os.File
	w *bufio.Writer
}

func newSpool(tempDir string) (*spool, error) {
	dir, err := os.MkdirTemp(tempDir, "report-spool-*")
	if err != nil {
		return nil, domain.Wrap(domain.KindInternal, err, "temporary directory")
	}
	return &spool{dir: dir, seen: map[string]Asset{}, sev: make([]*spoolFile, len(domain.Severities)+1)}, nil
}

func (s *spool) file(p **spoolFile, name string) (*spoolFile, error) {
	if *p == nil {
		f, err := os.Create(filepath.Join(s.dir, name))
		if err != nil {
			return nil, domain.Wrap(domain.KindInternal, err, "temporary file")
		}
		*p = &spoolFile{f: f, w: bufio.NewWriterSize(f, 32<<10)}
	}
	return *p, nil
}

func (s *spool) finding(f Finding) error {
	rank := domain.SeverityRank(f.Severity)
	sf, err := s.file(&s.sev[rank], fmt.Sprintf("sev-%d.jsonl", rank))
	if err != nil {
		return err
	}
	if f.Asset.ID != "" {
		if _, ok := s.seen[f.Asset.ID]; !ok {
			s.seen[f.Asset.ID] = f.Asset
		}
	}
	return wrapWrite(NewDataWriter(sf.w).Finding(f))
}

func (s *spool) asset(a Asset, sum *Summary) error {
	sf, err := s.file(&s.assets, "assets.jsonl")
	if err != nil {
		return err
	}
	sum.Assets++
	return wrapWrite(NewDataWriter(sf.w).Asset(a))
}

// seenAssets makes the assets of the findings the scope, by type and target.
func (s *spool) seenAssets(sum *Summary) error {
	list := make([]Asset, 0, len(s.seen))
	for _, a := range s.seen {
		list = append(list, a)
	}
	key := func(a Asset) string { return a.Type + "\x00" + strings.ToLower(a.Target+a.Name) + "\x00" + a.ID }
	sort.Slice(list, func(i, j int) bool { return key(list[i]) < key(list[j]) })
	for _, a := range list {
		if err := s.asset(a, sum); err != nil {
			return err
		}
	}
	return nil
}

// copyTo appends the assets, then the findings most severe first.
func (s *spool) copyTo(w io.Writer) error {
	for _, sf := range append([]*spoolFile{s.assets}, s.sev...) {
		if sf == nil {
			continue
		}
		if err := sf.w.Flush(); err != nil {
			return wrapWrite(err)
		}
		if _, err := sf.f.Seek(0, io.SeekStart); err != nil {
			return wrapWrite(err)
		}
		if _, err := io.Copy(w, sf.f); err != nil {
			return wrapWrite(err)
		}
	}
	return nil
}

func (s *spool) close() {
	for _, sf := range append([]*spoolFile{s.assets}, s.sev...) {
		if sf != nil {
			_ = sf.f.Close()
		}
	}
	_ = os.RemoveAll(s.dir)
}

func wrapWrite(err error) error {
	if err == nil {
		return nil
	}
	return domain.Wrap(domain.KindInternal, err, "write report data")
}

// Handle is the report-worker Lambda's handler: Run, with a failure
// reported as the Lambda function error the state machine's Retry and Catch
// match on (LambdaError).
func (w *Worker) Handle(ctx context.Context, t Task) (Result, error) {
	res, err := w.Run(ctx, t)
	if err != nil {
		return Result{}, LambdaError(err)
	}
	return res, nil
}
