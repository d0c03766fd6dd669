package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"rampart/shared/auth"
	"rampart/shared/domain"
)

// Throttle limits failed logins within a fixed window.
type Throttle struct {
	Window     time.Duration
	PerAccount int
	PerAddress int
}

// DefaultThrottle: five wrong passwords lock an account for the rest of a
// 15-minute window; one address may fail thirty times across accounts.
var DefaultThrottle = Throttle{Window: 15 * time.Minute, PerAccount: 5, PerAddress: 30}

// Service implements the identity use cases.
type Service struct {
	Store         Store
	Tokens        *auth.Tokens
	Clock         domain.Clock
	RefreshTTL    time.Duration
	InviteTTL     time.Duration
	AllowRegister bool
	Throttle      Throttle
	// OrgCreated seeds a new organization (taxonomy, templates); it must be
	// idempotent, since it is retried if it fails after the organization exists.
	OrgCreated func(ctx context.Context, orgID string) error
}

// Session is what a successful login, registration or refresh returns.
type Session struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    int // seconds
	RefreshTTL   time.Duration
	UserID       string
}

// Credentials identify a login attempt.
type Credentials struct {
	Email, Password, SourceAddr string
}

// Register creates a user and an organization with the user as its admin.
func (s *Service) Register(ctx context.Context, email, password, name, orgName string) (Session, error) {
	if !s.AllowRegister {
		return Session{}, domain.E(domain.KindForbidden, "self-registration is switched off; ask an administrator for an invitation")
	}
	email, err := domain.NormalizeEmail(email, "body.email")
	if err != nil {
		return Session{}, err
	}
	if err := auth.CheckPassword(password, email, "body.password"); err != nil {
		return Session{}, err
	}
	if name, err = domain.CleanName(name, "body.name", false, 200); err != nil {
		return Session{}, err
	}
	if orgName, err = domain.CleanName(orgName, "body.organization_name", false, 200); err != nil {
		return Session{}, err
	}
	if orgName == "" {
		orgName = strings.TrimSpace(name + " organization")
		if name == "" {
			orgName = email[strings.IndexByte(email, '@')+1:]
		}
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return Session{}, domain.Wrap(domain.KindInternal, err, "hash password")
	}
	now := s.Clock()
	org := domain.Organization{ID: domain.NewIDAt(now), Name: orgName, CreatedAt: now, UpdatedAt: now}
	u := domain.User{ID: domain.NewIDAt(now), Email: email, Name: name, PasswordHash: hash,
		DefaultOrgID: org.ID, CreatedAt: now, UpdatedAt: now}
	m := domain.Membership{OrgID: org.ID, UserID: u.ID, Role: domain.RoleAdmin, Active: true, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateUser(ctx, u, &org, m); err != nil {
		return Session{}, err
	}
	if err := s.orgCreated(ctx, org.ID); err != nil {
		return Session{}, err
	}
	return s.newSession(ctx, u.ID)
}

func (s *Service) orgCreated(ctx context.Context, orgID string) error {
	if s.OrgCreated == nil {
		return nil
	}
	return s.OrgCreated(ctx, orgID)
}

// Login checks a password, counting failures per account and per address.
func (s *Service) Login(ctx context.Context, c Credentials) (Session, error) {
	email := strings.ToLower(strings.TrimSpace(c.Email))
	if email == "" || c.Password == "" {
		return Session{}, domain.Invalid("email and password are required",
			domain.FieldError{Location: "body.email", Message: "required"},
			domain.FieldError{Location: "body.password", Message: "required"})
	}
	now := s.Clock()
	window := now.Truncate(s.Throttle.Window)
	windowEnd := window.Add(s.Throttle.Window)
	slot := fmt.Sprint(window.Unix())
	acctKey := "acct#" + digest(email) + "#" + slot
	keys := []string{acctKey}
	if c.SourceAddr != "" {
		keys = append(keys, "addr#"+digest(c.SourceAddr)+"#"+slot)
	}
	counts, err := s.Store.FailureCounts(ctx, keys)
	if err != nil {
		return Session{}, err
	}
	if counts[0] >= s.Throttle.PerAccount || (len(counts) > 1 && counts[1] >= s.Throttle.PerAddress) {
		e := domain.E(domain.KindThrottled, "too many failed logins; try again later")
		e.RetryAfterSeconds = int(windowEnd.Sub(now).Seconds()) + 1
		return Session{}, e
	}
	u, err := s.Store.GetUserByEmail(ctx, email)
	if err != nil && !domain.Is(err, domain.KindNotFound) {
		return Session{}, err
	}
	// An unknown account costs the same hashing time as a wrong password.
	if !auth.VerifyPassword(c.Password, u.PasswordHash) {
		if err := s.Store.RecordFailure(ctx, keys, windowEnd); err != nil {
			return Session{}, err
		}
		return Session{}, domain.E(domain.KindUnauthenticated, "incorrect email or password")
	}
	if err := s.Store.ClearFailures(ctx, acctKey); err != nil {
		return Session{}, err
	}
	return s.newSession(ctx, u.ID)
}

// SessionFor opens a session for an already authenticated user (OIDC).
func (s *Service) SessionFor(ctx context.Context, userID string) (Session, error) {
	return s.newSession(ctx, userID)
}

func (s *Service) newSession(ctx context.Context, userID string) (Session, error) {
	raw, hash := newSecret()
	t := RefreshToken{Hash: hash, UserID: userID, FamilyID: domain.NewIDAt(s.Clock()), ExpiresAt: s.Clock().Add(s.RefreshTTL)}
	if err := s.Store.CreateSession(ctx, t); err != nil {
		return Session{}, err
	}
	return s.issue(ctx, t, raw)
}

func (s *Service) issue(ctx context.Context, t RefreshToken, raw string) (Session, error) {
	access, exp, err := s.Tokens.Mint(ctx, t.UserID, t.FamilyID)
	if err != nil {
		return Session{}, domain.Wrap(domain.KindInternal, err, "mint token")
	}
	return Session{
		AccessToken: access, RefreshToken: raw, UserID: t.UserID,
		ExpiresIn: int(exp.Sub(s.Clock()).Seconds()), RefreshTTL: t.ExpiresAt.Sub(s.Clock()),
	}, nil
}

// Refresh rotates a refresh token. Presenting a token that was already
// rotated means it leaked: the whole family is revoked.
func (s *Service) Refresh(ctx context.Context, raw string) (Session, error) {
	if raw == "" {
		return Session{}, domain.E(domain.KindUnauthenticated, "refresh token required")
	}
	nextRaw, nextHash := newSecret()
	next := RefreshToken{Hash: nextHash, ExpiresAt: s.Clock().Add(s.RefreshTTL)}
	outcome, rotated, err := s.Store.RotateRefreshToken(ctx, HashSecret(raw), next)
	if err != nil {
		return Session{}, err
	}
	switch outcome {
	case Rotated:
		return s.issue(ctx, rotated, nextRaw)
	case Reused:
		return Session{}, domain.E(domain.KindUnauthenticated, "refresh token reused: all sessions of this sign-in were revoked")
	default:
		return Session{}, domain.E(domain.KindUnauthenticated, "invalid or expired refresh token")
	}
}

// Logout revokes the session of the presented refresh token, if any.
func (s *Service) Logout(ctx context.Context, raw string) error {
	if raw == "" {
		return nil
	}
	t, err := s.Store.GetRefreshToken(ctx, HashSecret(raw))
	if domain.Is(err, domain.KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.Store.RevokeFamily(ctx, t.UserID, t.FamilyID)
}

// Profile is a user with their memberships.
type Profile struct {
	User        domain.User
	Memberships []OrgMembership
}

// Me returns the caller's profile.
func (s *Service) Me(ctx context.Context, userID string) (Profile, error) {
	u, err := s.Store.GetUser(ctx, userID)
	if err != nil {
		return Profile{}, err
	}
	ms, err := s.Store.ListUserMemberships(ctx, userID)
	if err != nil {
		return Profile{}, err
	}
	return Profile{User: u, Memberships: ms}, nil
}

// ProfileChange is a PATCH of the caller's own profile.
type ProfileChange struct {
	Name            *string
	DefaultOrgID    *string
	Password        *string
	CurrentPassword string
}

// UpdateMe changes name, default organization or password. A password change
// needs the current password and revokes every other session.
func (s *Service) UpdateMe(ctx context.Context, userID, sessionID string, ch ProfileChange) (Profile, error) {
	if ch.DefaultOrgID != nil {
		if m, err := s.Store.GetMembership(ctx, *ch.DefaultOrgID, userID); err != nil || !m.Active {
			return Profile{}, domain.Invalid("not a member of that organization",
				domain.FieldError{Location: "body.default_organization_id", Message: "must be an organization you belong to"})
		}
	}
	var newHash string
	if ch.Password != nil {
		u, err := s.Store.GetUser(ctx, userID)
		if err != nil {
			return Profile{}, err
		}
		if u.PasswordHash == "" && ch.CurrentPassword == "" {
			// An OIDC-only account may set a first password.
		} else if !auth.VerifyPassword(ch.CurrentPassword, u.PasswordHash) {
			return Profile{}, domain.Invalid("current password is incorrect",
				domain.FieldError{Location: "body.current_password", Message: "incorrect"})
		}
		if err := auth.CheckPassword(*ch.Password, u.Email, "body.password"); err != nil {
			return Profile{}, err
		}
		if newHash, err = auth.HashPassword(*ch.Password); err != nil {
			return Profile{}, domain.Wrap(domain.KindInternal, err, "hash password")
		}
	}
	var name string
	if ch.Name != nil {
		var err error
		if name, err = domain.CleanName(*ch.Name, "body.name", false, 200); err != nil {
			return Profile{}, err
		}
	}
	_, err := s.Store.UpdateUser(ctx, userID, func(u *domain.User) error {
		if ch.Name != nil {
			u.Name = name
		}
		if ch.DefaultOrgID != nil {
			u.DefaultOrgID = *ch.DefaultOrgID
		}
		if newHash != "" {
			u.PasswordHash = newHash
		}
		u.UpdatedAt = s.Clock()
		return nil
	})
	if err != nil {
		return Profile{}, err
	}
	if newHash != "" {
		if err := s.Store.RevokeSessions(ctx, userID, sessionID); err != nil {
			return Profile{}, err
		}
	}
	return s.Me(ctx, userID)
}

// newSecret returns a random token and the hash under which it is stored.
func newSecret() (raw, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	raw = base64.RawURLEncoding.EncodeToString(b)
	return raw, HashSecret(raw)
}

// HashSecret is how refresh and invitation tokens are stored: a leaked table
// does not leak usable tokens.
func HashSecret(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}
