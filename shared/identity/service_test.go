package identity_test

// Service tests on DynamoDB Local with a clock the test moves: expiry of
// invitations, refresh tokens, access tokens and throttle windows.

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"rampart/shared/auth"
	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/identity"
	"rampart/shared/testenv"
)

const pw = "correct horse battery staple"

type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

type env struct {
	svc   *identity.Service
	authn *identity.Authenticator
	store *dynamo.Store
	clock *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	p := testenv.Platform(t)
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	store := dynamo.New(p.AWS.DynamoDB, p.Config.Table, c.Now)
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	tokens := &auth.Tokens{Keys: auth.NewStaticKeys(&key), Issuer: "rampart", Audience: "rampart-api", TTL: 15 * time.Minute, Clock: c.Now}
	svc := &identity.Service{Store: store, Tokens: tokens, Clock: c.Now, RefreshTTL: 24 * time.Hour, InviteTTL: 7 * 24 * time.Hour,
		AllowRegister: true, Throttle: identity.DefaultThrottle}
	return &env{svc: svc, authn: &identity.Authenticator{Tokens: tokens, Store: store}, store: store, clock: c}
}

var seq atomic.Int64

func email(prefix string) string {
	return fmt.Sprintf("%s%d.%d@example.com", prefix, seq.Add(1), time.Now().UnixNano()%1e9)
}

func wantKind(t *testing.T, err error, k domain.Kind, what string) {
	t.Helper()
	if !domain.Is(err, k) {
		t.Fatalf("%s: %v (kind %v), want %v", what, err, domain.KindOf(err), k)
	}
}

// account registers a user; it returns the session and the user's org.
func (e *env) account(t *testing.T, prefix string) (identity.Session, string, string) {
	t.Helper()
	addr := email(prefix)
	s, err := e.svc.Register(context.Background(), addr, pw, prefix, "")
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.store.GetUser(context.Background(), s.UserID)
	if err != nil {
		t.Fatal(err)
	}
	return s, u.DefaultOrgID, addr
}

func TestInvitationExpires(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	admin, org, _ := e.account(t, "admin")

	res, err := e.svc.AddMember(ctx, org, admin.UserID, identity.NewMember{Email: email("late"), Role: domain.RoleViewer})
	if err != nil || res.InviteToken == "" {
		t.Fatalf("invite: %+v, %v", res, err)
	}
	if !res.Invitation.ExpiresAt.Equal(e.clock.Now().Add(7 * 24 * time.Hour)) {
		t.Errorf("expires at %v", res.Invitation.ExpiresAt)
	}
	e.clock.Advance(7*24*time.Hour + time.Second)
	_, err = e.svc.AcceptInvite(ctx, res.InviteToken, "Late", pw)
	wantKind(t, err, domain.KindNotFound, "expired invitation")
	_, err = e.store.GetUserByEmail(ctx, res.Invitation.Email)
	wantKind(t, err, domain.KindNotFound, "account of an expired invitation")

	// One accepted in time works, once.
	res, err = e.svc.AddMember(ctx, org, admin.UserID, identity.NewMember{Email: email("ontime"), Role: domain.RoleAuditor})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(6 * 24 * time.Hour)
	s, err := e.svc.AcceptInvite(ctx, res.InviteToken, "On Time", pw)
	if err != nil {
		t.Fatalf("accept in time: %v", err)
	}
	m, err := e.store.GetMembership(ctx, org, s.UserID)
	if err != nil || m.Role != domain.RoleAuditor || !m.Active {
		t.Fatalf("membership = %+v, %v", m, err)
	}
	_, err = e.svc.AcceptInvite(ctx, res.InviteToken, "Again", pw)
	wantKind(t, err, domain.KindNotFound, "second accept")
}

