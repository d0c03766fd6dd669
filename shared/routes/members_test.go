package routes_test

import (
	"net/http"
	"strings"
	"testing"

	"rampart/shared/domain"
	"rampart/shared/routes"
)

type memberPage struct {
	Items []routes.MemberView `json:"items"`
	Total int                 `json:"total"`
}

func (e *idEnv) listUsers(admin account, orgID string, query string) memberPage {
	e.t.Helper()
	r := e.call("GET", "/api/v1/users"+query, nil, bearer(admin.AccessToken), inOrg(orgID))
	want(e.t, r, http.StatusOK, "GET /users"+query)
	var p memberPage
	r.decode(e.t, &p)
	return p
}

func TestDeactivationRevokesAndBlocksAtOnce(t *testing.T) {
	e := newIDEnv(t, nil)
	admin := e.register("deact-admin")
	u := e.addUser(admin, "auditor")
	second := e.login(u.Email, u.Password)
	want(t, e.call("GET", "/api/v1/users/reviewers", nil, bearer(u.AccessToken)), http.StatusOK, "auditor before deactivation")

	r := e.call("PATCH", "/api/v1/users/"+u.UserID, map[string]any{"active": false}, bearer(admin.AccessToken))
	want(t, r, http.StatusOK, "deactivate")
	var mv routes.MemberView
	r.decode(t, &mv)
	if mv.Active || mv.ID != u.UserID || mv.Role != "auditor" {
		t.Fatalf("deactivated member = %+v", mv)
	}
	// Every refresh token of the user is dead.
	want(t, e.refresh(u.RefreshToken), http.StatusUnauthorized, "refresh after deactivation")
	want(t, e.refresh(second.RefreshToken), http.StatusUnauthorized, "second session after deactivation")
	// The access token still verifies, but org routes refuse it at once.
	want(t, e.call("GET", "/api/v1/users/reviewers", nil, bearer(u.AccessToken)), http.StatusForbidden, "org route after deactivation")
	want(t, e.call("GET", "/api/v1/organizations/"+u.OrgID, nil, bearer(u.AccessToken)), http.StatusForbidden, "org by path after deactivation")
	// Filters see the flag.
	if p := e.listUsers(admin, admin.OrgID, "?active=false"); p.Total != 1 || p.Items[0].ID != u.UserID {
		t.Errorf("inactive members = %+v", p)
	}

	// Reactivation lets the same access token in again.
	want(t, e.call("PATCH", "/api/v1/users/"+u.UserID, map[string]any{"active": true}, bearer(admin.AccessToken)), http.StatusOK, "reactivate")
	want(t, e.call("GET", "/api/v1/users/reviewers", nil, bearer(u.AccessToken)), http.StatusOK, "after reactivation")

	// The last active admin cannot deactivate or demote themselves.
	want(t, e.call("PATCH", "/api/v1/users/"+admin.UserID, map[string]any{"active": false}, bearer(admin.AccessToken)), http.StatusConflict, "deactivate the last admin")
	want(t, e.call("PATCH", "/api/v1/users/"+admin.UserID, map[string]any{"role": "viewer"}, bearer(admin.AccessToken)), http.StatusConflict, "demote the last admin")
	want(t, e.call("PATCH", "/api/v1/users/"+domain.NewID(), map[string]any{"active": false}, bearer(admin.AccessToken)), http.StatusNotFound, "unknown user")
}

