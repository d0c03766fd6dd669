package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/identity"
)

type refreshRec struct {
	keys
	UserID    string    `dynamodbav:"user_id"`
	FamilyID  string    `dynamodbav:"family_id"`
	Used      bool      `dynamodbav:"used"`
	ExpiresAt time.Time `dynamodbav:"expires_at"`
	TTL       int64     `dynamodbav:"ttl"`
}

type familyRec struct {
	keys
	FamilyID  string    `dynamodbav:"family_id"`
	Revoked   bool      `dynamodbav:"revoked"`
	CreatedAt time.Time `dynamodbav:"created_at"`
	TTL       int64     `dynamodbav:"ttl"`
}

func newRefreshRec(t identity.RefreshToken) refreshRec {
	return refreshRec{keys: refreshKey(t.Hash), UserID: t.UserID, FamilyID: t.FamilyID,
		ExpiresAt: t.ExpiresAt, TTL: t.ExpiresAt.Unix()}
}

// CreateSession implements identity.Store.
func (s *Store) CreateSession(ctx context.Context, t identity.RefreshToken) error {
	tok, err := marshal(newRefreshRec(t))
	if err != nil {
		return err
	}
	fam, err := marshal(familyRec{keys: familyKey(t.UserID, t.FamilyID), FamilyID: t.FamilyID,
		CreatedAt: s.clock(), TTL: t.ExpiresAt.Unix()})
	if err != nil {
		return err
	}
	return s.transact(ctx, []types.TransactWriteItem{s.putNew(tok), s.putNew(fam)})
}

// GetRefreshToken implements identity.Store.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (identity.RefreshToken, error) {
	r, err := getItem[refreshRec](ctx, s, refreshKey(hash), "refresh token")
	if err != nil {
		return identity.RefreshToken{}, err
	}
	return identity.RefreshToken{Hash: hash, UserID: r.UserID, FamilyID: r.FamilyID, ExpiresAt: r.ExpiresAt}, nil
}

// RotateRefreshToken implements identity.Store: the old token is marked used
// on the condition that it was not, the new one is written, and the family's
// expiry moves on the condition that it is not revoked, all in one
// transaction. Two concurrent rotations of one token cannot both succeed.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next identity.RefreshToken) (identity.RotateOutcome, identity.RefreshToken, error) {
	var old refreshRec
	found, err := s.get(ctx, refreshKey(oldHash), &old, true)
	if err != nil {
		return identity.Rejected, identity.RefreshToken{}, err
	}
	if !found || !old.ExpiresAt.After(s.clock()) {
		return identity.Rejected, identity.RefreshToken{}, nil
	}
	if old.Used {
		return identity.Reused, identity.RefreshToken{}, s.RevokeFamily(ctx, old.UserID, old.FamilyID)
	}
	next.UserID, next.FamilyID = old.UserID, old.FamilyID
	tok, err := marshal(newRefreshRec(next))
	if err != nil {
		return identity.Rejected, identity.RefreshToken{}, err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{TableName: &s.table, Key: refreshKey(oldHash).av(),
			UpdateExpression:          aws.String("SET used = :t"),
			ConditionExpression:       aws.String("used = :f"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": boolean(true), ":f": boolean(false)}}},
		s.putNew(tok),
		{Update: &types.Update{TableName: &s.table, Key: familyKey(old.UserID, old.FamilyID).av(),
			UpdateExpression:          aws.String("SET #ttl = :ttl"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND revoked = :f"),
			ExpressionAttributeNames:  names("#ttl", TTLAttribute),
			ExpressionAttributeValues: map[string]types.AttributeValue{":ttl": num(next.ExpiresAt.Unix()), ":f": boolean(false)}}},
	})
	if tc, ok := err.(*txCanceled); ok {
		if tc.failed(0) { // a concurrent rotation used it first: reuse
			return identity.Reused, identity.RefreshToken{}, s.RevokeFamily(ctx, old.UserID, old.FamilyID)
		}
		return identity.Rejected, identity.RefreshToken{}, nil
	}
	if err != nil {
		return identity.Rejected, identity.RefreshToken{}, err
	}
	return identity.Rotated, next, nil
}

// RevokeFamily implements identity.Store.
func (s *Store) RevokeFamily(ctx context.Context, userID, familyID string) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: familyKey(userID, familyID).av(),
		UpdateExpression:          aws.String("SET revoked = :t"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": boolean(true)},
	})
	if isConditionFailed(err) {
		return nil
	}
	return classify(err)
}

// RevokeSessions implements identity.Store.
func (s *Store) RevokeSessions(ctx context.Context, userID, except string) error {
	var fams []familyRec
	if err := s.queryAll(ctx, "USER#"+userID, familyPrefix, &fams); err != nil {
		return err
	}
	for _, f := range fams {
		if f.Revoked || f.FamilyID == except {
			continue
		}
		if err := s.RevokeFamily(ctx, userID, f.FamilyID); err != nil {
			return err
		}
	}
	return nil
}

type counterRec struct {
	keys
	Count int   `dynamodbav:"count"`
	TTL   int64 `dynamodbav:"ttl"`
}

// FailureCounts implements identity.Store.
func (s *Store) FailureCounts(ctx context.Context, ks []string) ([]int, error) {
	out := make([]int, len(ks))
	for i, k := range ks {
		var r counterRec
		found, err := s.get(ctx, throttleKey(k), &r, true)
		if err != nil {
			return nil, err
		}
		if found && r.TTL > s.clock().Unix() {
			out[i] = r.Count
		}
	}
	return out, nil
}

