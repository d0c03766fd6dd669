package dynamo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/taxonomy"
)

// Taxonomy keys (docs/data-model.md): immutable version items
// TAXONOMY#<zero-padded version> and one pointer item TAXONOMY in the
// organization's partition.
const taxonomyVersionPrefix = "TAXONOMY#"

func taxonomyPointerKey(org string) keys { return orgItem(org, "TAXONOMY") }
func taxonomyVersionKey(org string, version int) keys {
	return orgItem(org, fmt.Sprintf("%s%010d", taxonomyVersionPrefix, version))
}

// taxonomyCreateRetries bounds the renumbering of a version creation that
// lost a race to a concurrent one; each retry takes the next number.
const taxonomyCreateRetries = 12

type taxValueRec struct {
	Value       string `dynamodbav:"value"`
	Label       string `dynamodbav:"label"`
	SortOrder   int    `dynamodbav:"sort_order"`
	Color       string `dynamodbav:"color"`
	NIS2        string `dynamodbav:"nis2,omitempty"`
	Description string `dynamodbav:"description,omitempty"`
}

// taxonomyRec is one immutable version.
type taxonomyRec struct {
	keys
	Version   int                      `dynamodbav:"version"`
	Domains   map[string][]taxValueRec `dynamodbav:"domains"`
	CreatedAt time.Time                `dynamodbav:"created_at"`
	CreatedBy string                   `dynamodbav:"created_by"`
}

// taxPointerRec says which version is current and which is the latest, and
// carries a copy of the current version's content, written in the same
// write that changes current: CurrentTaxonomy, read by every validated write
// of findings, assets, sessions and templates, is one consistent GetItem, and
// an activation is seen by the very next read in any process.
type taxPointerRec struct {
	taxonomyRec
	Current int `dynamodbav:"current"`
	Latest  int `dynamodbav:"latest"`
}

func newTaxonomyRec(org string, t domain.Taxonomy) taxonomyRec {
	r := taxonomyRec{keys: taxonomyVersionKey(org, t.Version), Version: t.Version, CreatedAt: t.CreatedAt,
		CreatedBy: t.CreatedBy, Domains: make(map[string][]taxValueRec, len(t.Domains))}
	for name, values := range t.Domains {
		vs := make([]taxValueRec, len(values))
		for i, v := range values {
			vs[i] = taxValueRec{Value: v.Value, Label: v.Label, SortOrder: v.SortOrder, Color: v.Color,
				NIS2: v.NIS2, Description: v.Description}
		}
		r.Domains[name] = vs
	}
	return r
}

func (r taxonomyRec) domain() domain.Taxonomy {
	t := domain.Taxonomy{Version: r.Version, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy,
		Domains: make(map[string][]domain.TaxonomyValue, len(r.Domains))}
	for name, values := range r.Domains {
		vs := make([]domain.TaxonomyValue, len(values))
		for i, v := range values {
			vs[i] = domain.TaxonomyValue{Value: v.Value, Label: v.Label, SortOrder: v.SortOrder, Color: v.Color,
				NIS2: v.NIS2, Description: v.Description}
		}
		t.Domains[name] = vs
	}
	return t
}

func newTaxPointerRec(org string, current domain.Taxonomy, latest int) taxPointerRec {
	p := taxPointerRec{taxonomyRec: newTaxonomyRec(org, current), Current: current.Version, Latest: latest}
	p.keys = taxonomyPointerKey(org)
	return p
}

// taxPointerNumbers reads the pointer's numbers only (not the content copy).
func (s *Store) taxPointerNumbers(ctx context.Context, org string) (current, latest int, found bool, err error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: taxonomyPointerKey(org).av(), ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String("#c, #l"),
		ExpressionAttributeNames: names("#c", "current", "#l", "latest"),
	})
	if err != nil {
		return 0, 0, false, classify(err)
	}
	if res.Item == nil {
		return 0, 0, false, nil
	}
	var p struct {
		Current int `dynamodbav:"current"`
		Latest  int `dynamodbav:"latest"`
	}
	if err := attributevalue.UnmarshalMap(res.Item, &p); err != nil {
		return 0, 0, false, domain.Wrap(domain.KindInternal, err, "decode item")
	}
	return p.Current, p.Latest, true, nil
}

// CurrentTaxonomy implements domain.TaxonomySource: one strongly consistent
// read of the pointer, which carries the current version's content. An
// organization that has no taxonomy written yet (its seeding failed) is
// answered with the built-in version 1, which is what seeding writes.
func (s *Store) CurrentTaxonomy(ctx context.Context, orgID string) (domain.Taxonomy, error) {
	var p taxPointerRec
	found, err := s.get(ctx, taxonomyPointerKey(orgID), &p, true)
	if err != nil {
		return domain.Taxonomy{}, err
	}
	if !found {
		return taxonomy.Builtin(), nil
	}
	return p.domain(), nil
}

// TaxonomyVersions implements taxonomy.Store. Versions are numbered 1..latest
// without gaps and never deleted, so the pointer's latest is the total.
func (s *Store) TaxonomyVersions(ctx context.Context, orgID string, req domain.PageRequest) (domain.Page[domain.Taxonomy], int, error) {
	current, latest, found, err := s.taxPointerNumbers(ctx, orgID)
	if err != nil {
		return domain.Page[domain.Taxonomy]{}, 0, err
	}
	if !found {
		return pageOf([]domain.Taxonomy{taxonomy.Builtin()}, req), 1, nil
	}
	var recs []taxonomyRec
	next, err := s.page(ctx, basePartition(orgPK(orgID), taxonomyVersionPrefix, true), req, &recs)
	if err != nil {
		return domain.Page[domain.Taxonomy]{}, 0, err
	}
	out := domain.Page[domain.Taxonomy]{Items: make([]domain.Taxonomy, len(recs)), Total: latest, Request: req, NextCursor: next}
	for i, r := range recs {
		out.Items[i] = r.domain()
	}
	return out, current, nil
}

