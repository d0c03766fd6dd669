package routes

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/cvss"
	"rampart/shared/domain"
	"rampart/shared/httpapi"
	"rampart/shared/templates"
)

// Templates serves /templates: reusable finding text.
type Templates struct {
	Service *templates.Service
}

// TemplateView is a finding template.
type TemplateView struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Remediation string    `json:"remediation"`
	Severity    string    `json:"severity" doc:"A risk_level value of the taxonomy"`
	Category    string    `json:"category" doc:"A category value of the taxonomy; empty when none"`
	References  []string  `json:"references"`
	CVSSVector  string    `json:"cvss_vector,omitempty"`
	CVSSScore   *float64  `json:"cvss_score,omitempty" doc:"Score of cvss_vector (base score for 3.x)"`
	CVSSVersion string    `json:"cvss_version,omitempty" enum:"3.0,3.1,4.0"`
	BuiltIn     bool      `json:"built_in" doc:"Copied from Rampart's built-in library when the organization was created (read-only)"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func newTemplateView(t templates.Stored) TemplateView {
	v := TemplateView{ID: t.ID, Title: t.Title, Description: t.Description, Remediation: t.Remediation,
		Severity: t.Severity, Category: t.Category, References: t.References, CVSSVector: t.CVSSVector,
		BuiltIn: t.BuiltIn, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if v.References == nil {
		v.References = []string{}
	}
	if t.CVSSVector != "" {
		if version, score, err := cvss.Parse(t.CVSSVector); err == nil {
			v.CVSSScore, v.CVSSVersion = &score, version
		}
	}
	return v
}

// TemplateInput is the body of POST (title and severity required) and PATCH
// (every field optional; a field left out is unchanged) /templates.
type TemplateInput struct {
	Title       *string  `json:"title,omitempty" doc:"Required on create; at most 300 characters"`
	Description *string  `json:"description,omitempty" doc:"At most 20000 characters"`
	Remediation *string  `json:"remediation,omitempty" doc:"At most 20000 characters"`
	Severity    *string  `json:"severity,omitempty" doc:"Required on create: a risk_level value of the current taxonomy (critical, high, medium, low, info; informational is accepted as info)"`
	Category    *string  `json:"category,omitempty" doc:"A category value of the current taxonomy; empty string for none"`
	References  []string `json:"references,omitempty" doc:"At most 20 absolute http(s) URLs; [] clears"`
	CVSSVector  *string  `json:"cvss_vector,omitempty" doc:"A CVSS 3.1 or 4.0 vector (3.0 accepted), e.g. CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H; empty string clears"`
}

func (in TemplateInput) fields() templates.Fields {
	f := templates.Fields{Title: in.Title, Description: in.Description, Remediation: in.Remediation,
		Severity: in.Severity, Category: in.Category, CVSSVector: in.CVSSVector}
	if in.References != nil {
		refs := in.References
		f.References = &refs
	}
	return f
}

type templateOutput struct {
	ETag string `header:"ETag" doc:"Version of the template; send it as If-Match to PATCH"`
	Body TemplateView
}

type templateCreatedOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     TemplateView
}

type templatePath struct {
	ID string `path:"id" maxLength:"64"`
}

// templateETag is the ETag of a template version, in the format findings
// use ("v3").
func templateETag(version int) string { return `"v` + strconv.Itoa(version) + `"` }

// templateIfMatch reads an If-Match header: 0 (no check) for none or "*";
// "v3", "3" and weak forms name version 3; anything else is 422.
func templateIfMatch(h string) (int, error) {
	h = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(h), "W/"))
	if h == "" || h == "*" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(strings.Trim(h, `"`), "v"))
	if err != nil || n < 1 {
		return 0, domain.Invalid("If-Match must be an ETag of this template",
			domain.FieldError{Location: "header.If-Match", Message: `an ETag such as "v3"`})
	}
	return n, nil
}

// Register adds the template routes.
func (h *Templates) Register(api huma.API) {
	tags := []string{"Templates"}
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "list-templates", Method: http.MethodGet, Path: "/api/v1/templates",
		Summary: "Finding templates, oldest first (the built-in ones first)", Tags: tags,
		Description: "Without filters, total comes from a counter. With severity, category or q the organization's " +
			"templates are read whole and filtered (a template library holds hundreds at most).",
	}, func(ctx context.Context, in *struct {
		httpapi.PageQuery
		Severity string `query:"severity" maxLength:"64" doc:"Only templates of this severity"`
		Category string `query:"category" maxLength:"64" doc:"Only templates of this category"`
		Q        string `query:"q" maxLength:"200" doc:"Text in the title or description (case-insensitive)"`
	}) (*httpapi.PageOutput[TemplateView], error) {
		p, err := h.Service.List(ctx, httpapi.PrincipalFrom(ctx).OrgID,
			templates.Filter{Severity: in.Severity, Category: in.Category, Query: in.Q}, in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, newTemplateView), nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "create-template", Method: http.MethodPost, Path: "/api/v1/templates",
		Summary: "Create a finding template", Tags: tags, DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *struct{ Body TemplateInput }) (*templateCreatedOutput, error) {
		t, err := h.Service.Create(ctx, httpapi.PrincipalFrom(ctx).OrgID, in.Body.fields())
		if err != nil {
			return nil, err
		}
		return &templateCreatedOutput{ETag: templateETag(t.Version), Location: "/api/v1/templates/" + t.ID,
			Body: newTemplateView(t)}, nil
	})
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "get-template", Method: http.MethodGet, Path: "/api/v1/templates/{id}",
		Summary: "One finding template", Tags: tags,
	}, func(ctx context.Context, in *templatePath) (*templateOutput, error) {
		t, err := h.Service.Get(ctx, httpapi.PrincipalFrom(ctx).OrgID, in.ID)
		if err != nil {
			return nil, err
		}
		return &templateOutput{ETag: templateETag(t.Version), Body: newTemplateView(t)}, nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "update-template", Method: http.MethodPatch, Path: "/api/v1/templates/{id}",
		Summary: "Change a finding template", Tags: tags,
		Description: "Fields left out are unchanged. Built-in templates are the organization's copies and can be " +
			"changed like any other (built_in stays true). With If-Match, a stale ETag is 412.",
		Errors: []int{http.StatusPreconditionFailed, http.StatusConflict},
	}, func(ctx context.Context, in *struct {
		ID      string `path:"id" maxLength:"64"`
		IfMatch string `header:"If-Match" doc:"ETag from a GET (\"v3\"); the change is refused (412) if the template changed since"`
		Body    TemplateInput
	}) (*templateOutput, error) {
		ifVersion, err := templateIfMatch(in.IfMatch)
		if err != nil {
			return nil, err
		}
		t, err := h.Service.Update(ctx, httpapi.PrincipalFrom(ctx).OrgID, in.ID, ifVersion, in.Body.fields())
		if err != nil {
			return nil, err
		}
		return &templateOutput{ETag: templateETag(t.Version), Body: newTemplateView(t)}, nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "delete-template", Method: http.MethodDelete, Path: "/api/v1/templates/{id}",
		Summary: "Delete a finding template", Tags: tags, DefaultStatus: http.StatusNoContent,
		Description: "Built-in templates can be deleted too; findings created from a template keep their text.",
	}, func(ctx context.Context, in *templatePath) (*struct{}, error) {
		return nil, h.Service.Delete(ctx, httpapi.PrincipalFrom(ctx).OrgID, in.ID)
	})
}
