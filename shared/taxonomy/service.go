package taxonomy

import (
	"context"

	"rampart/shared/domain"
)

// Store is the persistence port of the taxonomy. Version items are immutable:
// the store never overwrites one.
type Store interface {
	// CurrentTaxonomy returns the active version; for an organization that
	// has none written yet, the built-in version 1 (not written by the read).
	domain.TaxonomySource
	// TaxonomyVersions lists versions newest first and returns the number of
	// the current one; an organization with none written lists the built-in
	// version 1.
	TaxonomyVersions(ctx context.Context, orgID string, page domain.PageRequest) (domain.Page[domain.Taxonomy], int, error)
	// GetTaxonomyVersion returns one version and the number of the current
	// one; NotFound when it does not exist.
	GetTaxonomyVersion(ctx context.Context, orgID string, version int) (domain.Taxonomy, int, error)
	// SeedTaxonomy writes v1 as version 1 and makes it current, unless the
	// organization has a taxonomy already; it reports whether it wrote.
	SeedTaxonomy(ctx context.Context, orgID string, v1 domain.Taxonomy) (bool, error)
	// CreateTaxonomyVersion writes t as the next version (the store numbers
	// it) and makes it current, in one transaction. Two concurrent creations
	// get consecutive numbers. NotFound when the organization was not seeded.
	CreateTaxonomyVersion(ctx context.Context, orgID string, t domain.Taxonomy) (domain.Taxonomy, error)
	// ActivateTaxonomyVersion makes an existing version current; NotFound
	// when the version (or any taxonomy) does not exist.
	ActivateTaxonomyVersion(ctx context.Context, orgID string, version int) (domain.Taxonomy, error)
}

// Version is a version with whether it is the current one.
type Version struct {
	domain.Taxonomy
	Active bool
}

// Service implements the taxonomy use cases.
type Service struct {
	Store Store
	Clock domain.Clock
}

func (s *Service) now() domain.Clock {
	if s.Clock == nil {
		return domain.SystemClock
	}
	return s.Clock
}

// Seed gives a new organization the built-in version 1; it is idempotent.
func (s *Service) Seed(ctx context.Context, orgID string) error {
	v1 := Builtin()
	v1.CreatedAt = s.now()()
	_, err := s.Store.SeedTaxonomy(ctx, orgID, v1)
	return err
}

// Current returns the active version.
func (s *Service) Current(ctx context.Context, orgID string) (Version, error) {
	t, err := s.Store.CurrentTaxonomy(ctx, orgID)
	if err != nil {
		return Version{}, err
	}
	return Version{Taxonomy: t, Active: true}, nil
}

// Versions lists versions, newest first.
func (s *Service) Versions(ctx context.Context, orgID string, req domain.PageRequest) (domain.Page[Version], error) {
	p, current, err := s.Store.TaxonomyVersions(ctx, orgID, req)
	if err != nil {
		return domain.Page[Version]{}, err
	}
	out := domain.Page[Version]{Total: p.Total, Request: p.Request, NextCursor: p.NextCursor, Items: make([]Version, len(p.Items))}
	for i, t := range p.Items {
		out.Items[i] = Version{Taxonomy: t, Active: t.Version == current}
	}
	return out, nil
}

// Get returns one version.
func (s *Service) Get(ctx context.Context, orgID string, version int) (Version, error) {
	if version < 1 {
		return Version{}, domain.NotFound("taxonomy version")
	}
	t, current, err := s.Store.GetTaxonomyVersion(ctx, orgID, version)
	if err != nil {
		return Version{}, err
	}
	return Version{Taxonomy: t, Active: t.Version == current}, nil
}

// Create checks the domains of a new version (loc names where they sit in
// the request), writes it as the next version and makes it current.
func (s *Service) Create(ctx context.Context, orgID, createdBy string, domains map[string][]domain.TaxonomyValue, loc string) (Version, error) {
	clean, err := Normalize(domains, loc)
	if err != nil {
		return Version{}, err
	}
	t := domain.Taxonomy{Domains: clean, CreatedAt: s.now()(), CreatedBy: createdBy}
	created, err := s.Store.CreateTaxonomyVersion(ctx, orgID, t)
	if domain.Is(err, domain.KindNotFound) {
		// An organization whose seeding failed gets its version 1 now, so
		// that numbering starts where the organization's view started.
		if err := s.Seed(ctx, orgID); err != nil {
			return Version{}, err
		}
		created, err = s.Store.CreateTaxonomyVersion(ctx, orgID, t)
	}
	if err != nil {
		return Version{}, err
	}
	return Version{Taxonomy: created, Active: true}, nil
}

// Activate makes an existing version current again. An unknown version is an
// invalid value of the body's version field (422), not a missing resource:
// the route addresses the organization's taxonomy, which exists.
func (s *Service) Activate(ctx context.Context, orgID string, version int) (Version, error) {
	unknown := domain.Invalid("no such taxonomy version",
		domain.FieldError{Location: "body.version", Message: "no version with this number exists"})
	if version < 1 {
		return Version{}, unknown
	}
	if err := s.Seed(ctx, orgID); err != nil {
		return Version{}, err
	}
	t, err := s.Store.ActivateTaxonomyVersion(ctx, orgID, version)
	if domain.Is(err, domain.KindNotFound) {
		return Version{}, unknown
	}
	if err != nil {
		return Version{}, err
	}
	return Version{Taxonomy: t, Active: true}, nil
}
