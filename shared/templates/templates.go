// Package templates holds the rules of finding templates: reusable finding
// text (title, description, remediation, severity, category, references and
// an optional CVSS vector) that a finding can start from. Severity and
// category are validated against the organization's current taxonomy. Every
// organization starts with a copy of the built-in templates, which it may then
// edit or delete like its own.
package templates

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"rampart/shared/cvss"
	"rampart/shared/domain"
)

// Limits of a template.
const (
	MaxTitle      = 300
	MaxText       = 20000 // description, remediation
	MaxReferences = 20
	MaxReference  = 2048
)

// Stored is a template with its version, which increases with every change
// and is the ETag.
type Stored struct {
	domain.Template
	Version int
}

// Filter narrows a template list; empty fields do not filter.
type Filter struct {
	Severity string
	Category string
	Query    string // matched case-insensitively against title and description
}

// Empty reports whether the filter selects everything.
func (f Filter) Empty() bool { return f.Severity == "" && f.Category == "" && f.Query == "" }

// Matches reports whether t passes the filter.
func (f Filter) Matches(t domain.Template) bool {
	if f.Severity != "" && t.Severity != f.Severity {
		return false
	}
	if f.Category != "" && t.Category != f.Category {
		return false
	}
	if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
		return strings.Contains(strings.ToLower(t.Title), q) || strings.Contains(strings.ToLower(t.Description), q)
	}
	return true
}

// Store is the persistence port of templates.
type Store interface {
	// CreateTemplate writes a new template and counts it, in one transaction.
	CreateTemplate(ctx context.Context, orgID string, t domain.Template) error
	GetTemplate(ctx context.Context, orgID, id string) (Stored, error)
	// ListTemplates lists in id order (creation order; the built-in
	// templates first). total comes from a counter without a filter.
	ListTemplates(ctx context.Context, orgID string, f Filter, page domain.PageRequest) (domain.Page[Stored], error)
	// UpdateTemplate applies fn to the current template and writes the
	// result on the condition that it did not change meanwhile, retrying
	// otherwise. ifVersion > 0 requires the stored version to be ifVersion
	// (Precondition otherwise).
	UpdateTemplate(ctx context.Context, orgID, id string, ifVersion int, fn func(*domain.Template) error) (Stored, error)
	// DeleteTemplate removes a template and uncounts it, in one transaction.
	DeleteTemplate(ctx context.Context, orgID, id string) error
	// SeedTemplates writes each template whose id is absent (counting it)
	// and skips the others; it returns how many it wrote.
	SeedTemplates(ctx context.Context, orgID string, ts []domain.Template) (int, error)
}

// Fields are the writable fields of a template; nil means "not given" (and,
// in a patch, "unchanged").
type Fields struct {
	Title       *string
	Description *string
	Remediation *string
	Severity    *string
	Category    *string
	References  *[]string
	CVSSVector  *string
}

// Service implements the template use cases.
type Service struct {
	Store    Store
	Taxonomy domain.TaxonomySource
	Clock    domain.Clock
}

func (s *Service) now() domain.Clock {
	if s.Clock == nil {
		return domain.SystemClock
	}
	return s.Clock
}

// Seed copies the built-in templates into a new organization; repeating it
// writes nothing twice.
func (s *Service) Seed(ctx context.Context, orgID string) error {
	_, err := s.Store.SeedTemplates(ctx, orgID, Builtin(s.now()()))
	return err
}

// Create checks and writes a new template. Title and severity are required.
func (s *Service) Create(ctx context.Context, orgID string, f Fields) (Stored, error) {
	clean, err := s.check(ctx, orgID, f, true)
	if err != nil {
		return Stored{}, err
	}
	now := s.now()()
	t := domain.Template{ID: domain.NewIDAt(now), CreatedAt: now, UpdatedAt: now}
	clean.apply(&t)
	if err := s.Store.CreateTemplate(ctx, orgID, t); err != nil {
		return Stored{}, err
	}
	return Stored{Template: t, Version: 1}, nil
}

// Get returns one template.
func (s *Service) Get(ctx context.Context, orgID, id string) (Stored, error) {
	return s.Store.GetTemplate(ctx, orgID, id)
}

// List returns one page of templates.
func (s *Service) List(ctx context.Context, orgID string, f Filter, page domain.PageRequest) (domain.Page[Stored], error) {
	if f.Severity != "" {
		f.Severity = normalizeSeverity(f.Severity)
	}
	f.Category = strings.ToLower(strings.TrimSpace(f.Category))
	return s.Store.ListTemplates(ctx, orgID, f, page)
}

// Update changes the given fields. ifVersion > 0 is the If-Match version.
func (s *Service) Update(ctx context.Context, orgID, id string, ifVersion int, f Fields) (Stored, error) {
	clean, err := s.check(ctx, orgID, f, false)
	if err != nil {
		return Stored{}, err
	}
	now := s.now()()
	return s.Store.UpdateTemplate(ctx, orgID, id, ifVersion, func(t *domain.Template) error {
		clean.apply(t)
		t.UpdatedAt = now
		return nil
	})
}

// Delete removes a template; built-in ones too (they are the
// organization's copies).
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	return s.Store.DeleteTemplate(ctx, orgID, id)
}

