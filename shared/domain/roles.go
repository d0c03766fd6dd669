package domain

import "strings"

// Role is a member's role inside one organization.
type Role string

const (
	RoleAdmin   Role = "admin"
	RoleAuditor Role = "auditor"
	RoleViewer  Role = "viewer"
	// RoleClient is a viewer restricted to one client of the organization.
	RoleClient Role = "client"
)

// Roles lists every role in decreasing order of power.
var Roles = []Role{RoleAdmin, RoleAuditor, RoleViewer, RoleClient}

// ParseRole accepts the A family's "reviewer" as auditor.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "admin":
		return RoleAdmin, nil
	case "auditor", "reviewer":
		return RoleAuditor, nil
	case "viewer":
		return RoleViewer, nil
	case "client":
		return RoleClient, nil
	}
	return "", Invalid("unknown role", FieldError{Location: "role", Message: "must be one of admin, auditor (or reviewer), viewer, client"})
}

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleAuditor:
		return 2
	case RoleViewer, RoleClient:
		return 1
	}
	return 0
}

// AtLeast reports whether r grants everything min grants. A client member reads
// like a viewer; its restriction to one client is enforced by the data access.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() && r.rank() > 0 }
