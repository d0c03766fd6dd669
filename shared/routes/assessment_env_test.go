package routes_test

// Test server of the assessment routes (clients, assets, sessions): a
// platform on a fresh table, the routes registered as functions/local does,
// an organization with one member of each role, and a second organization
// for tenancy checks.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"rampart/shared/assets"
	"rampart/shared/domain"
	"rampart/shared/httpapi"
	"rampart/shared/identity"
	"rampart/shared/platform"
	"rampart/shared/testenv"
)

const asmPassword = "assessment correct horse 42"

// asmResolver answers name lookups from a table; unknown names do not
// resolve. It counts lookups, so tests can prove that none happened.
type asmResolver struct {
	mu      sync.Mutex
	addrs   map[string][]netip.Addr
	lookups atomic.Int64
}

func (r *asmResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.lookups.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.addrs[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func (r *asmResolver) set(host string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range addrs {
		r.addrs[host] = append(r.addrs[host], netip.MustParseAddr(a))
	}
}

// asmUser is a member with a token.
type asmUser struct {
	ID, Token string
}

type asmEnv struct {
	t        testing.TB
	p        *platform.Platform
	srv      *httpapi.Server
	id       *identity.Service
	resolver *asmResolver
	assets   *assets.Service
	org      string
	// admin, auditor, viewer, and a client member of client.
	admin, auditor, viewer, member asmUser
	client                         string
	// other is an admin of another organization; otherClient, otherAsset
	// and otherSession are that organization's.
	other                                 asmUser
	otherOrg                              string
	otherClient, otherAsset, otherSession string
}

var asmSeq atomic.Int64

func asmEmail(prefix string) string {
	return fmt.Sprintf("%s-%d-%s@example.com", prefix, asmSeq.Add(1), strings.ToLower(domain.NewID()[20:]))
}

func newAsmEnv(t testing.TB) *asmEnv {
	t.Helper()
	p := testenv.Platform(t)
	p.Config.Auth.KeyFile = filepath.Join(t.TempDir(), "jwt-signing-key.pem")
	p.ImportBodyCap()
	srv, err := p.Server()
	if err != nil {
		t.Fatal(err)
	}
	res := &asmResolver{addrs: map[string][]netip.Addr{}}
	p.ClientRoutes().Register(srv.API)
	ar := p.AssetRoutes()
	ar.Service.Guard = assets.SSRFGuard{Resolver: res}
	ar.Register(srv.API)
	p.SessionRoutes().Register(srv.API)
	svc, err := p.Identity(true)
	if err != nil {
		t.Fatal(err)
	}
	e := &asmEnv{t: t, p: p, srv: srv, id: svc, resolver: res, assets: ar.Service}
	e.admin, e.org = e.register("admin")
	e.client = e.mustCreate("/api/v1/clients", e.admin, map[string]any{"name": "Client Member's Client"})
	e.auditor = e.addMember("auditor", "")
	e.viewer = e.addMember("viewer", "")
	e.member = e.addMember("client", e.client)

	e.other, e.otherOrg = e.register("other")
	e.otherClient = e.mustCreate("/api/v1/clients", e.other, map[string]any{"name": "Foreign client"})
	e.otherAsset = e.mustCreate("/api/v1/assets", e.other, map[string]any{"type": "domain", "target": "foreign.example.com"})
	e.otherSession = e.mustCreate("/api/v1/sessions", e.other, map[string]any{"name": "Foreign", "client_id": e.otherClient})
	return e
}

// register creates a user with a new organization, through the identity
// service, and returns the admin and the organization id.
func (e *asmEnv) register(prefix string) (asmUser, string) {
	e.t.Helper()
	ctx := context.Background()
	s, err := e.id.Register(ctx, asmEmail(prefix), asmPassword, prefix, prefix+" org")
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := e.p.Store().GetUser(ctx, s.UserID)
	if err != nil {
		e.t.Fatal(err)
	}
	return asmUser{ID: s.UserID, Token: s.AccessToken}, u.DefaultOrgID
}

// addMember adds a member with a role (and client) to the organization
// through the identity service and opens a session for it.
func (e *asmEnv) addMember(role, client string) asmUser {
	e.t.Helper()
	ctx := context.Background()
	r, err := domain.ParseRole(role)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.id.AddMember(ctx, e.org, e.admin.ID, identity.NewMember{
		Email: asmEmail(role), Name: role, Role: r, ClientID: client, Password: asmPassword})
	if err != nil || res.Member == nil {
		e.t.Fatalf("add %s: %v", role, err)
	}
	s, err := e.id.SessionFor(ctx, res.Member.UserID)
	if err != nil {
		e.t.Fatal(err)
	}
	return asmUser{ID: res.Member.UserID, Token: s.AccessToken}
}

// asmResp is an answer of the API.
type asmResp struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r *asmResp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return m
}

func (r *asmResp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// locations lists errors[].location of an error answer.
func (r *asmResp) locations() []string {
	var e struct {
		Errors []struct {
			Location string `json:"location"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(r.Body, &e)
	out := []string{}
	for _, x := range e.Errors {
		out = append(out, x.Location)
	}
	return out
}

// asmRaw is a body sent as is, with its content type.
type asmRaw struct {
	ContentType string
	Body        []byte
}

// asmMultipart builds a multipart form with one file field.
func asmMultipart(t testing.TB, field string, file []byte) asmRaw {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, err := w.CreateFormFile(field, "assets.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(file)
	_ = w.WriteField("note", "ignored")
	_ = w.Close()
	return asmRaw{ContentType: w.FormDataContentType(), Body: b.Bytes()}
}

// call serves one request as user (zero user: no token). body is nil, an
// asmRaw, or a value encoded as JSON. headers are name, value pairs.
func (e *asmEnv) call(method, path string, user asmUser, body any, headers ...string) *asmResp {
	e.t.Helper()
	return asmServe(e.t, e.srv, method, path, user, body, headers...)
}

func asmServe(t testing.TB, h http.Handler, method, path string, user asmUser, body any, headers ...string) *asmResp {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case asmRaw:
		rd, ct = bytes.NewReader(b.Body), b.ContentType
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req := httptest.NewRequest(method, path, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if user.Token != "" {
		req.Header.Set("Authorization", "Bearer "+user.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return &asmResp{Code: res.StatusCode, Header: res.Header, Body: b}
}

// mustCreate POSTs and returns the new id.
func (e *asmEnv) mustCreate(path string, user asmUser, body any) string {
	e.t.Helper()
	r := e.call(http.MethodPost, path, user, body)
	if r.Code != http.StatusCreated {
		e.t.Fatalf("POST %s: %d %s", path, r.Code, r.Body)
	}
	id, _ := r.json(e.t)["id"].(string)
	return id
}

// asmCase is one request and what it must answer.
type asmCase struct {
	name    string
	method  string
	path    string
	user    asmUser
	body    any
	headers []string
	code    int
	// locs, when set, must equal errors[].location of the answer.
	locs []string
	// detail, when set, must be part of the answer's detail.
	detail string
	check  func(t *testing.T, r *asmResp)
}

func (e *asmEnv) run(t *testing.T, cases []asmCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := asmServe(t, e.srv, c.method, c.path, c.user, c.body, c.headers...)
			if r.Code != c.code {
				t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, r.Code, c.code, r.Body)
			}
			if c.locs != nil && !slices.Equal(r.locations(), c.locs) {
				t.Fatalf("error locations %q, want %q: %s", r.locations(), c.locs, r.Body)
			}
			if c.detail != "" && !strings.Contains(string(r.Body), c.detail) {
				t.Fatalf("answer lacks %q: %s", c.detail, r.Body)
			}
			if r.Code >= 400 {
				var env struct {
					Detail string `json:"detail"`
				}
				if err := json.Unmarshal(r.Body, &env); err != nil || env.Detail == "" {
					t.Fatalf("error answer without detail: %s", r.Body)
				}
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

// asmPage is a list answer.
type asmPage struct {
	Items []struct {
		ID       string   `json:"id"`
		Name     string   `json:"name"`
		Type     string   `json:"type"`
		Target   *string  `json:"target"`
		ClientID *string  `json:"client_id"`
		Tags     []string `json:"tags"`
		Status   string   `json:"status"`
	} `json:"items"`
	Total      int    `json:"total"`
	Page       int    `json:"page"`
	PerPage    int    `json:"per_page"`
	Pages      int    `json:"pages"`
	NextCursor string `json:"next_cursor"`
}

func (e *asmEnv) list(t *testing.T, path string, user asmUser) asmPage {
	t.Helper()
	r := asmServe(t, e.srv, http.MethodGet, path, user, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.Code, r.Body)
	}
	var p asmPage
	r.decode(t, &p)
	return p
}

func (p asmPage) ids() []string {
	out := []string{}
	for _, it := range p.Items {
		out = append(out, it.ID)
	}
	return out
}

func (p asmPage) names() []string {
	out := []string{}
	for _, it := range p.Items {
		out = append(out, it.Name)
	}
	return out
}

// asmETag reads a resource's ETag.
func (e *asmEnv) etag(t *testing.T, path string) string {
	t.Helper()
	r := asmServe(t, e.srv, http.MethodGet, path, e.admin, nil)
	if r.Code != http.StatusOK || r.Header.Get("ETag") == "" {
		t.Fatalf("GET %s: %d, ETag %q", path, r.Code, r.Header.Get("ETag"))
	}
	return r.Header.Get("ETag")
}
