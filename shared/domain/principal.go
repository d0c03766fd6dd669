package domain

// Principal is who a request acts as, established by the authorization layer
// from a verified token and, for organization routes, a verified membership.
// Handlers take the organization from here, never from the request body.
type Principal struct {
	UserID string
	// SessionID is the refresh-token family the access token belongs to.
	SessionID string
	OrgID     string // empty on routes that need no organization
	Role      Role
	// ClientID restricts a RoleClient member to one client of the organization.
	ClientID string
}

// CanSeeClient reports whether the principal may see data of the given client.
// Only client members are restricted; an entity without a client is outside a
// client member's view.
func (p Principal) CanSeeClient(clientID string) bool {
	return p.Role != RoleClient || (clientID != "" && clientID == p.ClientID)
}

// ClientScope narrows a list's client filter to what the principal may see: a
// client member sees its own client only. ok is false when the requested
// client is out of view or not an id at all, and the list is then empty.
func (p Principal) ClientScope(requested string) (clientID string, ok bool) {
	if requested != "" && !ValidID(requested) {
		return "", false
	}
	if p.Role != RoleClient {
		return requested, true
	}
	if requested != "" && requested != p.ClientID {
		return "", false
	}
	return p.ClientID, true
}