func TestUsersAdminViews(t *testing.T) {
	e := newIDEnv(t, nil)
	admin := e.register("views-admin")
	aud := e.addUser(admin, "reviewer") // the A family's spelling
	view := e.addUser(admin, "viewer")

	p := e.listUsers(admin, admin.OrgID, "")
	if p.Total != 3 {
		t.Fatalf("members = %+v", p)
	}
	roles := map[string]string{}
	for _, m := range p.Items {
		roles[m.ID] = m.Role
	}
	if roles[aud.UserID] != "auditor" || roles[view.UserID] != "viewer" || roles[admin.UserID] != "admin" {
		t.Fatalf("roles = %v (reviewer must come back as auditor)", roles)
	}
	if p := e.listUsers(admin, admin.OrgID, "?role=reviewer"); p.Total != 1 || p.Items[0].ID != aud.UserID {
		t.Errorf("?role=reviewer = %+v", p)
	}
	if p := e.listUsers(admin, admin.OrgID, "?q="+strings.ToUpper(view.Email[:strings.IndexByte(view.Email, '@')])); p.Total != 1 || p.Items[0].ID != view.UserID {
		t.Errorf("?q = %+v", p)
	}
	r := e.call("GET", "/api/v1/users/reviewers", nil, bearer(aud.AccessToken))
	want(t, r, http.StatusOK, "reviewers as auditor")
	var rv memberPage
	r.decode(t, &rv)
	if rv.Total != 2 {
		t.Errorf("reviewers = %+v, want admin and auditor", rv)
	}
	want(t, e.call("GET", "/api/v1/users/reviewers", nil, bearer(view.AccessToken)), http.StatusForbidden, "reviewers as viewer")
	want(t, e.call("GET", "/api/v1/users", nil, bearer(aud.AccessToken)), http.StatusForbidden, "users as auditor")

	// POST /users: an unknown email needs a password; an existing user is
	// added by email.
	want(t, e.call("POST", "/api/v1/users", map[string]string{"email": freshEmail("nopw"), "role": "viewer"}, bearer(admin.AccessToken)),
		http.StatusUnprocessableEntity, "new user without password")
	other := e.register("views-other")
	r = e.call("POST", "/api/v1/users", map[string]string{"email": other.Email, "role": "auditor"}, bearer(admin.AccessToken))
	want(t, r, http.StatusCreated, "add an existing user")
	want(t, e.call("POST", "/api/v1/users", map[string]string{"email": other.Email, "role": "auditor"}, bearer(admin.AccessToken)),
		http.StatusConflict, "add the same user again")
	want(t, e.call("POST", "/api/v1/users", map[string]string{"email": freshEmail("bad"), "role": "owner", "password": testPassword},
		bearer(admin.AccessToken)), http.StatusUnprocessableEntity, "unknown role")
	// PATCH name through the admin view.
	r = e.call("PATCH", "/api/v1/users/"+view.UserID, map[string]any{"name": "Renamed", "role": "reviewer"}, bearer(admin.AccessToken))
	want(t, r, http.StatusOK, "rename and promote")
	var mv routes.MemberView
	r.decode(t, &mv)
	if mv.Name != "Renamed" || mv.Role != "auditor" {
		t.Errorf("after PATCH: %+v", mv)
	}
}

func TestInviteFlow(t *testing.T) {
	e := newIDEnv(t, nil)
	admin := e.register("inv-admin")
	path := "/api/v1/organizations/" + admin.OrgID + "/members"

	// An existing user is added at once.
	existing := e.register("inv-existing")
	r := e.call("POST", path, map[string]string{"email": existing.Email, "role": "viewer"}, bearer(admin.AccessToken))
	want(t, r, http.StatusCreated, "invite an existing user")
	var res routes.InviteResult
	r.decode(t, &res)
	if res.Status != "added" || res.Member == nil || res.Member.ID != existing.UserID || res.Invitation != nil {
		t.Fatalf("invite result = %+v", res)
	}
	want(t, e.call("GET", path, nil, bearer(existing.AccessToken)), http.StatusOK, "the added member lists members")
	want(t, e.call("POST", path, map[string]string{"email": existing.Email, "role": "viewer"}, bearer(admin.AccessToken)),
		http.StatusConflict, "invite a member again")

	// An unknown email gets a token, redeemed at accept-invite.
	email := freshEmail("inv-new")
	r = e.call("POST", path, map[string]string{"email": email, "role": "reviewer"}, bearer(admin.AccessToken))
	want(t, r, http.StatusCreated, "invite an unknown email")
	res = routes.InviteResult{}
	r.decode(t, &res)
	if res.Status != "invited" || res.Invitation == nil || res.Invitation.Token == "" || res.Invitation.Role != "auditor" || res.Member != nil {
		t.Fatalf("invite result = %s", r.Body)
	}
	token := res.Invitation.Token
	want(t, e.call("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": testPassword}), http.StatusUnauthorized, "login before accepting")
	want(t, e.call("POST", "/api/v1/auth/accept-invite", map[string]string{"token": token, "password": "short"}),
		http.StatusUnprocessableEntity, "accept with a weak password")
	r = e.call("POST", "/api/v1/auth/accept-invite", map[string]string{"token": token, "password": testPassword, "name": "New Person"})
	want(t, r, http.StatusOK, "accept")
	tb := checkTokens(t, r)
	me := e.me(tb.AccessToken)
	if me.Email != email || me.DefaultOrganizationID != admin.OrgID || len(me.Memberships) != 1 || me.Memberships[0].Role != "auditor" {
		t.Fatalf("profile after accept: %+v", me)
	}
	e.login(email, testPassword)
	want(t, e.call("POST", "/api/v1/auth/accept-invite", map[string]string{"token": token, "password": testPassword}),
		http.StatusNotFound, "token reuse")
	want(t, e.call("POST", "/api/v1/auth/accept-invite", map[string]string{"token": "made-up", "password": testPassword}),
		http.StatusNotFound, "unknown token")

	// Client role needs a client of this organization.
	want(t, e.call("POST", path, map[string]string{"email": freshEmail("cl"), "role": "client"}, bearer(admin.AccessToken)),
		http.StatusUnprocessableEntity, "client role without client_id")
	want(t, e.call("POST", path, map[string]string{"email": freshEmail("cl"), "role": "client", "client_id": domain.NewID()}, bearer(admin.AccessToken)),
		http.StatusUnprocessableEntity, "client role with an unknown client")
	want(t, e.call("POST", path, map[string]string{"email": freshEmail("cl"), "role": "viewer", "client_id": domain.NewID()}, bearer(admin.AccessToken)),
		http.StatusUnprocessableEntity, "client_id with another role")
	want(t, e.call("POST", "/api/v1/users", map[string]string{"email": freshEmail("cl"), "role": "client", "client_id": domain.NewID(), "password": testPassword},
		bearer(admin.AccessToken)), http.StatusUnprocessableEntity, "POST /users client role with an unknown client")
	want(t, e.call("PATCH", path+"/"+existing.UserID+"?role=client", nil, bearer(admin.AccessToken)),
		http.StatusUnprocessableEntity, "change to client role without client")
	want(t, e.call("POST", path, map[string]string{"email": "not-an-email", "role": "viewer"}, bearer(admin.AccessToken)),
		http.StatusUnprocessableEntity, "bad email")
}

