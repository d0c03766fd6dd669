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

// Members serves /users (family A) and /organizations (family B).
type Members struct {
	Identity *identity.Service
}

// MemberView is a member of an organization.
type MemberView struct {
	ID        string    `json:"id" doc:"User id (also the member id in /organizations/{org_id}/members/{member_id})"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role" enum:"admin,auditor,viewer,client"`
	ClientID  string    `json:"client_id,omitempty"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func newMemberView(m identity.Member) MemberView {
	return MemberView{ID: m.UserID, Email: m.User.Email, Name: m.User.Name, Role: string(m.Role), ClientID: m.ClientID,
		Active: m.Active, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

// roleField accepts the A family's "reviewer" for auditor.
const roleEnum = "admin,auditor,reviewer,viewer,client"

func parseRole(s string) (domain.Role, error) {
	r, err := domain.ParseRole(s)
	if err != nil {
		return "", domain.Invalid("unknown role", domain.FieldError{Location: "body.role", Message: "must be one of " + roleEnum})
	}
	return r, nil
}

// NewUserRequest is POST /users.
type NewUserRequest struct {
	Email    string `json:"email" maxLength:"254"`
	Name     string `json:"name,omitempty" maxLength:"200"`
	Role     string `json:"role" enum:"admin,auditor,reviewer,viewer,client"`
	ClientID string `json:"client_id,omitempty" maxLength:"64" doc:"Required for role client"`
	Password string `json:"password,omitempty" maxLength:"256" doc:"Initial password; required when the email has no account yet"`
}

// MemberPatch is PATCH /users/{user_id}.
type MemberPatch struct {
	Name     *string `json:"name,omitempty" maxLength:"200"`
	Role     *string `json:"role,omitempty" enum:"admin,auditor,reviewer,viewer,client"`
	ClientID *string `json:"client_id,omitempty" maxLength:"64"`
	Active   *bool   `json:"active,omitempty"`
}

type memberOutput struct{ Body MemberView }

type memberListInput struct {
	httpapi.PageQuery
	Role   string `query:"role" enum:"admin,auditor,reviewer,viewer,client"`
	Active string `query:"active" enum:"true,false"`
	Q      string `query:"q" maxLength:"200"`
}

// RegisterUsers adds the family A admin views of the current organization.
func (h *Members) RegisterUsers(api huma.API) {
	tags := []string{"Users"}
	httpapi.Register(api, httpapi.Admin, huma.Operation{
		OperationID: "list-users", Method: http.MethodGet, Path: "/api/v1/users",
		Summary: "Members of the current organization", Tags: tags,
	}, func(ctx context.Context, in *memberListInput) (*httpapi.PageOutput[MemberView], error) {
		f := identity.MemberFilter{Query: in.Q}
		if in.Role != "" {
			f.Role, _ = domain.ParseRole(in.Role)
		}
		if in.Active != "" {
			active := in.Active == "true"
			f.Active = &active
		}
		p, err := h.Identity.Store.ListMembers(ctx, httpapi.PrincipalFrom(ctx).OrgID, f, in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, newMemberView), nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "list-reviewers", Method: http.MethodGet, Path: "/api/v1/users/reviewers",
		Summary: "Active members who can review: admins and auditors", Tags: tags,
	}, func(ctx context.Context, in *struct{ httpapi.PageQuery }) (*httpapi.PageOutput[MemberView], error) {
		active := true
		all, err := h.Identity.Store.ListMembers(ctx, httpapi.PrincipalFrom(ctx).OrgID, identity.MemberFilter{Active: &active},
			domain.PageRequest{Page: 1, PerPage: 1 << 30})
		if err != nil {
			return nil, err
		}
		var reviewers []identity.Member
		for _, m := range all.Items {
			if m.Role == domain.RoleAdmin || m.Role == domain.RoleAuditor {
				reviewers = append(reviewers, m)
			}
		}
		req := in.Request()
		start := min((req.Page-1)*req.PerPage, len(reviewers))
		end := min(start+req.PerPage, len(reviewers))
		return httpapi.NewPage(domain.Page[identity.Member]{Items: reviewers[start:end], Total: len(reviewers), Request: req}, newMemberView), nil
	})
	httpapi.Register(api, httpapi.Admin, huma.Operation{
		OperationID: "create-user", Method: http.MethodPost, Path: "/api/v1/users",
		Summary: "Create a user, or add an existing one by email, with a role here", Tags: tags,
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusConflict},
	}, func(ctx context.Context, in *struct{ Body NewUserRequest }) (*memberOutput, error) {
		role, err := parseRole(in.Body.Role)
		if err != nil {
			return nil, err
		}
		p := httpapi.PrincipalFrom(ctx)
		if in.Body.Password == "" {
			if _, err := h.Identity.Store.GetUserByEmail(ctx, in.Body.Email); domain.Is(err, domain.KindNotFound) {
				return nil, domain.Invalid("a new user needs a password",
					domain.FieldError{Location: "body.password", Message: "required when the email has no account"})
			}
		}
		res, err := h.Identity.AddMember(ctx, p.OrgID, p.UserID, identity.NewMember{
			Email: in.Body.Email, Name: in.Body.Name, Role: role, ClientID: in.Body.ClientID, Password: in.Body.Password})
		if err != nil {
			return nil, err
		}
		return &memberOutput{Body: newMemberView(*res.Member)}, nil
	})
	httpapi.Register(api, httpapi.Admin, huma.Operation{
		OperationID: "update-user", Method: http.MethodPatch, Path: "/api/v1/users/{user_id}",
		Summary: "Change a member's name, role or active flag", Tags: tags,
		Description: "Deactivating signs the user out everywhere. The last active admin cannot be demoted or deactivated (409).",
		Errors:      []int{http.StatusConflict},
	}, func(ctx context.Context, in *struct {
		UserID string `path:"user_id" maxLength:"64"`
		Body   MemberPatch
	}) (*memberOutput, error) {
		ch := identity.MemberChange{Name: in.Body.Name, ClientID: in.Body.ClientID, Active: in.Body.Active}
		if in.Body.Role != nil {
			r, err := parseRole(*in.Body.Role)
			if err != nil {
				return nil, err
			}
			ch.Role = &r
		}
		m, err := h.Identity.UpdateMember(ctx, httpapi.PrincipalFrom(ctx).OrgID, in.UserID, ch)
		if err != nil {
			return nil, err
		}
		return &memberOutput{Body: newMemberView(m)}, nil
	})
}
