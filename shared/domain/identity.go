package domain

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// User is a person who can sign in. Users are global; what they may do in an
// organization comes from their membership of it.
type User struct {
	ID           string
	Email        string // lower case
	Name         string
	PasswordHash string // empty for users who sign in only through OIDC
	DefaultOrgID string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// OrgSettings are an organization's switches.
type OrgSettings struct {
	// AllowPrivateTargets lets scans reach private, loopback and link-local
	// addresses (off by default: SSRF protection).
	AllowPrivateTargets bool
}

// Organization is a tenant: everything but users belongs to exactly one.
type Organization struct {
	ID        string
	Name      string
	Settings  OrgSettings
	CreatedAt time.Time
	UpdatedAt time.Time
	// AdminCount is the number of active admins, kept in the same transaction
	// as every membership change, so the last admin cannot be removed.
	AdminCount int
}

// Membership is a user's role in one organization.
type Membership struct {
	OrgID     string
	UserID    string
	Role      Role
	ClientID  string // only for RoleClient
	Active    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// IsActiveAdmin reports whether the membership counts toward AdminCount.
func (m Membership) IsActiveAdmin() bool { return m.Active && m.Role == RoleAdmin }

// Invitation is a pending membership for an email that has no account yet.
type Invitation struct {
	ID        string
	OrgID     string
	Email     string
	Role      Role
	ClientID  string
	InvitedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// NormalizeEmail validates an address and returns its canonical (lower-case)
// form; location names the field in the error.
func NormalizeEmail(s, location string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", Invalid("invalid email address", FieldError{Location: location, Message: "must be an email address like name@example.com"})
	}
	return strings.ToLower(s), nil
}

// CleanName trims a display name and checks its length.
func CleanName(s, location string, required bool, max int) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if required && n == 0 {
		return "", Invalid(location+" is required", FieldError{Location: location, Message: "must not be empty"})
	}
	if n > max {
		return "", Invalid(location+" is too long", FieldError{Location: location, Message: "too long"})
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", Invalid(location+" contains control characters", FieldError{Location: location, Message: "must not contain control characters"})
		}
	}
	return s, nil
}