func TestOrganizationSelection(t *testing.T) {
	e := newIDEnv(t, nil)
	a := e.register("sel-a")
	b := e.register("sel-b")
	// b adds a to b's organization as admin: a now belongs to two.
	want(t, e.call("POST", "/api/v1/users", map[string]string{"email": a.Email, "role": "admin"}, bearer(b.AccessToken)), http.StatusCreated, "add a to b's org")

	own := e.listUsers(a, a.OrgID, "")
	theirs := e.listUsers(a, b.OrgID, "")
	if own.Total != 1 || theirs.Total != 2 {
		t.Fatalf("members by X-Organization-ID: own %d, b's %d; want 1 and 2", own.Total, theirs.Total)
	}
	// No header: the default organization.
	r := e.call("GET", "/api/v1/users", nil, bearer(a.AccessToken))
	want(t, r, http.StatusOK, "default org")
	var p memberPage
	r.decode(t, &p)
	if p.Total != 1 {
		t.Errorf("default org has %d members, want a's own (1)", p.Total)
	}
	// Switch the default organization.
	want(t, e.call("PATCH", "/api/v1/auth/me", map[string]string{"default_organization_id": b.OrgID}, bearer(a.AccessToken)), http.StatusOK, "switch default")
	r = e.call("GET", "/api/v1/users", nil, bearer(a.AccessToken))
	r.decode(t, &p)
	if p.Total != 2 {
		t.Errorf("after switching the default: %d members, want b's (2)", p.Total)
	}
	// An organization the caller does not belong to, or junk: 404.
	c := e.register("sel-c")
	for name, id := range map[string]string{"foreign": c.OrgID, "unknown": domain.NewID(), "junk": "../x"} {
		want(t, e.call("GET", "/api/v1/users", nil, bearer(a.AccessToken), inOrg(id)), http.StatusNotFound, name+" org by header")
		want(t, e.call("GET", "/api/v1/organizations/"+id+"/members", nil, bearer(a.AccessToken)), http.StatusNotFound, name+" org by path")
	}
	// GET /organizations lists both with the caller's role.
	r = e.call("GET", "/api/v1/organizations", nil, bearer(a.AccessToken))
	want(t, r, http.StatusOK, "list organizations")
	var orgs struct {
		Items []routes.OrganizationView `json:"items"`
		Total int                       `json:"total"`
	}
	r.decode(t, &orgs)
	if orgs.Total != 2 {
		t.Fatalf("organizations = %s", r.Body)
	}
	for _, o := range orgs.Items {
		if o.Role != "admin" || (o.ID != a.OrgID && o.ID != b.OrgID) {
			t.Errorf("organization %+v", o)
		}
	}
}

