// Package findings holds the rules of findings: creation by hand (optionally
// from a template), changes with optimistic concurrency and a history entry
// per changed field, bulk status changes, lists and statistics.
package findings

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"rampart/shared/cvss"
	"rampart/shared/domain"
)

// Query selects findings for lists and statistics.
type Query struct {
	Severities []string
	Statuses   []string
	Categories []string
	AssetID    string
	SessionID  string
	ScanID     string
	ClientID   string
	Text       string // q: matched in title, description and evidence
	Sort       string // created_at, updated_at or severity
	Desc       bool
	Page       domain.PageRequest
}

// Sort keys.
const (
	SortCreated  = "created_at"
	SortUpdated  = "updated_at"
	SortSeverity = "severity"
)

// Store is the persistence port of findings. Creating and updating a finding
// writes, in one transaction, the finding, its history entries, its list
// index entries and the counters that answer totals and statistics.
type Store interface {
	CreateFinding(ctx context.Context, orgID string, f domain.Finding, history []domain.HistoryEntry) error
	GetFinding(ctx context.Context, orgID, id string) (domain.Finding, error)
	// UpdateFinding applies fn to the current state and writes the result with
	// the history entries fn returns. ifVersion > 0 requires that version
	// (Precondition otherwise); without it a concurrent change is retried, so
	// no change is lost.
	UpdateFinding(ctx context.Context, orgID, id string, ifVersion int, fn func(*domain.Finding) ([]domain.HistoryEntry, error)) (domain.Finding, error)
	ListFindings(ctx context.Context, orgID string, q Query) (domain.Page[domain.Finding], error)
	FindingStats(ctx context.Context, orgID string, q Query) (domain.FindingStats, error)
	ListHistory(ctx context.Context, orgID, findingID string, page domain.PageRequest) (domain.Page[domain.HistoryEntry], error)
}

// Assets, Sessions and Templates are the lookups creation needs.
type (
	Assets interface {
		GetAsset(ctx context.Context, orgID, id string) (domain.Asset, error)
	}
	Sessions interface {
		GetSession(ctx context.Context, orgID, id string) (domain.Session, error)
	}
	Templates interface {
		GetTemplate(ctx context.Context, orgID, id string) (domain.Template, error)
	}
)

// Service implements the finding use cases.
type Service struct {
	Store     Store
	Taxonomy  domain.TaxonomySource
	Assets    Assets
	Sessions  Sessions
	Templates Templates
	Clock     domain.Clock
}

// Fields are the descriptive and triage fields of a finding; nil means
// "not given" (create: default, patch: unchanged).
type Fields struct {
	Title          *string
	Description    *string
	Severity       *string
	Status         *string
	Category       *string
	CVSSVector     *string
	Evidence       *string
	Remediation    *string
	References     *[]string
	ResolutionNote *string
}

// NewFinding is a manual finding in a session.
type NewFinding struct {
	SessionID  string
	AssetID    string
	TemplateID string
	Fields
}

// Limits on text fields, in characters.
const (
	maxTitle      = 300
	maxText       = 20000
	maxEvidence   = 50000
	maxReferences = 20
	maxBulk       = 100
)

