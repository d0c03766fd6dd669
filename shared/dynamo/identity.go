package dynamo

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/identity"
)

type userRec struct {
	keys
	ID           string    `dynamodbav:"id"`
	Email        string    `dynamodbav:"email"`
	Name         string    `dynamodbav:"name"`
	PasswordHash string    `dynamodbav:"password_hash"`
	DefaultOrgID string    `dynamodbav:"default_org_id"`
	CreatedAt    time.Time `dynamodbav:"created_at"`
	UpdatedAt    time.Time `dynamodbav:"updated_at"`
	Ver          int       `dynamodbav:"ver"`
}

func (r userRec) domain() domain.User {
	return domain.User{ID: r.ID, Email: r.Email, Name: r.Name, PasswordHash: r.PasswordHash,
		DefaultOrgID: r.DefaultOrgID, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func newUserRec(u domain.User, ver int) userRec {
	return userRec{keys: userKey(u.ID), ID: u.ID, Email: u.Email, Name: u.Name, PasswordHash: u.PasswordHash,
		DefaultOrgID: u.DefaultOrgID, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Ver: ver}
}

type emailRec struct {
	keys
	UserID string `dynamodbav:"user_id"`
}

type orgRec struct {
	keys
	ID                  string    `dynamodbav:"id"`
	Name                string    `dynamodbav:"name"`
	AllowPrivateTargets bool      `dynamodbav:"allow_private_targets"`
	AdminCount          int       `dynamodbav:"admin_count"`
	MemberCount         int       `dynamodbav:"member_count"`
	CreatedAt           time.Time `dynamodbav:"created_at"`
	UpdatedAt           time.Time `dynamodbav:"updated_at"`
	Ver                 int       `dynamodbav:"ver"`
}

func (r orgRec) domain() domain.Organization {
	return domain.Organization{ID: r.ID, Name: r.Name, Settings: domain.OrgSettings{AllowPrivateTargets: r.AllowPrivateTargets},
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, AdminCount: r.AdminCount}
}

type memberRec struct {
	keys
	OrgID     string    `dynamodbav:"org_id"`
	UserID    string    `dynamodbav:"user_id"`
	Role      string    `dynamodbav:"role"`
	ClientID  string    `dynamodbav:"client_id,omitempty"`
	Active    bool      `dynamodbav:"active"`
	CreatedAt time.Time `dynamodbav:"created_at"`
	UpdatedAt time.Time `dynamodbav:"updated_at"`
	Ver       int       `dynamodbav:"ver"`
}

func (r memberRec) domain() domain.Membership {
	return domain.Membership{OrgID: r.OrgID, UserID: r.UserID, Role: domain.Role(r.Role), ClientID: r.ClientID,
		Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func newMemberRecs(m domain.Membership, ver int) (orgSide, userSide memberRec) {
	orgSide = memberRec{keys: memberKey(m.OrgID, m.UserID), OrgID: m.OrgID, UserID: m.UserID, Role: string(m.Role),
		ClientID: m.ClientID, Active: m.Active, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, Ver: ver}
	userSide = orgSide
	userSide.keys = userMemberKey(m.UserID, m.OrgID)
	return orgSide, userSide
}

func activeAdmins(ms ...domain.Membership) int {
	n := 0
	for _, m := range ms {
		if m.IsActiveAdmin() {
			n++
		}
	}
	return n
}

// memberWrites are the items that add a membership: both sides and, when the
// organization already exists, its counters.
func (s *Store) memberWrites(m domain.Membership, existingOrg bool) ([]types.TransactWriteItem, error) {
	orgSide, userSide := newMemberRecs(m, 1)
	a, err := marshal(orgSide)
	if err != nil {
		return nil, err
	}
	b, err := marshal(userSide)
	if err != nil {
		return nil, err
	}
	items := []types.TransactWriteItem{s.putNew(a), s.put(b)}
	if existingOrg {
		items = append(items, s.orgCounters(m.OrgID, 1, activeAdmins(m)))
	}
	return items, nil
}

// orgCounters adjusts member and admin counts; a decrement of the admin count
// is conditioned on another active admin remaining.
func (s *Store) orgCounters(orgID string, members, admins int) types.TransactWriteItem {
	u := &types.Update{
		TableName:        &s.table,
		Key:              orgKey(orgID).av(),
		UpdateExpression: aws.String("ADD member_count :m, admin_count :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":m": num(int64(members)), ":a": num(int64(admins)),
		},
		ConditionExpression: aws.String("attribute_exists(PK)"),
	}
	if admins < 0 {
		u.ConditionExpression = aws.String("attribute_exists(PK) AND admin_count > :one")
		u.ExpressionAttributeValues[":one"] = num(int64(-admins))
	}
	return types.TransactWriteItem{Update: u}
}

var errLastAdmin = domain.E(domain.KindConflict, "the organization must keep at least one active admin")

// CreateUser implements identity.Store.
func (s *Store) CreateUser(ctx context.Context, u domain.User, org *domain.Organization, ms ...domain.Membership) error {
	marker, err := marshal(emailRec{keys: emailKey(u.Email), UserID: u.ID})
	if err != nil {
		return err
	}
	user, err := marshal(newUserRec(u, 1))
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{s.putNew(marker), s.putNew(user)}
	if org != nil {
		o, err := marshal(orgRec{keys: orgKey(org.ID), ID: org.ID, Name: org.Name,
			AllowPrivateTargets: org.Settings.AllowPrivateTargets, AdminCount: activeAdmins(ms...),
			MemberCount: len(ms), CreatedAt: org.CreatedAt, UpdatedAt: org.UpdatedAt, Ver: 1})
		if err != nil {
			return err
		}
		items = append(items, s.putNew(o))
	}
	for _, m := range ms {
		w, err := s.memberWrites(m, org == nil || m.OrgID != org.ID)
		if err != nil {
			return err
		}
		items = append(items, w...)
	}
	err = s.transact(ctx, items)
	if tc, ok := err.(*txCanceled); ok {
		if tc.failed(0) {
			return &domain.Error{Kind: domain.KindConflict, Message: "email already registered",
				Fields: []domain.FieldError{{Location: "body.email", Message: "already registered"}}}
		}
		return domain.NotFound("organization")
	}
	return err
}

// GetUser implements identity.Store.
func (s *Store) GetUser(ctx context.Context, id string) (domain.User, error) {
	r, err := getItem[userRec](ctx, s, userKey(id), "user")
	if err != nil {
		return domain.User{}, err
	}
	return r.domain(), nil
}

// GetUserByEmail implements identity.Store.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (domain.User, error) {
	m, err := getItem[emailRec](ctx, s, emailKey(strings.ToLower(email)), "user")
	if err != nil {
		return domain.User{}, err
	}
	return s.GetUser(ctx, m.UserID)
}

// retries bounds optimistic update loops: a conflict that persists this many
// times is reported to the caller as a Conflict.
const retries = 5

// UpdateUser implements identity.Store.
func (s *Store) UpdateUser(ctx context.Context, id string, fn func(*domain.User) error) (domain.User, error) {
	for range retries {
		r, err := getItem[userRec](ctx, s, userKey(id), "user")
		if err != nil {
			return domain.User{}, err
		}
		u := r.domain()
		if err := fn(&u); err != nil {
			return domain.User{}, err
		}
		if u.ID != id || u.Email != r.Email {
			return domain.User{}, domain.E(domain.KindInternal, "user id and email cannot change here")
		}
		item, err := marshal(newUserRec(u, r.Ver+1))
		if err != nil {
			return domain.User{}, err
		}
		won, err := s.putIfVersion(ctx, item, r.Ver)
		if err != nil {
			return domain.User{}, err
		}
		if !won {
			continue
		}
		return u, nil
	}
	return domain.User{}, domain.E(domain.KindConflict, "the user changed concurrently; retry")
}

// GetOrg implements identity.Store.
func (s *Store) GetOrg(ctx context.Context, id string) (domain.Organization, error) {
	var r orgRec
	if !domain.ValidID(id) {
		return domain.Organization{}, domain.NotFound("organization")
	}
	found, err := s.get(ctx, orgKey(id), &r, true)
	if err != nil {
		return domain.Organization{}, err
	}
	if !found {
		return domain.Organization{}, domain.NotFound("organization")
	}
	return r.domain(), nil
}

// UpdateOrg implements identity.Store. It sets only the fields an update may
// change, so the counters that membership transactions keep are never
// overwritten with a stale copy.
func (s *Store) UpdateOrg(ctx context.Context, id string, fn func(*domain.Organization) error) (domain.Organization, error) {
	for range retries {
		r, err := getItem[orgRec](ctx, s, orgKey(id), "organization")
		if err != nil {
			return domain.Organization{}, err
		}
		o := r.domain()
		if err := fn(&o); err != nil {
			return domain.Organization{}, err
		}
		updated, err := attributevalue.Marshal(o.UpdatedAt)
		if err != nil {
			return domain.Organization{}, domain.Wrap(domain.KindInternal, err, "encode")
		}
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: orgKey(id).av(),
			UpdateExpression:         aws.String("SET #n = :n, allow_private_targets = :p, updated_at = :u, ver = ver + :one"),
			ConditionExpression:      aws.String("ver = :v"),
			ExpressionAttributeNames: names("#n", "name"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":n": str(o.Name), ":p": boolean(o.Settings.AllowPrivateTargets), ":u": updated,
				":v": num(int64(r.Ver)), ":one": num(1),
			},
		})
		if isConditionFailed(err) {
			continue
		}
		if err != nil {
			return domain.Organization{}, classify(err)
		}
		return o, nil
	}
	return domain.Organization{}, domain.E(domain.KindConflict, "the organization changed concurrently; retry")
}

// GetMembership implements identity.Store.
func (s *Store) GetMembership(ctx context.Context, orgID, userID string) (domain.Membership, error) {
	if !domain.ValidID(orgID) || !domain.ValidID(userID) {
		return domain.Membership{}, domain.NotFound("member")
	}
	r, err := getItem[memberRec](ctx, s, memberKey(orgID, userID), "member")
	if err != nil {
		return domain.Membership{}, err
	}
	return r.domain(), nil
}

// queryAll reads every item of a partition whose sort key starts with prefix.
func (s *Store) queryAll(ctx context.Context, pk, prefix string, out any) error {
	var all []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk), ":p": str(prefix)},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return classify(err)
		}
		all = append(all, page.Items...)
	}
	if err := attributevalue.UnmarshalListOfMaps(all, out); err != nil {
		return domain.Wrap(domain.KindInternal, err, "decode items")
	}
	return nil
}

