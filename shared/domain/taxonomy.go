package domain

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Taxonomy domains: the fixed set every version holds.
const (
	DomainRiskLevel         = "risk_level"         // finding severity
	DomainRemediationStatus = "remediation_status" // finding status
	DomainSessionStatus     = "session_status"
	DomainAssetType         = "asset_type"
	DomainCategory          = "category"
)

// TaxonomyDomains lists the domains in a stable order.
var TaxonomyDomains = []string{DomainRiskLevel, DomainRemediationStatus, DomainSessionStatus, DomainAssetType, DomainCategory}

// Severities, statuses and network asset types are relied on by the system
// (scoring, deduplication, the scanner): a taxonomy may relabel them but not
// drop them.
var (
	Severities      = []string{"critical", "high", "medium", "low", "info"}
	FindingStatuses = []string{"open", "in_progress", "resolved", "accepted_risk", "false_positive"}
	NetworkAssets   = []string{"domain", "host", "ip", "url"}
	SessionStatuses = []string{"planned", "in_progress", "completed", "cancelled"}
)

// SeverityRank orders severities, most severe first (0); unknown last.
func SeverityRank(s string) int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return len(Severities)
}

// TaxonomyValue is one value of a domain.
type TaxonomyValue struct {
	Value     string `json:"value" yaml:"value"`
	Label     string `json:"label" yaml:"label"`
	SortOrder int    `json:"sort_order" yaml:"sort_order"`
	Color     string `json:"color" yaml:"color"`
	// NIS2 is the Article 21(2) point a category evidences, "a" to "j".
	NIS2        string `json:"nis2,omitempty" yaml:"nis2,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// Taxonomy is one immutable version of an organization's vocabulary.
type Taxonomy struct {
	Version   int
	Domains   map[string][]TaxonomyValue
	CreatedAt time.Time
	CreatedBy string
}

// Lookup returns a domain's value.
func (t Taxonomy) Lookup(domain, value string) (TaxonomyValue, bool) {
	for _, v := range t.Domains[domain] {
		if v.Value == value {
			return v, true
		}
	}
	return TaxonomyValue{}, false
}

// Check validates value against a domain of the taxonomy; location names the
// field in the error.
func (t Taxonomy) Check(domain, value, location string) error {
	if _, ok := t.Lookup(domain, value); ok {
		return nil
	}
	vals := make([]string, 0, len(t.Domains[domain]))
	for _, v := range t.Domains[domain] {
		vals = append(vals, v.Value)
	}
	sort.Strings(vals)
	return Invalid(fmt.Sprintf("unknown %s %q", domain, value),
		FieldError{Location: location, Message: fmt.Sprintf("must be one of the taxonomy's %s values: %v", domain, vals)})
}

// TaxonomySource returns an organization's active taxonomy version; finding,
// session and asset fields are validated against it.
type TaxonomySource interface {
	CurrentTaxonomy(ctx context.Context, orgID string) (Taxonomy, error)
}