// Create records a manual finding, starting from a template when given.
func (s *Service) Create(ctx context.Context, p domain.Principal, in NewFinding) (domain.Finding, error) {
	sess, err := s.Sessions.GetSession(ctx, p.OrgID, in.SessionID)
	if err != nil {
		return domain.Finding{}, asField(err, "body.session_id", "no such session")
	}
	if !p.CanSeeClient(sess.ClientID) {
		return domain.Finding{}, domain.Invalid("no such session", domain.FieldError{Location: "body.session_id", Message: "no such session"})
	}
	asset, err := s.Assets.GetAsset(ctx, p.OrgID, in.AssetID)
	if err != nil {
		return domain.Finding{}, asField(err, "body.asset_id", "no such asset")
	}
	if asset.ClientID != "" && asset.ClientID != sess.ClientID {
		// The finding would show another client's asset to this session's client.
		return domain.Finding{}, domain.Invalid("asset belongs to another client",
			domain.FieldError{Location: "body.asset_id", Message: "belongs to another client than the session"})
	}
	if len(sess.AssetIDs) > 0 && !contains(sess.AssetIDs, asset.ID) {
		return domain.Finding{}, domain.Invalid("asset is not in the session's scope",
			domain.FieldError{Location: "body.asset_id", Message: "not in the scope of the session"})
	}
	now := s.Clock()
	f := domain.Finding{
		ID: domain.NewIDAt(now), Status: "open", Category: "other", Source: domain.SourceManual,
		AssetID: asset.ID, AssetType: asset.Type, AssetTarget: asset.Target, AssetName: asset.Name,
		SessionID: sess.ID, ClientID: sess.ClientID, CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if in.TemplateID != "" {
		t, err := s.Templates.GetTemplate(ctx, p.OrgID, in.TemplateID)
		if err != nil {
			return domain.Finding{}, asField(err, "body.template_id", "no such template")
		}
		f.TemplateID, f.Title, f.Description, f.Remediation = t.ID, t.Title, t.Description, t.Remediation
		f.Severity, f.References, f.CVSSVector = t.Severity, t.References, t.CVSSVector
		if t.Category != "" { // a template's category is optional: keep the default
			f.Category = t.Category
		}
	}
	tax, err := s.Taxonomy.CurrentTaxonomy(ctx, p.OrgID)
	if err != nil {
		return domain.Finding{}, err
	}
	if _, err := apply(&f, in.Fields, tax); err != nil {
		return domain.Finding{}, err
	}
	if f.Title == "" {
		return domain.Finding{}, domain.Invalid("title is required", domain.FieldError{Location: "body.title", Message: "required (or give a template_id)"})
	}
	if f.Severity == "" {
		return domain.Finding{}, domain.Invalid("severity is required", domain.FieldError{Location: "body.severity", Message: "required (or give a template_id)"})
	}
	if err := checkTaxonomy(f, tax); err != nil {
		return domain.Finding{}, err
	}
	f.NIS2 = nis2Of(f.Category, tax)
	created := domain.HistoryEntry{ID: domain.NewIDAt(now), FindingID: f.ID, Field: "created", To: f.Status, ChangedBy: p.UserID, At: now}
	if err := s.Store.CreateFinding(ctx, p.OrgID, f, []domain.HistoryEntry{created}); err != nil {
		return domain.Finding{}, err
	}
	return f, nil
}

// Get returns a finding the principal may see.
func (s *Service) Get(ctx context.Context, p domain.Principal, id string) (domain.Finding, error) {
	f, err := s.Store.GetFinding(ctx, p.OrgID, id)
	if err != nil {
		return domain.Finding{}, err
	}
	if !p.CanSeeClient(f.ClientID) {
		return domain.Finding{}, domain.NotFound("finding")
	}
	return f, nil
}

// Update changes fields of a finding, with If-Match when ifVersion > 0.
func (s *Service) Update(ctx context.Context, p domain.Principal, id string, ifVersion int, ch Fields) (domain.Finding, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return domain.Finding{}, err
	}
	tax, err := s.Taxonomy.CurrentTaxonomy(ctx, p.OrgID)
	if err != nil {
		return domain.Finding{}, err
	}
	return s.Store.UpdateFinding(ctx, p.OrgID, id, ifVersion, func(f *domain.Finding) ([]domain.HistoryEntry, error) {
		old := *f
		// Only the given fields are validated: a value a later taxonomy
		// version dropped stays on the findings that use it, and their other
		// fields can still change.
		changed, err := apply(f, ch, tax)
		if err != nil {
			return nil, err
		}
		if v, ok := tax.Lookup(domain.DomainCategory, f.Category); ok {
			f.NIS2 = v.NIS2
		}
		if len(changed) == 0 {
			return nil, nil
		}
		now := s.Clock()
		f.UpdatedAt, f.Version = now, old.Version+1
		return History(old, *f, changed, p.UserID, "", now), nil
	})
}

// BulkOutcome is the result of a bulk update for one id.
type BulkOutcome struct {
	ID      string
	Outcome string // updated, unchanged, not_found, error
	Detail  string
	Finding *domain.Finding
}

