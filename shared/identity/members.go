package identity

import (
	"context"

	"rampart/shared/auth"
	"rampart/shared/domain"
)

// Organizations lists the organizations the user belongs to, with their role.
func (s *Service) Organizations(ctx context.Context, userID string) ([]OrgMembership, error) {
	return s.Store.ListUserMemberships(ctx, userID)
}

// OrgChange is a PATCH of an organization.
type OrgChange struct {
	Name                *string
	AllowPrivateTargets *bool
}

// UpdateOrganization changes name and settings.
func (s *Service) UpdateOrganization(ctx context.Context, orgID string, ch OrgChange) (domain.Organization, error) {
	var name string
	if ch.Name != nil {
		var err error
		if name, err = domain.CleanName(*ch.Name, "body.name", true, 200); err != nil {
			return domain.Organization{}, err
		}
	}
	return s.Store.UpdateOrg(ctx, orgID, func(o *domain.Organization) error {
		if ch.Name != nil {
			o.Name = name
		}
		if ch.AllowPrivateTargets != nil {
			o.Settings.AllowPrivateTargets = *ch.AllowPrivateTargets
		}
		o.UpdatedAt = s.Clock()
		return nil
	})
}

// checkRoleClient validates the client of a client-scoped membership.
func (s *Service) checkRoleClient(ctx context.Context, orgID string, role domain.Role, clientID string) error {
	if role != domain.RoleClient {
		if clientID != "" {
			return domain.Invalid("client_id is only for the client role",
				domain.FieldError{Location: "body.client_id", Message: "only allowed with role client"})
		}
		return nil
	}
	if clientID == "" {
		return domain.Invalid("the client role needs a client_id",
			domain.FieldError{Location: "body.client_id", Message: "required for role client"})
	}
	ok, err := s.Store.ClientExists(ctx, orgID, clientID)
	if err != nil {
		return err
	}
	if !ok {
		return domain.Invalid("no such client in this organization",
			domain.FieldError{Location: "body.client_id", Message: "no such client"})
	}
	return nil
}

// NewMember is a request to add someone to an organization.
type NewMember struct {
	Email    string
	Name     string
	Role     domain.Role
	ClientID string
	// Password creates the account when the email is unknown (POST /users);
	// without it an unknown email gets an invitation instead.
	Password string
}

// AddResult is either a member added at once or a pending invitation.
type AddResult struct {
	Member      *Member
	Invitation  *domain.Invitation
	InviteToken string // returned once, to the admin who invited
}

// AddMember adds an existing user at once; an unknown email gets an account
// (when a password is given) or a pending invitation.
func (s *Service) AddMember(ctx context.Context, orgID, invitedBy string, nm NewMember) (AddResult, error) {
	email, err := domain.NormalizeEmail(nm.Email, "body.email")
	if err != nil {
		return AddResult{}, err
	}
	if err := s.checkRoleClient(ctx, orgID, nm.Role, nm.ClientID); err != nil {
		return AddResult{}, err
	}
	name, err := domain.CleanName(nm.Name, "body.name", false, 200)
	if err != nil {
		return AddResult{}, err
	}
	now := s.Clock()
	m := domain.Membership{OrgID: orgID, Role: nm.Role, ClientID: nm.ClientID, Active: true, CreatedAt: now, UpdatedAt: now}
	u, err := s.Store.GetUserByEmail(ctx, email)
	switch {
	case err == nil:
		m.UserID = u.ID
		if err := s.Store.AddMembership(ctx, m); err != nil {
			return AddResult{}, err
		}
		return AddResult{Member: &Member{Membership: m, User: u}}, nil
	case !domain.Is(err, domain.KindNotFound):
		return AddResult{}, err
	case nm.Password != "":
		if err := auth.CheckPassword(nm.Password, email, "body.password"); err != nil {
			return AddResult{}, err
		}
		hash, err := auth.HashPassword(nm.Password)
		if err != nil {
			return AddResult{}, domain.Wrap(domain.KindInternal, err, "hash password")
		}
		u = domain.User{ID: domain.NewIDAt(now), Email: email, Name: name, PasswordHash: hash,
			DefaultOrgID: orgID, CreatedAt: now, UpdatedAt: now}
		m.UserID = u.ID
		if err := s.Store.CreateUser(ctx, u, nil, m); err != nil {
			return AddResult{}, err
		}
		return AddResult{Member: &Member{Membership: m, User: u}}, nil
	}
	raw, hash := newSecret()
	inv := domain.Invitation{ID: domain.NewIDAt(now), OrgID: orgID, Email: email, Role: nm.Role,
		ClientID: nm.ClientID, InvitedBy: invitedBy, CreatedAt: now, ExpiresAt: now.Add(s.InviteTTL)}
	if err := s.Store.CreateInvitation(ctx, inv, hash); err != nil {
		return AddResult{}, err
	}
	return AddResult{Invitation: &inv, InviteToken: raw}, nil
}

