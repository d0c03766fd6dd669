package platform

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"rampart/shared/auth"
	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/identity"
	"rampart/shared/routes"
	"rampart/shared/secrets"
)

// Store is the DynamoDB store of this process.
func (p *Platform) Store() *dynamo.Store {
	p.storeOnce.Do(func() { p.store = dynamo.New(p.AWS.DynamoDB, p.Config.Table, domain.SystemClock) })
	return p.store
}

// keys returns the JWT key set: from Secrets Manager in Lambda (the signing
// key only when signing is asked for), from the local key file otherwise.
func (p *Platform) keys(signing bool) (auth.Keys, error) {
	if p.Config.Lambda {
		k := &secrets.Keys{Client: secretsmanager.NewFromConfig(p.AWS.AWS),
			VerifyARN: p.Config.Auth.VerifyKeysSecretARN, MaxAge: 5 * time.Minute}
		if signing {
			k.SigningARN = p.Config.Auth.SigningKeySecretARN
		}
		return k, nil
	}
	p.keyOnce.Do(func() {
		var k auth.SigningKey
		k, p.keyErr = auth.LoadOrCreateKeyFile(p.Config.Auth.KeyFile)
		p.localKeys = auth.NewStaticKeys(&k)
	})
	return p.localKeys, p.keyErr
}

func (p *Platform) tokens(signing bool) (*auth.Tokens, error) {
	keys, err := p.keys(signing)
	if err != nil {
		return nil, err
	}
	return &auth.Tokens{Keys: keys, Issuer: p.Config.Auth.Issuer, Audience: p.Config.Auth.Audience,
		TTL: p.Config.Auth.AccessTTL, Clock: domain.SystemClock}, nil
}

// Authenticator verifies tokens and memberships for protected routes.
func (p *Platform) Authenticator() (*identity.Authenticator, error) {
	t, err := p.tokens(false)
	if err != nil {
		return nil, err
	}
	return &identity.Authenticator{Tokens: t, Store: p.Store()}, nil
}

// Identity builds the identity service; only the auth function asks for one
// that mints tokens (signing), the others manage members with verify keys.
func (p *Platform) Identity(signing bool) (*identity.Service, error) {
	t, err := p.tokens(signing)
	if err != nil {
		return nil, err
	}
	return &identity.Service{
		Store: p.Store(), Tokens: t, Clock: domain.SystemClock,
		RefreshTTL: p.Config.Auth.RefreshTTL, InviteTTL: p.Config.Auth.InviteTTL,
		AllowRegister: p.Config.Auth.AllowRegister, Throttle: identity.DefaultThrottle,
		OrgCreated: p.OrgCreated,
	}, nil
}

// OIDC builds the single sign-on flow, or nil when it is not configured.
func (p *Platform) OIDC(ctx context.Context, svc *identity.Service) (*identity.OIDC, error) {
	a := p.Config.Auth
	if !a.OIDCEnabled() {
		return nil, nil
	}
	secret := a.OIDCClientSecret
	if a.OIDCClientSecretARN != "" {
		out, err := secretsmanager.NewFromConfig(p.AWS.AWS).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &a.OIDCClientSecretARN})
		if err != nil {
			return nil, err
		}
		if out.SecretString != nil {
			secret = *out.SecretString
		}
	}
	role, _ := domain.ParseRole(a.OIDCDefaultRole)
	return &identity.OIDC{Service: svc, StateTTL: 10 * time.Minute, Config: identity.OIDCConfig{
		Issuer: a.OIDCIssuer, ClientID: a.OIDCClientID, ClientSecret: secret, RedirectURL: a.OIDCRedirectURL,
		AppURL: p.Config.AppURL, AllowedDomains: a.OIDCAllowedDomains, DefaultOrgID: a.OIDCDefaultOrg, DefaultRole: role,
	}}, nil
}

// OrgCreated seeds a new organization with taxonomy version 1 and the
// built-in templates; it is idempotent (see SeedOrganization).
func (p *Platform) OrgCreated(ctx context.Context, orgID string) error {
	return p.SeedOrganization(ctx, orgID)
}

// AuthRoutes builds the handlers of the auth function.
func (p *Platform) AuthRoutes(ctx context.Context) (*routes.Auth, error) {
	svc, err := p.Identity(true)
	if err != nil {
		return nil, err
	}
	oidc, err := p.OIDC(ctx, svc)
	if err != nil {
		return nil, err
	}
	path := "/api/v1/auth"
	if p.Config.Stage != "" {
		path = "/" + p.Config.Stage + path
	}
	return &routes.Auth{Identity: svc, CookiePath: path, OIDC: oidc}, nil
}

// MemberRoutes builds the handlers of the users and organizations functions.
func (p *Platform) MemberRoutes() (*routes.Members, error) {
	svc, err := p.Identity(false)
	if err != nil {
		return nil, err
	}
	return &routes.Members{Identity: svc}, nil
}
