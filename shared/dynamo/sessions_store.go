package dynamo

// Assessment sessions (family A). Not to be confused with sessions.go, the
// sign-in sessions (refresh-token families) of shared/identity.

import (
	"context"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/sessions"
)

// Keys of assessment sessions, in the organization partition ORG#<org>:
//
//	SESSION#<id>   the session; GSI2 ORG#<org>#SESSION#CLIENT#<client> / SESSION#<id>,
//	               GSI3 ORG#<org>#SESSION#STATUS#<status> / SESSION#<id>
//	COUNT#sessions, COUNT#sessions#client#<id>, COUNT#sessions#status#<status>
func assessmentKey(org, id string) keys { return orgItem(org, assessmentPrefix+id) }
func assessmentsByClientPK(org, client string) string {
	return orgPK(org) + "#SESSION#CLIENT#" + client
}
func assessmentsByStatusPK(org, status string) string {
	return orgPK(org) + "#SESSION#STATUS#" + status
}

const (
	assessmentPrefix   = "SESSION#"
	assessmentsCounter = "sessions"
)

func assessmentClientCounter(id string) string { return "sessions#client#" + id }
func assessmentStatusCounter(s string) string  { return "sessions#status#" + s }

type assessmentRec struct {
	keys
	GSI2PK      string    `dynamodbav:"GSI2PK"`
	GSI2SK      string    `dynamodbav:"GSI2SK"`
	GSI3PK      string    `dynamodbav:"GSI3PK"`
	GSI3SK      string    `dynamodbav:"GSI3SK"`
	ID          string    `dynamodbav:"id"`
	Name        string    `dynamodbav:"name"`
	ClientID    string    `dynamodbav:"client_id"`
	AssetIDs    []string  `dynamodbav:"asset_ids,omitempty"`
	Status      string    `dynamodbav:"status"`
	StartDate   string    `dynamodbav:"start_date,omitempty"`
	EndDate     string    `dynamodbav:"end_date,omitempty"`
	ReviewerIDs []string  `dynamodbav:"reviewer_ids,omitempty"`
	Description string    `dynamodbav:"description,omitempty"`
	CreatedAt   time.Time `dynamodbav:"created_at"`
	UpdatedAt   time.Time `dynamodbav:"updated_at"`
	Ver         int       `dynamodbav:"ver"`
}

func newAssessmentRec(org string, ss domain.Session, ver int) assessmentRec {
	return assessmentRec{keys: assessmentKey(org, ss.ID),
		GSI2PK: assessmentsByClientPK(org, ss.ClientID), GSI2SK: assessmentPrefix + ss.ID,
		GSI3PK: assessmentsByStatusPK(org, ss.Status), GSI3SK: assessmentPrefix + ss.ID,
		ID: ss.ID, Name: ss.Name, ClientID: ss.ClientID, AssetIDs: ss.AssetIDs, Status: ss.Status,
		StartDate: ss.StartDate, EndDate: ss.EndDate, ReviewerIDs: ss.ReviewerIDs, Description: ss.Description,
		CreatedAt: ss.CreatedAt, UpdatedAt: ss.UpdatedAt, Ver: ver}
}

