// Package routes holds the HTTP handlers of every route group. A group's
// Register function adds its operations with their access rules; a function
// registers the groups it serves, the local server registers them all.
package routes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
	"rampart/shared/identity"
)

// RefreshCookie is the name of the refresh-token cookie.
const RefreshCookie = "refresh_token"

// Auth serves /auth/* and /users/me.
type Auth struct {
	Identity *identity.Service
	// CookiePath scopes the refresh cookie: /api/v1/auth behind the stage.
	CookiePath string
	// OIDC is nil when single sign-on is not configured.
	OIDC *identity.OIDC
}

// TokenResponse is what login, register, refresh and accept-invite answer.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type" enum:"bearer"`
	ExpiresIn    int    `json:"expires_in" doc:"Seconds until the access token expires"`
}

type tokenOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie"`
	Body      TokenResponse
}

func (a *Auth) tokens(s identity.Session) *tokenOutput {
	return &tokenOutput{
		SetCookie: a.cookie(s.RefreshToken, int(s.RefreshTTL.Seconds())),
		Body: TokenResponse{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken,
			TokenType: "bearer", ExpiresIn: s.ExpiresIn},
	}
}

func (a *Auth) cookie(value string, maxAge int) http.Cookie {
	if maxAge <= 0 {
		maxAge = -1 // delete
	}
	return http.Cookie{Name: RefreshCookie, Value: value, Path: a.CookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode}
}

// RegisterRequest creates an account and its organization.
type RegisterRequest struct {
	Email            string `json:"email" maxLength:"254" doc:"Email address, used to sign in"`
	Password         string `json:"password" maxLength:"256"`
	Name             string `json:"name,omitempty" maxLength:"200"`
	OrganizationName string `json:"organization_name,omitempty" maxLength:"200" doc:"Name of the new organization; default derived from the name or email"`
}

// LoginRequest is the login body, as JSON or as the OAuth2 password form
// (form-encoded, where the email travels as username). Form fields other
// than these (grant_type, scope, client_id) are accepted and ignored.
type LoginRequest struct {
	Email     string `json:"email,omitempty" maxLength:"254"`
	Username  string `json:"username,omitempty" maxLength:"254" doc:"OAuth2 password form: the email"`
	Password  string `json:"password" maxLength:"256"`
	GrantType string `json:"grant_type,omitempty" maxLength:"64" doc:"OAuth2 password form only"`
	Scope     string `json:"scope,omitempty" maxLength:"1024" doc:"OAuth2 password form only"`
	ClientID  string `json:"client_id,omitempty" maxLength:"256" doc:"OAuth2 password form only"`
}

// RefreshRequest carries the refresh token when no cookie does.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token,omitempty" maxLength:"256"`
}

// AcceptInviteRequest redeems an invitation.
type AcceptInviteRequest struct {
	Token    string `json:"token" minLength:"1" maxLength:"256"`
	Password string `json:"password" maxLength:"256" doc:"Password of the new account (or of the existing account with this email)"`
	Name     string `json:"name,omitempty" maxLength:"200"`
}

type rawInput struct {
	ContentType string `header:"Content-Type"`
	RawBody     []byte
}

// refreshInput takes the token from the cookie (family A, which sends no
// body) or from an optional JSON body (family B). The body is a pointer so
// that huma treats it as optional: a RawBody field would make it required.
type refreshInput struct {
	Cookie string `cookie:"refresh_token"`
	Body   *RefreshRequest
}

