// Package sessions holds the rules of assessment sessions (family A): a
// client, a scope of assets, a status from the taxonomy, dates and assigned
// reviewers. (Sign-in sessions are refresh-token families: shared/identity.)
package sessions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"rampart/shared/clients"
	"rampart/shared/domain"
)

// Filter narrows a session list; empty fields do not filter.
type Filter struct {
	ClientID string
	Status   string
}

// Store is the persistence port of assessment sessions, with the reads of
// other capabilities that validation needs.
type Store interface {
	// CreateAssessmentSession writes a session with its list counters.
	CreateAssessmentSession(ctx context.Context, orgID string, s domain.Session) error
	GetAssessmentSession(ctx context.Context, orgID, id string) (domain.Session, error)
	// UpdateAssessmentSession applies fn and writes the result with an
	// optimistic condition, moving counters when client or status change.
	UpdateAssessmentSession(ctx context.Context, orgID, id string, fn func(*domain.Session) error) (domain.Session, error)
	// ListAssessmentSessions lists newest first.
	ListAssessmentSessions(ctx context.Context, orgID string, f Filter, page domain.PageRequest) (domain.Page[domain.Session], error)

	ClientExists(ctx context.Context, orgID, clientID string) (bool, error)
	GetAssets(ctx context.Context, orgID string, ids []string) ([]domain.Asset, error)
	GetMembership(ctx context.Context, orgID, userID string) (domain.Membership, error)
}

// Service implements the session use cases.
type Service struct {
	Store    Store
	Taxonomy domain.TaxonomySource
	Clock    domain.Clock
}

// Input is a new session or a change (nil fields are unchanged in a PATCH;
// an empty date clears it).
type Input struct {
	Name        *string
	ClientID    *string
	AssetIDs    *[]string
	Status      *string
	StartDate   *string
	EndDate     *string
	ReviewerIDs *[]string
	Description *string
}

// Limits of a session's fields.
const (
	MaxName        = 200
	MaxDescription = 10000
	MaxAssets      = 500
	MaxReviewers   = 50
	// DefaultStatus of a new session.
	DefaultStatus = "planned"
)

type fields []domain.FieldError

func (f *fields) add(location, msg string) {
	*f = append(*f, domain.FieldError{Location: location, Message: msg})
}

func (f *fields) addErr(err error) {
	if de, ok := err.(*domain.Error); ok && len(de.Fields) > 0 {
		*f = append(*f, de.Fields...)
	} else if err != nil {
		f.add("body", err.Error())
	}
}

func (f fields) err() error {
	if len(f) == 0 {
		return nil
	}
	return domain.Invalid("invalid session: "+f[0].Location+": "+f[0].Message, f...)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// parseDate accepts YYYY-MM-DD (a real calendar day) or "".
func parseDate(s, location string, errs *fields) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil || len(s) != len(time.DateOnly) {
		errs.add(location, "must be a date as YYYY-MM-DD")
		return ""
	}
	return s
}

// dedupe trims ids and drops repeats and blanks, keeping the first order.
func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// checkScope validates the asset scope: every asset exists in the
// organization and, when it belongs to a client, belongs to the session's
// client. Assets without a client (shared infrastructure) may be in any
// session's scope. An asset of another organization is "no such asset",
// like one that never existed.
func (s *Service) checkScope(ctx context.Context, orgID, clientID string, ids []string, errs *fields) error {
	if len(ids) > MaxAssets {
		errs.add("body.asset_ids", fmt.Sprintf("at most %d assets", MaxAssets))
		return nil
	}
	var valid []string
	for _, id := range ids {
		if domain.ValidID(id) {
			valid = append(valid, id)
		}
	}
	found, err := s.Store.GetAssets(ctx, orgID, valid)
	if err != nil {
		return err
	}
	byID := make(map[string]domain.Asset, len(found))
	for _, a := range found {
		byID[a.ID] = a
	}
	for i, id := range ids {
		loc := fmt.Sprintf("body.asset_ids[%d]", i)
		a, ok := byID[id]
		switch {
		case !ok:
			errs.add(loc, "no such asset in this organization")
		case a.ClientID != "" && a.ClientID != clientID:
			errs.add(loc, "the asset belongs to another client than the session's")
		}
	}
	return nil
}

// checkReviewers requires active members with role admin or auditor.
func (s *Service) checkReviewers(ctx context.Context, orgID string, ids []string, errs *fields) error {
	if len(ids) > MaxReviewers {
		errs.add("body.reviewer_ids", fmt.Sprintf("at most %d reviewers", MaxReviewers))
		return nil
	}
	for i, id := range ids {
		m, err := s.Store.GetMembership(ctx, orgID, id)
		if err != nil && !domain.Is(err, domain.KindNotFound) {
			return err
		}
		if err != nil || !m.Active || (m.Role != domain.RoleAdmin && m.Role != domain.RoleAuditor) {
			errs.add(fmt.Sprintf("body.reviewer_ids[%d]", i), "not an active admin or auditor (reviewer) of this organization")
		}
	}
	return nil
}

