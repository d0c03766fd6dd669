package routes

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
	"rampart/shared/taxonomy"
)

// Taxonomy serves /taxonomy: the organization's versioned vocabulary.
type Taxonomy struct {
	Service *taxonomy.Service
}

// TaxonomyValueView is one value of a domain.
type TaxonomyValueView struct {
	Value       string `json:"value" doc:"Stable code stored in findings, sessions and assets"`
	Label       string `json:"label"`
	SortOrder   int    `json:"sort_order"`
	Color       string `json:"color" doc:"#rrggbb"`
	NIS2        string `json:"nis2,omitempty" enum:"a,b,c,d,e,f,g,h,i,j" doc:"Categories only: the NIS2 Article 21(2) point the category evidences"`
	Description string `json:"description,omitempty"`
}

// TaxonomyDomainsView holds the five domains of a version, each ordered by
// sort_order.
type TaxonomyDomainsView struct {
	RiskLevel         []TaxonomyValueView `json:"risk_level" doc:"Finding severities"`
	RemediationStatus []TaxonomyValueView `json:"remediation_status" doc:"Finding statuses"`
	SessionStatus     []TaxonomyValueView `json:"session_status"`
	AssetType         []TaxonomyValueView `json:"asset_type"`
	Category          []TaxonomyValueView `json:"category" doc:"What a finding is about; each may name a NIS2 Article 21(2) point"`
}

// TaxonomyView is one version.
type TaxonomyView struct {
	Version   int                 `json:"version"`
	Active    bool                `json:"active" doc:"Whether this is the current version"`
	CreatedAt time.Time           `json:"created_at"`
	CreatedBy string              `json:"created_by" doc:"User id of the admin who created it; \"system\" for the built-in version 1"`
	Domains   TaxonomyDomainsView `json:"domains"`
}

func valueViews(vs []domain.TaxonomyValue) []TaxonomyValueView {
	out := make([]TaxonomyValueView, len(vs))
	for i, v := range vs {
		out[i] = TaxonomyValueView{Value: v.Value, Label: v.Label, SortOrder: v.SortOrder, Color: v.Color,
			NIS2: v.NIS2, Description: v.Description}
	}
	return out
}

func newTaxonomyView(v taxonomy.Version) TaxonomyView {
	d := v.Domains
	return TaxonomyView{Version: v.Taxonomy.Version, Active: v.Active, CreatedAt: v.CreatedAt, CreatedBy: v.CreatedBy,
		Domains: TaxonomyDomainsView{
			RiskLevel:         valueViews(d[domain.DomainRiskLevel]),
			RemediationStatus: valueViews(d[domain.DomainRemediationStatus]),
			SessionStatus:     valueViews(d[domain.DomainSessionStatus]),
			AssetType:         valueViews(d[domain.DomainAssetType]),
			Category:          valueViews(d[domain.DomainCategory]),
		}}
}

// TaxonomyValueInput is one value of a new version. Every field is checked
// by the service, which names the field at fault.
type TaxonomyValueInput struct {
	Value       string `json:"value,omitempty" doc:"Required: lowercase slug ^[a-z][a-z0-9_]{0,63}$, unique in its domain"`
	Label       string `json:"label,omitempty" doc:"Required: 1 to 200 characters"`
	SortOrder   *int   `json:"sort_order,omitempty" doc:"Required: 0 to 1000000, unique in its domain"`
	Color       string `json:"color,omitempty" doc:"Required: #rrggbb"`
	NIS2        string `json:"nis2,omitempty" doc:"Categories only, optional: a NIS2 Article 21(2) point, a to j"`
	Description string `json:"description,omitempty" doc:"Optional: at most 500 characters"`
}

// TaxonomyDomainsInput holds the five domains of a new version; each is
// required and holds at most 100 values.
type TaxonomyDomainsInput struct {
	RiskLevel         []TaxonomyValueInput `json:"risk_level,omitempty" doc:"Must keep critical, high, medium, low, info"`
	RemediationStatus []TaxonomyValueInput `json:"remediation_status,omitempty" doc:"Must keep open, in_progress, resolved, accepted_risk, false_positive"`
	SessionStatus     []TaxonomyValueInput `json:"session_status,omitempty" doc:"Must keep planned, in_progress, completed, cancelled"`
	AssetType         []TaxonomyValueInput `json:"asset_type,omitempty" doc:"Must keep domain, host, ip, url"`
	Category          []TaxonomyValueInput `json:"category,omitempty" doc:"Must keep the scanner's categories: cryptography, tls, certificates, http_headers, email_security, dns, exposed_services, information_disclosure, configuration"`
}

// NewTaxonomyVersion is POST /taxonomy/versions: the five domains, either
// under "domains" (the shape GET returns, so a version read can be changed
// and posted back; its read-only fields are ignored) or at the top level.
type NewTaxonomyVersion struct {
	Domains *TaxonomyDomainsInput `json:"domains,omitempty"`
	TaxonomyDomainsInput
	Version   *int       `json:"version,omitempty" readOnly:"true" doc:"Ignored: the server numbers versions"`
	Active    *bool      `json:"active,omitempty" readOnly:"true" doc:"Ignored: a new version is always made current"`
	CreatedAt *time.Time `json:"created_at,omitempty" readOnly:"true" doc:"Ignored"`
	CreatedBy *string    `json:"created_by,omitempty" readOnly:"true" doc:"Ignored"`
}

func (in TaxonomyDomainsInput) empty() bool {
	return in.RiskLevel == nil && in.RemediationStatus == nil && in.SessionStatus == nil && in.AssetType == nil && in.Category == nil
}

