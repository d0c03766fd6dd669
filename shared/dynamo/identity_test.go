package dynamo_test

// Contract tests of identity.Store on DynamoDB Local: every test gets a table
// of its own (testenv.Platform) and fails when the emulators are not running.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/identity"
	"rampart/shared/testenv"
)

// identityStore is a store on a fresh table; clock nil means the wall clock.
func identityStore(t *testing.T, clock domain.Clock) *dynamo.Store {
	t.Helper()
	p := testenv.Platform(t)
	if clock == nil {
		return p.Store()
	}
	return dynamo.New(p.AWS.DynamoDB, p.Config.Table, clock)
}

var idSeq struct {
	sync.Mutex
	n int
}

// uniqueEmail returns an address no other call returns.
func uniqueEmail(prefix string) string {
	idSeq.Lock()
	defer idSeq.Unlock()
	idSeq.n++
	return fmt.Sprintf("%s-%d-%s@example.com", prefix, idSeq.n, strings.ToLower(domain.NewID()[20:]))
}

func newUser(email string) domain.User {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return domain.User{ID: domain.NewID(), Email: email, Name: "User " + email, PasswordHash: "$argon2id$fake",
		CreatedAt: now, UpdatedAt: now}
}

func newMembership(orgID, userID string, role domain.Role) domain.Membership {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return domain.Membership{OrgID: orgID, UserID: userID, Role: role, Active: true, CreatedAt: now, UpdatedAt: now}
}

// newAccount registers a user with a new organization of which it is admin.
func newAccount(t *testing.T, s *dynamo.Store) (domain.User, domain.Organization) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	org := domain.Organization{ID: domain.NewID(), Name: "Org " + domain.NewID(), CreatedAt: now, UpdatedAt: now}
	u := newUser(uniqueEmail("admin"))
	u.DefaultOrgID = org.ID
	if err := s.CreateUser(context.Background(), u, &org, newMembership(org.ID, u.ID, domain.RoleAdmin)); err != nil {
		t.Fatalf("create account: %v", err)
	}
	return u, org
}

// addMember creates a user who is a member of org with role.
func addMember(t *testing.T, s *dynamo.Store, orgID string, role domain.Role) domain.User {
	t.Helper()
	u := newUser(uniqueEmail(string(role)))
	u.DefaultOrgID = orgID
	if err := s.CreateUser(context.Background(), u, nil, newMembership(orgID, u.ID, role)); err != nil {
		t.Fatalf("create member: %v", err)
	}
	return u
}

func wantKind(t *testing.T, err error, kind domain.Kind, what string) {
	t.Helper()
	if !domain.Is(err, kind) {
		t.Fatalf("%s: err = %v (kind %v), want %v", what, err, domain.KindOf(err), kind)
	}
}

