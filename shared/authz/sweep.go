// Package authz sweeps an API's route table for authorization mistakes. It is
// test support: a sweep is generated from the operations the API really
// registered, so a route added later is covered without anyone writing a
// test for it, and a route whose path has ids the sweep cannot make fails
// the sweep until its fixture is added to Fixtures.
//
// For every operation a sweep checks:
//
//   - (a) it declares an access rule (httpapi.AccessOf);
//   - (b) protected: no token, or a junk token, is 401;
//   - (c) called by each role (admin, auditor, viewer, client) in the role's
//     own organization, it is 403 exactly when the rule refuses the role
//     (below MinRole, or a client member on a route closed to them), and
//     otherwise neither 401 nor 403 nor a 5xx;
//   - (d) when its path has ids, called with the ids of ANOTHER organization
//     it is 404 for every role the rule lets through. A role the rule
//     refuses gets the same 403 it gets for its own ids (the answer depends
//     on the role alone, never on the id); a route whose organization is in
//     the path is 404 for every role, as the caller is no member there.
//
// Authorization runs as huma middleware, before parameters and bodies are
// parsed and validated, so a placeholder body cannot turn a 403 into a 422.
// The check (c) for roles that pass is still "anything but 401/403", which a
// 422 satisfies; Bodies holds valid bodies for the routes with ids, so that
// (d) reaches the handler's lookup and really sees its 404.
//
// Operations without a body change nothing or delete a fixture; those that
// delete run last, one at a time, so the rest of the sweep sees every fixture.
package authz

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
)

// Operation is one route of the table with its access rule.
type Operation struct {
	Method, Path string
	Access       httpapi.Access
	HasRule      bool
	HasBody      bool
}

func (o Operation) String() string { return o.Method + " " + o.Path }

// FromAPI lists every operation an API registered, with its rule.
func FromAPI(api huma.API) []Operation {
	var ops []Operation
	for path, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Patch, item.Delete, item.Head, item.Options} {
			if op == nil {
				continue
			}
			a, ok := httpapi.AccessOf(op)
			ops = append(ops, Operation{Method: op.Method, Path: path, Access: a, HasRule: ok, HasBody: op.RequestBody != nil})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].String() < ops[j].String() })
	return ops
}

// accessSentence is how httpapi.Register documents a rule in the operation's
// description.
var accessSentence = regexp.MustCompile(`Access: ([a-z]+)( \(not client members\))?\.\s*$`)