func TestRoleChangeTakesEffectAtOnce(t *testing.T) {
	e := newIDEnv(t, nil)
	admin := e.register("role-admin")
	v := e.addUser(admin, "viewer")
	member := "/api/v1/organizations/" + admin.OrgID + "/members/" + v.UserID

	want(t, e.call("GET", "/api/v1/users", nil, bearer(v.AccessToken)), http.StatusForbidden, "viewer lists users")
	want(t, e.call("PATCH", "/api/v1/organizations/"+admin.OrgID, map[string]string{"name": "x"}, bearer(v.AccessToken)), http.StatusForbidden, "viewer renames org")

	// Promote with ?role= (family B): the viewer's same access token is an
	// admin's on the very next request.
	r := e.call("PATCH", member+"?role=admin", nil, bearer(admin.AccessToken))
	want(t, r, http.StatusOK, "PATCH ?role=admin")
	want(t, e.call("GET", "/api/v1/users", nil, bearer(v.AccessToken)), http.StatusOK, "promoted viewer lists users")

	// Demote with a JSON body, spelled reviewer: answered as auditor.
	r = e.call("PATCH", member, map[string]string{"role": "reviewer"}, bearer(admin.AccessToken))
	want(t, r, http.StatusOK, "PATCH body role reviewer")
	var mv routes.MemberView
	r.decode(t, &mv)
	if mv.Role != "auditor" {
		t.Errorf("role = %q, want auditor", mv.Role)
	}
	want(t, e.call("GET", "/api/v1/users", nil, bearer(v.AccessToken)), http.StatusForbidden, "demoted member lists users")
	want(t, e.call("GET", "/api/v1/users/reviewers", nil, bearer(v.AccessToken)), http.StatusOK, "auditor lists reviewers")

	// Body wins over the query when both are given; neither is 422.
	r = e.call("PATCH", member+"?role=admin", map[string]string{"role": "viewer"}, bearer(admin.AccessToken))
	want(t, r, http.StatusOK, "query and body")
	r.decode(t, &mv)
	if mv.Role != "viewer" {
		t.Errorf("role = %q, want the body's viewer", mv.Role)
	}
	want(t, e.call("PATCH", member, nil, bearer(admin.AccessToken)), http.StatusUnprocessableEntity, "no role")
	want(t, e.call("PATCH", member+"?role=owner", nil, bearer(admin.AccessToken)), http.StatusUnprocessableEntity, "unknown role")
	want(t, e.call("PATCH", "/api/v1/organizations/"+admin.OrgID+"/members/"+domain.NewID()+"?role=viewer", nil, bearer(admin.AccessToken)),
		http.StatusNotFound, "unknown member")

	// The last admin: demote is 409, remove is 409.
	self := "/api/v1/organizations/" + admin.OrgID + "/members/" + admin.UserID
	want(t, e.call("PATCH", self+"?role=auditor", nil, bearer(admin.AccessToken)), http.StatusConflict, "demote the last admin")
	want(t, e.call("DELETE", self, nil, bearer(admin.AccessToken)), http.StatusConflict, "remove the last admin")

	// Removal: the removed member's token finds no organization at once.
	want(t, e.call("DELETE", member, nil, bearer(admin.AccessToken)), http.StatusNoContent, "remove member")
	want(t, e.call("GET", "/api/v1/organizations/"+admin.OrgID, nil, bearer(v.AccessToken)), http.StatusNotFound, "removed member reads the org")
	want(t, e.call("GET", "/api/v1/users/reviewers", nil, bearer(v.AccessToken)), http.StatusNotFound, "removed member, default org")
	want(t, e.call("DELETE", member, nil, bearer(admin.AccessToken)), http.StatusNotFound, "remove twice")
	// Still signed in: the profile is not an org route.
	want(t, e.call("GET", "/api/v1/auth/me", nil, bearer(v.AccessToken)), http.StatusOK, "removed member's profile")
}

func TestOrganizationSettings(t *testing.T) {
	e := newIDEnv(t, nil)
	admin := e.register("settings")
	path := "/api/v1/organizations/" + admin.OrgID
	r := e.call("GET", path, nil, bearer(admin.AccessToken))
	want(t, r, http.StatusOK, "get")
	var o routes.OrganizationView
	r.decode(t, &o)
	if o.Settings.AllowPrivateTargets || o.Role != "admin" {
		t.Fatalf("org = %+v (private targets must be off by default)", o)
	}
	r = e.call("PATCH", path, map[string]any{"name": "New name", "settings": map[string]bool{"allow_private_targets": true}}, bearer(admin.AccessToken))
	want(t, r, http.StatusOK, "patch")
	r.decode(t, &o)
	if o.Name != "New name" || !o.Settings.AllowPrivateTargets {
		t.Fatalf("after PATCH: %+v", o)
	}
	want(t, e.call("PATCH", path, map[string]any{"name": ""}, bearer(admin.AccessToken)), http.StatusUnprocessableEntity, "empty name")
}
