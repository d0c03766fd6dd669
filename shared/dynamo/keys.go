package dynamo

// Every key of the table is spelled here; docs/data-model.md explains them.

func userKey(id string) keys            { return keys{"USER#" + id, "PROFILE"} }
func emailKey(email string) keys        { return keys{"EMAIL#" + email, "EMAIL"} }
func orgKey(id string) keys             { return keys{orgPK(id), "ORG"} }
func orgPK(id string) string            { return "ORG#" + id }
func memberKey(org, uid string) keys    { return keys{orgPK(org), "MEMBER#" + uid} }
func refreshKey(hash string) keys       { return keys{"REFRESH#" + hash, "TOKEN"} }
func familyKey(uid, fid string) keys    { return keys{"USER#" + uid, "FAMILY#" + fid} }
func throttleKey(k string) keys         { return keys{"THROTTLE#" + k, "THROTTLE"} }
func oidcKey(state string) keys         { return keys{"OIDC#" + state, "STATE"} }
func inviteTokenKey(hash string) keys   { return keys{"INVITE#" + hash, "INVITE"} }
func invitationKey(org, id string) keys { return keys{orgPK(org), "INVITATION#" + id} }
func clientKey(org, id string) keys     { return keys{orgPK(org), "CLIENT#" + id} }
func counterKey(org, kind string) keys  { return keys{orgPK(org), "COUNT#" + kind} }

const (
	memberPrefix = "MEMBER#"
	familyPrefix = "FAMILY#"
)

// userMemberKey mirrors a membership in the user's partition, written in the
// same transaction, so a profile lists memberships with a consistent query.
func userMemberKey(uid, org string) keys { return keys{"USER#" + uid, "MEMBER#" + org} }
