package reports

import (
	"context"
	"log/slog"
	"time"

	"rampart/shared/attachments"
	"rampart/shared/domain"
)

// Subjects are the lookups the API side needs: the subject, the current
// taxonomy version, and what a session's fingerprint is made of.
type Subjects interface {
	GetAssessmentSession(ctx context.Context, orgID, id string) (domain.Session, error)
	GetScan(ctx context.Context, orgID, id string) (domain.Scan, error)
	CurrentTaxonomy(ctx context.Context, orgID string) (domain.Taxonomy, error)
	// SessionFindingsState is the last change of any finding of a session
	// and how many it has.
	SessionFindingsState(ctx context.Context, orgID, sessionID string) (time.Time, int, error)
}

// Presigner signs downloads (objects.Bucket).
type Presigner interface {
	PresignGet(ctx context.Context, key, contentType, disposition string, ttl time.Duration) (string, error)
}

// Defaults of the service's timings.
const (
	DefaultDownloadTTL = 5 * time.Minute
	DefaultWait        = 3 * time.Second
	DefaultPoll        = 200 * time.Millisecond
	// reuseMargin: an export that expires sooner is not reused (its
	// download could lapse under the user).
	reuseMargin = time.Hour
	// staleAfter: an export still queued or running after the state
	// machine's own timeout will not finish (its execution died without
	// reaching MarkFailed): it is not reused.
	staleAfter = time.Hour
)

// Service implements the report use cases of the API.
type Service struct {
	Store    Store
	Subjects Subjects
	Workflow Workflow
	Objects  Presigner
	Clock    domain.Clock
	Log      *slog.Logger
	// Retention is how long exports are kept (default 30 days).
	Retention time.Duration
	// DownloadTTL is the lifetime of a presigned download (default 5 min).
	DownloadTTL time.Duration
	// Wait and Poll bound the session routes' wait for a fresh export.
	Wait, Poll time.Duration
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return domain.SystemClock()
	}
	return s.Clock()
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Request asks for a report of a session or a scan.
type Request struct {
	SessionID string
	ScanID    string
	Format    string
}

// subject is a resolved, visible subject.
type subject struct {
	typ, id, name, clientID string
	state                   SubjectState
}

func (s *Service) session(ctx context.Context, p domain.Principal, id string) (domain.Session, error) {
	if !domain.ValidID(id) {
		return domain.Session{}, domain.NotFound("session")
	}
	sess, err := s.Subjects.GetAssessmentSession(ctx, p.OrgID, id)
	if err != nil {
		return domain.Session{}, err
	}
	if !p.CanSeeClient(sess.ClientID) {
		return domain.Session{}, domain.NotFound("session")
	}
	return sess, nil
}

// resolve finds the subject of a request and its current state.
func (s *Service) resolve(ctx context.Context, p domain.Principal, r Request) (subject, error) {
	tax, err := s.Subjects.CurrentTaxonomy(ctx, p.OrgID)
	if err != nil {
		return subject{}, err
	}
	if r.ScanID != "" {
		// Scans cover the whole organization: client members have no view
		// of them (as on the scan routes).
		if p.Role == domain.RoleClient {
			return subject{}, domain.E(domain.KindForbidden, "client members cannot see scans")
		}
		sc, err := s.scan(ctx, p, r.ScanID)
		if err != nil {
			return subject{}, err
		}
		if sc.Status != domain.ScanCompleted {
			return subject{}, domain.E(domain.KindConflict, "the scan is %s: only a completed scan has a report", sc.Status)
		}
		return subject{typ: SubjectScan, id: sc.ID, name: "Scan " + sc.ID, state: SubjectState{Type: SubjectScan, ID: sc.ID,
			UpdatedAt: sc.UpdatedAt, Findings: sc.Findings, Taxonomy: tax.Version}}, nil
	}
	sess, err := s.session(ctx, p, r.SessionID)
	if err != nil {
		return subject{}, err
	}
	latest, n, err := s.Subjects.SessionFindingsState(ctx, p.OrgID, sess.ID)
	if err != nil {
		return subject{}, err
	}
	return subject{typ: SubjectSession, id: sess.ID, name: sess.Name, clientID: sess.ClientID, state: SubjectState{
		Type: SubjectSession, ID: sess.ID, UpdatedAt: sess.UpdatedAt, LatestFinding: latest, Findings: n, Taxonomy: tax.Version}}, nil
}

