package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"rampart/shared/domain"
)

// OIDCConfig configures single sign-on with an OpenID Connect provider.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string // this API's /api/v1/auth/oidc/callback
	AppURL       string // where the browser lands after sign-in
	// Provisioning: a verified email of an allowed domain that has no account
	// gets one, as a member of DefaultOrgID with DefaultRole. Without allowed
	// domains only existing accounts can sign in.
	AllowedDomains []string
	DefaultOrgID   string
	DefaultRole    domain.Role
}

// OIDC runs the authorization-code flow with state, nonce and PKCE kept
// server-side with a TTL.
type OIDC struct {
	Config  OIDCConfig
	Service *Service
	// StateTTL bounds how long a login may take at the provider.
	StateTTL time.Duration

	once     sync.Mutex
	provider *oidc.Provider
}

// provider discovers the issuer on first use, so a provider outage does not
// stop the function from starting; a failed discovery is retried next time.
func (o *OIDC) discover(ctx context.Context) (*oidc.Provider, error) {
	o.once.Lock()
	defer o.once.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	p, err := oidc.NewProvider(ctx, o.Config.Issuer)
	if err != nil {
		return nil, domain.Wrap(domain.KindUnavailable, err, "identity provider unavailable")
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID: o.Config.ClientID, ClientSecret: o.Config.ClientSecret, RedirectURL: o.Config.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}
}

// SafeReturnPath accepts only a path on this app: it must start with one
// slash, so "//evil.example" and "https://..." cannot turn the login into an
// open redirect.
func SafeReturnPath(p string) (string, error) {
	if p == "" {
		return "/", nil
	}
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") || len(p) > 1024 {
		return "", domain.Invalid("return path must be a relative path on this app",
			domain.FieldError{Location: "query.return_to", Message: "must start with a single /"})
	}
	return p, nil
}

// Start begins a login and returns the provider URL to redirect to.
func (o *OIDC) Start(ctx context.Context, returnTo string) (string, error) {
	returnTo, err := SafeReturnPath(returnTo)
	if err != nil {
		return "", err
	}
	p, err := o.discover(ctx)
	if err != nil {
		return "", err
	}
	st := OIDCState{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(),
		ReturnTo: returnTo, ExpiresAt: o.Service.Clock().Add(o.StateTTL)}
	if err := o.Service.Store.PutOIDCState(ctx, st); err != nil {
		return "", err
	}
	return o.oauth(p).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), nil
}

// Finish completes a login: it consumes the state, exchanges the code with
// the PKCE verifier, verifies the ID token and its nonce, and finds or
// provisions the user by verified email. It returns the session and where to
// send the browser.
func (o *OIDC) Finish(ctx context.Context, state, code string) (Session, string, error) {
	fail := func(msg string) (Session, string, error) {
		return Session{}, "", domain.E(domain.KindUnauthenticated, "single sign-on failed: %s", msg)
	}
	if state == "" || code == "" {
		return fail("missing state or code")
	}
	st, err := o.Service.Store.TakeOIDCState(ctx, state)
	if domain.Is(err, domain.KindNotFound) {
		return fail("unknown or expired state")
	}
	if err != nil {
		return Session{}, "", err
	}
	p, err := o.discover(ctx)
	if err != nil {
		return Session{}, "", err
	}
	tok, err := o.oauth(p).Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return fail("code exchange refused")
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return fail("no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.Config.ClientID, Now: o.Service.Clock}).Verify(ctx, rawID)
	if err != nil {
		return fail("ID token invalid")
	}
	if idt.Nonce != st.Nonce {
		return fail("nonce mismatch")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return fail("unreadable claims")
	}
	// Some providers send email_verified as a string.
	if v := claims.EmailVerified; v != true && v != "true" {
		return fail("email not verified by the provider")
	}
	email, err := domain.NormalizeEmail(claims.Email, "id_token.email")
	if err != nil {
		return fail("no valid email")
	}
	u, err := o.Service.Store.GetUserByEmail(ctx, email)
	if domain.Is(err, domain.KindNotFound) {
		u, err = o.provision(ctx, email, claims.Name)
	}
	if err != nil {
		return Session{}, "", err
	}
	s, err := o.Service.SessionFor(ctx, u.ID)
	if err != nil {
		return Session{}, "", err
	}
	return s, strings.TrimRight(o.Config.AppURL, "/") + st.ReturnTo, nil
}

func (o *OIDC) provision(ctx context.Context, email, name string) (domain.User, error) {
	at := strings.LastIndexByte(email, '@')
	allowed := false
	for _, d := range o.Config.AllowedDomains {
		allowed = allowed || strings.EqualFold(email[at+1:], strings.TrimSpace(d))
	}
	if !allowed || o.Config.DefaultOrgID == "" {
		return domain.User{}, domain.E(domain.KindForbidden, "no account for this email, and its domain is not allowed to sign up")
	}
	name, _ = domain.CleanName(name, "name", false, 200)
	now := o.Service.Clock()
	u := domain.User{ID: domain.NewIDAt(now), Email: email, Name: name, DefaultOrgID: o.Config.DefaultOrgID,
		CreatedAt: now, UpdatedAt: now}
	m := domain.Membership{OrgID: o.Config.DefaultOrgID, UserID: u.ID, Role: o.Config.DefaultRole, Active: true,
		CreatedAt: now, UpdatedAt: now}
	if err := o.Service.Store.CreateUser(ctx, u, nil, m); err != nil {
		return domain.User{}, err
	}
	return u, nil
}

func random() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