func adminCount(t *testing.T, s *dynamo.Store, orgID string) int {
	t.Helper()
	o, err := s.GetOrg(context.Background(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	return o.AdminCount
}

func TestStoreCreateUserWithOrganization(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	u, org := newAccount(t, s)

	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != u.Email || got.Name != u.Name || got.PasswordHash != u.PasswordHash || got.DefaultOrgID != org.ID ||
		!got.CreatedAt.Equal(u.CreatedAt) {
		t.Errorf("GetUser = %+v, want %+v", got, u)
	}
	o, err := s.GetOrg(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != org.Name || o.AdminCount != 1 || o.Settings.AllowPrivateTargets {
		t.Errorf("GetOrg = %+v", o)
	}
	m, err := s.GetMembership(ctx, org.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Role != domain.RoleAdmin || !m.Active || m.OrgID != org.ID || m.UserID != u.ID {
		t.Errorf("GetMembership = %+v", m)
	}
	ms, err := s.ListUserMemberships(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Org.ID != org.ID || ms[0].Role != domain.RoleAdmin {
		t.Errorf("ListUserMemberships = %+v", ms)
	}

	for name, fn := range map[string]func() error{
		"unknown user":           func() error { _, err := s.GetUser(ctx, domain.NewID()); return err },
		"unknown org":            func() error { _, err := s.GetOrg(ctx, domain.NewID()); return err },
		"junk org id":            func() error { _, err := s.GetOrg(ctx, "../../x"); return err },
		"unknown membership":     func() error { _, err := s.GetMembership(ctx, org.ID, domain.NewID()); return err },
		"membership of junk ids": func() error { _, err := s.GetMembership(ctx, "x", "y"); return err },
		"update of unknown user": func() error {
			_, err := s.UpdateUser(ctx, domain.NewID(), func(*domain.User) error { return nil })
			return err
		},
		"update of unknown org": func() error {
			_, err := s.UpdateOrg(ctx, domain.NewID(), func(*domain.Organization) error { return nil })
			return err
		},
		"remove unknown member": func() error { return s.RemoveMembership(ctx, org.ID, domain.NewID()) },
		"update unknown member": func() error {
			_, err := s.UpdateMembership(ctx, org.ID, domain.NewID(), func(*domain.Membership) error { return nil })
			return err
		},
		"membership in a new org": func() error { return s.AddMembership(ctx, newMembership(domain.NewID(), u.ID, domain.RoleViewer)) },
	} {
		t.Run(name, func(t *testing.T) { wantKind(t, fn(), domain.KindNotFound, name) })
	}
}

func TestStoreDuplicateEmail(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	u, org := newAccount(t, s)

	dup := newUser(u.Email)
	err := s.CreateUser(ctx, dup, nil, newMembership(org.ID, dup.ID, domain.RoleViewer))
	wantKind(t, err, domain.KindConflict, "same email again")

	// Nothing of the refused transaction was written.
	wantKind(t, func() error { _, err := s.GetUser(ctx, dup.ID); return err }(), domain.KindNotFound, "refused user")
	wantKind(t, func() error { _, err := s.GetMembership(ctx, org.ID, dup.ID); return err }(), domain.KindNotFound, "refused membership")
	if n := adminCount(t, s, org.ID); n != 1 {
		t.Errorf("admin count %d after a refused create", n)
	}

	// Creating with a new org and a taken email leaves no org behind.
	now := time.Now().UTC()
	org2 := domain.Organization{ID: domain.NewID(), Name: "Second", CreatedAt: now, UpdatedAt: now}
	dup2 := newUser(u.Email)
	err = s.CreateUser(ctx, dup2, &org2, newMembership(org2.ID, dup2.ID, domain.RoleAdmin))
	wantKind(t, err, domain.KindConflict, "same email with a new org")
	wantKind(t, func() error { _, err := s.GetOrg(ctx, org2.ID); return err }(), domain.KindNotFound, "org of a refused registration")
}

func TestStoreGetUserByEmail(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	u, _ := newAccount(t, s)
	for _, e := range []string{u.Email, strings.ToUpper(u.Email)} {
		got, err := s.GetUserByEmail(ctx, e)
		if err != nil {
			t.Fatalf("GetUserByEmail(%q): %v", e, err)
		}
		if got.ID != u.ID {
			t.Fatalf("GetUserByEmail(%q) = %s, want %s", e, got.ID, u.ID)
		}
	}
	_, err := s.GetUserByEmail(ctx, "nobody@example.com")
	wantKind(t, err, domain.KindNotFound, "unknown email")
}

func TestStoreUpdateUserConcurrently(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	u, _ := newAccount(t, s)

	// Each writer appends its own mark. With at most as many writers as the
	// store retries, every write must land: a loser re-reads and re-applies.
	const writers = 5
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			_, errs[i] = s.UpdateUser(ctx, u.ID, func(x *domain.User) error {
				x.Name += fmt.Sprintf("|w%d", i)
				return nil
			})
		})
	}
	wg.Wait()
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
		if c := strings.Count(got.Name, fmt.Sprintf("|w%d", i)); c != 1 {
			t.Errorf("mark of writer %d appears %d times in %q: lost or doubled update", i, c, got.Name)
		}
	}

	// Under heavier contention a writer may give up, with a Conflict, but no
	// update that reported success is ever lost.
	const many = 12
	errs = make([]error, many)
	for i := range many {
		wg.Go(func() {
			_, errs[i] = s.UpdateUser(ctx, u.ID, func(x *domain.User) error {
				x.Name += fmt.Sprintf("|m%d;", i)
				return nil
			})
		})
	}
	wg.Wait()
	if got, err = s.GetUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		c := strings.Count(got.Name, fmt.Sprintf("|m%d;", i))
		switch {
		case err == nil && c != 1:
			t.Errorf("writer %d succeeded but its mark appears %d times", i, c)
		case err != nil && !domain.Is(err, domain.KindConflict):
			t.Errorf("writer %d: %v, want success or conflict", i, err)
		case err != nil && c != 0:
			t.Errorf("writer %d reported a conflict but its update landed", i)
		}
	}

	// fn's error aborts without writing; id and email are immutable here.
	before, _ := s.GetUser(ctx, u.ID)
	_, err = s.UpdateUser(ctx, u.ID, func(x *domain.User) error { x.Name = "x"; return domain.Invalid("no") })
	wantKind(t, err, domain.KindInvalid, "fn error")
	_, err = s.UpdateUser(ctx, u.ID, func(x *domain.User) error { x.Email = "other@example.com"; return nil })
	if err == nil {
		t.Error("email changed through UpdateUser")
	}
	if after, _ := s.GetUser(ctx, u.ID); after.Name != before.Name || after.Email != before.Email {
		t.Error("an aborted update wrote")
	}
}

