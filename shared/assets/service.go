package assets

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"rampart/shared/clients"
	"rampart/shared/domain"
)

// Filter narrows an asset list; empty fields do not filter.
type Filter struct {
	ClientID string
	Type     string
	Tag      string
	// Query matches name and target, case-insensitively.
	Query string
}

// Key is what makes an asset unique in its organization.
type Key struct{ Type, Target string }

// KeyOf returns an asset's key; artefacts without a target have none (ok
// false) and are never duplicates of each other.
func KeyOf(a domain.Asset) (Key, bool) { return Key{a.Type, a.Target}, a.Target != "" }

// WriteResult is what a batched import write did.
type WriteResult struct {
	Created int
	// Duplicates are indexes of assets whose key another write took while
	// the import ran: they were skipped, like duplicates found beforehand.
	Duplicates []int
	// FailedAt is the index of the first asset not written when Err is set:
	// it and every asset after it (except Duplicates) were not written.
	FailedAt int
	Err      error
}

// Store is the persistence port of assets. Every write of an asset writes,
// in the same transaction, its (type, target) marker, its tag index items
// and the counters of the lists it appears in.
type Store interface {
	// CreateAsset writes a new asset; a (type, target) taken is a Conflict.
	CreateAsset(ctx context.Context, orgID string, a domain.Asset) error
	GetAsset(ctx context.Context, orgID, id string) (domain.Asset, error)
	// GetAssets returns the assets of the given ids that exist, in no order.
	GetAssets(ctx context.Context, orgID string, ids []string) ([]domain.Asset, error)
	// UpdateAsset applies fn and writes the result with an optimistic
	// condition; a change of type or target moves the marker (Conflict when
	// the new one is taken).
	UpdateAsset(ctx context.Context, orgID, id string, fn func(*domain.Asset) error) (domain.Asset, error)
	// DeleteAsset removes the asset, its marker and index items.
	DeleteAsset(ctx context.Context, orgID, id string) error
	ListAssets(ctx context.Context, orgID string, f Filter, page domain.PageRequest) (domain.Page[domain.Asset], error)
	// ExistingKeys reports which keys already have an asset.
	ExistingKeys(ctx context.Context, orgID string, keys []Key) (map[Key]bool, error)
	// WriteAssets writes new assets in batched transactions (see WriteResult).
	WriteAssets(ctx context.Context, orgID string, as []domain.Asset) WriteResult
	ClientExists(ctx context.Context, orgID, clientID string) (bool, error)
}

// Orgs reads an organization's settings (the SSRF switch).
type Orgs interface {
	GetOrg(ctx context.Context, id string) (domain.Organization, error)
}

// Service implements the asset use cases.
type Service struct {
	Store    Store
	Orgs     Orgs
	Taxonomy domain.TaxonomySource
	// Guard refuses targets the scanner must not reach; nil checks nothing
	// (the platform always sets one).
	Guard TargetGuard
	Clock domain.Clock
}

// Input is a new asset or a change (nil fields are unchanged in a PATCH).
type Input struct {
	Type        *string
	Target      *string
	Name        *string
	ClientID    *string
	Tags        *[]string
	Description *string
}

// Limits of an asset's fields.
const (
	MaxName        = 200
	MaxDescription = 10000
	MaxTags        = 20
	MaxTagLength   = 64
)

var tagPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// NormalizeTag lower-cases and checks one tag: a slug of letters, digits,
// '.', '_' and '-', starting with a letter or digit, at most 64 characters.
func NormalizeTag(t string) (string, error) {
	t = strings.ToLower(strings.TrimSpace(t))
	switch {
	case t == "":
		return "", fmt.Errorf("a tag must not be empty")
	case len(t) > MaxTagLength:
		return "", fmt.Errorf("tag %.20q… is longer than %d characters", t, MaxTagLength)
	case !tagPattern.MatchString(t):
		return "", fmt.Errorf("tag %q must be a slug: letters, digits, '.', '_' and '-', starting with a letter or digit", t)
	}
	return t, nil
}

// NormalizeTags normalises, deduplicates (keeping the first occurrence) and
// counts tags; blank entries are ignored.
func NormalizeTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		if strings.TrimSpace(t) == "" {
			continue
		}
		n, err := NormalizeTag(t)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(out) > MaxTags {
		return nil, fmt.Errorf("at most %d tags", MaxTags)
	}
	return out, nil
}

// fields collects the validation errors of one request.
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

func (f fields) err(what string) error {
	if len(f) == 0 {
		return nil
	}
	return domain.Invalid("invalid "+what+": "+f[0].Location+": "+f[0].Message, f...)
}

// noSuchClient is the same answer for an absent client and another
// organization's: existence elsewhere is never revealed.
const noSuchClient = "no such client in this organization"

func (s *Service) clientOK(ctx context.Context, orgID, clientID string) (bool, error) {
	if !domain.ValidID(clientID) {
		return false, nil
	}
	return s.Store.ClientExists(ctx, orgID, clientID)
}

