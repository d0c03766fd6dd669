package routes_test

// Single sign-on end to end against a real OpenID provider: zitadel/oidc's
// pkg/op with the library's in-memory example storage, on 127.0.0.1, with a
// login step that approves the user the test names. The API runs as a real
// HTTP server too, since the provider redirects the browser to it and the
// API calls the provider's token and JWKS endpoints.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"

	"rampart/shared/platform"
	"rampart/shared/routes"
)

const (
	oidcClientID     = "rampart-web"
	oidcClientSecret = "rampart-web-secret"
	oidcAppURL       = "https://app.rampart.test"
)

// opUsers are the provider's accounts, by username (= email here).
type opUsers struct {
	mu    sync.Mutex
	users map[string]*storage.User
}

func (u *opUsers) add(email string, verified bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.users[email] = &storage.User{ID: "sub-" + email, Username: email, Password: "provider-password",
		FirstName: "Test", LastName: "Person", Email: email, EmailVerified: verified}
}

func (u *opUsers) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.users {
		if x.ID == id {
			return x
		}
	}
	return nil
}

func (u *opUsers) GetUserByUsername(name string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.users[name]
}

func (u *opUsers) ExampleClientID() string { return storage.ServiceUserID }

// opStorage is the example storage whose clients put the email and profile
// claims in the ID token, as Rampart reads them from there.
type opStorage struct{ *storage.Storage }

func (s opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return claimsInIDToken{c}, nil
}

type claimsInIDToken struct{ op.Client }

func (claimsInIDToken) IDTokenUserinfoClaimsAssertion() bool { return true }

// testOP is a running OpenID provider.
type testOP struct {
	srv   *httptest.Server
	users *opUsers
	mu    sync.Mutex
	next  string // the username the login step approves
}

func (o *testOP) signInAs(email string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.next = email
}

func startOP(t *testing.T, redirectURI string) *testOP {
	t.Helper()
	o := &testOP{users: &opUsers{users: map[string]*storage.User{}}}
	var handler http.Handler
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(o.srv.Close)
	issuer := o.srv.URL

	st := storage.NewStorageWithClients(o.users, map[string]*storage.Client{
		oidcClientID: storage.WebClient(oidcClientID, oidcClientSecret, redirectURI),
	})
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:      sha256.Sum256([]byte("rampart oidc test")),
		CodeMethodS256: true,
		AuthMethodPost: true,
	}, opStorage{st}, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	// The login step: no form, it approves the user the test chose.
	login := op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("authRequestID")
		o.mu.Lock()
		user := o.next
		o.mu.Unlock()
		if err := st.CheckUsernamePassword(user, "provider-password", id); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		http.Redirect(w, r, op.AuthCallbackURL(provider)(r.Context(), id), http.StatusFound)
	})
	router := chi.NewRouter()
	router.HandleFunc("/login/username", login)
	router.Mount("/", provider)
	handler = router
	return o
}

// oidcHarness is the API on a real listener, beside the provider.
type oidcHarness struct {
	*idEnv
	api     *httptest.Server
	op      *testOP
	browser *http.Client
	adminOf account // the default organization's admin
}

func newOIDCHarness(t *testing.T, allowedDomains ...string) *oidcHarness {
	t.Helper()
	h := &oidcHarness{}
	var handler http.Handler
	h.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(h.api.Close)
	callback := h.api.URL + "/api/v1/auth/oidc/callback"
	h.op = startOP(t, callback)
	h.idEnv = newIDEnv(t, func(p *platform.Platform) {
		p.Config.AppURL = oidcAppURL
		a := &p.Config.Auth
		a.OIDCIssuer, a.OIDCClientID, a.OIDCClientSecret, a.OIDCRedirectURL = h.op.srv.URL, oidcClientID, oidcClientSecret, callback
		a.OIDCAllowedDomains = allowedDomains
		a.OIDCDefaultRole = "viewer"
	})
	handler = h.srv
	if h.auth.OIDC == nil {
		t.Fatal("OIDC not configured by the platform")
	}
	// Provisioning needs an existing default organization.
	h.adminOf = h.register("sso-admin")
	h.auth.OIDC.Config.DefaultOrgID = h.adminOf.OrgID
	h.browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return h
}