// AcceptInvite redeems an invitation token. An unknown email gets an account
// with the given password; an email that has an account since the invitation
// was sent must prove it with that account's password.
func (s *Service) AcceptInvite(ctx context.Context, token, name, password string) (Session, error) {
	hash := HashSecret(token)
	inv, err := s.Store.GetInvitation(ctx, hash)
	if err != nil || !inv.ExpiresAt.After(s.Clock()) {
		if err == nil || domain.Is(err, domain.KindNotFound) {
			return Session{}, domain.E(domain.KindNotFound, "invitation not found or expired")
		}
		return Session{}, err
	}
	now := s.Clock()
	m := domain.Membership{OrgID: inv.OrgID, Role: inv.Role, ClientID: inv.ClientID, Active: true, CreatedAt: now, UpdatedAt: now}
	existing, err := s.Store.GetUserByEmail(ctx, inv.Email)
	switch {
	case err == nil:
		if !auth.VerifyPassword(password, existing.PasswordHash) {
			return Session{}, domain.E(domain.KindUnauthenticated, "this email has an account: give its password to accept")
		}
		m.UserID = existing.ID
		if err := s.Store.AcceptInvitation(ctx, hash, nil, m); err != nil {
			return Session{}, err
		}
		return s.newSession(ctx, existing.ID)
	case !domain.Is(err, domain.KindNotFound):
		return Session{}, err
	}
	if err := auth.CheckPassword(password, inv.Email, "body.password"); err != nil {
		return Session{}, err
	}
	if name, err = domain.CleanName(name, "body.name", false, 200); err != nil {
		return Session{}, err
	}
	pw, err := auth.HashPassword(password)
	if err != nil {
		return Session{}, domain.Wrap(domain.KindInternal, err, "hash password")
	}
	u := domain.User{ID: domain.NewIDAt(now), Email: inv.Email, Name: name, PasswordHash: pw,
		DefaultOrgID: inv.OrgID, CreatedAt: now, UpdatedAt: now}
	m.UserID = u.ID
	if err := s.Store.AcceptInvitation(ctx, hash, &u, m); err != nil {
		return Session{}, err
	}
	return s.newSession(ctx, u.ID)
}

// MemberChange is an admin's change to a member.
type MemberChange struct {
	Role     *domain.Role
	ClientID *string
	Active   *bool
	Name     *string
}

// UpdateMember changes role, client or active flag (and the user's name, as
// the A family's PATCH /users/{id} does). Demoting or deactivating the last
// active admin is a Conflict; deactivation revokes the user's sessions.
func (s *Service) UpdateMember(ctx context.Context, orgID, userID string, ch MemberChange) (Member, error) {
	cur, err := s.Store.GetMembership(ctx, orgID, userID)
	if err != nil {
		return Member{}, err
	}
	role, client := cur.Role, cur.ClientID
	if ch.Role != nil {
		role = *ch.Role
		if role != domain.RoleClient {
			client = ""
		}
	}
	if ch.ClientID != nil {
		client = *ch.ClientID
	}
	if ch.Role != nil || ch.ClientID != nil {
		if err := s.checkRoleClient(ctx, orgID, role, client); err != nil {
			return Member{}, err
		}
	}
	var name string
	if ch.Name != nil {
		if name, err = domain.CleanName(*ch.Name, "body.name", false, 200); err != nil {
			return Member{}, err
		}
	}
	m, err := s.Store.UpdateMembership(ctx, orgID, userID, func(m *domain.Membership) error {
		m.Role, m.ClientID = role, client
		if ch.Active != nil {
			m.Active = *ch.Active
		}
		m.UpdatedAt = s.Clock()
		return nil
	})
	if err != nil {
		return Member{}, err
	}
	if ch.Active != nil && !*ch.Active && cur.Active {
		if err := s.Store.RevokeSessions(ctx, userID, ""); err != nil {
			return Member{}, err
		}
	}
	var u domain.User
	if ch.Name != nil {
		u, err = s.Store.UpdateUser(ctx, userID, func(u *domain.User) error {
			u.Name, u.UpdatedAt = name, s.Clock()
			return nil
		})
	} else {
		u, err = s.Store.GetUser(ctx, userID)
	}
	if err != nil {
		return Member{}, err
	}
	return Member{Membership: m, User: u}, nil
}

// RemoveMember deletes a membership; the last active admin stays.
func (s *Service) RemoveMember(ctx context.Context, orgID, userID string) error {
	return s.Store.RemoveMembership(ctx, orgID, userID)
}
