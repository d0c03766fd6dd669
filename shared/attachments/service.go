// Package attachments holds the rules of files attached to findings: the
// direct (multipart) upload of small files, the two-step presigned upload of
// larger ones, the type allow-list checked on the bytes, file name
// sanitising, presigned downloads that force a download, and deletion.
//
// Objects live under keys Rampart generates (orgs/<org>/attachments/<id>);
// the client's file name is only metadata. Every object is written tagged
// rampart-kind=upload (which the bucket's lifecycle rule expires after a
// day) and re-tagged rampart-kind=attachment only after the record that
// lists it exists, so that whatever a failure leaves behind expires on its
// own and nothing is listed without its object.
package attachments

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"rampart/shared/domain"
	"rampart/shared/objects"
)

// Statuses of an attachment. Only available attachments are listed and can
// be downloaded; a pending one waits for its presigned upload to be
// confirmed and expires with its upload.
const (
	StatusPending   = "pending"
	StatusAvailable = "available"
)

// Defaults of the limits and lifetimes.
const (
	DefaultMaxUploadBytes    = 4 << 20  // multipart, below the Lambda payload ceiling
	DefaultMaxPresignedBytes = 25 << 20 // two-step presigned upload
	DefaultPendingTTL        = 24 * time.Hour
	DefaultUploadURLTTL      = 10 * time.Minute
	DefaultDownloadURLTTL    = 5 * time.Minute
)

// Attachment is a file attached to a finding.
type Attachment struct {
	ID          string
	FindingID   string
	FileName    string // sanitised; metadata only
	ContentType string // sniffed from the bytes (declared type while pending)
	Size        int64
	SHA256      string // lowercase hex
	Status      string
	CreatedBy   string
	CreatedAt   time.Time
	// ExpiresAt is when a pending attachment and its upload lapse.
	ExpiresAt *time.Time
}

// ObjectKey is where an available attachment's bytes are.
func ObjectKey(orgID, id string) string { return "orgs/" + orgID + "/attachments/" + id }

// UploadKey is where a presigned upload lands until it is confirmed.
func UploadKey(orgID, id string) string { return "orgs/" + orgID + "/uploads/" + id }

// Store is the persistence port. An available attachment is its record, a
// list entry beside its finding and the finding's attachment counter, all
// written in one transaction that also checks that the finding exists.
type Store interface {
	// CreateAttachment records an available attachment.
	CreateAttachment(ctx context.Context, orgID string, a Attachment) error
	// CreatePendingAttachment records a pending attachment that expires at
	// a.ExpiresAt; it is not listed.
	CreatePendingAttachment(ctx context.Context, orgID string, a Attachment) error
	GetAttachment(ctx context.Context, orgID, id string) (Attachment, error)
	// ConfirmAttachment turns a pending attachment into a (listed) available
	// one: Conflict when it is no longer pending.
	ConfirmAttachment(ctx context.Context, orgID string, a Attachment) error
	// DeleteAttachment removes the record (and list entry and count, when
	// available) whatever its status; NotFound when it does not exist.
	DeleteAttachment(ctx context.Context, orgID, id string) (Attachment, error)
	// DeletePendingAttachment removes a pending record only: Conflict when
	// it is available, NotFound when it does not exist.
	DeletePendingAttachment(ctx context.Context, orgID, id string) error
	ListAttachments(ctx context.Context, orgID, findingID string, page domain.PageRequest) (domain.Page[Attachment], error)
	// FindingAttachments lists every available attachment of a finding.
	FindingAttachments(ctx context.Context, orgID, findingID string) ([]Attachment, error)
	// DeleteFindingAttachments removes every available attachment record of
	// a finding and returns what it removed.
	DeleteFindingAttachments(ctx context.Context, orgID, findingID string) ([]Attachment, error)
}

// Objects is the storage port (objects.Bucket).
type Objects interface {
	Put(ctx context.Context, key string, body io.ReadSeeker, size int64, m objects.Meta) error
	Head(ctx context.Context, key string) (objects.Info, error)
	Open(ctx context.Context, key string) (io.ReadCloser, objects.Info, error)
	Copy(ctx context.Context, src, dst string, m objects.Meta) error
	SetTags(ctx context.Context, key string, tags map[string]string) error
	Delete(ctx context.Context, key string) error
	DeleteMany(ctx context.Context, keys []string) error
	PresignPut(ctx context.Context, key string, r objects.PutRequest, ttl time.Duration, now time.Time) (objects.Presigned, error)
	PresignGet(ctx context.Context, key, contentType, disposition string, ttl time.Duration) (string, error)
}