// BulkUpdate sets status and resolution note on up to 100 findings; each id
// is updated on its own, and the answer says what happened to each.
func (s *Service) BulkUpdate(ctx context.Context, p domain.Principal, ids []string, status, note *string) ([]BulkOutcome, error) {
	if len(ids) == 0 || len(ids) > maxBulk {
		return nil, domain.Invalid(fmt.Sprintf("give 1 to %d ids", maxBulk),
			domain.FieldError{Location: "body.ids", Message: fmt.Sprintf("between 1 and %d ids", maxBulk)})
	}
	if status == nil && note == nil {
		return nil, domain.Invalid("nothing to change", domain.FieldError{Location: "body.status", Message: "give status or resolution_note"})
	}
	tax, err := s.Taxonomy.CurrentTaxonomy(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	if status != nil {
		if err := tax.Check(domain.DomainRemediationStatus, *status, "body.status"); err != nil {
			return nil, err
		}
	}
	out := make([]BulkOutcome, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		before, err := s.Get(ctx, p, id)
		if err == nil {
			var f domain.Finding
			f, err = s.Update(ctx, p, id, 0, Fields{Status: status, ResolutionNote: note})
			if err == nil {
				o := BulkOutcome{ID: id, Outcome: "updated", Finding: &f}
				if f.Version == before.Version {
					o.Outcome = "unchanged"
				}
				out = append(out, o)
				continue
			}
		}
		switch domain.KindOf(err) {
		case domain.KindNotFound:
			out = append(out, BulkOutcome{ID: id, Outcome: "not_found", Detail: "finding not found"})
		case domain.KindUnavailable, domain.KindInternal:
			return nil, err
		default:
			out = append(out, BulkOutcome{ID: id, Outcome: "error", Detail: errorText(err)})
		}
	}
	return out, nil
}

// List returns a page of findings; client members see only their client's.
func (s *Service) List(ctx context.Context, p domain.Principal, q Query) (domain.Page[domain.Finding], error) {
	if err := restrict(p, &q); err != nil {
		return domain.Page[domain.Finding]{Request: q.Page}, nil
	}
	return s.Store.ListFindings(ctx, p.OrgID, q)
}

// Stats counts findings by severity, status and category.
func (s *Service) Stats(ctx context.Context, p domain.Principal, q Query) (domain.FindingStats, error) {
	if err := restrict(p, &q); err != nil {
		return domain.FindingStats{BySeverity: map[string]int{}, ByStatus: map[string]int{}, ByCategory: map[string]int{}}, nil
	}
	return s.Store.FindingStats(ctx, p.OrgID, q)
}

// History lists the changes of a finding.
func (s *Service) History(ctx context.Context, p domain.Principal, id string, page domain.PageRequest) (domain.Page[domain.HistoryEntry], error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return domain.Page[domain.HistoryEntry]{}, err
	}
	return s.Store.ListHistory(ctx, p.OrgID, id, page)
}

// restrict forces a client member's queries to its client; a query for
// another client matches nothing.
func restrict(p domain.Principal, q *Query) error {
	var visible bool
	if q.ClientID, visible = p.ClientScope(q.ClientID); !visible {
		return domain.NotFound("client")
	}
	return nil
}

// apply sets the given fields on f, validating each, and names the fields
// whose value changed.
func apply(f *domain.Finding, ch Fields, tax domain.Taxonomy) ([]string, error) {
	var changed []string
	setText := func(dst *string, v *string, field string, max int, required bool) error {
		if v == nil {
			return nil
		}
		val := strings.TrimSpace(*v)
		if required && val == "" {
			return domain.Invalid(field+" must not be empty", domain.FieldError{Location: "body." + field, Message: "must not be empty"})
		}
		if utf8.RuneCountInString(val) > max {
			return domain.Invalid(field+" is too long", domain.FieldError{Location: "body." + field, Message: fmt.Sprintf("at most %d characters", max)})
		}
		if val != *dst {
			*dst = val
			changed = append(changed, field)
		}
		return nil
	}
	if err := setText(&f.Title, ch.Title, "title", maxTitle, true); err != nil {
		return nil, err
	}
	for _, t := range []struct {
		dst   *string
		v     *string
		field string
		max   int
	}{
		{&f.Description, ch.Description, "description", maxText},
		{&f.Evidence, ch.Evidence, "evidence", maxEvidence},
		{&f.Remediation, ch.Remediation, "remediation", maxText},
		{&f.ResolutionNote, ch.ResolutionNote, "resolution_note", maxText},
	} {
		if err := setText(t.dst, t.v, t.field, t.max, false); err != nil {
			return nil, err
		}
	}
	if ch.Severity != nil {
		sev := strings.ToLower(strings.TrimSpace(*ch.Severity))
		if sev == "informational" {
			sev = "info"
		}
		if err := tax.Check(domain.DomainRiskLevel, sev, "body.severity"); err != nil {
			return nil, err
		}
		if sev != f.Severity {
			f.Severity = sev
			changed = append(changed, "severity")
		}
	}
	for _, t := range []struct {
		dst    *string
		v      *string
		domain string
		field  string
	}{
		{&f.Status, ch.Status, domain.DomainRemediationStatus, "status"},
		{&f.Category, ch.Category, domain.DomainCategory, "category"},
	} {
		if t.v == nil {
			continue
		}
		if err := tax.Check(t.domain, *t.v, "body."+t.field); err != nil {
			return nil, err
		}
		if *t.v != *t.dst {
			*t.dst = *t.v
			changed = append(changed, t.field)
		}
	}
	if ch.CVSSVector != nil {
		vec := strings.TrimSpace(*ch.CVSSVector)
		if vec != f.CVSSVector {
			if vec == "" {
				f.CVSSVector, f.CVSSScore, f.CVSSVersion = "", nil, ""
			} else {
				version, score, err := cvss.Parse(vec)
				if err != nil {
					return nil, err
				}
				f.CVSSVector, f.CVSSScore, f.CVSSVersion = vec, &score, version
			}
			changed = append(changed, "cvss_vector")
		}
	}
	if ch.References != nil {
		refs, err := checkReferences(*ch.References)
		if err != nil {
			return nil, err
		}
		if strings.Join(refs, "\n") != strings.Join(f.References, "\n") {
			f.References = refs
			changed = append(changed, "references")
		}
	}
	if f.CVSSVector != "" && f.CVSSScore == nil { // from a template
		version, score, err := cvss.Parse(f.CVSSVector)
		if err == nil {
			f.CVSSScore, f.CVSSVersion = &score, version
		}
	}
	return changed, nil
}

