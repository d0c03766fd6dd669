package routes

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
	"rampart/shared/findings"
	"rampart/shared/httpapi"
)

// Findings serves /findings.
type Findings struct {
	Findings *findings.Service
	Taxonomy domain.TaxonomySource
}

// FindingView is a finding as the API shows it.
type FindingView struct {
	ID             string     `json:"id"`
	Title          string     `json:"title"`
	Description    string     `json:"description"`
	Severity       string     `json:"severity"`
	Status         string     `json:"status"`
	Category       string     `json:"category"`
	NIS2           string     `json:"nis2,omitempty" doc:"NIS2 Article 21(2) point the finding's category evidences (a to j)"`
	AssetID        string     `json:"asset_id"`
	Asset          AssetRef   `json:"asset" doc:"The asset as it was when the finding was recorded"`
	SessionID      string     `json:"session_id,omitempty"`
	ClientID       string     `json:"client_id,omitempty"`
	CVSSVector     string     `json:"cvss_vector,omitempty"`
	CVSSScore      *float64   `json:"cvss_score,omitempty"`
	CVSSVersion    string     `json:"cvss_version,omitempty"`
	Evidence       string     `json:"evidence"`
	Remediation    string     `json:"remediation"`
	References     []string   `json:"references"`
	ResolutionNote string     `json:"resolution_note"`
	TemplateID     string     `json:"template_id,omitempty"`
	Source         string     `json:"source" enum:"manual,scan"`
	CheckID        string     `json:"check_id,omitempty"`
	Fingerprint    string     `json:"fingerprint,omitempty"`
	FirstSeenAt    *time.Time `json:"first_seen_at,omitempty"`
	LastSeenAt     *time.Time `json:"last_seen_at,omitempty"`
	Observations   int        `json:"observation_count"`
	LastScanID     string     `json:"last_scan_id,omitempty"`
	CreatedBy      string     `json:"created_by,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	Version        int        `json:"version" doc:"Increases with every change; the ETag"`
}

// AssetRef is the snapshot of a finding's asset.
type AssetRef struct {
	Type   string `json:"type"`
	Target string `json:"target,omitempty"`
	Name   string `json:"name,omitempty"`
}

// NewFindingView converts a finding for the API.
func NewFindingView(f domain.Finding) FindingView {
	refs := f.References
	if refs == nil {
		refs = []string{}
	}
	return FindingView{ID: f.ID, Title: f.Title, Description: f.Description, Severity: f.Severity, Status: f.Status,
		Category: f.Category, NIS2: f.NIS2, AssetID: f.AssetID, Asset: AssetRef{Type: f.AssetType, Target: f.AssetTarget, Name: f.AssetName},
		SessionID: f.SessionID, ClientID: f.ClientID, CVSSVector: f.CVSSVector, CVSSScore: f.CVSSScore,
		CVSSVersion: f.CVSSVersion, Evidence: f.Evidence, Remediation: f.Remediation, References: refs,
		ResolutionNote: f.ResolutionNote, TemplateID: f.TemplateID, Source: f.Source, CheckID: f.CheckID,
		Fingerprint: f.Fingerprint, FirstSeenAt: f.FirstSeenAt, LastSeenAt: f.LastSeenAt, Observations: f.Observations,
		LastScanID: f.LastScanID, CreatedBy: f.CreatedBy, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, Version: f.Version}
}

// FindingFields are the writable fields; absent fields are left alone.
type FindingFields struct {
	Title          *string   `json:"title,omitempty" maxLength:"300"`
	Description    *string   `json:"description,omitempty" maxLength:"20000"`
	Severity       *string   `json:"severity,omitempty" maxLength:"64" doc:"A risk_level value of the current taxonomy; informational is accepted as info"`
	Status         *string   `json:"status,omitempty" maxLength:"64" doc:"A remediation_status value of the current taxonomy"`
	Category       *string   `json:"category,omitempty" maxLength:"64" doc:"A category value of the current taxonomy"`
	CVSSVector     *string   `json:"cvss_vector,omitempty" maxLength:"512" doc:"CVSS 3.1 or 4.0 vector; its base score is computed"`
	Evidence       *string   `json:"evidence,omitempty" maxLength:"50000"`
	Remediation    *string   `json:"remediation,omitempty" maxLength:"20000"`
	References     *[]string `json:"references,omitempty" maxItems:"20"`
	ResolutionNote *string   `json:"resolution_note,omitempty" maxLength:"20000"`
}

func (f FindingFields) domain() findings.Fields {
	return findings.Fields{Title: f.Title, Description: f.Description, Severity: f.Severity, Status: f.Status,
		Category: f.Category, CVSSVector: f.CVSSVector, Evidence: f.Evidence, Remediation: f.Remediation,
		References: f.References, ResolutionNote: f.ResolutionNote}
}

// NewFindingRequest is POST /findings.
type NewFindingRequest struct {
	SessionID  string `json:"session_id" maxLength:"64"`
	AssetID    string `json:"asset_id" maxLength:"64"`
	TemplateID string `json:"template_id,omitempty" maxLength:"64" doc:"Start from this template; fields given here override it"`
	FindingFields
}

type findingOutput struct {
	ETag string `header:"ETag"`
	Body FindingView
}

func findingOut(f domain.Finding) *findingOutput {
	return &findingOutput{ETag: etag(f.Version), Body: NewFindingView(f)}
}

func etag(version int) string { return fmt.Sprintf(`"v%d"`, version) }

// parseIfMatch reads an If-Match header; "" and "*" ask for no check.
func parseIfMatch(h string) (int, error) {
	h = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(h), "W/"))
	if h == "" || h == "*" {
		return 0, nil
	}
	v, err := strconv.Atoi(strings.TrimPrefix(strings.Trim(h, `"`), "v"))
	if err != nil || v <= 0 {
		return 0, domain.Invalid("If-Match must be an ETag of this finding", domain.FieldError{Location: "header.If-Match", Message: `an ETag such as "v3"`})
	}
	return v, nil
}