// RecordFailure implements identity.Store.
func (s *Store) RecordFailure(ctx context.Context, ks []string, windowEnd time.Time) error {
	for _, k := range ks {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: throttleKey(k).av(),
			UpdateExpression:          aws.String("ADD #c :one SET #ttl = :ttl"),
			ExpressionAttributeNames:  names("#c", "count", "#ttl", TTLAttribute),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":ttl": num(windowEnd.Unix())},
		})
		if err != nil {
			return classify(err)
		}
	}
	return nil
}

// ClearFailures implements identity.Store.
func (s *Store) ClearFailures(ctx context.Context, k string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: throttleKey(k).av()})
	return classify(err)
}

type oidcRec struct {
	keys
	Nonce     string    `dynamodbav:"nonce"`
	Verifier  string    `dynamodbav:"verifier"`
	ReturnTo  string    `dynamodbav:"return_to"`
	ExpiresAt time.Time `dynamodbav:"expires_at"`
	TTL       int64     `dynamodbav:"ttl"`
}

// PutOIDCState implements identity.Store.
func (s *Store) PutOIDCState(ctx context.Context, st identity.OIDCState) error {
	item, err := marshal(oidcRec{keys: oidcKey(st.State), Nonce: st.Nonce, Verifier: st.Verifier,
		ReturnTo: st.ReturnTo, ExpiresAt: st.ExpiresAt, TTL: st.ExpiresAt.Unix()})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	return classify(err)
}

// TakeOIDCState implements identity.Store.
func (s *Store) TakeOIDCState(ctx context.Context, state string) (identity.OIDCState, error) {
	res, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: oidcKey(state).av(),
		ConditionExpression: aws.String("attribute_exists(PK)"),
		ReturnValues:        types.ReturnValueAllOld,
	})
	if isConditionFailed(err) {
		return identity.OIDCState{}, domain.NotFound("login state")
	}
	if err != nil {
		return identity.OIDCState{}, classify(err)
	}
	var r oidcRec
	if err := attributevalue.UnmarshalMap(res.Attributes, &r); err != nil {
		return identity.OIDCState{}, domain.Wrap(domain.KindInternal, err, "decode")
	}
	if !r.ExpiresAt.After(s.clock()) {
		return identity.OIDCState{}, domain.NotFound("login state")
	}
	return identity.OIDCState{State: state, Nonce: r.Nonce, Verifier: r.Verifier, ReturnTo: r.ReturnTo, ExpiresAt: r.ExpiresAt}, nil
}

type invitationRec struct {
	keys
	ID        string    `dynamodbav:"id"`
	OrgID     string    `dynamodbav:"org_id"`
	Email     string    `dynamodbav:"email"`
	Role      string    `dynamodbav:"role"`
	ClientID  string    `dynamodbav:"client_id,omitempty"`
	InvitedBy string    `dynamodbav:"invited_by"`
	TokenHash string    `dynamodbav:"token_hash"`
	CreatedAt time.Time `dynamodbav:"created_at"`
	ExpiresAt time.Time `dynamodbav:"expires_at"`
	TTL       int64     `dynamodbav:"ttl"`
}

func (r invitationRec) domain() domain.Invitation {
	return domain.Invitation{ID: r.ID, OrgID: r.OrgID, Email: r.Email, Role: domain.Role(r.Role), ClientID: r.ClientID,
		InvitedBy: r.InvitedBy, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
}

// CreateInvitation implements identity.Store.
func (s *Store) CreateInvitation(ctx context.Context, inv domain.Invitation, tokenHash string) error {
	r := invitationRec{keys: inviteTokenKey(tokenHash), ID: inv.ID, OrgID: inv.OrgID, Email: inv.Email, Role: string(inv.Role),
		ClientID: inv.ClientID, InvitedBy: inv.InvitedBy, TokenHash: tokenHash, CreatedAt: inv.CreatedAt,
		ExpiresAt: inv.ExpiresAt, TTL: inv.ExpiresAt.Unix()}
	byToken, err := marshal(r)
	if err != nil {
		return err
	}
	r.keys = invitationKey(inv.OrgID, inv.ID)
	inOrg, err := marshal(r)
	if err != nil {
		return err
	}
	return s.transact(ctx, []types.TransactWriteItem{s.putNew(byToken), s.putNew(inOrg)})
}

// GetInvitation implements identity.Store.
func (s *Store) GetInvitation(ctx context.Context, tokenHash string) (domain.Invitation, error) {
	r, err := getItem[invitationRec](ctx, s, inviteTokenKey(tokenHash), "invitation")
	if err != nil {
		return domain.Invitation{}, err
	}
	return r.domain(), nil
}

// AcceptInvitation implements identity.Store.
func (s *Store) AcceptInvitation(ctx context.Context, tokenHash string, newUser *domain.User, m domain.Membership) error {
	inv, err := s.GetInvitation(ctx, tokenHash)
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: inviteTokenKey(tokenHash).av(),
			ConditionExpression: aws.String("attribute_exists(PK)")}},
		s.del(invitationKey(inv.OrgID, inv.ID)),
	}
	mw, err := s.memberWrites(m, true)
	if err != nil {
		return err
	}
	items = append(items, mw...)
	if newUser != nil {
		marker, err := marshal(emailRec{keys: emailKey(newUser.Email), UserID: newUser.ID})
		if err != nil {
			return err
		}
		user, err := marshal(newUserRec(*newUser, 1))
		if err != nil {
			return err
		}
		items = append(items, s.putNew(marker), s.putNew(user))
	}
	err = s.transact(ctx, items)
	if tc, ok := err.(*txCanceled); ok {
		switch {
		case tc.failed(0):
			return domain.E(domain.KindNotFound, "invitation not found or expired")
		case tc.failed(2):
			return domain.E(domain.KindConflict, "already a member of this organization")
		case tc.failed(4):
			return domain.NotFound("organization")
		default:
			return domain.E(domain.KindConflict, "email already registered")
		}
	}
	return err
}
