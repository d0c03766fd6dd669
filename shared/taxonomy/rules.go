// Package taxonomy holds the rules of an organization's versioned
// vocabulary: which domains a version holds, what a valid value looks like,
// which values the system relies on, and the built-in version 1 every
// organization starts with. Versions are immutable: a change is a new version
// that becomes current; an older one can be made current again.
package taxonomy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"rampart/shared/domain"
)

// Limits of one version.
const (
	MaxValues      = 100 // values per domain
	MaxLabel       = 200 // characters
	MaxDescription = 500 // characters
	MaxSortOrder   = 1_000_000
	// MaxEncoded bounds a version's encoded size, well under DynamoDB's item
	// limit (a version is stored twice: its own item and the pointer's copy of
	// the current version, each its own item).
	MaxEncoded = 256 << 10
	// maxFieldErrors bounds the errors one answer lists.
	maxFieldErrors = 50
)

// ScannerCategories are the technical categories the scanner files its
// findings under.
var ScannerCategories = []string{
	"cryptography", "tls", "certificates", "http_headers", "email_security",
	"dns", "exposed_services", "information_disclosure", "configuration",
}

// Required lists, per domain, the values the system relies on: a new version
// may relabel, recolour or reorder them and add values, but not drop them.
var Required = map[string][]string{
	domain.DomainRiskLevel:         domain.Severities,
	domain.DomainRemediationStatus: domain.FindingStatuses,
	domain.DomainSessionStatus:     domain.SessionStatuses,
	domain.DomainAssetType:         domain.NetworkAssets,
	domain.DomainCategory:          ScannerCategories,
}

// NIS2Points are the points of NIS2 Article 21(2) a category may evidence.
var NIS2Points = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}

var (
	valuePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

// Normalize checks the domains of a new version against every rule and
// returns them cleaned: labels and descriptions trimmed, colours lowercase,
// each domain ordered by sort_order. loc is where the domains sit in the
// request ("body.domains"); each error names the field at fault, e.g.
// "body.domains.risk_level[2].color".
func Normalize(domains map[string][]domain.TaxonomyValue, loc string) (map[string][]domain.TaxonomyValue, error) {
	var errs []domain.FieldError
	add := func(location, format string, args ...any) {
		errs = append(errs, domain.FieldError{Location: location, Message: fmt.Sprintf(format, args...)})
	}
	names := make([]string, 0, len(domains))
	for name := range domains {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !slices.Contains(domain.TaxonomyDomains, name) {
			add(loc+"."+name, "unknown domain; a version holds exactly %s", strings.Join(domain.TaxonomyDomains, ", "))
		}
	}
	out := make(map[string][]domain.TaxonomyValue, len(domain.TaxonomyDomains))
	for _, name := range domain.TaxonomyDomains {
		values, ok := domains[name]
		dloc := loc + "." + name
		if !ok || values == nil {
			add(dloc, "required: every version holds the domains %s", strings.Join(domain.TaxonomyDomains, ", "))
			continue
		}
		if len(values) > MaxValues {
			add(dloc, "at most %d values", MaxValues)
			continue
		}
		clean := make([]domain.TaxonomyValue, len(values))
		seenValue := map[string]int{}
		seenOrder := map[int]int{}
		for i, v := range values {
			vloc := fmt.Sprintf("%s[%d]", dloc, i)
			v.Label = strings.TrimSpace(v.Label)
			v.Description = strings.TrimSpace(v.Description)
			v.Color = strings.ToLower(v.Color)
			switch {
			case v.Value == "":
				add(vloc+".value", "required")
			case !valuePattern.MatchString(v.Value):
				add(vloc+".value", "must be a lowercase slug: a letter, then up to 63 letters, digits or underscores")
			default:
				if j, dup := seenValue[v.Value]; dup {
					add(vloc+".value", "duplicate value %q (also at %s[%d])", v.Value, dloc, j)
				} else {
					seenValue[v.Value] = i
				}
			}
			switch {
			case v.Label == "":
				add(vloc+".label", "required: a non-empty label")
			case utf8.RuneCountInString(v.Label) > MaxLabel:
				add(vloc+".label", "at most %d characters", MaxLabel)
			case hasControl(v.Label):
				add(vloc+".label", "must not contain control characters")
			}
			if v.SortOrder < 0 || v.SortOrder > MaxSortOrder {
				add(vloc+".sort_order", "required: an integer between 0 and %d", MaxSortOrder)
			} else if j, dup := seenOrder[v.SortOrder]; dup {
				add(vloc+".sort_order", "duplicate sort_order %d (also at %s[%d])", v.SortOrder, dloc, j)
			} else {
				seenOrder[v.SortOrder] = i
			}
			if !colorPattern.MatchString(v.Color) {
				add(vloc+".color", "required: a colour as #rrggbb")
			}
			switch {
			case v.NIS2 == "":
			case name != domain.DomainCategory:
				add(vloc+".nis2", "only categories name a NIS2 Article 21(2) point")
			case !slices.Contains(NIS2Points, v.NIS2):
				add(vloc+".nis2", "must be one of a, b, c, d, e, f, g, h, i, j (NIS2 Article 21(2) points)")
			}
			if utf8.RuneCountInString(v.Description) > MaxDescription {
				add(vloc+".description", "at most %d characters", MaxDescription)
			}
			clean[i] = v
		}
		var missing []string
		for _, r := range Required[name] {
			if _, ok := seenValue[r]; !ok {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			add(dloc, "cannot drop values the system relies on (they may be relabelled or recoloured): missing %s",
				strings.Join(missing, ", "))
		}
		sort.SliceStable(clean, func(a, b int) bool { return clean[a].SortOrder < clean[b].SortOrder })
		out[name] = clean
	}
	if len(errs) == 0 {
		if b, _ := json.Marshal(out); len(b) > MaxEncoded {
			add(loc, "the version is too large: at most %d KiB encoded", MaxEncoded>>10)
		}
	}
	if len(errs) > 0 {
		if len(errs) > maxFieldErrors {
			errs = errs[:maxFieldErrors]
		}
		return nil, domain.Invalid("invalid taxonomy version", errs...)
	}
	return out, nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// Clone deep-copies a taxonomy, so that callers cannot change a shared one.
func Clone(t domain.Taxonomy) domain.Taxonomy {
	c := t
	c.Domains = make(map[string][]domain.TaxonomyValue, len(t.Domains))
	for k, v := range t.Domains {
		c.Domains[k] = slices.Clone(v)
	}
	return c
}
