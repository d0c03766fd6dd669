package routes_test

// HTTP tests of the identity routes: a server composed as functions/local
// composes it (auth, users and organizations groups), on a table of its own
// in DynamoDB Local. Requests go through the handler in-process, so a test
// can choose the caller's source address.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rampart/shared/httpapi"
	"rampart/shared/platform"
	"rampart/shared/routes"
	"rampart/shared/testenv"
)

const testPassword = "correct horse battery staple"

// idEnv is a composed API on a fresh table.
type idEnv struct {
	t       *testing.T
	p       *platform.Platform
	srv     *httpapi.Server
	auth    *routes.Auth
	members *routes.Members
}

// newIDEnv builds the server; configure, when not nil, may change the
// platform's configuration before the routes are built.
func newIDEnv(t *testing.T, configure func(p *platform.Platform)) *idEnv {
	t.Helper()
	p := testenv.Platform(t)
	// The local key file would land in the package directory otherwise.
	p.Config.Auth.KeyFile = filepath.Join(t.TempDir(), "jwt-signing-key.pem")
	if configure != nil {
		configure(p)
	}
	srv, err := p.Server()
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.AuthRoutes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a.Register(srv.API)
	m, err := p.MemberRoutes()
	if err != nil {
		t.Fatal(err)
	}
	m.RegisterUsers(srv.API)
	m.RegisterOrganizations(srv.API)
	return &idEnv{t: t, p: p, srv: srv, auth: a, members: m}
}

// resp is an answer of the API.
type resp struct {
	Code   int
	Header http.Header
	Body   []byte
	res    *http.Response
}

func (r *resp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r *resp) detail() string {
	var e struct {
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Detail
}

func (r *resp) cookie(name string) *http.Cookie {
	for _, c := range r.res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// reqOpt changes a request before it is served.
type reqOpt func(*http.Request)

func bearer(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}
func inOrg(id string) reqOpt { return func(r *http.Request) { r.Header.Set(httpapi.OrgHeader, id) } }
func fromAddr(ip string) reqOpt {
	return func(r *http.Request) { r.RemoteAddr = ip + ":40000" }
}
func withCookie(c *http.Cookie) reqOpt { return func(r *http.Request) { r.AddCookie(c) } }

// form is a body sent form-encoded.
type form url.Values

// call serves one request. body is nil, a string (sent as JSON text), a form,
// or any value encoded as JSON.
func (e *idEnv) call(method, path string, body any, opts ...reqOpt) *resp {
	e.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case form:
		rd, ct = strings.NewReader(url.Values(b).Encode()), "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = "192.0.2.10:40000"
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return &resp{Code: res.StatusCode, Header: res.Header, Body: b, res: res}
}

// want fails the test unless r has the status.
func want(t *testing.T, r *resp, code int, what string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Code, code, r.Body)
	}
}

type tokenBody struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

type profileBody struct {
	ID                    string `json:"id"`
	Email                 string `json:"email"`
	Name                  string `json:"name"`
	DefaultOrganizationID string `json:"default_organization_id"`
	Memberships           []struct {
		OrganizationID string `json:"organization_id"`
		Role           string `json:"role"`
		Active         bool   `json:"active"`
	} `json:"memberships"`
}

// account is a signed-in user.
type account struct {
	Email, Password, UserID, OrgID string
	tokenBody
}

var emailSeq struct {
	sync.Mutex
	n int
}

func freshEmail(prefix string) string {
	emailSeq.Lock()
	defer emailSeq.Unlock()
	emailSeq.n++
	return fmt.Sprintf("%s%d.%d@example.com", prefix, emailSeq.n, time.Now().UnixNano()%1e9)
}

// register creates an account with a new organization.
func (e *idEnv) register(prefix string) account {
	e.t.Helper()
	a := account{Email: freshEmail(prefix), Password: testPassword}
	r := e.call("POST", "/api/v1/auth/register", map[string]string{"email": a.Email, "password": a.Password, "name": prefix})
	want(e.t, r, http.StatusCreated, "register")
	r.decode(e.t, &a.tokenBody)
	me := e.me(a.AccessToken)
	a.UserID, a.OrgID = me.ID, me.DefaultOrganizationID
	return a
}

func (e *idEnv) me(access string) profileBody {
	e.t.Helper()
	r := e.call("GET", "/api/v1/auth/me", nil, bearer(access))
	want(e.t, r, http.StatusOK, "GET /auth/me")
	var p profileBody
	r.decode(e.t, &p)
	return p
}