func TestInvitationForAnEmailThatSignedUpMeanwhile(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	admin, org, _ := e.account(t, "admin")
	addr := email("meanwhile")
	res, err := e.svc.AddMember(ctx, org, admin.UserID, identity.NewMember{Email: addr, Role: domain.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	own, err := e.svc.Register(ctx, addr, "their own passphrase", "", "")
	if err != nil {
		t.Fatal(err)
	}
	// Accepting needs the existing account's password: the token alone must
	// not let someone into another person's account.
	_, err = e.svc.AcceptInvite(ctx, res.InviteToken, "", pw)
	wantKind(t, err, domain.KindUnauthenticated, "accept with another password")
	s, err := e.svc.AcceptInvite(ctx, res.InviteToken, "", "their own passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if s.UserID != own.UserID {
		t.Fatalf("accepted as %s, want the existing account %s", s.UserID, own.UserID)
	}
	if _, err := e.store.GetMembership(ctx, org, own.UserID); err != nil {
		t.Fatal(err)
	}
}

func TestThrottleWindowEnds(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, _, addr := e.account(t, "window")
	for range 5 {
		_, err := e.svc.Login(ctx, identity.Credentials{Email: addr, Password: "wrong password", SourceAddr: "192.0.2.1"})
		wantKind(t, err, domain.KindUnauthenticated, "wrong password")
	}
	_, err := e.svc.Login(ctx, identity.Credentials{Email: addr, Password: pw, SourceAddr: "192.0.2.1"})
	wantKind(t, err, domain.KindThrottled, "locked account")
	de := err.(*domain.Error)
	window := e.clock.Now().Truncate(identity.DefaultThrottle.Window).Add(identity.DefaultThrottle.Window)
	if want := int(window.Sub(e.clock.Now()).Seconds()) + 1; de.RetryAfterSeconds != want {
		t.Errorf("Retry-After %d, want %d (until the window ends)", de.RetryAfterSeconds, want)
	}
	e.clock.Advance(window.Sub(e.clock.Now()) + time.Second)
	if _, err := e.svc.Login(ctx, identity.Credentials{Email: addr, Password: pw, SourceAddr: "192.0.2.1"}); err != nil {
		t.Fatalf("login in the next window: %v", err)
	}
}

func TestRefreshTokenExpires(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s, _, _ := e.account(t, "expiry")
	e.clock.Advance(23 * time.Hour)
	s2, err := e.svc.Refresh(ctx, s.RefreshToken)
	if err != nil {
		t.Fatalf("refresh within the lifetime: %v", err)
	}
	if s2.RefreshTTL != 24*time.Hour {
		t.Errorf("a rotated token lives %v, want a fresh 24h", s2.RefreshTTL)
	}
	e.clock.Advance(24*time.Hour + time.Second)
	_, err = e.svc.Refresh(ctx, s2.RefreshToken)
	wantKind(t, err, domain.KindUnauthenticated, "expired refresh token")
}

func TestAuthenticator(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s, org, _ := e.account(t, "authn")
	other, otherOrg, _ := e.account(t, "other")

	p, err := e.authn.Authenticate(ctx, s.AccessToken, false, "")
	if err != nil || p.UserID != s.UserID || p.OrgID != "" || p.SessionID == "" {
		t.Fatalf("no org: %+v, %v", p, err)
	}
	p, err = e.authn.Authenticate(ctx, s.AccessToken, true, "")
	if err != nil || p.OrgID != org || p.Role != domain.RoleAdmin {
		t.Fatalf("default org: %+v, %v", p, err)
	}
	_, err = e.authn.Authenticate(ctx, s.AccessToken, true, otherOrg)
	wantKind(t, err, domain.KindNotFound, "another organization")
	_, err = e.authn.Authenticate(ctx, s.AccessToken, true, "junk")
	wantKind(t, err, domain.KindNotFound, "junk organization")
	_, err = e.authn.Authenticate(ctx, "junk", true, "")
	wantKind(t, err, domain.KindUnauthenticated, "junk token")

	// A member of both is a viewer in the other org, and is deactivated there.
	if err := e.store.AddMembership(ctx, domain.Membership{OrgID: otherOrg, UserID: s.UserID, Role: domain.RoleViewer, Active: true}); err != nil {
		t.Fatal(err)
	}
	p, err = e.authn.Authenticate(ctx, s.AccessToken, true, otherOrg)
	if err != nil || p.Role != domain.RoleViewer || p.OrgID != otherOrg {
		t.Fatalf("second org: %+v, %v", p, err)
	}
	if _, err := e.svc.UpdateMember(ctx, otherOrg, s.UserID, identity.MemberChange{Active: new(false)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.authn.Authenticate(ctx, s.AccessToken, true, otherOrg)
	wantKind(t, err, domain.KindForbidden, "deactivated membership")
	// Deactivation signed the user out everywhere, own org included.
	_, err = e.svc.Refresh(ctx, s.RefreshToken)
	wantKind(t, err, domain.KindUnauthenticated, "refresh after deactivation")
	if _, err := e.authn.Authenticate(ctx, s.AccessToken, true, org); err != nil {
		t.Fatalf("own org after deactivation elsewhere: %v", err)
	}
	_ = other

	// The access token ends with its lifetime (plus the leeway).
	e.clock.Advance(15*time.Minute + auth.Leeway + time.Second)
	_, err = e.authn.Authenticate(ctx, s.AccessToken, false, "")
	wantKind(t, err, domain.KindUnauthenticated, "expired access token")
}

func TestClientRoleNeedsAClientOfTheOrganization(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	admin, org, _ := e.account(t, "clientrole")
	for name, nm := range map[string]identity.NewMember{
		"no client":       {Email: email("c"), Role: domain.RoleClient},
		"unknown client":  {Email: email("c"), Role: domain.RoleClient, ClientID: domain.NewID()},
		"junk client":     {Email: email("c"), Role: domain.RoleClient, ClientID: "../x"},
		"client on admin": {Email: email("c"), Role: domain.RoleAdmin, ClientID: domain.NewID()},
	} {
		_, err := e.svc.AddMember(ctx, org, admin.UserID, nm)
		wantKind(t, err, domain.KindInvalid, name)
	}
}

func TestSafeReturnPath(t *testing.T) {
	for in, ok := range map[string]bool{
		"": true, "/": true, "/findings?severity=high": true, "/a/b#c": true,
		"//evil.example": false, "https://evil.example": false, "evil": false, "/\\evil.example": false,
		"/ok\r\nSet-Cookie: a=b": false, "/tab\tx": false, "/" + strings.Repeat("a", 1024): false,
	} {
		got, err := identity.SafeReturnPath(in)
		if ok != (err == nil) {
			t.Errorf("SafeReturnPath(%q) = %q, %v", in, got, err)
		}
		if err != nil && !domain.Is(err, domain.KindInvalid) {
			t.Errorf("SafeReturnPath(%q): kind %v", in, domain.KindOf(err))
		}
		if in == "" && got != "/" {
			t.Errorf("empty return path gives %q, want /", got)
		}
	}
}