// FindingFilter is the query of lists and statistics.
type FindingFilter struct {
	Severity  []string `query:"severity,explode" maxItems:"10" doc:"Repeatable: severity=high&severity=critical (commas also work)"`
	Status    []string `query:"status,explode" maxItems:"10"`
	Category  []string `query:"category,explode" maxItems:"50"`
	AssetID   string   `query:"asset_id" maxLength:"64"`
	SessionID string   `query:"session_id" maxLength:"64"`
	ScanID    string   `query:"scan_id" maxLength:"64"`
	ClientID  string   `query:"client_id" maxLength:"64"`
	Q         string   `query:"q" maxLength:"200" doc:"Text in title, description or evidence (reads the whole scope)"`
}

type findingListInput struct {
	FindingFilter
	httpapi.PageQuery
	Sort  string `query:"sort" enum:"severity,-severity,created_at,-created_at,updated_at,-updated_at" doc:"Sort key, ascending; a leading - sorts descending (-severity: most severe first). Default -created_at (newest first)"`
	Order string `query:"order" enum:"asc,desc" doc:"Sort direction; overrides the - prefix"`
}

// sortOf reads the sort key and direction; the default is newest first.
func sortOf(key, order string) (string, bool) {
	if key == "" {
		key = "-" + findings.SortCreated
	}
	desc := strings.HasPrefix(key, "-")
	if order != "" {
		desc = order == "desc"
	}
	return strings.TrimPrefix(key, "-"), desc
}