func (h *oidcHarness) get(u string) *http.Response {
	h.t.Helper()
	res, err := h.browser.Get(u)
	if err != nil {
		h.t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// startLogin asks the API to start a login and returns the provider URL.
func (h *oidcHarness) startLogin(returnTo string) *url.URL {
	h.t.Helper()
	u := h.api.URL + "/api/v1/auth/oidc/login"
	if returnTo != "" {
		u += "?return_to=" + url.QueryEscape(returnTo)
	}
	res := h.get(u)
	if res.StatusCode != http.StatusFound {
		h.t.Fatalf("oidc/login: status %d", res.StatusCode)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	return loc
}

// authorize follows the provider's redirects as a browser would, signed in
// as email, until one points back at the API: that callback URL is returned.
func (h *oidcHarness) authorize(authURL *url.URL, email string) *url.URL {
	h.t.Helper()
	h.op.signInAs(email)
	next := authURL
	for range 10 {
		if strings.HasPrefix(next.String(), h.api.URL+"/") {
			return next
		}
		res := h.get(next.String())
		if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther {
			h.t.Fatalf("provider answered %d at %s", res.StatusCode, next)
		}
		loc, err := next.Parse(res.Header.Get("Location"))
		if err != nil {
			h.t.Fatal(err)
		}
		next = loc
	}
	h.t.Fatalf("no redirect back to the API from %s", authURL)
	return nil
}

// signIn runs a whole login and returns the callback's answer.
func (h *oidcHarness) signIn(email, returnTo string) (*http.Response, *url.URL) {
	h.t.Helper()
	cb := h.authorize(h.startLogin(returnTo), email)
	return h.get(cb.String()), cb
}

func refreshCookieOf(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == routes.RefreshCookie {
			return c
		}
	}
	return nil
}

func TestOIDCLoginRedirect(t *testing.T) {
	h := newOIDCHarness(t, "allowed.test")
	loc := h.startLogin("/findings")
	if got := loc.Scheme + "://" + loc.Host; got != h.op.srv.URL {
		t.Fatalf("redirect to %s, want the provider %s", got, h.op.srv.URL)
	}
	q := loc.Query()
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(p)) < 20 {
			t.Errorf("%s = %q, want a random value", p, q.Get(p))
		}
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" || q.Get("client_id") != oidcClientID ||
		q.Get("redirect_uri") != h.api.URL+"/api/v1/auth/oidc/callback" {
		t.Errorf("authorization request = %v", q)
	}
	if c, err := base64.RawURLEncoding.DecodeString(q.Get("code_challenge")); err != nil || len(c) != sha256.Size {
		t.Errorf("code_challenge %q is not a base64url SHA-256", q.Get("code_challenge"))
	}
	scopes := strings.Fields(q.Get("scope"))
	for _, s := range []string{"openid", "email"} {
		if !strings.Contains(" "+strings.Join(scopes, " ")+" ", " "+s+" ") {
			t.Errorf("scope %q lacks %s", q.Get("scope"), s)
		}
	}
	// Two logins never share state or nonce.
	q2 := h.startLogin("").Query()
	if q2.Get("state") == q.Get("state") || q2.Get("nonce") == q.Get("nonce") || q2.Get("code_challenge") == q.Get("code_challenge") {
		t.Error("state, nonce or PKCE challenge repeated")
	}
}

func TestOIDCReturnPathMustBeRelative(t *testing.T) {
	h := newOIDCHarness(t, "allowed.test")
	for _, rt := range []string{"https://evil.example/x", "//evil.example/x", "/\\evil.example", "evil", "http:/x", "/ok\r\nSet-Cookie: x=y"} {
		r := h.call("GET", "/api/v1/auth/oidc/login?return_to="+url.QueryEscape(rt), nil)
		want(t, r, http.StatusUnprocessableEntity, "return_to "+rt)
	}
}

func TestOIDCProvisionsIntoDefaultOrg(t *testing.T) {
	h := newOIDCHarness(t, "allowed.test")
	email := "new.person@allowed.test"
	h.op.users.add(email, true)

	res, cb := h.signIn(email, "/findings?tab=open")
	if res.StatusCode != http.StatusFound {
		t.Fatalf("callback: status %d", res.StatusCode)
	}
	if cb.Query().Get("state") == "" || cb.Query().Get("code") == "" {
		t.Fatalf("callback URL %s lacks state or code", cb)
	}
	loc := res.Header.Get("Location")
	if loc != oidcAppURL+"/findings?tab=open" {
		t.Fatalf("Location = %q, want the app URL and the return path", loc)
	}
	c := refreshCookieOf(res)
	if c == nil || c.Value == "" {
		t.Fatalf("no refresh cookie: %v", res.Header.Values("Set-Cookie"))
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/api/v1/auth" {
		t.Errorf("cookie attributes: %v", res.Header.Values("Set-Cookie"))
	}
	if strings.Contains(loc, c.Value) || strings.Contains(strings.ToLower(loc), "token") {
		t.Errorf("a token travels in the URL: %s", loc)
	}

	// The app trades the cookie for tokens.
	r := h.call("POST", "/api/v1/auth/refresh", nil, withCookie(&http.Cookie{Name: routes.RefreshCookie, Value: c.Value}))
	want(t, r, http.StatusOK, "refresh with the SSO cookie")
	tb := checkTokens(t, r)
	me := h.me(tb.AccessToken)
	if me.Email != email || me.DefaultOrganizationID != h.adminOf.OrgID || len(me.Memberships) != 1 ||
		me.Memberships[0].Role != "viewer" || me.Memberships[0].OrganizationID != h.adminOf.OrgID {
		t.Fatalf("provisioned profile = %+v", me)
	}
	if me.Name != "Test Person" {
		t.Errorf("name = %q, want the provider's", me.Name)
	}

	// The same callback again (state used up): refused.
	again := h.get(cb.String())
	if again.StatusCode != http.StatusUnauthorized || refreshCookieOf(again) != nil {
		t.Fatalf("second use of the state: status %d, cookie %v", again.StatusCode, refreshCookieOf(again))
	}

	// A second sign-in finds the account instead of creating another.
	res, _ = h.signIn(email, "")
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != oidcAppURL+"/" {
		t.Fatalf("second sign-in: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	r = h.call("POST", "/api/v1/auth/refresh", nil, withCookie(refreshCookieOf(res)))
	want(t, r, http.StatusOK, "refresh after the second sign-in")
	if id := h.me(checkTokens(t, r).AccessToken).ID; id != me.ID {
		t.Fatalf("second sign-in is user %s, want %s", id, me.ID)
	}
}

func TestOIDCExistingAccount(t *testing.T) {
	h := newOIDCHarness(t, "allowed.test")
	// An account that exists signs in whatever its domain.
	existing := h.register("sso-existing")
	h.op.users.add(existing.Email, true)
	res, _ := h.signIn(existing.Email, "/")
	if res.StatusCode != http.StatusFound {
		t.Fatalf("existing account: status %d", res.StatusCode)
	}
	r := h.call("POST", "/api/v1/auth/refresh", nil, withCookie(refreshCookieOf(res)))
	want(t, r, http.StatusOK, "refresh")
	me := h.me(checkTokens(t, r).AccessToken)
	if me.ID != existing.UserID || len(me.Memberships) != 1 || me.Memberships[0].OrganizationID != existing.OrgID {
		t.Fatalf("profile = %+v: the existing account must be used, not provisioned", me)
	}
}

func TestOIDCRefusals(t *testing.T) {
	h := newOIDCHarness(t, "allowed.test")
	h.op.users.add("unverified@allowed.test", false)
	h.op.users.add("outsider@elsewhere.test", true)

	for _, tc := range []struct {
		email string
		code  int
	}{
		{"unverified@allowed.test", http.StatusUnauthorized},
		{"outsider@elsewhere.test", http.StatusForbidden},
	} {
		res, _ := h.signIn(tc.email, "/")
		if res.StatusCode != tc.code || refreshCookieOf(res) != nil {
			t.Errorf("%s: status %d (cookie %v), want %d and no cookie", tc.email, res.StatusCode, refreshCookieOf(res), tc.code)
		}
		r := h.call("POST", "/api/v1/auth/login", map[string]string{"email": tc.email, "password": testPassword})
		want(t, r, http.StatusUnauthorized, "no account was made for "+tc.email)
	}

	// PKCE binds the code to its login: a code from login A presented with
	// the state of login B is refused (B's verifier does not match A's
	// challenge), and B's state is used up.
	h.op.users.add("pkce@allowed.test", true)
	cbA := h.authorize(h.startLogin("/"), "pkce@allowed.test")
	stateB := h.startLogin("/").Query().Get("state")
	mixed := *cbA
	q := mixed.Query()
	q.Set("state", stateB)
	mixed.RawQuery = q.Encode()
	if res := h.get(mixed.String()); res.StatusCode != http.StatusUnauthorized || refreshCookieOf(res) != nil {
		t.Errorf("code of another login: status %d", res.StatusCode)
	}
	// Login A itself still completes once.
	if res := h.get(cbA.String()); res.StatusCode != http.StatusFound {
		t.Errorf("login A: status %d", res.StatusCode)
	}

	for name, query := range map[string]string{
		"unknown state":  "state=made-up&code=x",
		"no state":       "code=x",
		"no code":        "state=x",
		"provider error": "error=access_denied&state=x",
		"nothing":        "",
	} {
		r := h.call("GET", "/api/v1/auth/oidc/callback?"+query, nil)
		want(t, r, http.StatusUnauthorized, name)
		if r.cookie(routes.RefreshCookie) != nil {
			t.Errorf("%s set a cookie", name)
		}
	}
}

func TestOIDCNotConfigured(t *testing.T) {
	e := newIDEnv(t, nil)
	for _, path := range []string{"/api/v1/auth/oidc/login", "/api/v1/auth/oidc/callback?state=x&code=y"} {
		r := e.call("GET", path, nil)
		want(t, r, http.StatusNotFound, path)
		if !strings.Contains(r.detail(), "not configured") {
			t.Errorf("%s: detail %q does not say single sign-on is not configured", path, r.detail())
		}
	}
}