// GetTaxonomyVersion implements taxonomy.Store.
func (s *Store) GetTaxonomyVersion(ctx context.Context, orgID string, version int) (domain.Taxonomy, int, error) {
	current, _, found, err := s.taxPointerNumbers(ctx, orgID)
	if err != nil {
		return domain.Taxonomy{}, 0, err
	}
	if !found {
		if version == 1 {
			return taxonomy.Builtin(), 1, nil
		}
		return domain.Taxonomy{}, 0, domain.NotFound("taxonomy version")
	}
	var r taxonomyRec
	ok, err := s.get(ctx, taxonomyVersionKey(orgID, version), &r, true)
	if err != nil {
		return domain.Taxonomy{}, 0, err
	}
	if !ok {
		return domain.Taxonomy{}, 0, domain.NotFound("taxonomy version")
	}
	return r.domain(), current, nil
}

// SeedTaxonomy implements taxonomy.Store: version 1 and the pointer are
// written together, each only if absent, so a repeated or concurrent seeding
// writes nothing and succeeds.
func (s *Store) SeedTaxonomy(ctx context.Context, orgID string, v1 domain.Taxonomy) (bool, error) {
	_, _, found, err := s.taxPointerNumbers(ctx, orgID)
	if err != nil || found {
		return false, err
	}
	v1.Version = 1
	item, err := marshal(newTaxonomyRec(orgID, v1))
	if err != nil {
		return false, err
	}
	ptr, err := marshal(newTaxPointerRec(orgID, v1, 1))
	if err != nil {
		return false, err
	}
	err = s.transact(ctx, []types.TransactWriteItem{s.putNew(item), s.putNew(ptr)})
	if _, ok := err.(*txCanceled); ok {
		return false, nil // seeded concurrently
	}
	if domain.Is(err, domain.KindConflict) {
		// A concurrent seeding's transaction was in flight; it wins.
		return false, nil
	}
	return err == nil, err
}

// CreateTaxonomyVersion implements taxonomy.Store. The new version item is
// written only if absent and the pointer only if its latest is still the one
// read, in one transaction: of two concurrent creations one fails its
// condition and retries with the next number.
func (s *Store) CreateTaxonomyVersion(ctx context.Context, orgID string, t domain.Taxonomy) (domain.Taxonomy, error) {
	for attempt := range taxonomyCreateRetries {
		if attempt > 0 {
			catalogBackoff(attempt)
		}
		_, latest, found, err := s.taxPointerNumbers(ctx, orgID)
		if err != nil {
			return domain.Taxonomy{}, err
		}
		if !found {
			return domain.Taxonomy{}, domain.NotFound("taxonomy")
		}
		t.Version = latest + 1
		item, err := marshal(newTaxonomyRec(orgID, t))
		if err != nil {
			return domain.Taxonomy{}, err
		}
		ptr, err := s.pointerPut(orgID, t, t.Version, latest)
		if err != nil {
			return domain.Taxonomy{}, err
		}
		err = s.transact(ctx, []types.TransactWriteItem{s.putNew(item), ptr})
		if _, ok := err.(*txCanceled); ok || domain.Is(err, domain.KindConflict) {
			continue // another version took this number: take the next
		}
		if err != nil {
			return domain.Taxonomy{}, err
		}
		return t, nil
	}
	return domain.Taxonomy{}, domain.E(domain.KindConflict, "taxonomy versions are being created concurrently; retry")
}

// ActivateTaxonomyVersion implements taxonomy.Store. The pointer is replaced
// on the condition that no version was created since it was read, so latest
// never goes back.
func (s *Store) ActivateTaxonomyVersion(ctx context.Context, orgID string, version int) (domain.Taxonomy, error) {
	r, err := getItem[taxonomyRec](ctx, s, taxonomyVersionKey(orgID, version), "taxonomy version")
	if err != nil {
		return domain.Taxonomy{}, err
	}
	t := r.domain()
	for attempt := range taxonomyCreateRetries {
		if attempt > 0 {
			catalogBackoff(attempt)
		}
		_, latest, found, err := s.taxPointerNumbers(ctx, orgID)
		if err != nil {
			return domain.Taxonomy{}, err
		}
		if !found {
			return domain.Taxonomy{}, domain.NotFound("taxonomy")
		}
		ptr, err := s.pointerPut(orgID, t, latest, latest)
		if err != nil {
			return domain.Taxonomy{}, err
		}
		err = s.transact(ctx, []types.TransactWriteItem{ptr})
		if _, ok := err.(*txCanceled); ok || domain.Is(err, domain.KindConflict) {
			continue
		}
		if err != nil {
			return domain.Taxonomy{}, err
		}
		return t, nil
	}
	return domain.Taxonomy{}, domain.E(domain.KindConflict, "the taxonomy changed concurrently; retry")
}

// pointerPut replaces the pointer with current = t (its content copied) and
// the given latest, if the stored latest is still expectLatest.
func (s *Store) pointerPut(orgID string, current domain.Taxonomy, latest, expectLatest int) (types.TransactWriteItem, error) {
	item, err := marshal(newTaxPointerRec(orgID, current, latest))
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("#l = :expected"),
		ExpressionAttributeNames:  names("#l", "latest"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":expected": num(int64(expectLatest))},
	}}, nil
}

// catalogBackoff spreads the retries of writers that collided.
func catalogBackoff(attempt int) {
	time.Sleep(time.Duration(5+rand.IntN(20*min(attempt, 5))) * time.Millisecond)
}