func (r assessmentRec) domain() domain.Session {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return domain.Session{ID: r.ID, Name: r.Name, ClientID: r.ClientID, AssetIDs: nonNil(r.AssetIDs), Status: r.Status,
		StartDate: r.StartDate, EndDate: r.EndDate, ReviewerIDs: nonNil(r.ReviewerIDs), Description: r.Description,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func assessmentCounters(ss domain.Session) []string {
	return []string{assessmentsCounter, assessmentClientCounter(ss.ClientID), assessmentStatusCounter(ss.Status)}
}

var _ sessions.Store = (*Store)(nil)

// CreateAssessmentSession implements sessions.Store.
func (s *Store) CreateAssessmentSession(ctx context.Context, org string, ss domain.Session) error {
	item, err := marshal(newAssessmentRec(org, ss, 1))
	if err != nil {
		return err
	}
	err = s.transact(ctx, append([]types.TransactWriteItem{s.putNew(item)}, s.counterItems(org, counterMoves(nil, assessmentCounters(ss)))...))
	if _, ok := err.(*txCanceled); ok {
		return domain.E(domain.KindConflict, "a session with this id already exists")
	}
	return err
}

func (s *Store) getAssessmentRec(ctx context.Context, org, id string) (assessmentRec, error) {
	if !domain.ValidID(id) {
		return assessmentRec{}, domain.NotFound("session")
	}
	r, err := getItem[assessmentRec](ctx, s, assessmentKey(org, id), "session")
	if err != nil {
		return assessmentRec{}, err
	}
	return r, nil
}

// GetAssessmentSession implements sessions.Store.
func (s *Store) GetAssessmentSession(ctx context.Context, org, id string) (domain.Session, error) {
	r, err := s.getAssessmentRec(ctx, org, id)
	if err != nil {
		return domain.Session{}, err
	}
	return r.domain(), nil
}

// UpdateAssessmentSession implements sessions.Store.
func (s *Store) UpdateAssessmentSession(ctx context.Context, org, id string, fn func(*domain.Session) error) (domain.Session, error) {
	for attempt := range retries {
		r, err := s.getAssessmentRec(ctx, org, id)
		if err != nil {
			return domain.Session{}, err
		}
		old := r.domain()
		ss := old
		if err := fn(&ss); err != nil {
			return domain.Session{}, err
		}
		ss.ID, ss.CreatedAt = old.ID, old.CreatedAt
		item, err := marshal(newAssessmentRec(org, ss, r.Ver+1))
		if err != nil {
			return domain.Session{}, err
		}
		deltas := counterMoves(assessmentCounters(old), assessmentCounters(ss))
		items := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: item,
			ConditionExpression:       aws.String("ver = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(r.Ver))}}}}
		err = s.transact(ctx, append(items, s.counterItems(org, deltas)...))
		if _, ok := err.(*txCanceled); ok {
			continue
		}
		if isTxConflict(err) {
			txBackoff(attempt)
			continue
		}
		if err != nil {
			return domain.Session{}, err
		}
		return ss, nil
	}
	return domain.Session{}, domain.E(domain.KindConflict, "the session changed concurrently; retry")
}

// ListAssessmentSessions implements sessions.Store, newest first. No filter
// pages the SESSION# items; client_id pages GSI2 and status GSI3, each with
// its counter for total. Both filters read the client's partition whole and
// keep the status asked for (a client has tens of sessions).
func (s *Store) ListAssessmentSessions(ctx context.Context, org string, f sessions.Filter, req domain.PageRequest) (domain.Page[domain.Session], error) {
	if f.ClientID != "" && f.Status != "" {
		var recs []assessmentRec
		if err := s.all(ctx, indexPartition(GSI2, assessmentsByClientPK(org, f.ClientID), assessmentPrefix, true), &recs); err != nil {
			return domain.Page[domain.Session]{}, err
		}
		out := []domain.Session{}
		for _, r := range recs {
			if r.Status == f.Status {
				out = append(out, r.domain())
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
		return pageOf(out, req), nil
	}
	part, counter := basePartition(orgPK(org), assessmentPrefix, true), assessmentsCounter
	switch {
	case f.ClientID != "":
		part, counter = indexPartition(GSI2, assessmentsByClientPK(org, f.ClientID), assessmentPrefix, true), assessmentClientCounter(f.ClientID)
	case f.Status != "":
		part, counter = indexPartition(GSI3, assessmentsByStatusPK(org, f.Status), assessmentPrefix, true), assessmentStatusCounter(f.Status)
	}
	var recs []assessmentRec
	next, err := s.page(ctx, part, req, &recs)
	if err != nil {
		return domain.Page[domain.Session]{}, err
	}
	total, err := s.count(ctx, org, counter)
	if err != nil {
		return domain.Page[domain.Session]{}, err
	}
	items := make([]domain.Session, len(recs))
	for i, r := range recs {
		items[i] = r.domain()
	}
	return domain.Page[domain.Session]{Items: items, Total: total, Request: req, NextCursor: next}, nil
}