func checkReferences(refs []string) ([]string, error) {
	if len(refs) > maxReferences {
		return nil, domain.Invalid("too many references", domain.FieldError{Location: "body.references", Message: fmt.Sprintf("at most %d", maxReferences)})
	}
	out := make([]string, 0, len(refs))
	for i, r := range refs {
		r = strings.TrimSpace(r)
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(r) > 2048 {
			return nil, domain.Invalid("references must be http(s) URLs",
				domain.FieldError{Location: fmt.Sprintf("body.references[%d]", i), Message: "must be an http(s) URL"})
		}
		out = append(out, r)
	}
	return out, nil
}

// checkTaxonomy validates fields that came from a template or a stored
// finding against the current taxonomy.
func checkTaxonomy(f domain.Finding, tax domain.Taxonomy) error {
	if err := tax.Check(domain.DomainRiskLevel, f.Severity, "body.severity"); err != nil {
		return err
	}
	if err := tax.Check(domain.DomainRemediationStatus, f.Status, "body.status"); err != nil {
		return err
	}
	return tax.Check(domain.DomainCategory, f.Category, "body.category")
}

func nis2Of(category string, tax domain.Taxonomy) string {
	v, _ := tax.Lookup(domain.DomainCategory, category)
	return v.NIS2
}

// History builds one entry per changed field, old value to new.
func History(old, cur domain.Finding, fields []string, by, reason string, at time.Time) []domain.HistoryEntry {
	out := make([]domain.HistoryEntry, 0, len(fields))
	for _, field := range fields {
		out = append(out, domain.HistoryEntry{ID: domain.NewIDAt(at), FindingID: cur.ID, Field: field,
			From: fieldValue(old, field), To: fieldValue(cur, field), ChangedBy: by, Reason: reason, At: at})
	}
	return out
}

func fieldValue(f domain.Finding, field string) string {
	switch field {
	case "title":
		return f.Title
	case "description":
		return f.Description
	case "evidence":
		return f.Evidence
	case "remediation":
		return f.Remediation
	case "resolution_note":
		return f.ResolutionNote
	case "severity":
		return f.Severity
	case "status":
		return f.Status
	case "category":
		return f.Category
	case "cvss_vector":
		return f.CVSSVector
	case "references":
		return strings.Join(f.References, "\n")
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// asField turns a lookup's NotFound into a 422 naming the body field: the
// referenced entity is input, not the resource of the route.
func asField(err error, location, msg string) error {
	if domain.Is(err, domain.KindNotFound) {
		return domain.Invalid(msg, domain.FieldError{Location: location, Message: msg})
	}
	return err
}

func errorText(err error) string {
	var de *domain.Error
	if errors.As(err, &de) {
		if len(de.Fields) > 0 {
			return de.Message + ": " + de.Fields[0].Location + ": " + de.Fields[0].Message
		}
		return de.Message
	}
	return "internal error"
}