// Findings authorizes access to the parent finding (findings.Service): a
// finding the principal may not see is NotFound.
type Findings interface {
	Get(ctx context.Context, p domain.Principal, id string) (domain.Finding, error)
}

// Service implements the attachment use cases. Zero limits and lifetimes
// take the defaults above.
type Service struct {
	Store    Store
	Objects  Objects
	Findings Findings
	Clock    domain.Clock
	Log      *slog.Logger

	MaxUploadBytes    int64 // multipart upload
	MaxPresignedBytes int64 // presigned upload
	PendingTTL        time.Duration
	UploadURLTTL      time.Duration
	DownloadURLTTL    time.Duration
}

var (
	uploadTags = map[string]string{objects.TagKind: objects.KindUpload}
	attachTags = map[string]string{objects.TagKind: objects.KindAttach}
)

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (s *Service) maxUpload() int64    { return or(s.MaxUploadBytes, DefaultMaxUploadBytes) }
func (s *Service) maxPresigned() int64 { return or(s.MaxPresignedBytes, DefaultMaxPresignedBytes) }
func (s *Service) log() *slog.Logger   { return or(s.Log, slog.Default()) }

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return domain.SystemClock()
	}
	return s.Clock()
}

// MaxUpload is the multipart limit in bytes.
func (s *Service) MaxUpload() int64 { return s.maxUpload() }

// MaxPresigned is the presigned upload limit in bytes.
func (s *Service) MaxPresigned() int64 { return s.maxPresigned() }

// finding returns the parent finding if p may see it.
func (s *Service) finding(ctx context.Context, p domain.Principal, id string) (domain.Finding, error) {
	return s.Findings.Get(ctx, p, id)
}

// attachment returns an attachment whose finding p may see; anything else
// (absent, another organization's, another client's) is NotFound.
func (s *Service) attachment(ctx context.Context, p domain.Principal, id string) (Attachment, error) {
	a, err := s.Store.GetAttachment(ctx, p.OrgID, id)
	if err != nil {
		return Attachment{}, err
	}
	if _, err := s.finding(ctx, p, a.FindingID); err != nil {
		if domain.Is(err, domain.KindNotFound) {
			return Attachment{}, domain.NotFound("attachment")
		}
		return Attachment{}, err
	}
	if a.Status == StatusPending && a.ExpiresAt != nil && !s.now().Before(*a.ExpiresAt) {
		return Attachment{}, domain.NotFound("attachment") // lapsed; TTL removes it
	}
	return a, nil
}

// List pages through the available attachments of a finding, oldest first.
func (s *Service) List(ctx context.Context, p domain.Principal, findingID string, page domain.PageRequest) (domain.Page[Attachment], error) {
	if _, err := s.finding(ctx, p, findingID); err != nil {
		return domain.Page[Attachment]{}, err
	}
	return s.Store.ListAttachments(ctx, p.OrgID, findingID, page)
}

// Get returns one attachment (pending ones included) of a visible finding.
func (s *Service) Get(ctx context.Context, p domain.Principal, id string) (Attachment, error) {
	return s.attachment(ctx, p, id)
}

// TooLarge is the 413 of a file over limit bytes.
func TooLarge(limit int64, hint string) error {
	return domain.E(domain.KindTooLarge, "the file exceeds the limit of %d bytes (%s)%s", limit, human(limit), hint)
}

func human(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Upload stores a file sent in the request (the multipart flow). Once the
// finding is authorized, open yields the file's name and body (so that
// nothing of a request for a finding the caller may not see is parsed); at
// most the limit plus one byte of the body is read.
func (s *Service) Upload(ctx context.Context, p domain.Principal, findingID string, open func() (string, io.Reader, error)) (Attachment, error) {
	f, err := s.finding(ctx, p, findingID)
	if err != nil {
		return Attachment{}, err
	}
	fileName, body, err := open()
	if err != nil {
		return Attachment{}, err
	}
	limit := s.maxUpload()
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Attachment{}, s.tooLargeMultipart(limit)
		}
		return Attachment{}, domain.Wrap(domain.KindMalformed, err, "the upload could not be read")
	}
	if int64(len(data)) > limit {
		return Attachment{}, s.tooLargeMultipart(limit)
	}
	if len(data) == 0 {
		return Attachment{}, domain.Invalid("the file is empty", domain.FieldError{Location: "body.file", Message: "empty file"})
	}
	ctype, err := Detect(data)
	if err != nil {
		return Attachment{}, err
	}
	sum := sha256.Sum256(data)
	now := s.now()
	a := Attachment{ID: domain.NewIDAt(now), FindingID: f.ID, FileName: SanitizeFileName(fileName), ContentType: ctype,
		Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Status: StatusAvailable, CreatedBy: p.UserID, CreatedAt: now}
	key := ObjectKey(p.OrgID, a.ID)
	if err := s.Objects.Put(ctx, key, bytes.NewReader(data), a.Size, objects.Meta{ContentType: Served(ctype),
		ContentDisposition: ContentDisposition(a.FileName), Tags: uploadTags, SHA256: sum[:]}); err != nil {
		return Attachment{}, err
	}
	err = s.commit(ctx, key, func() error { return s.Store.CreateAttachment(ctx, p.OrgID, a) },
		func(ctx context.Context) error { _, err := s.Store.DeleteAttachment(ctx, p.OrgID, a.ID); return err })
	if err != nil {
		return Attachment{}, err
	}
	return a, nil
}

