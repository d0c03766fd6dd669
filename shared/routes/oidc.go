package routes

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
)

type redirectOutput struct {
	Status    int
	Location  string      `header:"Location"`
	SetCookie http.Cookie `header:"Set-Cookie"`
}

func (a *Auth) registerOIDC(api huma.API) {
	tags := []string{"Auth"}
	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "oidc-login", Method: http.MethodGet, Path: "/api/v1/auth/oidc/login",
		Summary: "Start single sign-on: 302 to the OpenID Connect provider", Tags: tags,
		Description: "404 when single sign-on is not configured. return_to must be a relative path.",
		Responses:   map[string]*huma.Response{"302": {Description: "Redirect to the provider"}},
		Errors:      []int{http.StatusNotFound},
	}, func(ctx context.Context, in *struct {
		ReturnTo string `query:"return_to" maxLength:"1024" doc:"Relative path of the app to land on after sign-in"`
	}) (*redirectOutput, error) {
		if a.OIDC == nil {
			return nil, domain.E(domain.KindNotFound, "single sign-on is not configured")
		}
		url, err := a.OIDC.Start(ctx, in.ReturnTo)
		if err != nil {
			return nil, err
		}
		return &redirectOutput{Status: http.StatusFound, Location: url}, nil
	})
	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "oidc-callback", Method: http.MethodGet, Path: "/api/v1/auth/oidc/callback",
		Summary: "Finish single sign-on: sets the refresh cookie and redirects to the app", Tags: tags,
		Description: "No token travels in the URL: the app calls /auth/refresh with the cookie.",
		Responses:   map[string]*huma.Response{"302": {Description: "Redirect to the app"}},
		Errors:      []int{http.StatusNotFound, http.StatusUnauthorized, http.StatusForbidden},
	}, func(ctx context.Context, in *struct {
		State string `query:"state" maxLength:"256"`
		Code  string `query:"code" maxLength:"4096"`
		Error string `query:"error" maxLength:"256"`
	}) (*redirectOutput, error) {
		if a.OIDC == nil {
			return nil, domain.E(domain.KindNotFound, "single sign-on is not configured")
		}
		if in.Error != "" {
			return nil, domain.E(domain.KindUnauthenticated, "single sign-on failed: the provider answered %q", in.Error)
		}
		s, dest, err := a.OIDC.Finish(ctx, in.State, in.Code)
		if err != nil {
			return nil, err
		}
		return &redirectOutput{Status: http.StatusFound, Location: dest,
			SetCookie: a.cookie(s.RefreshToken, int(s.RefreshTTL.Seconds()))}, nil
	})
}