// login signs in with JSON.
func (e *idEnv) login(email, password string) tokenBody {
	e.t.Helper()
	r := e.call("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password})
	want(e.t, r, http.StatusOK, "login "+email)
	var tb tokenBody
	r.decode(e.t, &tb)
	return tb
}

// addUser creates a user with role in admin's current organization (POST
// /users) and signs them in.
func (e *idEnv) addUser(admin account, role string) account {
	e.t.Helper()
	a := account{Email: freshEmail(role), Password: testPassword, OrgID: admin.OrgID}
	r := e.call("POST", "/api/v1/users", map[string]string{"email": a.Email, "password": a.Password, "role": role, "name": role},
		bearer(admin.AccessToken), inOrg(admin.OrgID))
	want(e.t, r, http.StatusCreated, "POST /users role "+role)
	var mv routes.MemberView
	r.decode(e.t, &mv)
	a.UserID = mv.ID
	a.tokenBody = e.login(a.Email, a.Password)
	return a
}

func (e *idEnv) refresh(token string) *resp {
	e.t.Helper()
	return e.call("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": token})
}

func checkRefreshCookie(t *testing.T, r *resp, value string) {
	t.Helper()
	c := r.cookie(routes.RefreshCookie)
	if c == nil {
		t.Fatalf("no %s cookie in %v", routes.RefreshCookie, r.Header.Values("Set-Cookie"))
	}
	if c.Value != value {
		t.Errorf("cookie value is not the refresh token of the body")
	}
	raw := strings.Join(r.Header.Values("Set-Cookie"), "\n")
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/api/v1/auth" {
		t.Errorf("cookie attributes: %s", raw)
	}
	if c.MaxAge < 29*24*3600 || c.MaxAge > 30*24*3600 {
		t.Errorf("cookie Max-Age %d, want about the refresh lifetime (30 days)", c.MaxAge)
	}
}

func checkTokens(t *testing.T, r *resp) tokenBody {
	t.Helper()
	var tb tokenBody
	r.decode(t, &tb)
	if tb.AccessToken == "" || tb.RefreshToken == "" || tb.TokenType != "bearer" || tb.ExpiresIn < 890 || tb.ExpiresIn > 900 {
		t.Fatalf("token body = %s", r.Body)
	}
	checkRefreshCookie(t, r, tb.RefreshToken)
	return tb
}

func TestRegister(t *testing.T) {
	e := newIDEnv(t, nil)
	email := freshEmail("reg")
	r := e.call("POST", "/api/v1/auth/register", map[string]string{"email": strings.ToUpper(email[:1]) + email[1:],
		"password": testPassword, "name": "Ada", "organization_name": "Ada's org"})
	want(t, r, http.StatusCreated, "register")
	tb := checkTokens(t, r)

	me := e.me(tb.AccessToken)
	if me.Email != email || me.Name != "Ada" || len(me.Memberships) != 1 || me.Memberships[0].Role != "admin" ||
		me.Memberships[0].OrganizationID != me.DefaultOrganizationID {
		t.Fatalf("profile after register: %+v", me)
	}
	org := e.call("GET", "/api/v1/organizations/"+me.DefaultOrganizationID, nil, bearer(tb.AccessToken))
	want(t, org, http.StatusOK, "own organization")
	if !strings.Contains(string(org.Body), `"name":"Ada's org"`) {
		t.Errorf("organization = %s", org.Body)
	}

	for name, body := range map[string]any{
		"same email again":     map[string]string{"email": email, "password": testPassword},
		"same email, any case": map[string]string{"email": strings.ToUpper(email), "password": testPassword},
	} {
		want(t, e.call("POST", "/api/v1/auth/register", body), http.StatusConflict, name)
	}
	for name, body := range map[string]any{
		"bad email":         map[string]string{"email": "not-an-email", "password": testPassword},
		"short password":    map[string]string{"email": freshEmail("x"), "password": "short"},
		"common password":   map[string]string{"email": freshEmail("x"), "password": "1234567890"},
		"password is email": func() map[string]string { m := freshEmail("x"); return map[string]string{"email": m, "password": m} }(),
		"unknown field":     map[string]string{"email": freshEmail("x"), "password": testPassword, "role": "admin"},
	} {
		want(t, e.call("POST", "/api/v1/auth/register", body), http.StatusUnprocessableEntity, name)
	}
}