func TestStoreMembershipsBothSides(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	admin, org := newAccount(t, s)
	other, org2 := newAccount(t, s)

	// other joins org as viewer: both sides show it.
	m := newMembership(org.ID, other.ID, domain.RoleViewer)
	if err := s.AddMembership(ctx, m); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.AddMembership(ctx, m), domain.KindConflict, "add twice")
	wantKind(t, s.AddMembership(ctx, newMembership(org.ID, other.ID, domain.RoleAdmin)), domain.KindConflict, "add again with another role")
	if n := adminCount(t, s, org.ID); n != 1 {
		t.Fatalf("admin count %d after a refused duplicate", n)
	}

	checkBothSides := func(want map[string]domain.Role) {
		t.Helper()
		ms, err := s.ListUserMemberships(ctx, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]domain.Role{}
		for _, x := range ms {
			got[x.Org.ID] = x.Role
			om, err := s.GetMembership(ctx, x.Org.ID, other.ID)
			if err != nil {
				t.Fatalf("user side lists org %s, org side: %v", x.Org.ID, err)
			}
			if om.Role != x.Role || om.Active != x.Active || om.ClientID != x.ClientID {
				t.Errorf("org side %+v, user side %+v", om, x.Membership)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("user's memberships = %v, want %v", got, want)
		}
		for orgID := range map[string]bool{org.ID: true, org2.ID: true} {
			_, err := s.GetMembership(ctx, orgID, other.ID)
			if _, listed := want[orgID]; listed != (err == nil) {
				t.Errorf("org %s: org side err = %v, user side listed = %v", orgID, err, listed)
			}
		}
	}
	checkBothSides(map[string]domain.Role{org.ID: domain.RoleViewer, org2.ID: domain.RoleAdmin})

	page, err := s.ListMembers(ctx, org.ID, identity.MemberFilter{}, domain.PageRequest{Page: 1, PerPage: 25})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 2 || len(page.Items) != 2 {
		t.Fatalf("ListMembers = %+v", page)
	}
	viewers, err := s.ListMembers(ctx, org.ID, identity.MemberFilter{Role: domain.RoleViewer}, domain.PageRequest{Page: 1, PerPage: 25})
	if err != nil || viewers.Total != 1 || viewers.Items[0].UserID != other.ID || viewers.Items[0].User.Email != other.Email {
		t.Fatalf("ListMembers(role viewer) = %+v, %v", viewers, err)
	}
	q, err := s.ListMembers(ctx, org.ID, identity.MemberFilter{Query: strings.ToUpper(admin.Email[:8])}, domain.PageRequest{Page: 1, PerPage: 25})
	if err != nil || q.Total != 1 || q.Items[0].UserID != admin.ID {
		t.Fatalf("ListMembers(q) = %+v, %v", q, err)
	}
	p2, err := s.ListMembers(ctx, org.ID, identity.MemberFilter{}, domain.PageRequest{Page: 2, PerPage: 1})
	if err != nil || p2.Total != 2 || len(p2.Items) != 1 {
		t.Fatalf("page 2 = %+v, %v", p2, err)
	}

	// Promote: both sides and the admin count follow.
	if _, err := s.UpdateMembership(ctx, org.ID, other.ID, func(m *domain.Membership) error { m.Role = domain.RoleAdmin; return nil }); err != nil {
		t.Fatal(err)
	}
	checkBothSides(map[string]domain.Role{org.ID: domain.RoleAdmin, org2.ID: domain.RoleAdmin})
	if n := adminCount(t, s, org.ID); n != 2 {
		t.Errorf("admin count %d after promotion, want 2", n)
	}
	inactive := false
	active, err := s.ListMembers(ctx, org.ID, identity.MemberFilter{Active: &inactive}, domain.PageRequest{Page: 1, PerPage: 25})
	if err != nil || active.Total != 0 {
		t.Errorf("inactive members = %+v, %v", active, err)
	}

	// An organization update keeps the counters membership writes maintain.
	if _, err := s.UpdateOrg(ctx, org.ID, func(o *domain.Organization) error {
		o.Name, o.Settings.AllowPrivateTargets = "Renamed", true
		o.AdminCount = 99 // not the update's to change
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	o, _ := s.GetOrg(ctx, org.ID)
	if o.Name != "Renamed" || !o.Settings.AllowPrivateTargets || o.AdminCount != 2 {
		t.Errorf("after UpdateOrg: %+v", o)
	}

	// Remove: gone from both sides, counts follow.
	if err := s.RemoveMembership(ctx, org.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	checkBothSides(map[string]domain.Role{org2.ID: domain.RoleAdmin})
	if n := adminCount(t, s, org.ID); n != 1 {
		t.Errorf("admin count %d after removal, want 1", n)
	}
	wantKind(t, s.RemoveMembership(ctx, org.ID, other.ID), domain.KindNotFound, "remove twice")
}

func TestStoreLastAdmin(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	admin, org := newAccount(t, s)
	viewer := addMember(t, s, org.ID, domain.RoleViewer)

	demote := func(m *domain.Membership) error { m.Role = domain.RoleAuditor; return nil }
	deactivate := func(m *domain.Membership) error { m.Active = false; return nil }

	_, err := s.UpdateMembership(ctx, org.ID, admin.ID, demote)
	wantKind(t, err, domain.KindConflict, "demote the last admin")
	_, err = s.UpdateMembership(ctx, org.ID, admin.ID, deactivate)
	wantKind(t, err, domain.KindConflict, "deactivate the last admin")
	wantKind(t, s.RemoveMembership(ctx, org.ID, admin.ID), domain.KindConflict, "remove the last admin")
	if m, err := s.GetMembership(ctx, org.ID, admin.ID); err != nil || !m.IsActiveAdmin() {
		t.Fatalf("last admin changed: %+v, %v", m, err)
	}
	// Changes that keep the admin count pass.
	if _, err := s.UpdateMembership(ctx, org.ID, admin.ID, func(m *domain.Membership) error { m.UpdatedAt = time.Now(); return nil }); err != nil {
		t.Fatalf("neutral update of the last admin: %v", err)
	}
	if _, err := s.UpdateMembership(ctx, org.ID, viewer.ID, deactivate); err != nil {
		t.Fatalf("deactivate a viewer: %v", err)
	}
	if err := s.RemoveMembership(ctx, org.ID, viewer.ID); err != nil {
		t.Fatalf("remove a viewer: %v", err)
	}

	// A deactivated admin does not count: it cannot keep the org alive.
	second := addMember(t, s, org.ID, domain.RoleAdmin)
	if n := adminCount(t, s, org.ID); n != 2 {
		t.Fatalf("admin count %d, want 2", n)
	}
	if _, err := s.UpdateMembership(ctx, org.ID, second.ID, deactivate); err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateMembership(ctx, org.ID, admin.ID, demote)
	wantKind(t, err, domain.KindConflict, "demote the only active admin beside an inactive one")
	// Reactivating and then demoting works, once.
	if _, err := s.UpdateMembership(ctx, org.ID, second.ID, func(m *domain.Membership) error { m.Active = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateMembership(ctx, org.ID, admin.ID, demote); err != nil {
		t.Fatalf("demote one of two admins: %v", err)
	}
	wantKind(t, s.RemoveMembership(ctx, org.ID, second.ID), domain.KindConflict, "remove the admin left")
	if n := adminCount(t, s, org.ID); n != 1 {
		t.Errorf("admin count %d, want 1", n)
	}
}

func TestStoreAdminsDemoteEachOtherConcurrently(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	for round := range 8 {
		a, org := newAccount(t, s)
		b := addMember(t, s, org.ID, domain.RoleAdmin)
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, victim := range []string{a.ID, b.ID} {
			wg.Go(func() {
				<-start
				_, errs[i] = s.UpdateMembership(ctx, org.ID, victim, func(m *domain.Membership) error {
					m.Role = domain.RoleViewer
					return nil
				})
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !domain.Is(err, domain.KindConflict) {
				t.Fatalf("round %d: %v, want success or conflict", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d demotions succeeded (%v), want exactly 1", round, ok, errs)
		}
		admins := 0
		for _, id := range []string{a.ID, b.ID} {
			m, err := s.GetMembership(ctx, org.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if m.IsActiveAdmin() {
				admins++
			}
		}
		if admins != 1 || adminCount(t, s, org.ID) != 1 {
			t.Fatalf("round %d: %d active admins, counter %d; want 1 and 1", round, admins, adminCount(t, s, org.ID))
		}
	}
}

func TestStoreAdminsRemoveEachOtherConcurrently(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	for round := range 5 {
		a, org := newAccount(t, s)
		b := addMember(t, s, org.ID, domain.RoleAdmin)
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, victim := range []string{a.ID, b.ID} {
			wg.Go(func() {
				<-start
				errs[i] = s.RemoveMembership(ctx, org.ID, victim)
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !domain.Is(err, domain.KindConflict) {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if ok != 1 || adminCount(t, s, org.ID) != 1 {
			t.Fatalf("round %d: %d removals succeeded, admin count %d; want 1 and 1", round, ok, adminCount(t, s, org.ID))
		}
	}
}

func TestStoreClientExists(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	_, org := newAccount(t, s)
	for _, id := range []string{"", "junk", domain.NewID()} {
		ok, err := s.ClientExists(ctx, org.ID, id)
		if err != nil || ok {
			t.Errorf("ClientExists(%q) = %v, %v", id, ok, err)
		}
	}
}

func TestStoreInvitations(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	admin, org := newAccount(t, s)
	now := time.Now().UTC().Truncate(time.Millisecond)

	invite := func(email string, role domain.Role) (domain.Invitation, string) {
		inv := domain.Invitation{ID: domain.NewID(), OrgID: org.ID, Email: email, Role: role, InvitedBy: admin.ID,
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		hash := identity.HashSecret(domain.NewID())
		if err := s.CreateInvitation(ctx, inv, hash); err != nil {
			t.Fatal(err)
		}
		return inv, hash
	}

	inv, hash := invite(uniqueEmail("invitee"), domain.RoleAuditor)
	got, err := s.GetInvitation(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != inv.ID || got.Email != inv.Email || got.Role != domain.RoleAuditor || got.OrgID != org.ID || !got.ExpiresAt.Equal(inv.ExpiresAt) {
		t.Errorf("GetInvitation = %+v, want %+v", got, inv)
	}
	_, err = s.GetInvitation(ctx, identity.HashSecret("other"))
	wantKind(t, err, domain.KindNotFound, "unknown invitation")

	// Accept with a new user: user, membership and consumption in one go.
	u := newUser(inv.Email)
	u.DefaultOrgID = org.ID
	m := newMembership(org.ID, u.ID, inv.Role)
	if err := s.AcceptInvitation(ctx, hash, &u, m); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetUserByEmail(ctx, inv.Email); err != nil || got.ID != u.ID {
		t.Fatalf("invited user: %+v, %v", got, err)
	}
	if got, err := s.GetMembership(ctx, org.ID, u.ID); err != nil || got.Role != domain.RoleAuditor {
		t.Fatalf("invited membership: %+v, %v", got, err)
	}
	_, err = s.GetInvitation(ctx, hash)
	wantKind(t, err, domain.KindNotFound, "invitation after accept")
	// Second accept: not found (and nothing written).
	u2 := newUser(uniqueEmail("late"))
	wantKind(t, s.AcceptInvitation(ctx, hash, &u2, newMembership(org.ID, u2.ID, domain.RoleAuditor)), domain.KindNotFound, "second accept")
	wantKind(t, func() error { _, err := s.GetUser(ctx, u2.ID); return err }(), domain.KindNotFound, "user of a second accept")

	// Accept by an existing user who is already a member: conflict, and the
	// invitation stays for nothing else to change.
	_, hash2 := invite(admin.Email, domain.RoleViewer)
	wantKind(t, s.AcceptInvitation(ctx, hash2, nil, newMembership(org.ID, admin.ID, domain.RoleViewer)), domain.KindConflict, "accept by a member")
	if m, _ := s.GetMembership(ctx, org.ID, admin.ID); m.Role != domain.RoleAdmin {
		t.Errorf("a refused accept changed the role to %s", m.Role)
	}

	// Accept with a new user whose email was taken meanwhile: conflict.
	taken := uniqueEmail("taken")
	_, hash3 := invite(taken, domain.RoleViewer)
	addMember(t, s, org.ID, domain.RoleViewer) // someone else
	first := newUser(taken)
	if err := s.CreateUser(ctx, first, nil); err != nil {
		t.Fatal(err)
	}
	dup := newUser(taken)
	wantKind(t, s.AcceptInvitation(ctx, hash3, &dup, newMembership(org.ID, dup.ID, domain.RoleViewer)), domain.KindConflict, "accept with a taken email")
	if _, err := s.GetInvitation(ctx, hash3); err != nil {
		t.Errorf("a refused accept consumed the invitation: %v", err)
	}
	// The existing account accepts it instead.
	if err := s.AcceptInvitation(ctx, hash3, nil, newMembership(org.ID, first.ID, domain.RoleViewer)); err != nil {
		t.Fatalf("existing account accepts: %v", err)
	}
}

func TestStoreInvitationsAcceptedOnceConcurrently(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	admin, org := newAccount(t, s)
	now := time.Now().UTC()
	inv := domain.Invitation{ID: domain.NewID(), OrgID: org.ID, Email: uniqueEmail("race"), Role: domain.RoleViewer,
		InvitedBy: admin.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	hash := identity.HashSecret("race-token")
	if err := s.CreateInvitation(ctx, inv, hash); err != nil {
		t.Fatal(err)
	}
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u := newUser(inv.Email)
			errs[i] = s.AcceptInvitation(ctx, hash, &u, newMembership(org.ID, u.ID, inv.Role))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if k := domain.KindOf(err); k != domain.KindNotFound && k != domain.KindConflict {
			t.Errorf("accept: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d accepts succeeded, want 1: %v", ok, errs)
	}
	page, err := s.ListMembers(ctx, org.ID, identity.MemberFilter{}, domain.PageRequest{Page: 1, PerPage: 25})
	if err != nil || page.Total != 2 {
		t.Fatalf("members after racing accepts: %d, %v", page.Total, err)
	}
}