func (s *Service) scan(ctx context.Context, p domain.Principal, id string) (domain.Scan, error) {
	if !domain.ValidID(id) {
		return domain.Scan{}, domain.NotFound("scan")
	}
	return s.Subjects.GetScan(ctx, p.OrgID, id)
}

func checkFormat(format, location string) error {
	if !ValidFormat(format) {
		return domain.Invalid("unknown report format", domain.FieldError{Location: location, Message: "must be one of pdf, csv, json"})
	}
	return nil
}

// Generate starts a new export of a completed scan or of a session (family
// B): always a new task.
func (s *Service) Generate(ctx context.Context, p domain.Principal, r Request) (Export, error) {
	switch {
	case r.ScanID == "" && r.SessionID == "":
		return Export{}, domain.Invalid("give scan_id or session_id",
			domain.FieldError{Location: "body.scan_id", Message: "give scan_id or session_id"})
	case r.ScanID != "" && r.SessionID != "":
		return Export{}, domain.Invalid("give scan_id or session_id, not both",
			domain.FieldError{Location: "body.session_id", Message: "give scan_id or session_id, not both"})
	}
	if err := checkFormat(r.Format, "body.format"); err != nil {
		return Export{}, err
	}
	sub, err := s.resolve(ctx, p, r)
	if err != nil {
		return Export{}, err
	}
	return s.start(ctx, p, sub, r.Format, nil)
}