func TestRegisterSwitchedOff(t *testing.T) {
	e := newIDEnv(t, func(p *platform.Platform) { p.Config.Auth.AllowRegister = false })
	r := e.call("POST", "/api/v1/auth/register", map[string]string{"email": freshEmail("off"), "password": testPassword})
	want(t, r, http.StatusForbidden, "register switched off")
}

func TestLogin(t *testing.T) {
	e := newIDEnv(t, nil)
	a := e.register("login")

	r := e.call("POST", "/api/v1/auth/login", map[string]string{"email": a.Email, "password": a.Password})
	want(t, r, http.StatusOK, "JSON login")
	tb := checkTokens(t, r)
	if e.me(tb.AccessToken).ID != a.UserID {
		t.Fatal("JSON login token is someone else's")
	}

	// OAuth2 password form: username carries the email; other fields ignored.
	r = e.call("POST", "/api/v1/auth/login", form{"username": {strings.ToUpper(a.Email)}, "password": {a.Password},
		"grant_type": {"password"}, "scope": {""}, "client_id": {"spa"}})
	want(t, r, http.StatusOK, "form login")
	tb = checkTokens(t, r)
	if e.me(tb.AccessToken).ID != a.UserID {
		t.Fatal("form login token is someone else's")
	}
	// JSON with username also works (some clients do that).
	want(t, e.call("POST", "/api/v1/auth/login", map[string]string{"username": a.Email, "password": a.Password}), http.StatusOK, "JSON username")

	wrong := e.call("POST", "/api/v1/auth/login", map[string]string{"email": a.Email, "password": "wrong password here"})
	want(t, wrong, http.StatusUnauthorized, "wrong password")
	unknown := e.call("POST", "/api/v1/auth/login", map[string]string{"email": "nobody@example.com", "password": "wrong password here"})
	want(t, unknown, http.StatusUnauthorized, "unknown email")
	if wrong.detail() != unknown.detail() {
		t.Errorf("wrong password (%q) and unknown email (%q) answer differently", wrong.detail(), unknown.detail())
	}
	if wrong.cookie(routes.RefreshCookie) != nil {
		t.Error("a failed login set a cookie")
	}
	for name, body := range map[string]any{
		"empty JSON":   map[string]string{},
		"empty form":   form{"password": {"x"}},
		"unknown key":  map[string]string{"email": a.Email, "password": a.Password, "otp": "1"},
		"wrong type":   `{"email": 5, "password": "x"}`,
		"not JSON":     `{"email":`,
		"trailing":     `{"email":"a@b.c","password":"x"} {}`,
		"empty string": "",
	} {
		r := e.call("POST", "/api/v1/auth/login", body)
		if r.Code != http.StatusUnprocessableEntity && r.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400 or 422: %s", name, r.Code, r.Body)
		}
	}
}

func TestLoginThrottlePerAccount(t *testing.T) {
	e := newIDEnv(t, nil)
	a := e.register("throttle")
	other := e.register("bystander")
	for i := range 5 {
		r := e.call("POST", "/api/v1/auth/login", map[string]string{"email": a.Email, "password": "wrong password " + strconv.Itoa(i)},
			fromAddr(fmt.Sprintf("198.51.100.%d", i+1)))
		want(t, r, http.StatusUnauthorized, fmt.Sprintf("failure %d", i+1))
	}
	// The sixth attempt is throttled, even with the right password and from
	// a new address: the lock is on the account.
	r := e.call("POST", "/api/v1/auth/login", map[string]string{"email": a.Email, "password": a.Password}, fromAddr("203.0.113.9"))
	want(t, r, http.StatusTooManyRequests, "sixth attempt")
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 15*60+1 {
		t.Errorf("Retry-After = %q, want seconds until the window ends", r.Header.Get("Retry-After"))
	}
	if r.detail() == "" {
		t.Error("429 without detail")
	}
	// Form logins are the same account.
	want(t, e.call("POST", "/api/v1/auth/login", form{"username": {a.Email}, "password": {a.Password}}), http.StatusTooManyRequests, "form login of a locked account")
	// Other accounts are not affected.
	want(t, e.call("POST", "/api/v1/auth/login", map[string]string{"email": other.Email, "password": other.Password}), http.StatusOK, "another account")
	// A refresh token still works: throttling is about passwords.
	want(t, e.refresh(a.RefreshToken), http.StatusOK, "refresh of a locked account")
}