// Register adds the auth routes.
func (a *Auth) Register(api huma.API) {
	tags := []string{"Auth"}
	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "register", Method: http.MethodPost, Path: "/api/v1/auth/register",
		Summary: "Create an account and a new organization", Tags: tags, DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusConflict, http.StatusForbidden},
	}, func(ctx context.Context, in *struct{ Body RegisterRequest }) (*tokenOutput, error) {
		s, err := a.Identity.Register(ctx, in.Body.Email, in.Body.Password, in.Body.Name, in.Body.OrganizationName)
		if err != nil {
			return nil, err
		}
		return a.tokens(s), nil
	})

	loginOp := huma.Operation{
		OperationID: "login", Method: http.MethodPost, Path: "/api/v1/auth/login",
		Summary: "Sign in with email and password (JSON or OAuth2 password form)", Tags: tags,
		Errors: []int{http.StatusUnauthorized, http.StatusTooManyRequests},
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
			"application/json":                  {Schema: schemaOf(api, LoginRequest{})},
			"application/x-www-form-urlencoded": {Schema: schemaOf(api, LoginRequest{})},
		}},
	}
	httpapi.Register(api, httpapi.Public, loginOp, func(ctx context.Context, in *rawInput) (*tokenOutput, error) {
		var req LoginRequest
		if isForm(in.ContentType) {
			v, err := url.ParseQuery(string(in.RawBody))
			if err != nil {
				return nil, domain.E(domain.KindMalformed, "malformed form body")
			}
			req = LoginRequest{Email: v.Get("email"), Username: v.Get("username"), Password: v.Get("password")}
		} else if err := decodeJSON(in.RawBody, &req, true); err != nil {
			return nil, err
		}
		if req.Email == "" {
			req.Email = req.Username
		}
		s, err := a.Identity.Login(ctx, identity.Credentials{Email: req.Email, Password: req.Password, SourceAddr: httpapi.ClientAddr(ctx)})
		if err != nil {
			return nil, err
		}
		return a.tokens(s), nil
	})

	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "refresh", Method: http.MethodPost, Path: "/api/v1/auth/refresh",
		Summary: "Rotate the refresh token (from the cookie or the JSON body)", Tags: tags,
		Description: "The presented token dies; presenting it again revokes every token of its sign-in (401).",
	}, func(ctx context.Context, in *refreshInput) (*tokenOutput, error) {
		raw, err := refreshTokenOf(in)
		if err != nil {
			return nil, err
		}
		s, err := a.Identity.Refresh(ctx, raw)
		if err != nil {
			return nil, err
		}
		return a.tokens(s), nil
	})

	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: "/api/v1/auth/logout",
		Summary: "Sign out: revoke the refresh token and clear its cookie", Tags: tags, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *refreshInput) (*struct {
		SetCookie http.Cookie `header:"Set-Cookie"`
	}, error) {
		raw, err := refreshTokenOf(in)
		if err != nil {
			return nil, err
		}
		if err := a.Identity.Logout(ctx, raw); err != nil {
			return nil, err
		}
		return &struct {
			SetCookie http.Cookie `header:"Set-Cookie"`
		}{SetCookie: a.cookie("", 0)}, nil
	})

	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "accept-invite", Method: http.MethodPost, Path: "/api/v1/auth/accept-invite",
		Summary: "Redeem an invitation", Tags: tags, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, func(ctx context.Context, in *struct{ Body AcceptInviteRequest }) (*tokenOutput, error) {
		s, err := a.Identity.AcceptInvite(ctx, in.Body.Token, in.Body.Name, in.Body.Password)
		if err != nil {
			return nil, err
		}
		return a.tokens(s), nil
	})

	for _, prefix := range []string{"/api/v1/auth/me", "/api/v1/users/me"} {
		id := strings.ReplaceAll(strings.TrimPrefix(prefix, "/api/v1/"), "/", "-")
		httpapi.Register(api, httpapi.Authenticated, huma.Operation{
			OperationID: "get-" + id, Method: http.MethodGet, Path: prefix,
			Summary: "The caller's profile and memberships", Tags: tags,
		}, func(ctx context.Context, _ *struct{}) (*profileOutput, error) {
			p, err := a.Identity.Me(ctx, httpapi.PrincipalFrom(ctx).UserID)
			if err != nil {
				return nil, err
			}
			return &profileOutput{Body: newProfile(p)}, nil
		})
		httpapi.Register(api, httpapi.Authenticated, huma.Operation{
			OperationID: "update-" + id, Method: http.MethodPatch, Path: prefix,
			Summary: "Change name, default organization or password", Tags: tags,
			Description: "A password change needs current_password and signs out every other session.",
		}, func(ctx context.Context, in *struct{ Body ProfilePatch }) (*profileOutput, error) {
			pr := httpapi.PrincipalFrom(ctx)
			p, err := a.Identity.UpdateMe(ctx, pr.UserID, pr.SessionID, identity.ProfileChange{
				Name: in.Body.Name, DefaultOrgID: in.Body.DefaultOrganizationID,
				Password: in.Body.Password, CurrentPassword: in.Body.CurrentPassword,
			})
			if err != nil {
				return nil, err
			}
			return &profileOutput{Body: newProfile(p)}, nil
		})
	}
	a.registerOIDC(api)
}