func (s *Service) allowPrivate(ctx context.Context, orgID string) (bool, error) {
	if s.Orgs == nil {
		return false, nil
	}
	o, err := s.Orgs.GetOrg(ctx, orgID)
	if err != nil {
		return false, err
	}
	return o.Settings.AllowPrivateTargets, nil
}

func (s *Service) checkGuard(ctx context.Context, orgID, typ, target string, errs *fields) error {
	if s.Guard == nil || target == "" || !IsNetworkType(typ) {
		return nil
	}
	allow, err := s.allowPrivate(ctx, orgID)
	if err != nil {
		return err
	}
	if err := s.Guard.CheckTarget(ctx, typ, target, allow); err != nil {
		errs.add("body.target", err.Error())
	}
	return nil
}

// Create adds an asset to the principal's organization.
func (s *Service) Create(ctx context.Context, p domain.Principal, in Input) (domain.Asset, error) {
	tax, err := s.Taxonomy.CurrentTaxonomy(ctx, p.OrgID)
	if err != nil {
		return domain.Asset{}, err
	}
	var errs fields
	a := domain.Asset{}
	typeOK := false
	if in.Type == nil || strings.TrimSpace(*in.Type) == "" {
		errs.add("body.type", "required")
	} else if err := tax.Check(domain.DomainAssetType, strings.TrimSpace(*in.Type), "body.type"); err != nil {
		errs.addErr(err)
	} else {
		a.Type, typeOK = strings.TrimSpace(*in.Type), true
	}
	targetOK := false
	if typeOK {
		if a.Target, err = NormalizeTarget(a.Type, deref(in.Target)); err != nil {
			errs.add("body.target", err.Error())
		} else {
			targetOK = true
		}
	}
	if a.Name, err = domain.CleanName(deref(in.Name), "body.name", false, MaxName); err != nil {
		errs.addErr(err)
	} else if a.Name == "" {
		if a.Target != "" {
			a.Name = a.Target
			if len([]rune(a.Name)) > MaxName {
				a.Name = string([]rune(a.Name)[:MaxName])
			}
		} else if targetOK {
			errs.add("body.name", "required when the asset has no target")
		}
	}
	if in.Tags != nil {
		if a.Tags, err = NormalizeTags(*in.Tags); err != nil {
			errs.add("body.tags", err.Error())
		}
	}
	if a.Description, err = clients.CleanText(deref(in.Description), "body.description", MaxDescription); err != nil {
		errs.addErr(err)
	}
	if c := strings.TrimSpace(deref(in.ClientID)); c != "" {
		ok, err := s.clientOK(ctx, p.OrgID, c)
		if err != nil {
			return domain.Asset{}, err
		}
		if !ok {
			errs.add("body.client_id", noSuchClient)
		}
		a.ClientID = c
	}
	if targetOK {
		if err := s.checkGuard(ctx, p.OrgID, a.Type, a.Target, &errs); err != nil {
			return domain.Asset{}, err
		}
	}
	if err := errs.err("asset"); err != nil {
		return domain.Asset{}, err
	}
	now := s.Clock()
	a.ID, a.CreatedAt, a.UpdatedAt = domain.NewIDAt(now), now, now
	if a.Tags == nil {
		a.Tags = []string{}
	}
	if err := s.Store.CreateAsset(ctx, p.OrgID, a); err != nil {
		return domain.Asset{}, err
	}
	return a, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Get returns an asset the principal may see.
func (s *Service) Get(ctx context.Context, p domain.Principal, id string) (domain.Asset, error) {
	if !domain.ValidID(id) {
		return domain.Asset{}, domain.NotFound("asset")
	}
	a, err := s.Store.GetAsset(ctx, p.OrgID, id)
	if err != nil {
		return domain.Asset{}, err
	}
	if !p.CanSeeClient(a.ClientID) {
		return domain.Asset{}, domain.NotFound("asset")
	}
	return a, nil
}

// errChanged reports that an entity changed between its validation and its
// write: the update is validated again against the new state.
var errChanged = errors.New("changed since it was read")

// Update changes an asset; ifMatch, when set, must match its ETag. What is
// validated depends on the stored state (the target's type, the marker to
// move), so a concurrent change in between makes it start over rather than
// write values checked against another state.
func (s *Service) Update(ctx context.Context, p domain.Principal, id string, in Input, ifMatch string) (domain.Asset, error) {
	for range 5 {
		a, err := s.update(ctx, p, id, in, ifMatch)
		if !errors.Is(err, errChanged) {
			return a, err
		}
	}
	return domain.Asset{}, domain.E(domain.KindConflict, "the asset changed concurrently; retry")
}

func (s *Service) update(ctx context.Context, p domain.Principal, id string, in Input, ifMatch string) (domain.Asset, error) {
	cur, err := s.Get(ctx, p, id)
	if err != nil {
		return domain.Asset{}, err
	}
	if !clients.ETagMatches(ifMatch, ETag(cur)) {
		return domain.Asset{}, clients.ErrStale("asset")
	}
	var errs fields
	next := cur
	typeChanged := in.Type != nil && strings.TrimSpace(*in.Type) != cur.Type
	if typeChanged {
		tax, err := s.Taxonomy.CurrentTaxonomy(ctx, p.OrgID)
		if err != nil {
			return domain.Asset{}, err
		}
		t := strings.TrimSpace(*in.Type)
		if t == "" {
			errs.add("body.type", "must not be empty")
		} else if err := tax.Check(domain.DomainAssetType, t, "body.type"); err != nil {
			errs.addErr(err)
		}
		next.Type = t
	}
	targetChanged := false
	if len(errs) == 0 && (typeChanged || in.Target != nil) {
		raw := cur.Target
		if in.Target != nil {
			raw = *in.Target
		}
		t, err := NormalizeTarget(next.Type, raw)
		if err != nil {
			errs.add("body.target", err.Error())
		} else {
			targetChanged = t != cur.Target
			next.Target = t
		}
	}
	if in.Name != nil {
		n, err := domain.CleanName(*in.Name, "body.name", false, MaxName)
		if err != nil {
			errs.addErr(err)
		} else if n == "" {
			if next.Target == "" {
				errs.add("body.name", "required when the asset has no target")
			}
			n = next.Target
			if len([]rune(n)) > MaxName {
				n = string([]rune(n)[:MaxName])
			}
		}
		next.Name = n
	}
	if in.Tags != nil {
		tags, err := NormalizeTags(*in.Tags)
		if err != nil {
			errs.add("body.tags", err.Error())
		}
		next.Tags = tags
	}
	if in.Description != nil {
		d, err := clients.CleanText(*in.Description, "body.description", MaxDescription)
		errs.addErr(err)
		next.Description = d
	}
	if in.ClientID != nil {
		c := strings.TrimSpace(*in.ClientID)
		if c != "" && c != cur.ClientID {
			ok, err := s.clientOK(ctx, p.OrgID, c)
			if err != nil {
				return domain.Asset{}, err
			}
			if !ok {
				errs.add("body.client_id", noSuchClient)
			}
		}
		next.ClientID = c
	}
	if len(errs) == 0 && (typeChanged || targetChanged) {
		if err := s.checkGuard(ctx, p.OrgID, next.Type, next.Target, &errs); err != nil {
			return domain.Asset{}, err
		}
	}
	if err := errs.err("asset"); err != nil {
		return domain.Asset{}, err
	}
	return s.Store.UpdateAsset(ctx, p.OrgID, id, func(a *domain.Asset) error {
		if !clients.ETagMatches(ifMatch, ETag(*a)) {
			return clients.ErrStale("asset")
		}
		if ETag(*a) != ETag(cur) {
			return errChanged
		}
		updated := clients.Touch(s.Clock(), a.UpdatedAt)
		*a = next
		a.UpdatedAt = updated
		if a.Tags == nil {
			a.Tags = []string{}
		}
		return nil
	})
}

// Delete removes an asset. Findings keep their own snapshot of the asset's
// type and target, so nothing else has to change.
func (s *Service) Delete(ctx context.Context, p domain.Principal, id string) error {
	if _, err := s.Get(ctx, p, id); err != nil {
		return err
	}
	return s.Store.DeleteAsset(ctx, p.OrgID, id)
}

// List lists the assets the principal may see, newest first. A client
// member's list is forced to its client.
func (s *Service) List(ctx context.Context, p domain.Principal, f Filter, page domain.PageRequest) (domain.Page[domain.Asset], error) {
	f.ClientID, f.Type, f.Query = strings.TrimSpace(f.ClientID), strings.TrimSpace(f.Type), strings.TrimSpace(f.Query)
	var errs fields
	if f.Type != "" {
		tax, err := s.Taxonomy.CurrentTaxonomy(ctx, p.OrgID)
		if err != nil {
			return domain.Page[domain.Asset]{}, err
		}
		errs.addErr(tax.Check(domain.DomainAssetType, f.Type, "query.type"))
	}
	if f.Tag != "" {
		t, err := NormalizeTag(f.Tag)
		if err != nil {
			errs.add("query.tag", err.Error())
		}
		f.Tag = t
	}
	if err := errs.err("filter"); err != nil {
		return domain.Page[domain.Asset]{}, err
	}
	empty := domain.Page[domain.Asset]{Items: []domain.Asset{}, Request: page}
	var visible bool
	if f.ClientID, visible = p.ClientScope(f.ClientID); !visible {
		return empty, nil
	}
	return s.Store.ListAssets(ctx, p.OrgID, f, page)
}

// ETag is the entity tag of an asset.
func ETag(a domain.Asset) string { return clients.ETagOf(a.UpdatedAt) }