// start writes a queued export and starts its workflow.
func (s *Service) start(ctx context.Context, p domain.Principal, sub subject, format string, reuse *Reuse) (Export, error) {
	now := s.now()
	e := Export{ID: domain.NewIDAt(now), OrgID: p.OrgID, SubjectType: sub.typ, SubjectID: sub.id, ClientID: sub.clientID,
		Format: format, Status: StatusQueued, TaxonomyVersion: sub.state.Taxonomy, Fingerprint: Fingerprint(sub.state),
		FileName: FileName(sub.name, sub.typ, sub.id, now, format), RequestedBy: p.UserID, CreatedAt: now,
		ExpiresAt: now.Add(orDefault(s.Retention, DefaultRetentionDays*24*time.Hour)), Version: 1}
	if reuse != nil {
		reuse.ExpiresAt = e.ExpiresAt
	}
	if err := s.Store.CreateExport(ctx, p.OrgID, e, reuse); err != nil {
		return Export{}, err
	}
	if err := s.Workflow.Start(ctx, p.OrgID, e.ID); err != nil {
		at := s.now()
		_, ferr := s.Store.UpdateExport(context.WithoutCancel(ctx), p.OrgID, e.ID, func(x *Export) error {
			x.Status, x.Error, x.FinishedAt = StatusFailed, "the report workflow could not be started", &at
			return nil
		})
		if ferr != nil {
			s.log().Error("report: marking an unstarted export failed", "export_id", e.ID, "error", ferr.Error())
		}
		return Export{}, domain.Wrap(domain.KindUnavailable, err, "the report could not be queued; try again")
	}
	return e, nil
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// visible reports whether p may see an export: a session export through
// its client, a scan export only for members who are not client members.
func visible(p domain.Principal, e Export) bool {
	if e.SubjectType == SubjectScan {
		return p.Role != domain.RoleClient
	}
	return p.CanSeeClient(e.ClientID)
}

// Get returns an export p may see (NotFound otherwise, and once expired).
func (s *Service) Get(ctx context.Context, p domain.Principal, id string) (Export, error) {
	if !domain.ValidID(id) {
		return Export{}, domain.NotFound("report export")
	}
	e, err := s.Store.GetExport(ctx, p.OrgID, id)
	if err != nil {
		return Export{}, err
	}
	if !visible(p, e) || e.Expired(s.now()) {
		return Export{}, domain.NotFound("report export")
	}
	return e, nil
}

// DownloadURL signs a short-lived GET of a succeeded export's artifact that
// forces a download under its file name; Conflict while it is not ready.
func (s *Service) DownloadURL(ctx context.Context, p domain.Principal, id string) (string, Export, error) {
	e, err := s.Get(ctx, p, id)
	if err != nil {
		return "", Export{}, err
	}
	switch e.Status {
	case StatusSucceeded:
	case StatusFailed:
		return "", e, domain.E(domain.KindConflict, "the report failed: %s", e.Error)
	default:
		return "", e, domain.E(domain.KindConflict, "the report is not ready yet (%s)", e.Status)
	}
	u, err := s.presign(ctx, e)
	return u, e, err
}

func (s *Service) presign(ctx context.Context, e Export) (string, error) {
	return s.Objects.PresignGet(ctx, e.Key, ContentType(e.Format), attachments.ContentDisposition(e.FileName),
		orDefault(s.DownloadTTL, DefaultDownloadTTL))
}

// SessionReport is a session's report in one format (family A): the export
// of the session's current state when one exists and has not failed, else a
// new one; it waits up to Wait for it. url is set when it is ready.
func (s *Service) SessionReport(ctx context.Context, p domain.Principal, sessionID, format string) (Export, string, error) {
	if err := checkFormat(format, "path.format"); err != nil {
		return Export{}, "", err
	}
	sub, err := s.resolve(ctx, p, Request{SessionID: sessionID})
	if err != nil {
		return Export{}, "", err
	}
	key := ReuseKey(SubjectKey(sub.typ, sub.id), format, Fingerprint(sub.state))
	var e Export
	for attempt := 0; ; attempt++ {
		id, err := s.Store.ReuseCandidate(ctx, p.OrgID, key)
		if err != nil {
			return Export{}, "", err
		}
		if id != "" {
			old, err := s.Store.GetExport(ctx, p.OrgID, id)
			if err != nil && !domain.Is(err, domain.KindNotFound) {
				return Export{}, "", err
			}
			if err == nil && reusable(old, s.now()) {
				e = old
				break
			}
		}
		e, err = s.start(ctx, p, sub, format, &Reuse{Key: key, Replace: id})
		if domain.Is(err, domain.KindConflict) && attempt < 3 {
			continue // another request started it meanwhile: use that one
		}
		if err != nil {
			return Export{}, "", err
		}
		break
	}
	e, err = s.await(ctx, p, e)
	if err != nil || e.Status != StatusSucceeded {
		return e, "", err
	}
	u, err := s.presign(ctx, e)
	return e, u, err
}

// reusable reports whether a session report request may be answered with
// an existing export of the same fingerprint.
func reusable(e Export, now time.Time) bool {
	switch {
	case e.Status == StatusFailed, e.ExpiresAt.Sub(now) <= reuseMargin:
		return false
	case !e.Finished() && now.Sub(e.CreatedAt) > staleAfter:
		return false
	}
	return true
}

// await polls an export until it finished or the wait is over.
func (s *Service) await(ctx context.Context, p domain.Principal, e Export) (Export, error) {
	deadline := time.Now().Add(orDefault(s.Wait, DefaultWait))
	poll := orDefault(s.Poll, DefaultPoll)
	for !e.Finished() && time.Now().Add(poll).Before(deadline) {
		select {
		case <-ctx.Done():
			return e, nil
		case <-time.After(poll):
		}
		cur, err := s.Store.GetExport(ctx, p.OrgID, e.ID)
		if err != nil {
			return e, err
		}
		e = cur
	}
	return e, nil
}

// SessionExports lists a session's stored exports, newest first.
func (s *Service) SessionExports(ctx context.Context, p domain.Principal, sessionID string, page domain.PageRequest) (domain.Page[Export], error) {
	sess, err := s.session(ctx, p, sessionID)
	if err != nil {
		return domain.Page[Export]{}, err
	}
	return s.Store.ListExports(ctx, p.OrgID, SubjectKey(SubjectSession, sess.ID), s.now(), page)
}