func (in TaxonomyDomainsInput) toDomain() map[string][]domain.TaxonomyValue {
	out := map[string][]domain.TaxonomyValue{}
	for name, vs := range map[string][]TaxonomyValueInput{
		domain.DomainRiskLevel: in.RiskLevel, domain.DomainRemediationStatus: in.RemediationStatus,
		domain.DomainSessionStatus: in.SessionStatus, domain.DomainAssetType: in.AssetType, domain.DomainCategory: in.Category,
	} {
		if vs == nil {
			continue // absent: the service reports it as required
		}
		conv := make([]domain.TaxonomyValue, len(vs))
		for i, v := range vs {
			order := -1 // absent: reported as required
			if v.SortOrder != nil {
				order = *v.SortOrder
			}
			conv[i] = domain.TaxonomyValue{Value: v.Value, Label: v.Label, SortOrder: order, Color: v.Color,
				NIS2: v.NIS2, Description: v.Description}
		}
		out[name] = conv
	}
	return out
}

// ActivateTaxonomyRequest is POST /taxonomy/activate.
type ActivateTaxonomyRequest struct {
	Version *int `json:"version,omitempty" doc:"Required: the number of an existing version"`
}

type taxonomyOutput struct{ Body TaxonomyView }

// Register adds the taxonomy routes.
func (h *Taxonomy) Register(api huma.API) {
	tags := []string{"Taxonomy"}
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "get-current-taxonomy", Method: http.MethodGet, Path: "/api/v1/taxonomy/current",
		Summary: "The organization's current taxonomy version", Tags: tags,
	}, func(ctx context.Context, _ *struct{}) (*taxonomyOutput, error) {
		v, err := h.Service.Current(ctx, httpapi.PrincipalFrom(ctx).OrgID)
		if err != nil {
			return nil, err
		}
		return &taxonomyOutput{Body: newTaxonomyView(v)}, nil
	})
	httpapi.Register(api, httpapi.Admin, huma.Operation{
		OperationID: "list-taxonomy-versions", Method: http.MethodGet, Path: "/api/v1/taxonomy/versions",
		Summary: "Every taxonomy version, newest first", Tags: tags,
		Description: "total is the number of versions (versions are numbered from 1 without gaps and never deleted).",
	}, func(ctx context.Context, in *struct{ httpapi.PageQuery }) (*httpapi.PageOutput[TaxonomyView], error) {
		p, err := h.Service.Versions(ctx, httpapi.PrincipalFrom(ctx).OrgID, in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, newTaxonomyView), nil
	})
	httpapi.Register(api, httpapi.Admin, huma.Operation{
		OperationID: "get-taxonomy-version", Method: http.MethodGet, Path: "/api/v1/taxonomy/versions/{version}",
		Summary: "One taxonomy version", Tags: tags,
	}, func(ctx context.Context, in *struct {
		Version int `path:"version" minimum:"1" maximum:"1000000000"`
	}) (*taxonomyOutput, error) {
		v, err := h.Service.Get(ctx, httpapi.PrincipalFrom(ctx).OrgID, in.Version)
		if err != nil {
			return nil, err
		}
		return &taxonomyOutput{Body: newTaxonomyView(v)}, nil
	})
	httpapi.Register(api, httpapi.Admin, huma.Operation{
		OperationID: "create-taxonomy-version", Method: http.MethodPost, Path: "/api/v1/taxonomy/versions",
		Summary: "Create a new taxonomy version and make it current", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "Versions are immutable: a change is a new version, numbered after the latest. The body holds " +
			"all five domains (under \"domains\", as GET returns them, or at the top level). Values the system relies " +
			"on (severities, finding statuses, session statuses, network asset types, the scanner's categories) may be " +
			"relabelled, recoloured or reordered but not dropped. Existing findings, sessions and assets keep their values.",
		Errors: []int{http.StatusConflict},
	}, func(ctx context.Context, in *struct{ Body NewTaxonomyVersion }) (*taxonomyOutput, error) {
		input, loc := in.Body.TaxonomyDomainsInput, "body"
		if in.Body.Domains != nil {
			if !input.empty() {
				return nil, domain.Invalid("give the domains either under \"domains\" or at the top level, not both",
					domain.FieldError{Location: "body.domains", Message: "not together with top-level domains"})
			}
			input, loc = *in.Body.Domains, "body.domains"
		}
		p := httpapi.PrincipalFrom(ctx)
		v, err := h.Service.Create(ctx, p.OrgID, p.UserID, input.toDomain(), loc)
		if err != nil {
			return nil, err
		}
		return &taxonomyOutput{Body: newTaxonomyView(v)}, nil
	})
	httpapi.Register(api, httpapi.Admin, huma.Operation{
		OperationID: "activate-taxonomy-version", Method: http.MethodPost, Path: "/api/v1/taxonomy/activate",
		Summary: "Make an existing taxonomy version current again", Tags: tags,
		Description: "An unknown version number is 422 (errors[].location body.version). Activating the current version is a no-op.",
	}, func(ctx context.Context, in *struct{ Body ActivateTaxonomyRequest }) (*taxonomyOutput, error) {
		if in.Body.Version == nil {
			return nil, domain.Invalid("version is required", domain.FieldError{Location: "body.version", Message: "required"})
		}
		v, err := h.Service.Activate(ctx, httpapi.PrincipalFrom(ctx).OrgID, *in.Body.Version)
		if err != nil {
			return nil, err
		}
		return &taxonomyOutput{Body: newTaxonomyView(v)}, nil
	})
}
