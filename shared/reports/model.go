// Package reports produces report exports: the rules of an export record
// (subjects, formats, statuses, retention, reuse by fingerprint), the
// workflow steps that turn a session or a scan into a PDF, CSV or JSON
// artifact in S3 (load → render → store → finish, and fail), the renderers,
// and the two workflow adapters: Step Functions in AWS and an in-process
// runner with the same retry and failure path locally.
//
// Only ids and S3 keys travel between the steps: load writes a compact
// intermediate file (work/reports/<export id>/data.jsonl: one meta line, the
// scope's assets, then the findings ordered by severity), render streams it
// into the renderer and writes work/reports/<export id>/artifact, store copies
// it to orgs/<org>/reports/<export id>.<ext> with its content type, the
// rampart-kind=report tag (the bucket's lifecycle rule expires those) and
// its SHA-256.
package reports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"

	"rampart/shared/domain"
)

// Formats of a report.
const (
	FormatPDF  = "pdf"
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// Formats lists every format.
var Formats = []string{FormatPDF, FormatCSV, FormatJSON}

// Subject types: what a report is about.
const (
	SubjectSession = "session"
	SubjectScan    = "scan"
)

// Statuses of an export.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// DefaultRetentionDays is how long exports and their artifacts are kept
// unless RAMPART_REPORT_RETENTION_DAYS says otherwise (the stack's lifecycle
// rule on objects tagged rampart-kind=report uses the same number).
const DefaultRetentionDays = 30

// Export is one report generation: the record behind a task id. Its id is
// also the workflow execution's name, so a duplicate start is harmless.
type Export struct {
	ID          string
	OrgID       string
	SubjectType string // session or scan
	SubjectID   string
	// ClientID is the session's client: client members see only their
	// client's exports; scan exports have none (no client member sees them).
	ClientID string
	Format   string
	Status   string
	// TaxonomyVersion is the taxonomy version the report uses for labels and
	// the NIS2 mapping: the current one when the export was requested.
	TaxonomyVersion int
	// Fingerprint identifies the state of the subject when the export was
	// requested (see Fingerprint): an unchanged fingerprint means the stored
	// report is still current.
	Fingerprint string
	FileName    string // download name, e.g. "Pentest Q3 2026-07-01.pdf"
	Size        int64
	SHA256      string // lowercase hex of the artifact
	Key         string // artifact's object key, set once stored
	Error       string // why it failed; safe to show
	RequestedBy string
	CreatedAt   time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
	// ExpiresAt is when the export and its artifact lapse (the item's ttl).
	ExpiresAt time.Time
	Version   int
}

// Subject is the "<type>:<id>" the exports of one session or scan are
// listed under.
func (e Export) Subject() string { return SubjectKey(e.SubjectType, e.SubjectID) }

// SubjectKey names a subject.
func SubjectKey(typ, id string) string { return typ + ":" + id }

// Expired reports whether the export's retention has passed (DynamoDB's TTL
// deletes items late; until then the item is treated as gone).
func (e Export) Expired(now time.Time) bool { return !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt) }

// Finished reports whether the export reached a final status.
func (e Export) Finished() bool { return e.Status == StatusSucceeded || e.Status == StatusFailed }

// ArtifactKey is where a stored report lives.
func ArtifactKey(orgID, exportID, format string) string {
	return "orgs/" + orgID + "/reports/" + exportID + "." + Extension(format)
}

// WorkPrefix holds the intermediate data of one export's workflow (the
// bucket expires work/ after a day).
func WorkPrefix(exportID string) string { return "work/reports/" + exportID + "/" }

// DataKey is the intermediate file load writes and render reads.
func DataKey(exportID string) string { return WorkPrefix(exportID) + "data.jsonl" }

// WorkArtifactKey is the rendered artifact before store copies it.
func WorkArtifactKey(exportID string) string { return WorkPrefix(exportID) + "artifact" }

// Extension is a format's file extension.
func Extension(format string) string { return format }

// ContentType is the media type a format is stored and served with.
func ContentType(format string) string {
	switch format {
	case FormatPDF:
		return "application/pdf"
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatJSON:
		return "application/json"
	}
	return "application/octet-stream"
}

// ValidFormat reports whether f is a format.
func ValidFormat(f string) bool {
	for _, v := range Formats {
		if v == f {
			return true
		}
	}
	return false
}

// SubjectState is what a subject's fingerprint is made of.
type SubjectState struct {
	Type, ID  string
	UpdatedAt time.Time // the session's or scan's own last change
	// LatestFinding is the last change of any of its findings; Findings how
	// many there are (a finding removed changes the count).
	LatestFinding time.Time
	Findings      int
	Taxonomy      int
}

// Fingerprint condenses a subject's state: two requests with the same
// fingerprint would produce the same report content (up to attachments and
// asset renames, which do not touch the session or its findings).
func Fingerprint(s SubjectState) string {
	h := sha256.Sum256(fmt.Appendf(nil, "v1|%s|%s|%s|%s|%d|%d", s.Type, s.ID,
		s.UpdatedAt.UTC().Format(time.RFC3339Nano), s.LatestFinding.UTC().Format(time.RFC3339Nano), s.Findings, s.Taxonomy))
	return hex.EncodeToString(h[:16])
}

// ReuseKey names the one export a subject, format and fingerprint share.
func ReuseKey(subject, format, fingerprint string) string {
	return subject + "#" + format + "#" + fingerprint
}

// FileName is the download name of a report: the subject's name (or type
// and id), the date, the extension. Characters that file systems refuse
// become underscores; the name is sent as RFC 8187 UTF-8 as well.
func FileName(subjectName, subjectType, subjectID string, at time.Time, format string) string {
	base := strings.TrimSpace(subjectName)
	if base == "" {
		base = subjectType + " " + subjectID
	}
	var b strings.Builder
	for _, r := range base {
		switch {
		case r < 0x20 || r == 0x7f || strings.ContainsRune(`/\:*?"<>|`, r):
			b.WriteByte('_')
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	name := []rune(strings.TrimSpace(b.String()))
	if len(name) > 100 {
		name = name[:100]
	}
	return fmt.Sprintf("%s %s.%s", string(name), at.UTC().Format("2006-01-02"), Extension(format))
}

// Workflow starts the report workflow of an export: Step Functions in AWS,
// in-process locally. Starting an export twice is harmless.
type Workflow interface {
	Start(ctx context.Context, orgID, exportID string) error
}

// Store is the persistence port of exports.
type Store interface {
	// CreateExport writes a new export. With reuse, it also points the reuse
	// marker at it, on the condition that the marker still names
	// reuse.Replace ("" for none): Conflict when another request moved it.
	CreateExport(ctx context.Context, orgID string, e Export, reuse *Reuse) error
	// ReuseCandidate returns the export id the reuse marker names ("" none).
	ReuseCandidate(ctx context.Context, orgID, key string) (string, error)
	GetExport(ctx context.Context, orgID, id string) (Export, error)
	// UpdateExport applies fn to the current state and writes the result on
	// the condition that nothing changed meanwhile (retried otherwise).
	UpdateExport(ctx context.Context, orgID, id string, fn func(*Export) error) (Export, error)
	// ListExports lists a subject's unexpired exports, newest first.
	ListExports(ctx context.Context, orgID, subject string, now time.Time, page domain.PageRequest) (domain.Page[Export], error)
}

// Reuse is the marker an export is created under.
type Reuse struct {
	Key       string
	Replace   string
	ExpiresAt time.Time
}