// check validates and normalises the given fields, reading the current
// taxonomy only when severity or category is given.
func (s *Service) check(ctx context.Context, orgID string, f Fields, create bool) (Fields, error) {
	var tax *domain.Taxonomy
	if f.Severity != nil || (f.Category != nil && strings.TrimSpace(*f.Category) != "") {
		t, err := s.Taxonomy.CurrentTaxonomy(ctx, orgID)
		if err != nil {
			return Fields{}, err
		}
		tax = &t
	}
	return Check(f, tax, create)
}

// Check validates and normalises fields against a taxonomy (which may be nil
// when neither severity nor category is given). Every invalid field is named
// in the one error returned.
func Check(f Fields, tax *domain.Taxonomy, create bool) (Fields, error) {
	var errs []domain.FieldError
	add := func(loc, format string, args ...any) {
		errs = append(errs, domain.FieldError{Location: loc, Message: fmt.Sprintf(format, args...)})
	}
	out := Fields{}
	switch {
	case f.Title == nil:
		if create {
			add("body.title", "required")
		}
	default:
		title := strings.TrimSpace(*f.Title)
		switch {
		case title == "":
			add("body.title", "required: a non-empty title")
		case utf8.RuneCountInString(title) > MaxTitle:
			add("body.title", "at most %d characters", MaxTitle)
		case strings.ContainsFunc(title, unicode.IsControl):
			add("body.title", "must be one line without control characters")
		default:
			out.Title = &title
		}
	}
	for _, txt := range []struct {
		loc string
		in  *string
		out **string
	}{{"body.description", f.Description, &out.Description}, {"body.remediation", f.Remediation, &out.Remediation}} {
		if txt.in == nil {
			continue
		}
		v := strings.TrimSpace(*txt.in)
		if utf8.RuneCountInString(v) > MaxText {
			add(txt.loc, "at most %d characters", MaxText)
			continue
		}
		*txt.out = &v
	}
	switch {
	case f.Severity == nil:
		if create {
			add("body.severity", "required")
		}
	default:
		v := normalizeSeverity(*f.Severity)
		if err := checkIn(tax, domain.DomainRiskLevel, v, "body.severity"); err != nil {
			errs = append(errs, err...)
		} else {
			out.Severity = &v
		}
	}
	if f.Category != nil {
		v := strings.ToLower(strings.TrimSpace(*f.Category))
		if v == "" {
			out.Category = &v // clears the category
		} else if err := checkIn(tax, domain.DomainCategory, v, "body.category"); err != nil {
			errs = append(errs, err...)
		} else {
			out.Category = &v
		}
	}
	if f.References != nil {
		refs := *f.References
		if len(refs) > MaxReferences {
			add("body.references", "at most %d references", MaxReferences)
		} else {
			clean := make([]string, 0, len(refs))
			ok := true
			for i, r := range refs {
				r = strings.TrimSpace(r)
				if msg := checkURL(r); msg != "" {
					add(fmt.Sprintf("body.references[%d]", i), "%s", msg)
					ok = false
				}
				clean = append(clean, r)
			}
			if ok {
				out.References = &clean
			}
		}
	}
	if f.CVSSVector != nil {
		v := strings.TrimSpace(*f.CVSSVector)
		if v != "" {
			if _, _, err := cvss.ParseAt(v, "body.cvss_vector"); err != nil {
				var de *domain.Error
				if !errors.As(err, &de) || len(de.Fields) == 0 {
					return Fields{}, err
				}
				errs = append(errs, de.Fields...)
			}
		}
		out.CVSSVector = &v
	}
	if len(errs) > 0 {
		return Fields{}, domain.Invalid("invalid template", errs...)
	}
	return out, nil
}

func (f Fields) apply(t *domain.Template) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&t.Title, f.Title)
	set(&t.Description, f.Description)
	set(&t.Remediation, f.Remediation)
	set(&t.Severity, f.Severity)
	set(&t.Category, f.Category)
	set(&t.CVSSVector, f.CVSSVector)
	if f.References != nil {
		t.References = *f.References
	}
}

// normalizeSeverity accepts any case and "informational" for "info".
func normalizeSeverity(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "informational" {
		return "info"
	}
	return s
}

func checkIn(tax *domain.Taxonomy, domainName, value, loc string) []domain.FieldError {
	if tax == nil {
		return []domain.FieldError{{Location: loc, Message: "cannot be checked without a taxonomy"}}
	}
	if err := tax.Check(domainName, value, loc); err != nil {
		if de, ok := err.(*domain.Error); ok && len(de.Fields) > 0 {
			return de.Fields
		}
		return []domain.FieldError{{Location: loc, Message: err.Error()}}
	}
	return nil
}

// checkURL returns why r is not an acceptable reference, or "".
func checkURL(r string) string {
	if r == "" {
		return "required: an http(s) URL"
	}
	if len(r) > MaxReference {
		return fmt.Sprintf("at most %d characters", MaxReference)
	}
	u, err := url.Parse(r)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "must be an absolute http:// or https:// URL"
	}
	if strings.ContainsFunc(r, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) {
		return "must not contain spaces or control characters"
	}
	return ""
}