// ProfilePatch changes the caller's own profile; absent fields stay.
type ProfilePatch struct {
	Name                  *string `json:"name,omitempty" maxLength:"200"`
	DefaultOrganizationID *string `json:"default_organization_id,omitempty" maxLength:"64"`
	Password              *string `json:"password,omitempty" maxLength:"256"`
	CurrentPassword       string  `json:"current_password,omitempty" maxLength:"256"`
}

// MembershipView is one of the caller's memberships.
type MembershipView struct {
	OrganizationID   string `json:"organization_id"`
	OrganizationName string `json:"organization_name"`
	Role             string `json:"role" enum:"admin,auditor,viewer,client"`
	ClientID         string `json:"client_id,omitempty"`
	Active           bool   `json:"active"`
}

// Profile is the caller's user with memberships.
type Profile struct {
	ID                    string           `json:"id"`
	Email                 string           `json:"email"`
	Name                  string           `json:"name"`
	DefaultOrganizationID string           `json:"default_organization_id,omitempty"`
	Memberships           []MembershipView `json:"memberships"`
	CreatedAt             time.Time        `json:"created_at"`
	UpdatedAt             time.Time        `json:"updated_at"`
}

type profileOutput struct{ Body Profile }

func newProfile(p identity.Profile) Profile {
	out := Profile{ID: p.User.ID, Email: p.User.Email, Name: p.User.Name, DefaultOrganizationID: p.User.DefaultOrgID,
		CreatedAt: p.User.CreatedAt, UpdatedAt: p.User.UpdatedAt, Memberships: []MembershipView{}}
	for _, m := range p.Memberships {
		out.Memberships = append(out.Memberships, MembershipView{OrganizationID: m.Org.ID, OrganizationName: m.Org.Name,
			Role: string(m.Role), ClientID: m.ClientID, Active: m.Active})
	}
	return out
}

func refreshTokenOf(in *refreshInput) (string, error) {
	if in.Cookie != "" {
		return in.Cookie, nil
	}
	if in.Body == nil {
		return "", nil
	}
	return in.Body.RefreshToken, nil
}

func isForm(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/x-www-form-urlencoded"
}

// decodeJSON decodes a body that huma cannot (routes with two content types)
// with the same strictness huma applies: unknown fields, wrong types and
// trailing data are errors.
func decodeJSON(body []byte, v any, required bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		if required {
			return domain.E(domain.KindMalformed, "request body is required")
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return domain.Invalid("validation failed",
				domain.FieldError{Location: "body." + typeErr.Field, Message: "expected " + typeErr.Type.String()})
		}
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			return domain.Invalid("validation failed", domain.FieldError{Location: "body", Message: err.Error()[6:]})
		}
		return domain.E(domain.KindMalformed, "malformed JSON body")
	}
	if _, err := dec.Token(); err != io.EOF {
		return domain.E(domain.KindMalformed, "malformed JSON body: trailing data")
	}
	return nil
}

func schemaOf(api huma.API, v any) *huma.Schema {
	return api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf(v), true, "")
}