// FromOpenAPI lists the operations of a served OpenAPI document, reading each
// rule back from the "Access: ..." sentence that httpapi.Register writes, for
// a sweep of a deployment whose code the caller does not have.
func FromOpenAPI(doc []byte) ([]Operation, error) {
	var d struct {
		Paths map[string]map[string]struct {
			Description string          `json:"description"`
			RequestBody json.RawMessage `json:"requestBody"`
			Parameters  []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	var ops []Operation
	for path, item := range d.Paths {
		for method, op := range item {
			m := strings.ToUpper(method)
			switch m {
			case "GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS":
			default:
				continue
			}
			o := Operation{Method: m, Path: path, HasBody: len(op.RequestBody) > 0}
			if s := accessSentence.FindStringSubmatch(op.Description); s != nil {
				o.HasRule = true
				switch s[1] {
				case "public":
					o.Access = httpapi.Public
				case "authenticated":
					o.Access = httpapi.Authenticated
				default:
					o.Access = httpapi.Access{MinRole: domain.Role(s[1]), DenyClient: s[2] != ""}
				}
				if strings.Contains(path, "{org_id}") {
					o.Access.OrgParam = "org_id"
				}
			}
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].String() < ops[j].String() })
	return ops, nil
}

// Allows reports whether rule a lets role r through.
func Allows(a httpapi.Access, r domain.Role) bool {
	if a.Public || (a.MinRole == "" && !a.DenyClient) {
		return true
	}
	if a.DenyClient && r == domain.RoleClient {
		return false
	}
	return a.MinRole == "" || r.AtLeast(a.MinRole)
}

// Target is the API under test: a handler served in-process, or a base URL.
type Target struct {
	Handler http.Handler
	BaseURL string
	Client  *http.Client
}

// Response is an answer of the target.
type Response struct {
	Status int
	Body   []byte
}

// Body is a request body with its media type.
type Body struct {
	ContentType string
	Text        string
}

// JSON is a JSON body.
func JSON(text string) Body { return Body{ContentType: "application/json", Text: text} }

// Do sends one request; a body with no text sends none.
func (tg Target) Do(ctx context.Context, method, path string, body Body, token, orgID string) (Response, error) {
	var rd io.Reader
	if body.Text != "" {
		rd = strings.NewReader(body.Text)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(tg.BaseURL, "/")+path, rd)
	if err != nil {
		return Response{}, err
	}
	if body.Text != "" {
		req.Header.Set("Content-Type", body.ContentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if orgID != "" {
		req.Header.Set(httpapi.OrgHeader, orgID)
	}
	if tg.Handler != nil {
		req.RemoteAddr = "192.0.2.80:4000"
		rec := httptest.NewRecorder()
		tg.Handler.ServeHTTP(rec, req)
		return Response{Status: rec.Code, Body: rec.Body.Bytes()}, nil
	}
	c := tg.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := c.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Body: b}, err
}

// Roles are the roles every organization of a sweep has a member of, weakest
// first: the order (c) calls them in.
var Roles = []domain.Role{domain.RoleClient, domain.RoleViewer, domain.RoleAuditor, domain.RoleAdmin}

// Password of every account a sweep creates.
const Password = "sweep passphrase 4 routes"

// Org is an organization of the sweep: its admin, a signed-in member of every
// role, and the entities fixtures created in it (by kind, made once).
type Org struct {
	Name   string
	ID     string
	Tokens map[domain.Role]string
	target Target

	mu  sync.Mutex
	ids map[string]string
}

// Call sends a request as the organization's admin; body "" sends none,
// anything else is JSON.
func (o *Org) Call(ctx context.Context, method, path, body string) (Response, error) {
	return o.target.Do(ctx, method, path, JSON(body), o.Tokens[domain.RoleAdmin], o.ID)
}

// Create POSTs a JSON body as the admin and returns the "id" of the answer.
func (o *Org) Create(ctx context.Context, path, body string) (string, error) {
	return o.CreateBody(ctx, path, JSON(body))
}

// CreateBody POSTs body as the admin and returns the "id" of the answer.
func (o *Org) CreateBody(ctx context.Context, path string, body Body) (string, error) {
	r, err := o.target.Do(ctx, http.MethodPost, path, body, o.Tokens[domain.RoleAdmin], o.ID)
	if err != nil {
		return "", err
	}
	var v struct {
		ID string `json:"id"`
	}
	if r.Status/100 != 2 || json.Unmarshal(r.Body, &v) != nil || v.ID == "" {
		return "", fmt.Errorf("POST %s %s: %d %s", path, body, r.Status, r.Body)
	}
	return v.ID, nil
}

// Entity returns the id of the org's entity of a kind, made by make the first
// time it is asked for.
func (o *Org) Entity(ctx context.Context, kind string, make func(ctx context.Context, o *Org) (string, error)) (string, error) {
	o.mu.Lock()
	id, ok := o.ids[kind]
	o.mu.Unlock()
	if ok {
		return id, nil
	}
	id, err := make(ctx, o)
	if err != nil {
		return "", fmt.Errorf("%s of %s: %w", kind, o.Name, err)
	}
	o.mu.Lock()
	o.ids[kind] = id
	o.mu.Unlock()
	return id, nil
}

// Unique returns a fresh lower-case token for emails and names.
func Unique() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func decodeTokens(r Response) (string, error) {
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if r.Status/100 != 2 || json.Unmarshal(r.Body, &v) != nil || v.AccessToken == "" {
		return "", fmt.Errorf("no token: %d %s", r.Status, r.Body)
	}
	return v.AccessToken, nil
}

// NewOrg registers an admin with a new organization, adds a signed-in member
// of every other role, and returns it. The client member is bound to the
// organization's "client" entity.
func NewOrg(ctx context.Context, tg Target, name string) (*Org, error) {
	o := &Org{Name: name, Tokens: map[domain.Role]string{}, target: tg, ids: map[string]string{}}
	email := "sweep-" + name + "-admin-" + Unique() + "@example.com"
	body, _ := json.Marshal(map[string]string{"email": email, "password": Password, "name": name + " admin",
		"organization_name": "Sweep " + name})
	r, err := tg.Do(ctx, http.MethodPost, "/api/v1/auth/register", JSON(string(body)), "", "")
	if err != nil {
		return nil, err
	}
	tok, err := decodeTokens(r)
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", name, err)
	}
	o.Tokens[domain.RoleAdmin] = tok
	r, err = tg.Do(ctx, http.MethodGet, "/api/v1/auth/me", Body{}, tok, "")
	if err != nil {
		return nil, err
	}
	var me struct {
		DefaultOrganizationID string `json:"default_organization_id"`
	}
	if err := json.Unmarshal(r.Body, &me); err != nil || me.DefaultOrganizationID == "" {
		return nil, fmt.Errorf("profile of %s: %d %s", name, r.Status, r.Body)
	}
	o.ID = me.DefaultOrganizationID
	// The fixture asset has a private address (see fixtures.go): it is made
	// while the organization allows private targets, which is switched off
	// again before any scan starts, so the scanner's guard refuses it and a
	// scan the sweep starts never sends a packet.
	if err := o.allowPrivate(ctx, true); err != nil {
		return nil, err
	}
	if _, err := o.Entity(ctx, "asset", makeAsset); err != nil {
		return nil, err
	}
	if err := o.allowPrivate(ctx, false); err != nil {
		return nil, err
	}
	for _, role := range []domain.Role{domain.RoleAuditor, domain.RoleViewer, domain.RoleClient} {
		clientID := ""
		if role == domain.RoleClient {
			if clientID, err = o.Entity(ctx, "client", makeClient); err != nil {
				return nil, err
			}
		}
		tok, _, err := o.addMember(ctx, role, clientID)
		if err != nil {
			return nil, err
		}
		o.Tokens[role] = tok
	}
	return o, nil
}

func (o *Org) allowPrivate(ctx context.Context, allow bool) error {
	r, err := o.Call(ctx, http.MethodPatch, "/api/v1/organizations/"+o.ID,
		fmt.Sprintf(`{"settings":{"allow_private_targets":%t}}`, allow))
	if err != nil {
		return err
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("allow_private_targets=%t in %s: %d %s", allow, o.Name, r.Status, r.Body)
	}
	return nil
}

// addMember creates a user with role (POST /users) and signs them in.
func (o *Org) addMember(ctx context.Context, role domain.Role, clientID string) (token, userID string, err error) {
	email := fmt.Sprintf("sweep-%s-%s-%s@example.com", o.Name, role, Unique())
	m := map[string]string{"email": email, "password": Password, "role": string(role), "name": string(role)}
	if clientID != "" {
		m["client_id"] = clientID
	}
	body, _ := json.Marshal(m)
	if userID, err = o.Create(ctx, "/api/v1/users", string(body)); err != nil {
		return "", "", fmt.Errorf("member %s of %s: %w", role, o.Name, err)
	}
	body, _ = json.Marshal(map[string]string{"email": email, "password": Password})
	r, err := o.target.Do(ctx, http.MethodPost, "/api/v1/auth/login", JSON(string(body)), "", "")
	if err != nil {
		return "", "", err
	}
	token, err = decodeTokens(r)
	return token, userID, err
}

// Sweep is one run over a route table.
type Sweep struct {
	Target Target
	Ops    []Operation
	// Fixtures gives the path parameters of every path template that has
	// any; a missing entry fails the sweep.
	Fixtures map[string]Fixture
	// Bodies are request bodies by "METHOD /path"; an operation with a body
	// and no entry gets the JSON {}. "{{unique}}" in a body is replaced by a
	// fresh token per request.
	Bodies map[string]Body
}

// Fixture returns the path parameters of a path template in org o. Scoped
// false says they are not ids of o (a taxonomy version number every
// organization has), so check (d) does not apply.
type Fixture func(ctx context.Context, o *Org) (params map[string]string, scoped bool, err error)

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func fill(path string, params map[string]string) string {
	return pathParam.ReplaceAllStringFunc(path, func(m string) string { return params[m[1:len(m)-1]] })
}

func (s *Sweep) body(op Operation) Body {
	b, ok := s.Bodies[op.String()]
	if !ok {
		if !op.HasBody {
			return Body{}
		}
		b = JSON("{}")
	}
	b.Text = strings.ReplaceAll(b.Text, "{{unique}}", Unique())
	return b
}

// Run runs the sweep as subtests of t.
func (s *Sweep) Run(t *testing.T) {
	ctx := context.Background()
	if len(s.Ops) == 0 {
		t.Fatal("the route table is empty")
	}

	// (a) and fixture coverage, before anything is sent.
	var noRule, noFixture []string
	for _, op := range s.Ops {
		if !op.HasRule {
			noRule = append(noRule, op.String())
		}
		if pathParam.MatchString(op.Path) && s.Fixtures[op.Path] == nil {
			noFixture = append(noFixture, op.Path)
		}
	}
	if len(noRule) > 0 {
		t.Errorf("operations without an access rule (register them with httpapi.Register):\n  %s", strings.Join(noRule, "\n  "))
	}
	if len(noFixture) > 0 {
		t.Fatalf("paths with ids that have no entry in authz.Fixtures (add one that makes the ids in an organization):\n  %s",
			strings.Join(dedupe(noFixture), "\n  "))
	}

	own, err := NewOrg(ctx, s.Target, "own")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := NewOrg(ctx, s.Target, "foreign")
	if err != nil {
		t.Fatal(err)
	}

	// Every fixture is made before any check runs, in both organizations.
	type resolved struct {
		own, foreign map[string]string
		scoped       bool
	}
	params := map[string]resolved{}
	for _, op := range s.Ops {
		if _, done := params[op.Path]; done || !pathParam.MatchString(op.Path) {
			continue
		}
		f := s.Fixtures[op.Path]
		a, scoped, err := f(ctx, own)
		if err != nil {
			t.Fatalf("fixture %s: %v", op.Path, err)
		}
		b, _, err := f(ctx, foreign)
		if err != nil {
			t.Fatalf("fixture %s: %v", op.Path, err)
		}
		for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
			if a[m[1]] == "" || b[m[1]] == "" {
				t.Fatalf("fixture %s gives no value for {%s}", op.Path, m[1])
			}
		}
		params[op.Path] = resolved{own: a, foreign: b, scoped: scoped}
	}

	check := func(t *testing.T, op Operation) {
		p := params[op.Path]
		ownPath, foreignPath := fill(op.Path, p.own), fill(op.Path, p.foreign)
		// (b) no token, junk token.
		for name, tok := range map[string]string{"no token": "", "junk token": "junk." + Unique() + ".junk"} {
			r, err := s.Target.Do(ctx, op.Method, ownPath, s.body(op), tok, own.ID)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s: %d, want 401: %s", name, r.Status, r.Body)
			}
		}
		// (d) ids of another organization: before (c), which may delete.
		if p.scoped {
			for _, role := range Roles {
				r, err := s.Target.Do(ctx, op.Method, foreignPath, s.body(op), own.Tokens[role], own.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := http.StatusNotFound
				if op.Access.OrgParam == "" && !Allows(op.Access, role) {
					want = http.StatusForbidden
				}
				if r.Status != want {
					t.Errorf("%s with another organization's ids: %d, want %d: %s", role, r.Status, want, r.Body)
				}
			}
		}
		// (c) every role in its own organization, weakest first.
		for _, role := range Roles {
			r, err := s.Target.Do(ctx, op.Method, ownPath, s.body(op), own.Tokens[role], own.ID)
			if err != nil {
				t.Fatal(err)
			}
			switch allowed := Allows(op.Access, role); {
			case !allowed && r.Status != http.StatusForbidden:
				t.Errorf("%s (rule %s): %d, want 403: %s", role, op.Access, r.Status, r.Body)
			case allowed && (r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden || r.Status >= 500):
				t.Errorf("%s (rule %s): %d, want neither 401, 403 nor 5xx: %s", role, op.Access, r.Status, r.Body)
			}
		}
	}

	var deletes []Operation
	t.Run("routes", func(t *testing.T) {
		for _, op := range s.Ops {
			if op.Access.Public || !op.HasRule {
				continue
			}
			if op.Method == http.MethodDelete {
				deletes = append(deletes, op)
				continue
			}
			t.Run(op.String(), func(t *testing.T) {
				t.Parallel()
				check(t, op)
			})
		}
	})
	t.Run("deletes", func(t *testing.T) {
		for _, op := range deletes {
			t.Run(op.String(), func(t *testing.T) { check(t, op) })
		}
	})
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// jsonBody encodes v for Create.
func jsonBody(v any) string {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return strings.TrimSpace(b.String())
}