func TestLoginThrottleClearedBySuccess(t *testing.T) {
	e := newIDEnv(t, nil)
	a := e.register("clear")
	for range 4 {
		want(t, e.call("POST", "/api/v1/auth/login", map[string]string{"email": a.Email, "password": "wrong password!"}), http.StatusUnauthorized, "failure")
	}
	e.login(a.Email, a.Password)
	for range 4 {
		want(t, e.call("POST", "/api/v1/auth/login", map[string]string{"email": a.Email, "password": "wrong password!"}), http.StatusUnauthorized, "failure after success")
	}
	e.login(a.Email, a.Password)
}

func TestLoginThrottlePerAddress(t *testing.T) {
	e := newIDEnv(t, nil)
	victim := e.register("victim")
	const attacker = "198.51.100.77"
	// Thirty failures from one address, spread over accounts so no account
	// reaches its own limit.
	for i := range 30 {
		r := e.call("POST", "/api/v1/auth/login", map[string]string{"email": fmt.Sprintf("spray%d@example.com", i/3), "password": "wrong password!"},
			fromAddr(attacker))
		want(t, r, http.StatusUnauthorized, fmt.Sprintf("failure %d", i+1))
	}
	r := e.call("POST", "/api/v1/auth/login", map[string]string{"email": victim.Email, "password": victim.Password}, fromAddr(attacker))
	want(t, r, http.StatusTooManyRequests, "any login from the address")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// The same account from another address is fine.
	want(t, e.call("POST", "/api/v1/auth/login", map[string]string{"email": victim.Email, "password": victim.Password},
		fromAddr("198.51.100.78")), http.StatusOK, "another address")
	// Forwarded headers are not trusted to dodge the limit.
	r = e.call("POST", "/api/v1/auth/login", map[string]string{"email": victim.Email, "password": victim.Password}, fromAddr(attacker),
		func(r *http.Request) { r.Header.Set("X-Forwarded-For", "203.0.113.1") })
	want(t, r, http.StatusTooManyRequests, "X-Forwarded-For")
}

func TestRefresh(t *testing.T) {
	e := newIDEnv(t, nil)
	a := e.register("refresh")

	// Body (family B).
	r := e.refresh(a.RefreshToken)
	want(t, r, http.StatusOK, "refresh via body")
	t1 := checkTokens(t, r)
	if t1.RefreshToken == a.RefreshToken {
		t.Fatal("refresh did not rotate")
	}
	if e.me(t1.AccessToken).ID != a.UserID {
		t.Fatal("refreshed access token is someone else's")
	}

	// Cookie (family A); no body at all.
	r = e.call("POST", "/api/v1/auth/refresh", nil, withCookie(&http.Cookie{Name: routes.RefreshCookie, Value: t1.RefreshToken}))
	want(t, r, http.StatusOK, "refresh via cookie")
	t2 := checkTokens(t, r)

	// The first token was rotated: presenting it again is reuse. It is
	// refused and the whole family dies, the newest token included.
	r = e.refresh(a.RefreshToken)
	want(t, r, http.StatusUnauthorized, "reuse of a rotated token")
	r = e.call("POST", "/api/v1/auth/refresh", nil, withCookie(&http.Cookie{Name: routes.RefreshCookie, Value: t2.RefreshToken}))
	want(t, r, http.StatusUnauthorized, "newest token of the family after reuse")

	// Other sign-ins of the same user are not affected.
	other := e.login(a.Email, a.Password)
	want(t, e.refresh(other.RefreshToken), http.StatusOK, "another sign-in")

	want(t, e.call("POST", "/api/v1/auth/refresh", nil), http.StatusUnauthorized, "no token")
	want(t, e.refresh("made-up"), http.StatusUnauthorized, "unknown token")
	// An access token is not a refresh token (it is longer than any refresh
	// token, so validation may refuse it first).
	if r := e.refresh(other.AccessToken); r.Code != http.StatusUnauthorized && r.Code != http.StatusUnprocessableEntity {
		t.Errorf("access token as refresh token: %d %s", r.Code, r.Body)
	}
}