func splitValues(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// query validates the filter against the current taxonomy: an unknown value
// is a 422, never an empty list.
func (h *Findings) query(ctx context.Context, f FindingFilter) (findings.Query, error) {
	tax, err := h.Taxonomy.CurrentTaxonomy(ctx, httpapi.PrincipalFrom(ctx).OrgID)
	if err != nil {
		return findings.Query{}, err
	}
	q := findings.Query{AssetID: f.AssetID, SessionID: f.SessionID, ScanID: f.ScanID, ClientID: f.ClientID, Text: f.Q}
	for _, c := range []struct {
		in     []string
		out    *[]string
		domain string
		name   string
	}{
		{f.Severity, &q.Severities, domain.DomainRiskLevel, "severity"},
		{f.Status, &q.Statuses, domain.DomainRemediationStatus, "status"},
		{f.Category, &q.Categories, domain.DomainCategory, "category"},
	} {
		for _, v := range splitValues(c.in) {
			if c.name == "severity" && v == "informational" {
				v = "info"
			}
			if err := tax.Check(c.domain, v, "query."+c.name); err != nil {
				return findings.Query{}, err
			}
			*c.out = append(*c.out, v)
		}
	}
	return q, nil
}

// StatsView counts findings.
type StatsView struct {
	Total      int            `json:"total"`
	BySeverity map[string]int `json:"by_severity"`
	ByStatus   map[string]int `json:"by_status"`
	ByCategory map[string]int `json:"by_category"`
}

// BulkRequest changes status and resolution note of many findings.
type BulkRequest struct {
	IDs            []string `json:"ids" minItems:"1" maxItems:"100"`
	Status         *string  `json:"status,omitempty" maxLength:"64"`
	ResolutionNote *string  `json:"resolution_note,omitempty" maxLength:"20000"`
}

// BulkResult says what happened to each id.
type BulkResult struct {
	Updated   int            `json:"updated"`
	Unchanged int            `json:"unchanged"`
	Failed    int            `json:"failed"`
	Results   []BulkItemView `json:"results"`
}

// BulkItemView is one id's outcome.
type BulkItemView struct {
	ID      string `json:"id"`
	Outcome string `json:"outcome" enum:"updated,unchanged,not_found,error"`
	Detail  string `json:"detail,omitempty"`
	Version int    `json:"version,omitempty"`
}

// HistoryView is one change of a finding.
type HistoryView struct {
	ID        string    `json:"id"`
	Field     string    `json:"field"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	ChangedBy string    `json:"changed_by"`
	Reason    string    `json:"reason,omitempty"`
	At        time.Time `json:"at"`
}

type FindingPath struct {
	ID string `path:"id" maxLength:"64"`
}

// Register adds the finding routes (attachments are their own group).
func (h *Findings) Register(api huma.API) {
	tags := []string{"Findings"}
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "list-findings", Method: http.MethodGet, Path: "/api/v1/findings",
		Summary: "List findings", Tags: tags,
		Description: "Filters combine with AND; repeated values of one filter with OR. " +
			"Unfiltered, single-scope (asset, session or client) and severity/status/category filters read a constant " +
			"number of items; text search, scan_id or two scope filters read the narrowest scope whole.",
	}, func(ctx context.Context, in *findingListInput) (*httpapi.PageOutput[FindingView], error) {
		q, err := h.query(ctx, in.FindingFilter)
		if err != nil {
			return nil, err
		}
		q.Page = in.Request()
		q.Sort, q.Desc = sortOf(in.Sort, in.Order)
		p, err := h.Findings.List(ctx, httpapi.PrincipalFrom(ctx), q)
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, NewFindingView), nil
	})
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "finding-stats", Method: http.MethodGet, Path: "/api/v1/findings/stats",
		Summary: "Count findings by severity, status and category", Tags: tags,
		Description: "Takes the filters of the list. Every value of the current taxonomy is present, with 0 when none.",
	}, func(ctx context.Context, in *FindingFilter) (*struct{ Body StatsView }, error) {
		q, err := h.query(ctx, *in)
		if err != nil {
			return nil, err
		}
		st, err := h.Findings.Stats(ctx, httpapi.PrincipalFrom(ctx), q)
		if err != nil {
			return nil, err
		}
		tax, err := h.Taxonomy.CurrentTaxonomy(ctx, httpapi.PrincipalFrom(ctx).OrgID)
		if err != nil {
			return nil, err
		}
		return &struct{ Body StatsView }{Body: StatsView{Total: st.Total,
			BySeverity: withZeros(st.BySeverity, tax, domain.DomainRiskLevel),
			ByStatus:   withZeros(st.ByStatus, tax, domain.DomainRemediationStatus),
			ByCategory: withZeros(st.ByCategory, tax, domain.DomainCategory)}}, nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "create-finding", Method: http.MethodPost, Path: "/api/v1/findings",
		Summary: "Record a finding in a session (optionally from a template)", Tags: tags, DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *struct{ Body NewFindingRequest }) (*findingOutput, error) {
		f, err := h.Findings.Create(ctx, httpapi.PrincipalFrom(ctx), findings.NewFinding{
			SessionID: in.Body.SessionID, AssetID: in.Body.AssetID, TemplateID: in.Body.TemplateID, Fields: in.Body.FindingFields.domain()})
		if err != nil {
			return nil, err
		}
		return findingOut(f), nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "bulk-update-findings", Method: http.MethodPost, Path: "/api/v1/findings/bulk-update",
		Summary: "Set status and resolution note of up to 100 findings", Tags: tags,
		Description: "Each id is updated on its own; the answer names the outcome of each.",
	}, func(ctx context.Context, in *struct{ Body BulkRequest }) (*struct{ Body BulkResult }, error) {
		res, err := h.Findings.BulkUpdate(ctx, httpapi.PrincipalFrom(ctx), in.Body.IDs, in.Body.Status, in.Body.ResolutionNote)
		if err != nil {
			return nil, err
		}
		out := BulkResult{Results: make([]BulkItemView, 0, len(res))}
		for _, r := range res {
			v := BulkItemView{ID: r.ID, Outcome: r.Outcome, Detail: r.Detail}
			if r.Finding != nil {
				v.Version = r.Finding.Version
			}
			switch r.Outcome {
			case "updated":
				out.Updated++
			case "unchanged":
				out.Unchanged++
			default:
				out.Failed++
			}
			out.Results = append(out.Results, v)
		}
		return &struct{ Body BulkResult }{Body: out}, nil
	})
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "get-finding", Method: http.MethodGet, Path: "/api/v1/findings/{id}",
		Summary: "A finding, with its ETag", Tags: tags,
	}, func(ctx context.Context, in *FindingPath) (*findingOutput, error) {
		f, err := h.Findings.Get(ctx, httpapi.PrincipalFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return findingOut(f), nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "update-finding", Method: http.MethodPatch, Path: "/api/v1/findings/{id}",
		Summary: "Change status, resolution note and descriptive fields", Tags: tags,
		Description: "With If-Match (the ETag of a GET) the change applies only to that version (412 otherwise). " +
			"Every changed field lands in the history.",
		Errors: []int{http.StatusPreconditionFailed},
	}, func(ctx context.Context, in *struct {
		FindingPath
		IfMatch string `header:"If-Match" maxLength:"64"`
		Body    FindingFields
	}) (*findingOutput, error) {
		v, err := parseIfMatch(in.IfMatch)
		if err != nil {
			return nil, err
		}
		f, err := h.Findings.Update(ctx, httpapi.PrincipalFrom(ctx), in.ID, v, in.Body.domain())
		if err != nil {
			return nil, err
		}
		return findingOut(f), nil
	})
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "finding-history", Method: http.MethodGet, Path: "/api/v1/findings/{id}/history",
		Summary: "Who changed which field from what to what, when (oldest first)", Tags: tags,
	}, func(ctx context.Context, in *struct {
		FindingPath
		httpapi.PageQuery
	}) (*httpapi.PageOutput[HistoryView], error) {
		p, err := h.Findings.History(ctx, httpapi.PrincipalFrom(ctx), in.ID, in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, func(e domain.HistoryEntry) HistoryView {
			return HistoryView{ID: e.ID, Field: e.Field, From: e.From, To: e.To, ChangedBy: e.ChangedBy, Reason: e.Reason, At: e.At}
		}), nil
	})
}

func withZeros(m map[string]int, tax domain.Taxonomy, d string) map[string]int {
	out := map[string]int{}
	for _, v := range tax.Domains[d] {
		out[v.Value] = 0
	}
	for k, v := range m {
		out[k] = v
	}
	return out
}
