// Package clients holds the rules of clients: the customers an assessing
// organization works for (family A). Client members (role client) see only
// their own client.
package clients

import (
	"context"
	"strings"

	"rampart/shared/domain"
)

// Filter narrows a client list.
type Filter struct {
	// Query matches the name, case-insensitively.
	Query string
	// OnlyID restricts the list to one client (client members).
	OnlyID string
}

// Store is the persistence port of clients.
type Store interface {
	// CreateClient writes a client and adds one to the counter `clients`.
	CreateClient(ctx context.Context, orgID string, c domain.Client) error
	GetClient(ctx context.Context, orgID, id string) (domain.Client, error)
	// UpdateClient applies fn to the current state and writes it with an
	// optimistic condition, retried when a concurrent write won.
	UpdateClient(ctx context.Context, orgID, id string, fn func(*domain.Client) error) (domain.Client, error)
	// ListClients lists by name. Unfiltered, it pages an index and answers
	// total from the counter; with a query it reads the list whole.
	ListClients(ctx context.Context, orgID string, f Filter, page domain.PageRequest) (domain.Page[domain.Client], error)
}

// Service implements the client use cases.
type Service struct {
	Store Store
	Clock domain.Clock
}

// Input is a new client or a change (nil fields are unchanged in a PATCH).
type Input struct {
	Name         *string
	Description  *string
	ContactName  *string
	ContactEmail *string
}

const (
	maxName        = 200
	maxDescription = 10000
)

// clean validates an input; create requires the name.
func clean(in Input, create bool) (Input, error) {
	var errs []domain.FieldError
	add := func(err error) {
		if de, ok := err.(*domain.Error); ok {
			errs = append(errs, de.Fields...)
		}
	}
	out := in
	if in.Name != nil || create {
		name := ""
		if in.Name != nil {
			name = *in.Name
		}
		n, err := domain.CleanName(name, "body.name", true, maxName)
		add(err)
		out.Name = &n
	}
	if in.Description != nil {
		d, err := CleanText(*in.Description, "body.description", maxDescription)
		add(err)
		out.Description = &d
	}
	if in.ContactName != nil {
		n, err := domain.CleanName(*in.ContactName, "body.contact_name", false, maxName)
		add(err)
		out.ContactName = &n
	}
	if in.ContactEmail != nil {
		e := strings.TrimSpace(*in.ContactEmail)
		if e != "" {
			var err error
			e, err = domain.NormalizeEmail(e, "body.contact_email")
			add(err)
		}
		out.ContactEmail = &e
	}
	if len(errs) > 0 {
		return Input{}, domain.Invalid("invalid client: "+errs[0].Location+": "+errs[0].Message, errs...)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Create adds a client to the principal's organization.
func (s *Service) Create(ctx context.Context, p domain.Principal, in Input) (domain.Client, error) {
	in, err := clean(in, true)
	if err != nil {
		return domain.Client{}, err
	}
	now := s.Clock()
	c := domain.Client{ID: domain.NewIDAt(now), Name: *in.Name, Description: deref(in.Description),
		ContactName: deref(in.ContactName), ContactEmail: deref(in.ContactEmail), CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateClient(ctx, p.OrgID, c); err != nil {
		return domain.Client{}, err
	}
	return c, nil
}

// Get returns a client the principal may see; any other id is not found.
func (s *Service) Get(ctx context.Context, p domain.Principal, id string) (domain.Client, error) {
	if !p.CanSeeClient(id) || !domain.ValidID(id) {
		return domain.Client{}, domain.NotFound("client")
	}
	return s.Store.GetClient(ctx, p.OrgID, id)
}

// Update changes a client. ifMatch, when not empty, is the ETag the caller
// read: a client that changed since is a Precondition failure.
func (s *Service) Update(ctx context.Context, p domain.Principal, id string, in Input, ifMatch string) (domain.Client, error) {
	if !p.CanSeeClient(id) || !domain.ValidID(id) {
		return domain.Client{}, domain.NotFound("client")
	}
	in, err := clean(in, false)
	if err != nil {
		return domain.Client{}, err
	}
	return s.Store.UpdateClient(ctx, p.OrgID, id, func(c *domain.Client) error {
		if !ETagMatches(ifMatch, ETag(*c)) {
			return ErrStale("client")
		}
		if in.Name != nil {
			c.Name = *in.Name
		}
		if in.Description != nil {
			c.Description = *in.Description
		}
		if in.ContactName != nil {
			c.ContactName = *in.ContactName
		}
		if in.ContactEmail != nil {
			c.ContactEmail = *in.ContactEmail
		}
		c.UpdatedAt = Touch(s.Clock(), c.UpdatedAt)
		return nil
	})
}

// List lists the clients the principal may see, by name.
func (s *Service) List(ctx context.Context, p domain.Principal, query string, page domain.PageRequest) (domain.Page[domain.Client], error) {
	f := Filter{Query: strings.TrimSpace(query)}
	if p.Role == domain.RoleClient {
		f.OnlyID = p.ClientID
	}
	return s.Store.ListClients(ctx, p.OrgID, f, page)
}

// ETag is the entity tag of a client: its last change instant.
func ETag(c domain.Client) string { return ETagOf(c.UpdatedAt) }
