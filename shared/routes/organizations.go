package routes

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
	"rampart/shared/identity"
)

// OrgSettingsView are an organization's switches.
type OrgSettingsView struct {
	AllowPrivateTargets bool `json:"allow_private_targets" doc:"Whether scans may target private, loopback and link-local addresses"`
}

// OrganizationView is an organization, with the caller's role in lists.
type OrganizationView struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Role      string          `json:"role,omitempty" enum:"admin,auditor,viewer,client" doc:"The caller's role"`
	Settings  OrgSettingsView `json:"settings"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func newOrgView(o domain.Organization, role domain.Role) OrganizationView {
	return OrganizationView{ID: o.ID, Name: o.Name, Role: string(role), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		Settings: OrgSettingsView{AllowPrivateTargets: o.Settings.AllowPrivateTargets}}
}

// OrgPatch changes an organization.
type OrgPatch struct {
	Name     *string `json:"name,omitempty" minLength:"1" maxLength:"200"`
	Settings *struct {
		AllowPrivateTargets *bool `json:"allow_private_targets,omitempty"`
	} `json:"settings,omitempty"`
}

// InviteRequest adds a member by email.
type InviteRequest struct {
	Email    string `json:"email" maxLength:"254"`
	Role     string `json:"role" enum:"admin,auditor,reviewer,viewer,client"`
	ClientID string `json:"client_id,omitempty" maxLength:"64" doc:"Required for role client"`
	Name     string `json:"name,omitempty" maxLength:"200"`
}

// InvitationView is a pending invitation; the token is shown once.
type InvitationView struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	ClientID  string    `json:"client_id,omitempty"`
	Token     string    `json:"token" doc:"One-time token, redeemed at POST /api/v1/auth/accept-invite; shown only here"`
	ExpiresAt time.Time `json:"expires_at"`
}

// InviteResult says whether the email was added at once or invited.
type InviteResult struct {
	Status     string          `json:"status" enum:"added,invited"`
	Member     *MemberView     `json:"member,omitempty"`
	Invitation *InvitationView `json:"invitation,omitempty"`
}

// OrgPath and OrgMemberPath are embedded in inputs. They must be exported:
// huma skips unexported embedded structs, whose parameters would then never
// be read (nor documented).
type OrgPath struct {
	OrgID string `path:"org_id" maxLength:"64"`
}

// OrgMemberPath addresses one member of an organization.
type OrgMemberPath struct {
	OrgID    string `path:"org_id" maxLength:"64"`
	MemberID string `path:"member_id" maxLength:"64" doc:"The member's user id"`
}

// RegisterOrganizations adds the family B organization routes. The
// organization comes from the path; authorization checks the caller's
// membership of it, and a foreign organization is 404.
func (h *Members) RegisterOrganizations(api huma.API) {
	tags := []string{"Organizations"}
	member := httpapi.Viewer.InOrgParam("org_id")
	admin := httpapi.Admin.InOrgParam("org_id")

	httpapi.Register(api, httpapi.Authenticated, huma.Operation{
		OperationID: "list-organizations", Method: http.MethodGet, Path: "/api/v1/organizations",
		Summary: "Organizations the caller belongs to, with the caller's role", Tags: tags,
	}, func(ctx context.Context, in *struct{ httpapi.PageQuery }) (*httpapi.PageOutput[OrganizationView], error) {
		ms, err := h.Identity.Organizations(ctx, httpapi.PrincipalFrom(ctx).UserID)
		if err != nil {
			return nil, err
		}
		req := in.Request()
		start := min((req.Page-1)*req.PerPage, len(ms))
		end := min(start+req.PerPage, len(ms))
		return httpapi.NewPage(domain.Page[identity.OrgMembership]{Items: ms[start:end], Total: len(ms), Request: req},
			func(m identity.OrgMembership) OrganizationView { return newOrgView(m.Org, m.Role) }), nil
	})
	httpapi.Register(api, member, huma.Operation{
		OperationID: "get-organization", Method: http.MethodGet, Path: "/api/v1/organizations/{org_id}",
		Summary: "An organization the caller belongs to", Tags: tags,
	}, func(ctx context.Context, in *OrgPath) (*struct{ Body OrganizationView }, error) {
		p := httpapi.PrincipalFrom(ctx)
		o, err := h.Identity.Store.GetOrg(ctx, p.OrgID)
		if err != nil {
			return nil, err
		}
		return &struct{ Body OrganizationView }{Body: newOrgView(o, p.Role)}, nil
	})
	httpapi.Register(api, admin, huma.Operation{
		OperationID: "update-organization", Method: http.MethodPatch, Path: "/api/v1/organizations/{org_id}",
		Summary: "Change name and settings", Tags: tags,
	}, func(ctx context.Context, in *struct {
		OrgPath
		Body OrgPatch
	}) (*struct{ Body OrganizationView }, error) {
		p := httpapi.PrincipalFrom(ctx)
		ch := identity.OrgChange{Name: in.Body.Name}
		if in.Body.Settings != nil {
			ch.AllowPrivateTargets = in.Body.Settings.AllowPrivateTargets
		}
		o, err := h.Identity.UpdateOrganization(ctx, p.OrgID, ch)
		if err != nil {
			return nil, err
		}
		return &struct{ Body OrganizationView }{Body: newOrgView(o, p.Role)}, nil
	})
	httpapi.Register(api, member, huma.Operation{
		OperationID: "list-members", Method: http.MethodGet, Path: "/api/v1/organizations/{org_id}/members",
		Summary: "Members of the organization", Tags: tags,
	}, func(ctx context.Context, in *struct {
		OrgPath
		httpapi.PageQuery
	}) (*httpapi.PageOutput[MemberView], error) {
		p, err := h.Identity.Store.ListMembers(ctx, httpapi.PrincipalFrom(ctx).OrgID, identity.MemberFilter{}, in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, newMemberView), nil
	})
	httpapi.Register(api, admin, huma.Operation{
		OperationID: "invite-member", Method: http.MethodPost, Path: "/api/v1/organizations/{org_id}/members",
		Summary: "Add a member by email, or invite an unknown email", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "An existing user is added at once (status added). An unknown email gets a pending invitation " +
			"whose one-time token is returned here and redeemed at POST /api/v1/auth/accept-invite (status invited).",
		Errors: []int{http.StatusConflict},
	}, func(ctx context.Context, in *struct {
		OrgPath
		Body InviteRequest
	}) (*struct{ Body InviteResult }, error) {
		role, err := parseRole(in.Body.Role)
		if err != nil {
			return nil, err
		}
		p := httpapi.PrincipalFrom(ctx)
		res, err := h.Identity.AddMember(ctx, p.OrgID, p.UserID, identity.NewMember{
			Email: in.Body.Email, Name: in.Body.Name, Role: role, ClientID: in.Body.ClientID})
		if err != nil {
			return nil, err
		}
		out := &struct{ Body InviteResult }{}
		if res.Member != nil {
			v := newMemberView(*res.Member)
			out.Body = InviteResult{Status: "added", Member: &v}
		} else {
			inv := res.Invitation
			out.Body = InviteResult{Status: "invited", Invitation: &InvitationView{ID: inv.ID, Email: inv.Email,
				Role: string(inv.Role), ClientID: inv.ClientID, Token: res.InviteToken, ExpiresAt: inv.ExpiresAt}}
		}
		return out, nil
	})
	httpapi.Register(api, admin, huma.Operation{
		OperationID: "update-member", Method: http.MethodPatch, Path: "/api/v1/organizations/{org_id}/members/{member_id}",
		Summary: "Change a member's role (query ?role= or JSON body {role})", Tags: tags,
		Description: "Demoting the last active admin is 409.", Errors: []int{http.StatusConflict},
	}, func(ctx context.Context, in *struct {
		OrgMemberPath
		Role string `query:"role" enum:"admin,auditor,reviewer,viewer,client"`
		Body *struct {
			Role     string  `json:"role,omitempty" enum:"admin,auditor,reviewer,viewer,client"`
			ClientID *string `json:"client_id,omitempty" maxLength:"64"`
		}
	}) (*memberOutput, error) {
		roleText := in.Role
		var ch identity.MemberChange
		if in.Body != nil {
			if in.Body.Role != "" {
				roleText = in.Body.Role
			}
			ch.ClientID = in.Body.ClientID
		}
		if roleText == "" {
			return nil, domain.Invalid("role is required", domain.FieldError{Location: "query.role", Message: "give ?role= or a JSON body {role}"})
		}
		r, err := parseRole(roleText)
		if err != nil {
			return nil, err
		}
		ch.Role = &r
		m, err := h.Identity.UpdateMember(ctx, httpapi.PrincipalFrom(ctx).OrgID, in.MemberID, ch)
		if err != nil {
			return nil, err
		}
		return &memberOutput{Body: newMemberView(m)}, nil
	})
	httpapi.Register(api, admin, huma.Operation{
		OperationID: "remove-member", Method: http.MethodDelete, Path: "/api/v1/organizations/{org_id}/members/{member_id}",
		Summary: "Remove a member", Tags: tags, DefaultStatus: http.StatusNoContent,
		Description: "Removing the last active admin is 409.", Errors: []int{http.StatusConflict},
	}, func(ctx context.Context, in *OrgMemberPath) (*struct{}, error) {
		return nil, h.Identity.RemoveMember(ctx, httpapi.PrincipalFrom(ctx).OrgID, in.MemberID)
	})
}
