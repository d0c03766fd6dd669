package dynamo

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/clients"
	"rampart/shared/domain"
)

// Keys of clients (docs/data-model.md): the item is CLIENT#<id> in the
// organization partition (clientKey, keys.go); GSI1 lists an organization's
// clients by name: ORG#<org>#CLIENT / CLIENT#<lower(name)>#<id>.
func clientsByNamePK(org string) string { return orgPK(org) + "#CLIENT" }
func clientsByNameSK(name, id string) string {
	return clientByNamePrefix + strings.ToLower(name) + "#" + id
}

const (
	clientsCounter     = "clients"
	clientByNamePrefix = "CLIENT#"
)

type clientRec struct {
	keys
	GSI1PK       string    `dynamodbav:"GSI1PK"`
	GSI1SK       string    `dynamodbav:"GSI1SK"`
	ID           string    `dynamodbav:"id"`
	Name         string    `dynamodbav:"name"`
	Description  string    `dynamodbav:"description,omitempty"`
	ContactName  string    `dynamodbav:"contact_name,omitempty"`
	ContactEmail string    `dynamodbav:"contact_email,omitempty"`
	CreatedAt    time.Time `dynamodbav:"created_at"`
	UpdatedAt    time.Time `dynamodbav:"updated_at"`
	Ver          int       `dynamodbav:"ver"`
}

func newClientRec(org string, c domain.Client, ver int) clientRec {
	return clientRec{keys: clientKey(org, c.ID), GSI1PK: clientsByNamePK(org), GSI1SK: clientsByNameSK(c.Name, c.ID),
		ID: c.ID, Name: c.Name, Description: c.Description, ContactName: c.ContactName, ContactEmail: c.ContactEmail,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Ver: ver}
}

func (r clientRec) domain() domain.Client {
	return domain.Client{ID: r.ID, Name: r.Name, Description: r.Description, ContactName: r.ContactName,
		ContactEmail: r.ContactEmail, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

var _ clients.Store = (*Store)(nil)

// CreateClient implements clients.Store.
func (s *Store) CreateClient(ctx context.Context, org string, c domain.Client) error {
	item, err := marshal(newClientRec(org, c, 1))
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{s.putNew(item), s.counterAdd(org, clientsCounter, 1)})
	if _, ok := err.(*txCanceled); ok {
		return domain.E(domain.KindConflict, "a client with this id already exists")
	}
	return err
}

// GetClient implements clients.Store.
func (s *Store) GetClient(ctx context.Context, org, id string) (domain.Client, error) {
	if !domain.ValidID(id) {
		return domain.Client{}, domain.NotFound("client")
	}
	r, err := getItem[clientRec](ctx, s, clientKey(org, id), "client")
	if err != nil {
		return domain.Client{}, err
	}
	return r.domain(), nil
}

// UpdateClient implements clients.Store.
func (s *Store) UpdateClient(ctx context.Context, org, id string, fn func(*domain.Client) error) (domain.Client, error) {
	if !domain.ValidID(id) {
		return domain.Client{}, domain.NotFound("client")
	}
	for range retries {
		r, err := getItem[clientRec](ctx, s, clientKey(org, id), "client")
		if err != nil {
			return domain.Client{}, err
		}
		c := r.domain()
		if err := fn(&c); err != nil {
			return domain.Client{}, err
		}
		c.ID, c.CreatedAt = r.ID, r.CreatedAt
		item, err := marshal(newClientRec(org, c, r.Ver+1))
		if err != nil {
			return domain.Client{}, err
		}
		won, err := s.putIfVersion(ctx, item, r.Ver)
		if err != nil {
			return domain.Client{}, err
		}
		if !won {
			continue
		}
		return c, nil
	}
	return domain.Client{}, domain.E(domain.KindConflict, "the client changed concurrently; retry")
}

// ListClients implements clients.Store: by name (GSI1). Unfiltered, one
// page of the index and the counter; with a query, the organization's
// clients are read whole and filtered here (a consultancy has hundreds of
// clients, not millions: one or two 1 MB query pages).
func (s *Store) ListClients(ctx context.Context, org string, f clients.Filter, req domain.PageRequest) (domain.Page[domain.Client], error) {
	q := strings.ToLower(f.Query)
	match := func(c domain.Client) bool { return q == "" || strings.Contains(strings.ToLower(c.Name), q) }
	if f.OnlyID != "" {
		c, err := s.GetClient(ctx, org, f.OnlyID)
		if domain.Is(err, domain.KindNotFound) {
			return pageOf([]domain.Client{}, req), nil
		}
		if err != nil {
			return domain.Page[domain.Client]{}, err
		}
		all := []domain.Client{}
		if match(c) {
			all = append(all, c)
		}
		return pageOf(all, req), nil
	}
	part := indexPartition(GSI1, clientsByNamePK(org), clientByNamePrefix, false)
	if q != "" {
		var recs []clientRec
		if err := s.all(ctx, part, &recs); err != nil {
			return domain.Page[domain.Client]{}, err
		}
		all := []domain.Client{}
		for _, r := range recs {
			if c := r.domain(); match(c) {
				all = append(all, c)
			}
		}
		return pageOf(all, req), nil
	}
	var recs []clientRec
	next, err := s.page(ctx, part, req, &recs)
	if err != nil {
		return domain.Page[domain.Client]{}, err
	}
	total, err := s.count(ctx, org, clientsCounter)
	if err != nil {
		return domain.Page[domain.Client]{}, err
	}
	items := make([]domain.Client, len(recs))
	for i, r := range recs {
		items[i] = r.domain()
	}
	return domain.Page[domain.Client]{Items: items, Total: total, Request: req, NextCursor: next}, nil
}