func (s *Service) checkClient(ctx context.Context, orgID, clientID string, errs *fields) error {
	if clientID == "" {
		errs.add("body.client_id", "required")
		return nil
	}
	ok := false
	if domain.ValidID(clientID) {
		var err error
		if ok, err = s.Store.ClientExists(ctx, orgID, clientID); err != nil {
			return err
		}
	}
	if !ok {
		errs.add("body.client_id", "no such client in this organization")
	}
	return nil
}

// Create adds a session to the principal's organization.
func (s *Service) Create(ctx context.Context, p domain.Principal, in Input) (domain.Session, error) {
	tax, err := s.Taxonomy.CurrentTaxonomy(ctx, p.OrgID)
	if err != nil {
		return domain.Session{}, err
	}
	var errs fields
	var ss domain.Session
	if ss.Name, err = domain.CleanName(deref(in.Name), "body.name", true, MaxName); err != nil {
		errs.addErr(err)
	}
	ss.ClientID = strings.TrimSpace(deref(in.ClientID))
	if err := s.checkClient(ctx, p.OrgID, ss.ClientID, &errs); err != nil {
		return domain.Session{}, err
	}
	ss.Status = DefaultStatus
	if in.Status != nil && strings.TrimSpace(*in.Status) != "" {
		ss.Status = strings.TrimSpace(*in.Status)
	}
	if err := tax.Check(domain.DomainSessionStatus, ss.Status, "body.status"); err != nil {
		errs.addErr(err)
	}
	ss.StartDate = parseDate(deref(in.StartDate), "body.start_date", &errs)
	ss.EndDate = parseDate(deref(in.EndDate), "body.end_date", &errs)
	if ss.StartDate != "" && ss.EndDate != "" && ss.EndDate < ss.StartDate {
		errs.add("body.end_date", "must not be before start_date")
	}
	if ss.Description, err = clients.CleanText(deref(in.Description), "body.description", MaxDescription); err != nil {
		errs.addErr(err)
	}
	ss.AssetIDs = []string{}
	if in.AssetIDs != nil {
		ss.AssetIDs = dedupe(*in.AssetIDs)
	}
	ss.ReviewerIDs = []string{}
	if in.ReviewerIDs != nil {
		ss.ReviewerIDs = dedupe(*in.ReviewerIDs)
	}
	if err := s.checkReviewers(ctx, p.OrgID, ss.ReviewerIDs, &errs); err != nil {
		return domain.Session{}, err
	}
	if err := s.checkScope(ctx, p.OrgID, ss.ClientID, ss.AssetIDs, &errs); err != nil {
		return domain.Session{}, err
	}
	if err := errs.err(); err != nil {
		return domain.Session{}, err
	}
	now := s.Clock()
	ss.ID, ss.CreatedAt, ss.UpdatedAt = domain.NewIDAt(now), now, now
	if err := s.Store.CreateAssessmentSession(ctx, p.OrgID, ss); err != nil {
		return domain.Session{}, err
	}
	return ss, nil
}

// Get returns a session the principal may see.
func (s *Service) Get(ctx context.Context, p domain.Principal, id string) (domain.Session, error) {
	if !domain.ValidID(id) {
		return domain.Session{}, domain.NotFound("session")
	}
	ss, err := s.Store.GetAssessmentSession(ctx, p.OrgID, id)
	if err != nil {
		return domain.Session{}, err
	}
	if !p.CanSeeClient(ss.ClientID) {
		return domain.Session{}, domain.NotFound("session")
	}
	return ss, nil
}

// Update changes a session; ifMatch, when set, must match its ETag. A
// change of client re-checks the scope against the new client (assets that
// were deleted since are not held against it).
func (s *Service) Update(ctx context.Context, p domain.Principal, id string, in Input, ifMatch string) (domain.Session, error) {
	for range 5 {
		ss, err := s.update(ctx, p, id, in, ifMatch)
		if !errors.Is(err, errChanged) {
			return ss, err
		}
	}
	return domain.Session{}, domain.E(domain.KindConflict, "the session changed concurrently; retry")
}

// errChanged reports that a session changed between its validation and its
// write (the scope and dates are checked against the stored state): the
// update is validated again.
var errChanged = errors.New("changed since it was read")