func (s *Service) tooLargeMultipart(limit int64) error {
	return TooLarge(limit, fmt.Sprintf("; upload larger files (up to %s) with POST .../attachments/uploads", human(s.maxPresigned())))
}

// commit makes the object at key (written tagged upload) reachable: it writes
// the record, then tags the object attachment (see tag). When the record
// cannot be written the object is deleted.
func (s *Service) commit(ctx context.Context, key string, write func() error, undo func(context.Context) error) error {
	if err := write(); err != nil {
		s.discard(ctx, key)
		return err
	}
	return s.tag(ctx, key, undo)
}

// tag marks the object of a written record as kept. When the tag cannot be
// set the record is undone and the object deleted; a cleanup that fails too
// leaves an object tagged upload, which the lifecycle rule expires.
func (s *Service) tag(ctx context.Context, key string, undo func(context.Context) error) error {
	err := s.Objects.SetTags(ctx, key, attachTags)
	if err == nil {
		return nil
	}
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	if uerr := undo(cctx); uerr != nil && !domain.Is(uerr, domain.KindNotFound) {
		s.log().Error("attachment record left for an object tagged upload", "key", key, "error", uerr.Error())
	}
	s.discard(ctx, key)
	return err
}

// discard deletes an object, best effort: it is tagged upload and expires
// anyway.
func (s *Service) discard(ctx context.Context, keys ...string) {
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	if err := s.Objects.DeleteMany(cctx, keys); err != nil {
		s.log().Warn("could not delete objects; the lifecycle rule expires them", "keys", keys, "error", err.Error())
	}
}

// cleanupContext outlives a canceled request, briefly.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
}

// NewUpload declares a file the client will PUT to a presigned URL.
type NewUpload struct {
	FileName    string
	ContentType string
	Size        int64
	SHA256      string // hex
}

// StartUpload records a pending attachment and signs the PUT of its bytes:
// the URL accepts exactly the declared size, content type and SHA-256.
func (s *Service) StartUpload(ctx context.Context, p domain.Principal, findingID string, in NewUpload) (Attachment, objects.Presigned, error) {
	f, err := s.finding(ctx, p, findingID)
	if err != nil {
		return Attachment{}, objects.Presigned{}, err
	}
	if in.Size <= 0 {
		return Attachment{}, objects.Presigned{}, domain.Invalid("size must be positive", domain.FieldError{Location: "body.size", Message: "at least 1 byte"})
	}
	if in.Size > s.maxPresigned() {
		return Attachment{}, objects.Presigned{}, TooLarge(s.maxPresigned(), "")
	}
	sum, err := hex.DecodeString(strings.TrimSpace(in.SHA256))
	if err != nil || len(sum) != sha256.Size {
		return Attachment{}, objects.Presigned{}, domain.Invalid("sha256 must be the hex SHA-256 of the file",
			domain.FieldError{Location: "body.sha256", Message: "64 hexadecimal digits"})
	}
	declared, err := normalizeType(in.ContentType)
	if err != nil {
		return Attachment{}, objects.Presigned{}, err
	}
	now := s.now()
	expires := now.Add(or(s.PendingTTL, DefaultPendingTTL))
	a := Attachment{ID: domain.NewIDAt(now), FindingID: f.ID, FileName: SanitizeFileName(in.FileName), ContentType: declared,
		Size: in.Size, SHA256: hex.EncodeToString(sum), Status: StatusPending, CreatedBy: p.UserID, CreatedAt: now, ExpiresAt: &expires}
	if err := s.Store.CreatePendingAttachment(ctx, p.OrgID, a); err != nil {
		return Attachment{}, objects.Presigned{}, err
	}
	ps, err := s.Objects.PresignPut(ctx, UploadKey(p.OrgID, a.ID), objects.PutRequest{ContentType: declared, Size: a.Size,
		SHA256: sum, Tags: uploadTags}, or(s.UploadURLTTL, DefaultUploadURLTTL), now)
	if err != nil {
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		_ = s.Store.DeletePendingAttachment(cctx, p.OrgID, a.ID)
		return Attachment{}, objects.Presigned{}, err
	}
	return a, ps, nil
}

