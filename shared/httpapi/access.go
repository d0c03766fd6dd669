package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
)

const (
	bearerScheme = "bearer"
	accessKey    = "rampart.access"
	// OrgHeader selects the organization of a request.
	OrgHeader = "X-Organization-ID"
)

// Access is what a route requires of its caller. Every route declares one; the
// authorization middleware enforces it, so no handler checks roles itself.
type Access struct {
	// Public routes need no token.
	Public bool
	// MinRole, when set, requires a membership of the request's organization
	// with at least this role. When empty, any valid token will do (profile
	// routes that belong to a user rather than an organization).
	MinRole domain.Role
	// OrgParam names a path parameter that selects the organization instead of
	// the X-Organization-ID header (/organizations/{org_id}/...).
	OrgParam string
	// DenyClient refuses client-scoped members (403): routes over the whole
	// organization's data, such as scans, that no client restriction fits.
	DenyClient bool
}

var (
	// Public routes need no token.
	Public = Access{Public: true}
	// Authenticated routes need a valid token and no organization.
	Authenticated = Access{}
	// Viewer, Auditor and Admin need a membership with at least that role.
	Viewer  = Access{MinRole: domain.RoleViewer}
	Auditor = Access{MinRole: domain.RoleAuditor}
	Admin   = Access{MinRole: domain.RoleAdmin}
)

// NotForClients returns a copy of a that refuses client-scoped members.
func (a Access) NotForClients() Access { a.DenyClient = true; return a }

// InOrgParam returns a copy of a that takes the organization from the named
// path parameter.
func (a Access) InOrgParam(name string) Access { a.OrgParam = name; return a }

// String names the rule for logs and the route table.
func (a Access) String() string {
	switch {
	case a.Public:
		return "public"
	case a.MinRole == "":
		return "authenticated"
	case a.DenyClient:
		return string(a.MinRole) + " (not client members)"
	default:
		return string(a.MinRole)
	}
}

// Authenticator establishes who calls: it verifies the bearer token and, when
// orgID is wanted, the caller's membership of that organization ("" selects the
// user's default organization). It answers domain errors: Unauthenticated for a
// bad token, NotFound for an organization the user does not belong to.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string, needOrg bool, orgID string) (domain.Principal, error)
}

// PrincipalFrom returns the principal the authorization layer established.
// Handlers of protected routes can rely on it being set.
func PrincipalFrom(ctx context.Context) domain.Principal {
	p, _ := ctx.Value(principalKey).(domain.Principal)
	return p
}

// WithPrincipal returns ctx carrying p (used by workers and tests).
func WithPrincipal(ctx context.Context, p domain.Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// Register adds an operation whose access rule is declared with it. Handlers
// return domain errors; they are mapped to the envelope here.
func Register[I, O any](api huma.API, access Access, op huma.Operation, handler func(context.Context, *I) (*O, error)) {
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata[accessKey] = access
	if !access.Public {
		op.Security = []map[string][]string{{bearerScheme: {}}}
		op.Errors = appendMissing(op.Errors, http.StatusUnauthorized)
		if access.MinRole != "" {
			op.Errors = appendMissing(op.Errors, http.StatusForbidden, http.StatusNotFound)
			if access.OrgParam == "" {
				op.Parameters = append(op.Parameters, &huma.Param{
					Name: OrgHeader, In: "header", Schema: &huma.Schema{Type: "string"},
					Description: "Organization of the request; default: the caller's default organization",
				})
			}
		}
	}
	op.Description = strings.TrimSpace(op.Description + "\n\nAccess: " + access.String() + ".")
	huma.Register(api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := handler(ctx, in)
		if err != nil {
			return nil, errorFor(err)
		}
		return out, nil
	})
}

func appendMissing(codes []int, add ...int) []int {
	for _, a := range add {
		found := false
		for _, c := range codes {
			found = found || c == a
		}
		if !found {
			codes = append(codes, a)
		}
	}
	return codes
}

// AccessOf returns the declared access rule of an operation; the route-table
// sweeps in the tests use it.
func AccessOf(op *huma.Operation) (Access, bool) {
	a, ok := op.Metadata[accessKey].(Access)
	return a, ok
}

func (s *Server) authorize(ctx huma.Context, next func(huma.Context)) {
	access, ok := AccessOf(ctx.Operation())
	if !ok {
		// A route registered around Register has no rule: refuse rather than
		// serve it open.
		s.writeErr(ctx, domain.E(domain.KindInternal, "route without access rule"),
			fmt.Errorf("%s %s has no access rule", ctx.Operation().Method, ctx.Operation().Path))
		return
	}
	if access.Public {
		next(ctx)
		return
	}
	bearer, found := strings.CutPrefix(ctx.Header("Authorization"), "Bearer ")
	if !found || strings.TrimSpace(bearer) == "" {
		s.writeErr(ctx, domain.E(domain.KindUnauthenticated, "missing bearer token"), nil)
		return
	}
	if s.opts.Auth == nil {
		s.writeErr(ctx, domain.E(domain.KindUnauthenticated, "invalid token"), nil)
		return
	}
	orgID := ctx.Header(OrgHeader)
	if access.OrgParam != "" {
		orgID = ctx.Param(access.OrgParam)
	}
	p, err := s.opts.Auth.Authenticate(ctx.Context(), strings.TrimSpace(bearer), access.MinRole != "", orgID)
	if err != nil {
		s.writeErr(ctx, err, nil)
		return
	}
	if access.DenyClient && p.Role == domain.RoleClient {
		s.writeErr(ctx, domain.E(domain.KindForbidden, "not available to client members"), nil)
		return
	}
	if access.MinRole != "" && !p.Role.AtLeast(access.MinRole) {
		s.writeErr(ctx, domain.E(domain.KindForbidden, "this action needs the %s role", access.MinRole), nil)
		return
	}
	next(huma.WithValue(ctx, principalKey, p))
}

func (s *Server) writeErr(ctx huma.Context, err error, cause error) {
	if cause != nil {
		s.opts.Logger.Error("authorization", "error", cause.Error())
	}
	body := errorFor(err)
	for k, vs := range body.headers {
		for _, v := range vs {
			ctx.AppendHeader(k, v)
		}
	}
	_ = huma.WriteErr(s.API, ctx, body.status, body.Detail, toErrs(body.Errors)...)
}

func toErrs(fs []domain.FieldError) []error {
	out := make([]error, len(fs))
	for i, f := range fs {
		out[i] = &huma.ErrorDetail{Location: f.Location, Message: f.Message}
	}
	return out
}

// WriteError writes the envelope outside huma (router-level answers).
func WriteError(w http.ResponseWriter, body *ErrorBody) {
	for k, vs := range body.headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	writeJSON(w, body.status, body)
}