func TestLogout(t *testing.T) {
	e := newIDEnv(t, nil)
	a := e.register("logout")
	second := e.login(a.Email, a.Password)

	r := e.call("POST", "/api/v1/auth/logout", nil, withCookie(&http.Cookie{Name: routes.RefreshCookie, Value: a.RefreshToken}))
	want(t, r, http.StatusNoContent, "logout")
	if len(r.Body) != 0 {
		t.Errorf("204 with a body: %s", r.Body)
	}
	c := r.cookie(routes.RefreshCookie)
	if c == nil || c.Value != "" || c.MaxAge >= 0 || c.Path != "/api/v1/auth" || !c.HttpOnly || !c.Secure {
		t.Errorf("logout cookie = %v, want it cleared: %v", c, r.Header.Values("Set-Cookie"))
	}
	want(t, e.refresh(a.RefreshToken), http.StatusUnauthorized, "refresh after logout")
	// Only that sign-in ended.
	want(t, e.refresh(second.RefreshToken), http.StatusOK, "another sign-in after logout")

	// Body form, and logout without a token, are both 204.
	third := e.login(a.Email, a.Password)
	want(t, e.call("POST", "/api/v1/auth/logout", map[string]string{"refresh_token": third.RefreshToken}), http.StatusNoContent, "logout via body")
	want(t, e.refresh(third.RefreshToken), http.StatusUnauthorized, "refresh after logout via body")
	want(t, e.call("POST", "/api/v1/auth/logout", nil), http.StatusNoContent, "logout without token")
	want(t, e.call("POST", "/api/v1/auth/logout", map[string]string{"refresh_token": "unknown"}), http.StatusNoContent, "logout with an unknown token")
}

func TestMe(t *testing.T) {
	e := newIDEnv(t, nil)
	a := e.register("me")
	for _, path := range []string{"/api/v1/auth/me", "/api/v1/users/me"} {
		t.Run(path, func(t *testing.T) {
			want(t, e.call("GET", path, nil), http.StatusUnauthorized, "no token")
			want(t, e.call("GET", path, nil, bearer("junk")), http.StatusUnauthorized, "junk token")
			r := e.call("GET", path, nil, bearer(a.AccessToken))
			want(t, r, http.StatusOK, "GET")
			var p profileBody
			r.decode(t, &p)
			if p.ID != a.UserID || p.Email != a.Email || p.DefaultOrganizationID != a.OrgID {
				t.Errorf("profile = %+v", p)
			}
			if strings.Contains(string(r.Body), "argon2") || strings.Contains(string(r.Body), "password") {
				t.Errorf("profile leaks the password hash: %s", r.Body)
			}
			name := "Name via " + path
			r = e.call("PATCH", path, map[string]string{"name": name}, bearer(a.AccessToken))
			want(t, r, http.StatusOK, "PATCH name")
			r.decode(t, &p)
			if p.Name != name || e.me(a.AccessToken).Name != name {
				t.Errorf("name after PATCH = %q", p.Name)
			}
		})
	}
	// Default organization: only one the user belongs to.
	other := e.register("other")
	want(t, e.call("PATCH", "/api/v1/auth/me", map[string]string{"default_organization_id": other.OrgID}, bearer(a.AccessToken)),
		http.StatusUnprocessableEntity, "default org of someone else")
	want(t, e.call("PATCH", "/api/v1/auth/me", map[string]string{"name": strings.Repeat("n", 201)}, bearer(a.AccessToken)),
		http.StatusUnprocessableEntity, "name too long")
}

func TestPasswordChange(t *testing.T) {
	e := newIDEnv(t, nil)
	a := e.register("pw")
	other := e.login(a.Email, a.Password) // a second sign-in, e.g. another device
	const newPassword = "a brand new passphrase"

	for name, body := range map[string]map[string]string{
		"no current password":    {"password": newPassword},
		"wrong current password": {"password": newPassword, "current_password": "not the password"},
		"weak new password":      {"password": "short", "current_password": a.Password},
	} {
		want(t, e.call("PATCH", "/api/v1/users/me", body, bearer(a.AccessToken)), http.StatusUnprocessableEntity, name)
	}
	// Nothing changed yet.
	want(t, e.refresh(other.RefreshToken), http.StatusOK, "other session before the change")
	other = e.login(a.Email, a.Password)

	r := e.call("PATCH", "/api/v1/users/me", map[string]string{"password": newPassword, "current_password": a.Password}, bearer(a.AccessToken))
	want(t, r, http.StatusOK, "password change")

	// The other session is signed out; the caller's own session lives on.
	want(t, e.refresh(other.RefreshToken), http.StatusUnauthorized, "other session after the change")
	r = e.refresh(a.RefreshToken)
	want(t, r, http.StatusOK, "caller's session after the change")
	want(t, e.call("POST", "/api/v1/auth/login", map[string]string{"email": a.Email, "password": a.Password}), http.StatusUnauthorized, "old password")
	e.login(a.Email, newPassword)
}