func normalizeType(t string) (string, error) {
	mt, params, err := mime.ParseMediaType(strings.TrimSpace(t))
	if err != nil || !strings.Contains(mt, "/") {
		return "", domain.Invalid("content_type must be a media type such as application/pdf",
			domain.FieldError{Location: "body.content_type", Message: "a media type (type/subtype)"})
	}
	return mime.FormatMediaType(mt, params), nil
}

// Confirm checks a presigned upload and makes it an available attachment:
// the stored object must have the declared size and SHA-256 (read and hashed
// here, never trusted) and an allowed type (sniffed). A mismatch deletes the
// upload and the pending record and answers 422 (or 415 for the type);
// confirming before anything was uploaded answers 409 and keeps the pending
// record. Confirming an available attachment again returns it.
func (s *Service) Confirm(ctx context.Context, p domain.Principal, id string) (Attachment, error) {
	a, err := s.attachment(ctx, p, id)
	if err != nil {
		return Attachment{}, err
	}
	if a.Status == StatusAvailable {
		return a, nil
	}
	upKey, key := UploadKey(p.OrgID, a.ID), ObjectKey(p.OrgID, a.ID)
	ctype, err := s.verify(ctx, upKey, a)
	if domain.Is(err, domain.KindConflict) {
		return s.settled(ctx, p.OrgID, a.ID, err)
	}
	if err != nil {
		if domain.Is(err, domain.KindInvalid) || domain.Is(err, domain.KindUnsupported) {
			s.reject(ctx, p.OrgID, a.ID, upKey)
		}
		return Attachment{}, err
	}
	a.Status, a.ContentType, a.ExpiresAt = StatusAvailable, ctype, nil
	if err := s.Objects.Copy(ctx, upKey, key, objects.Meta{ContentType: Served(ctype),
		ContentDisposition: ContentDisposition(a.FileName), Tags: uploadTags}); err != nil {
		if errors.Is(err, objects.ErrNotFound) {
			return s.settled(ctx, p.OrgID, a.ID,
				domain.E(domain.KindConflict, "the upload disappeared while it was confirmed; confirm again"))
		}
		return Attachment{}, err
	}
	err = s.Store.ConfirmAttachment(ctx, p.OrgID, a)
	if domain.Is(err, domain.KindConflict) {
		return s.settled(ctx, p.OrgID, a.ID, err)
	}
	if err != nil {
		s.discard(ctx, key)
		if domain.Is(err, domain.KindNotFound) { // the finding is gone
			s.reject(ctx, p.OrgID, a.ID, upKey)
			return Attachment{}, domain.NotFound("attachment")
		}
		return Attachment{}, err
	}
	if err := s.tag(ctx, key, func(ctx context.Context) error {
		_, err := s.Store.DeleteAttachment(ctx, p.OrgID, a.ID)
		return err
	}); err != nil {
		s.discard(ctx, upKey)
		return Attachment{}, err
	}
	s.discard(ctx, upKey)
	return a, nil
}

// settled resolves a confirm that met a concurrent one: when the other
// confirm made the attachment available, its object (which this confirm's
// copy may have replaced, tagged upload) is tagged attachment and the
// attachment returned; otherwise err stands.
func (s *Service) settled(ctx context.Context, orgID, id string, err error) (Attachment, error) {
	cur, gerr := s.Store.GetAttachment(ctx, orgID, id)
	if gerr != nil || cur.Status != StatusAvailable {
		return Attachment{}, err
	}
	if terr := s.Objects.SetTags(ctx, ObjectKey(orgID, id), attachTags); terr != nil {
		return Attachment{}, terr
	}
	return cur, nil
}

