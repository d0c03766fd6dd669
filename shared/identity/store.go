// Package identity holds the rules of accounts, sessions, organizations and
// memberships: register, login with throttling, refresh-token rotation,
// profiles, members, roles and invitations.
package identity

import (
	"context"
	"time"

	"rampart/shared/domain"
)

// RefreshToken is the stored form of a refresh token: only its hash is kept.
type RefreshToken struct {
	Hash      string
	UserID    string
	FamilyID  string
	ExpiresAt time.Time
}

// RotateOutcome says what happened to a presented refresh token.
type RotateOutcome int

const (
	Rotated  RotateOutcome = iota // the old token died, the new one lives
	Reused                        // the token was already rotated: the family is revoked
	Rejected                      // unknown, expired, or its family is revoked
)

// OIDCState is what the OIDC login keeps server-side until the callback.
type OIDCState struct {
	State     string
	Nonce     string
	Verifier  string // PKCE code verifier
	ReturnTo  string
	ExpiresAt time.Time
}

// MemberFilter narrows a member list.
type MemberFilter struct {
	Role   domain.Role
	Active *bool
	Query  string // matched against name and email, case-insensitively
}

// Member is a membership with its user's profile, as lists show it.
type Member struct {
	domain.Membership
	User domain.User
}

// OrgMembership is a user's membership with its organization, for profiles.
type OrgMembership struct {
	domain.Membership
	Org domain.Organization
}

// Store is the persistence port of identity. Every method that writes more
// than one item does so in one transaction; update methods take a closure that
// is applied to the current state and retried when a concurrent write won.
type Store interface {
	// CreateUser writes a user with its email marker and, in the same
	// transaction, a new organization (when org is not nil) and memberships.
	// An email already taken is a Conflict.
	CreateUser(ctx context.Context, u domain.User, org *domain.Organization, ms ...domain.Membership) error
	GetUser(ctx context.Context, id string) (domain.User, error)
	GetUserByEmail(ctx context.Context, email string) (domain.User, error)
	UpdateUser(ctx context.Context, id string, fn func(*domain.User) error) (domain.User, error)

	GetOrg(ctx context.Context, id string) (domain.Organization, error)
	UpdateOrg(ctx context.Context, id string, fn func(*domain.Organization) error) (domain.Organization, error)

	// GetMembership reads strongly consistently: authorization depends on it.
	GetMembership(ctx context.Context, orgID, userID string) (domain.Membership, error)
	ListUserMemberships(ctx context.Context, userID string) ([]OrgMembership, error)
	ListMembers(ctx context.Context, orgID string, f MemberFilter, page domain.PageRequest) (domain.Page[Member], error)
	// AddMembership adds an existing user to an organization; a user who is
	// already a member is a Conflict.
	AddMembership(ctx context.Context, m domain.Membership) error
	// UpdateMembership applies fn; a change that would leave the organization
	// without an active admin is a Conflict.
	UpdateMembership(ctx context.Context, orgID, userID string, fn func(*domain.Membership) error) (domain.Membership, error)
	// RemoveMembership deletes it; removing the last active admin is a Conflict.
	RemoveMembership(ctx context.Context, orgID, userID string) error
	ClientExists(ctx context.Context, orgID, clientID string) (bool, error)

	CreateInvitation(ctx context.Context, inv domain.Invitation, tokenHash string) error
	GetInvitation(ctx context.Context, tokenHash string) (domain.Invitation, error)
	// AcceptInvitation consumes the invitation and writes the membership, and
	// the new user when newUser is not nil, in one transaction.
	AcceptInvitation(ctx context.Context, tokenHash string, newUser *domain.User, m domain.Membership) error

	CreateSession(ctx context.Context, t RefreshToken) error
	RotateRefreshToken(ctx context.Context, oldHash string, next RefreshToken) (RotateOutcome, RefreshToken, error)
	RevokeFamily(ctx context.Context, userID, familyID string) error
	// RevokeSessions revokes every session of the user but except ("" for all).
	RevokeSessions(ctx context.Context, userID, except string) error
	GetRefreshToken(ctx context.Context, hash string) (RefreshToken, error)

	// FailureCounts returns the failed-login counts of the given keys in the
	// current window; RecordFailure adds one to each; ClearFailures resets one.
	FailureCounts(ctx context.Context, keys []string) ([]int, error)
	RecordFailure(ctx context.Context, keys []string, windowEnd time.Time) error
	ClearFailures(ctx context.Context, key string) error

	PutOIDCState(ctx context.Context, s OIDCState) error
	// TakeOIDCState reads and deletes a state in one step, so it works once.
	TakeOIDCState(ctx context.Context, state string) (OIDCState, error)
}