func (s *Service) update(ctx context.Context, p domain.Principal, id string, in Input, ifMatch string) (domain.Session, error) {
	cur, err := s.Get(ctx, p, id)
	if err != nil {
		return domain.Session{}, err
	}
	if !clients.ETagMatches(ifMatch, ETag(cur)) {
		return domain.Session{}, clients.ErrStale("session")
	}
	var errs fields
	next := cur
	if in.Name != nil {
		if next.Name, err = domain.CleanName(*in.Name, "body.name", true, MaxName); err != nil {
			errs.addErr(err)
		}
	}
	clientChanged := false
	if in.ClientID != nil {
		next.ClientID = strings.TrimSpace(*in.ClientID)
		if next.ClientID != cur.ClientID {
			clientChanged = true
			if err := s.checkClient(ctx, p.OrgID, next.ClientID, &errs); err != nil {
				return domain.Session{}, err
			}
		}
	}
	if in.Status != nil && strings.TrimSpace(*in.Status) != cur.Status {
		tax, err := s.Taxonomy.CurrentTaxonomy(ctx, p.OrgID)
		if err != nil {
			return domain.Session{}, err
		}
		next.Status = strings.TrimSpace(*in.Status)
		if err := tax.Check(domain.DomainSessionStatus, next.Status, "body.status"); err != nil {
			errs.addErr(err)
		}
	}
	if in.StartDate != nil {
		next.StartDate = parseDate(*in.StartDate, "body.start_date", &errs)
	}
	if in.EndDate != nil {
		next.EndDate = parseDate(*in.EndDate, "body.end_date", &errs)
	}
	if next.StartDate != "" && next.EndDate != "" && next.EndDate < next.StartDate {
		errs.add("body.end_date", "must not be before start_date")
	}
	if in.Description != nil {
		if next.Description, err = clients.CleanText(*in.Description, "body.description", MaxDescription); err != nil {
			errs.addErr(err)
		}
	}
	if in.ReviewerIDs != nil {
		next.ReviewerIDs = dedupe(*in.ReviewerIDs)
		if err := s.checkReviewers(ctx, p.OrgID, next.ReviewerIDs, &errs); err != nil {
			return domain.Session{}, err
		}
	}
	switch {
	case in.AssetIDs != nil:
		next.AssetIDs = dedupe(*in.AssetIDs)
		if err := s.checkScope(ctx, p.OrgID, next.ClientID, next.AssetIDs, &errs); err != nil {
			return domain.Session{}, err
		}
	case clientChanged && len(errs) == 0:
		if err := s.checkKeptScope(ctx, p.OrgID, next.ClientID, next.AssetIDs, &errs); err != nil {
			return domain.Session{}, err
		}
	}
	if err := errs.err(); err != nil {
		return domain.Session{}, err
	}
	return s.Store.UpdateAssessmentSession(ctx, p.OrgID, id, func(ss *domain.Session) error {
		if !clients.ETagMatches(ifMatch, ETag(*ss)) {
			return clients.ErrStale("session")
		}
		if ETag(*ss) != ETag(cur) {
			return errChanged
		}
		updated := clients.Touch(s.Clock(), ss.UpdatedAt)
		*ss = next
		ss.UpdatedAt = updated
		return nil
	})
}

// checkKeptScope re-checks an unchanged scope against a new client.
func (s *Service) checkKeptScope(ctx context.Context, orgID, clientID string, ids []string, errs *fields) error {
	found, err := s.Store.GetAssets(ctx, orgID, ids)
	if err != nil {
		return err
	}
	for _, a := range found {
		if a.ClientID != "" && a.ClientID != clientID {
			errs.add("body.client_id", fmt.Sprintf("the session's scope holds asset %s of another client: change asset_ids too", a.ID))
			return nil
		}
	}
	return nil
}

// List lists the sessions the principal may see, newest first.
func (s *Service) List(ctx context.Context, p domain.Principal, f Filter, page domain.PageRequest) (domain.Page[domain.Session], error) {
	f.ClientID, f.Status = strings.TrimSpace(f.ClientID), strings.TrimSpace(f.Status)
	if f.Status != "" {
		tax, err := s.Taxonomy.CurrentTaxonomy(ctx, p.OrgID)
		if err != nil {
			return domain.Page[domain.Session]{}, err
		}
		if err := tax.Check(domain.DomainSessionStatus, f.Status, "query.status"); err != nil {
			return domain.Page[domain.Session]{}, err
		}
	}
	empty := domain.Page[domain.Session]{Items: []domain.Session{}, Request: page}
	var visible bool
	if f.ClientID, visible = p.ClientScope(f.ClientID); !visible {
		return empty, nil
	}
	return s.Store.ListAssessmentSessions(ctx, p.OrgID, f, page)
}

// ETag is the entity tag of a session.
func ETag(ss domain.Session) string { return clients.ETagOf(ss.UpdatedAt) }
