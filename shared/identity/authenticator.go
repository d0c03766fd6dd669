package identity

import (
	"context"

	"rampart/shared/auth"
	"rampart/shared/domain"
)

// Memberships is what authorization reads: a consistent read of one
// membership, and a user's default organization.
type Memberships interface {
	GetUser(ctx context.Context, id string) (domain.User, error)
	GetMembership(ctx context.Context, orgID, userID string) (domain.Membership, error)
}

// Authenticator implements httpapi.Authenticator: it verifies the access token
// and reads the membership on every request, so a role change or removal
// applies to the very next request.
type Authenticator struct {
	Tokens *auth.Tokens
	Store  Memberships
}

// Authenticate establishes the principal of a request.
func (a *Authenticator) Authenticate(ctx context.Context, bearer string, needOrg bool, orgID string) (domain.Principal, error) {
	claims, err := a.Tokens.Verify(ctx, bearer)
	if err != nil {
		return domain.Principal{}, err
	}
	p := domain.Principal{UserID: claims.Subject, SessionID: claims.SessionID}
	if !needOrg {
		return p, nil
	}
	if orgID == "" {
		u, err := a.Store.GetUser(ctx, p.UserID)
		if err != nil {
			if domain.Is(err, domain.KindNotFound) {
				return domain.Principal{}, domain.E(domain.KindUnauthenticated, "invalid or expired token")
			}
			return domain.Principal{}, err
		}
		if u.DefaultOrgID == "" {
			return domain.Principal{}, domain.E(domain.KindNotFound, "no organization selected: send the X-Organization-ID header")
		}
		orgID = u.DefaultOrgID
	}
	m, err := a.Store.GetMembership(ctx, orgID, p.UserID)
	if err != nil {
		if domain.Is(err, domain.KindNotFound) {
			return domain.Principal{}, domain.NotFound("organization")
		}
		return domain.Principal{}, err
	}
	if !m.Active {
		return domain.Principal{}, domain.E(domain.KindForbidden, "your membership of this organization is deactivated")
	}
	p.OrgID, p.Role, p.ClientID = m.OrgID, m.Role, m.ClientID
	return p, nil
}
