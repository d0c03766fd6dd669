package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/templates"
)

// Template keys (docs/data-model.md): TEMPLATE#<id> in the organization's
// partition, counted by COUNT#template.
const (
	templatePrefix  = "TEMPLATE#"
	templateCounter = "template"
)

func templateKey(org, id string) keys { return orgItem(org, templatePrefix+id) }

type templateRec struct {
	keys
	ID          string    `dynamodbav:"id"`
	Title       string    `dynamodbav:"title"`
	Description string    `dynamodbav:"description"`
	Remediation string    `dynamodbav:"remediation"`
	Severity    string    `dynamodbav:"severity"`
	Category    string    `dynamodbav:"category"`
	References  []string  `dynamodbav:"references,omitempty"`
	CVSSVector  string    `dynamodbav:"cvss_vector,omitempty"`
	BuiltIn     bool      `dynamodbav:"built_in"`
	CreatedAt   time.Time `dynamodbav:"created_at"`
	UpdatedAt   time.Time `dynamodbav:"updated_at"`
	Ver         int       `dynamodbav:"ver"`
}

func newTemplateRec(org string, t domain.Template, ver int) templateRec {
	return templateRec{keys: templateKey(org, t.ID), ID: t.ID, Title: t.Title, Description: t.Description,
		Remediation: t.Remediation, Severity: t.Severity, Category: t.Category, References: t.References,
		CVSSVector: t.CVSSVector, BuiltIn: t.BuiltIn, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Ver: ver}
}

func (r templateRec) stored() templates.Stored {
	refs := r.References
	if refs == nil {
		refs = []string{}
	}
	return templates.Stored{Version: r.Ver, Template: domain.Template{ID: r.ID, Title: r.Title,
		Description: r.Description, Remediation: r.Remediation, Severity: r.Severity, Category: r.Category,
		References: refs, CVSSVector: r.CVSSVector, BuiltIn: r.BuiltIn, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}}
}

// CreateTemplate implements templates.Store.
func (s *Store) CreateTemplate(ctx context.Context, orgID string, t domain.Template) error {
	item, err := marshal(newTemplateRec(orgID, t, 1))
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{s.putNew(item), s.counterAdd(orgID, templateCounter, 1)})
	if _, ok := err.(*txCanceled); ok {
		return domain.E(domain.KindConflict, "a template with this id exists")
	}
	return err
}

// GetTemplate implements templates.Store.
func (s *Store) GetTemplate(ctx context.Context, orgID, id string) (templates.Stored, error) {
	if !domain.ValidID(id) {
		return templates.Stored{}, domain.NotFound("template")
	}
	r, err := getItem[templateRec](ctx, s, templateKey(orgID, id), "template")
	if err != nil {
		return templates.Stored{}, err
	}
	return r.stored(), nil
}

// ListTemplates implements templates.Store. Without a filter a page is read
// by key and total comes from the counter; with a filter (severity,
// category, q) the organization's templates are read whole and filtered here,
// which is bounded by the size of a template library (hundreds).
func (s *Store) ListTemplates(ctx context.Context, orgID string, f templates.Filter, req domain.PageRequest) (domain.Page[templates.Stored], error) {
	part := basePartition(orgPK(orgID), templatePrefix, false)
	var recs []templateRec
	if !f.Empty() {
		if err := s.all(ctx, part, &recs); err != nil {
			return domain.Page[templates.Stored]{}, err
		}
		var match []templates.Stored
		for _, r := range recs {
			if t := r.stored(); f.Matches(t.Template) {
				match = append(match, t)
			}
		}
		return pageOf(match, req), nil
	}
	total, err := s.count(ctx, orgID, templateCounter)
	if err != nil {
		return domain.Page[templates.Stored]{}, err
	}
	next, err := s.page(ctx, part, req, &recs)
	if err != nil {
		return domain.Page[templates.Stored]{}, err
	}
	out := domain.Page[templates.Stored]{Items: make([]templates.Stored, len(recs)), Total: total, Request: req, NextCursor: next}
	for i, r := range recs {
		out.Items[i] = r.stored()
	}
	return out, nil
}

// UpdateTemplate implements templates.Store.
func (s *Store) UpdateTemplate(ctx context.Context, orgID, id string, ifVersion int, fn func(*domain.Template) error) (templates.Stored, error) {
	if !domain.ValidID(id) {
		return templates.Stored{}, domain.NotFound("template")
	}
	for range retries {
		r, err := getItem[templateRec](ctx, s, templateKey(orgID, id), "template")
		if err != nil {
			return templates.Stored{}, err
		}
		if ifVersion > 0 && r.Ver != ifVersion {
			return templates.Stored{}, domain.E(domain.KindPrecondition, "the template changed since it was read (If-Match is stale)")
		}
		t := r.stored().Template
		if err := fn(&t); err != nil {
			return templates.Stored{}, err
		}
		t.ID, t.BuiltIn, t.CreatedAt = r.ID, r.BuiltIn, r.CreatedAt
		item, err := marshal(newTemplateRec(orgID, t, r.Ver+1))
		if err != nil {
			return templates.Stored{}, err
		}
		won, err := s.putIfVersion(ctx, item, r.Ver)
		if err != nil {
			return templates.Stored{}, err
		}
		if !won {
			continue // changed or deleted meanwhile: read again
		}
		return templates.Stored{Template: t, Version: r.Ver + 1}, nil
	}
	return templates.Stored{}, domain.E(domain.KindConflict, "the template changed concurrently; retry")
}

// DeleteTemplate implements templates.Store.
func (s *Store) DeleteTemplate(ctx context.Context, orgID, id string) error {
	if !domain.ValidID(id) {
		return domain.NotFound("template")
	}
	err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: templateKey(orgID, id).av(),
			ConditionExpression: aws.String("attribute_exists(PK)")}},
		s.counterAdd(orgID, templateCounter, -1),
	})
	if tc, ok := err.(*txCanceled); ok && tc.failed(0) {
		return domain.NotFound("template")
	}
	return err
}

// SeedTemplates implements templates.Store. The common case (a new
// organization) is one transaction writing every template and the counter;
// when any template already exists (a repeated seeding), each is written in
// its own transaction with its count, and the existing ones are skipped, so
// the counter stays exact.
func (s *Store) SeedTemplates(ctx context.Context, orgID string, ts []domain.Template) (int, error) {
	items := make([]types.TransactWriteItem, 0, len(ts)+1)
	for _, t := range ts {
		item, err := marshal(newTemplateRec(orgID, t, 1))
		if err != nil {
			return 0, err
		}
		items = append(items, s.putNew(item))
	}
	if len(items) == 0 {
		return 0, nil
	}
	if len(items) < 100 {
		err := s.transact(ctx, append(items, s.counterAdd(orgID, templateCounter, len(items))))
		if err == nil {
			return len(items), nil
		}
		if _, ok := err.(*txCanceled); !ok && !domain.Is(err, domain.KindConflict) {
			return 0, err
		}
	}
	wrote := 0
	for _, item := range items {
		var err error
		for attempt := range retries {
			if attempt > 0 {
				catalogBackoff(attempt)
			}
			err = s.transact(ctx, []types.TransactWriteItem{item, s.counterAdd(orgID, templateCounter, 1)})
			if !domain.Is(err, domain.KindConflict) {
				break
			}
		}
		switch err.(type) {
		case nil:
			wrote++
		case *txCanceled: // exists already
		default:
			return wrote, err
		}
	}
	return wrote, nil
}