// verify reads the uploaded object: its size, SHA-256 and sniffed type.
func (s *Service) verify(ctx context.Context, upKey string, a Attachment) (string, error) {
	info, err := s.Objects.Head(ctx, upKey)
	if errors.Is(err, objects.ErrNotFound) {
		return "", domain.E(domain.KindConflict, "nothing was uploaded for this attachment yet: PUT the file to the upload URL first")
	}
	if err != nil {
		return "", err
	}
	if info.Size != a.Size {
		return "", sizeMismatch(info.Size, a.Size)
	}
	body, _, err := s.Objects.Open(ctx, upKey)
	if errors.Is(err, objects.ErrNotFound) {
		return "", domain.E(domain.KindConflict, "nothing was uploaded for this attachment yet: PUT the file to the upload URL first")
	}
	if err != nil {
		return "", err
	}
	defer body.Close()
	h := sha256.New()
	head := &prefix{max: SniffBytes}
	n, err := io.Copy(io.MultiWriter(h, head), io.LimitReader(body, a.Size+1))
	if err != nil {
		return "", domain.Wrap(domain.KindUnavailable, err, "storage unavailable")
	}
	if n != a.Size {
		return "", sizeMismatch(n, a.Size)
	}
	want, _ := hex.DecodeString(a.SHA256)
	if subtle.ConstantTimeCompare(h.Sum(nil), want) != 1 {
		return "", domain.Invalid("the uploaded file does not match the declared SHA-256",
			domain.FieldError{Location: "body.sha256", Message: "checksum mismatch: " + hex.EncodeToString(h.Sum(nil))})
	}
	return Detect(head.b)
}

func sizeMismatch(got, want int64) error {
	return domain.Invalid(fmt.Sprintf("the uploaded file has %d bytes, %d were declared", got, want),
		domain.FieldError{Location: "body.size", Message: "size mismatch"})
}

// reject ends a failed presigned upload: its object and its pending record go.
func (s *Service) reject(ctx context.Context, orgID, id, upKey string) {
	s.discard(ctx, upKey)
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	err := s.Store.DeletePendingAttachment(cctx, orgID, id)
	if err != nil && !domain.Is(err, domain.KindNotFound) && !domain.Is(err, domain.KindConflict) {
		s.log().Warn("could not delete a rejected pending attachment; its TTL removes it", "id", id, "error", err.Error())
	}
}

// prefix keeps the first max bytes written to it.
type prefix struct {
	b   []byte
	max int
}

func (p *prefix) Write(b []byte) (int, error) {
	if room := p.max - len(p.b); room > 0 {
		p.b = append(p.b, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

// DownloadURL authorizes a download and signs a short-lived GET whose
// answer forces a download under the original name and the stored type.
func (s *Service) DownloadURL(ctx context.Context, p domain.Principal, id string) (string, error) {
	a, err := s.attachment(ctx, p, id)
	if err != nil {
		return "", err
	}
	if a.Status != StatusAvailable {
		return "", domain.E(domain.KindConflict, "the upload of this attachment has not been confirmed")
	}
	return s.Objects.PresignGet(ctx, ObjectKey(p.OrgID, a.ID), Served(a.ContentType), ContentDisposition(a.FileName),
		or(s.DownloadURLTTL, DefaultDownloadURLTTL))
}

// Delete removes an attachment's objects, then its record: a failure in
// between leaves a record whose retry finishes the job, never an unlisted
// object.
func (s *Service) Delete(ctx context.Context, p domain.Principal, id string) error {
	a, err := s.attachment(ctx, p, id)
	if err != nil {
		return err
	}
	if err := s.Objects.DeleteMany(ctx, []string{ObjectKey(p.OrgID, a.ID), UploadKey(p.OrgID, a.ID)}); err != nil {
		return err
	}
	_, err = s.Store.DeleteAttachment(ctx, p.OrgID, a.ID)
	if domain.Is(err, domain.KindNotFound) {
		return nil // a concurrent delete finished first
	}
	return err
}

// DeleteFindingAttachments removes every attachment of a finding, objects
// and records, for the code that deletes findings and scans (no principal:
// the caller has authorized the deletion; scans.Service calls it). Pending
// uploads of the finding are left to their TTL and lifecycle rule; they can
// no longer be confirmed once the finding is gone.
func (s *Service) DeleteFindingAttachments(ctx context.Context, orgID, findingID string) error {
	list, err := s.Store.FindingAttachments(ctx, orgID, findingID)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	if err := s.Objects.DeleteMany(ctx, keysOf(orgID, list, done)); err != nil {
		return err
	}
	deleted, err := s.Store.DeleteFindingAttachments(ctx, orgID, findingID)
	if err != nil {
		return err
	}
	// Attachments added between the read and the delete.
	if extra := keysOf(orgID, deleted, done); len(extra) > 0 {
		return s.Objects.DeleteMany(ctx, extra)
	}
	return nil
}

func keysOf(orgID string, list []Attachment, done map[string]bool) []string {
	var keys []string
	for _, a := range list {
		if done[a.ID] {
			continue
		}
		done[a.ID] = true
		keys = append(keys, ObjectKey(orgID, a.ID))
	}
	return keys
}