// batchGet reads items by key, 100 at a time, into a slice of out's type.
func (s *Store) batchGet(ctx context.Context, ks []keys, out any) error {
	var all []map[string]types.AttributeValue
	for start := 0; start < len(ks); start += 100 {
		end := min(start+100, len(ks))
		req := make([]map[string]types.AttributeValue, 0, end-start)
		for _, k := range ks[start:end] {
			req = append(req, k.av())
		}
		pending := map[string]types.KeysAndAttributes{s.table: {Keys: req, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 8 {
				return domain.E(domain.KindUnavailable, "database throttled the read")
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return classify(err)
			}
			all = append(all, res.Responses[s.table]...)
			pending = res.UnprocessedKeys
			if len(pending) > 0 {
				time.Sleep(time.Duration(10<<attempt) * time.Millisecond)
			}
		}
	}
	if err := attributevalue.UnmarshalListOfMaps(all, out); err != nil {
		return domain.Wrap(domain.KindInternal, err, "decode items")
	}
	return nil
}

// ListUserMemberships implements identity.Store.
func (s *Store) ListUserMemberships(ctx context.Context, userID string) ([]identity.OrgMembership, error) {
	var ms []memberRec
	if err := s.queryAll(ctx, "USER#"+userID, memberPrefix, &ms); err != nil {
		return nil, err
	}
	ks := make([]keys, len(ms))
	for i, m := range ms {
		ks[i] = orgKey(m.OrgID)
	}
	var orgs []orgRec
	if err := s.batchGet(ctx, ks, &orgs); err != nil {
		return nil, err
	}
	byID := map[string]orgRec{}
	for _, o := range orgs {
		byID[o.ID] = o
	}
	out := make([]identity.OrgMembership, 0, len(ms))
	for _, m := range ms {
		if o, ok := byID[m.OrgID]; ok {
			out = append(out, identity.OrgMembership{Membership: m.domain(), Org: o.domain()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Org.Name < out[j].Org.Name })
	return out, nil
}

// ListMembers implements identity.Store. An organization's members are read
// whole (a few hundred at most) and filtered here; users come in batches.
func (s *Store) ListMembers(ctx context.Context, orgID string, f identity.MemberFilter, page domain.PageRequest) (domain.Page[identity.Member], error) {
	var ms []memberRec
	if err := s.queryAll(ctx, orgPK(orgID), memberPrefix, &ms); err != nil {
		return domain.Page[identity.Member]{}, err
	}
	ks := make([]keys, len(ms))
	for i, m := range ms {
		ks[i] = userKey(m.UserID)
	}
	var users []userRec
	if err := s.batchGet(ctx, ks, &users); err != nil {
		return domain.Page[identity.Member]{}, err
	}
	byID := map[string]userRec{}
	for _, u := range users {
		byID[u.ID] = u
	}
	q := strings.ToLower(strings.TrimSpace(f.Query))
	var all []identity.Member
	for _, m := range ms {
		u, ok := byID[m.UserID]
		if !ok || (f.Role != "" && domain.Role(m.Role) != f.Role) || (f.Active != nil && m.Active != *f.Active) {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(u.Name), q) && !strings.Contains(u.Email, q) {
			continue
		}
		all = append(all, identity.Member{Membership: m.domain(), User: u.domain()})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].User.Email < all[j].User.Email })
	return pageOf(all, page), nil
}

// pageOf cuts one page from a list that was read whole.
func pageOf[T any](all []T, req domain.PageRequest) domain.Page[T] {
	start := min((req.Page-1)*req.PerPage, len(all))
	end := min(start+req.PerPage, len(all))
	return domain.Page[T]{Items: all[start:end], Total: len(all), Request: req}
}

// AddMembership implements identity.Store.
func (s *Store) AddMembership(ctx context.Context, m domain.Membership) error {
	items, err := s.memberWrites(m, true)
	if err != nil {
		return err
	}
	err = s.transact(ctx, items)
	if tc, ok := err.(*txCanceled); ok {
		if tc.failed(0) {
			return domain.E(domain.KindConflict, "already a member of this organization")
		}
		return domain.NotFound("organization")
	}
	return err
}

// UpdateMembership implements identity.Store.
func (s *Store) UpdateMembership(ctx context.Context, orgID, userID string, fn func(*domain.Membership) error) (domain.Membership, error) {
	for range retries {
		r, err := getItem[memberRec](ctx, s, memberKey(orgID, userID), "member")
		if err != nil {
			return domain.Membership{}, err
		}
		old := r.domain()
		m := old
		if err := fn(&m); err != nil {
			return domain.Membership{}, err
		}
		m.OrgID, m.UserID = orgID, userID
		orgSide, userSide := newMemberRecs(m, r.Ver+1)
		a, err := marshal(orgSide)
		if err != nil {
			return domain.Membership{}, err
		}
		b, err := marshal(userSide)
		if err != nil {
			return domain.Membership{}, err
		}
		items := []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.table, Item: a, ConditionExpression: aws.String("ver = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(r.Ver))}}},
			s.put(b),
		}
		if delta := activeAdmins(m) - activeAdmins(old); delta != 0 {
			items = append(items, s.orgCounters(orgID, 0, delta))
		}
		err = s.transact(ctx, items)
		if tc, ok := err.(*txCanceled); ok {
			if tc.failed(0) {
				continue
			}
			return domain.Membership{}, errLastAdmin
		}
		if domain.Is(err, domain.KindConflict) {
			continue // cancelled by a concurrent transaction (TransactionConflict): read again
		}
		if err != nil {
			return domain.Membership{}, err
		}
		return m, nil
	}
	return domain.Membership{}, domain.E(domain.KindConflict, "the membership changed concurrently; retry")
}

// RemoveMembership implements identity.Store.
func (s *Store) RemoveMembership(ctx context.Context, orgID, userID string) error {
	for range retries {
		var r memberRec
		found, err := s.get(ctx, memberKey(orgID, userID), &r, true)
		if err != nil {
			return err
		}
		if !found {
			return domain.NotFound("member")
		}
		err = s.transact(ctx, []types.TransactWriteItem{
			{Delete: &types.Delete{TableName: &s.table, Key: memberKey(orgID, userID).av(),
				ConditionExpression:       aws.String("ver = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(r.Ver))}}},
			s.del(userMemberKey(userID, orgID)),
			s.orgCounters(orgID, -1, -activeAdmins(r.domain())),
		})
		if tc, ok := err.(*txCanceled); ok {
			if tc.failed(0) {
				continue
			}
			return errLastAdmin
		}
		if domain.Is(err, domain.KindConflict) {
			continue // cancelled by a concurrent transaction: read again
		}
		return err
	}
	return domain.E(domain.KindConflict, "the membership changed concurrently; retry")
}

// ClientExists implements identity.Store.
func (s *Store) ClientExists(ctx context.Context, orgID, clientID string) (bool, error) {
	if !domain.ValidID(clientID) {
		return false, nil
	}
	var k keys
	return s.get(ctx, clientKey(orgID, clientID), &k, true)
}
