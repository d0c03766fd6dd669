package dynamo

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/schedules"
)

// Keys of schedules, in the organization partition ORG#<org>:
//
//	SCHEDULE#<id>    the schedule; while enabled it also carries the sparse
//	                 DueIndex keys DuePK = DUE, DueSK = <next_run_at>#<org>#<id>
//	COUNT#schedules  the list's total, written in the create and delete transactions
//
// <next_run_at> is RFC 3339 in UTC with whole seconds (fixed width), so the
// DueIndex sort key orders by due instant and "due at or before now" is one
// key condition: DueSK < "<now>$" ('$' follows '#').
func scheduleKey(org, id string) keys { return orgItem(org, schedulePrefix+id) }

func dueSK(next time.Time, org, id string) string { return stamp(next) + "#" + org + "#" + id }

const (
	schedulePrefix   = "SCHEDULE#"
	schedulesCounter = "schedules"
	duePK            = "DUE"
)

// stamp is the stored form of a schedule instant.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func unstamp(s string) *time.Time {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil
	}
	t = t.UTC()
	return &t
}

func stampPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return stamp(*t)
}

type scheduleRec struct {
	keys
	DuePK      string    `dynamodbav:"DuePK,omitempty"`
	DueSK      string    `dynamodbav:"DueSK,omitempty"`
	ID         string    `dynamodbav:"id"`
	Name       string    `dynamodbav:"name"`
	Cron       string    `dynamodbav:"cron"`
	Timezone   string    `dynamodbav:"timezone"`
	TargetMode string    `dynamodbav:"target_mode"`
	AssetIDs   []string  `dynamodbav:"asset_ids,omitempty"`
	Tag        string    `dynamodbav:"tag,omitempty"`
	Enabled    bool      `dynamodbav:"enabled"`
	NextRunAt  string    `dynamodbav:"next_run_at,omitempty"`
	LastRunAt  string    `dynamodbav:"last_run_at,omitempty"`
	LastScanID string    `dynamodbav:"last_scan_id,omitempty"`
	LastError  string    `dynamodbav:"last_error,omitempty"`
	CreatedBy  string    `dynamodbav:"created_by"`
	CreatedAt  time.Time `dynamodbav:"created_at"`
	UpdatedAt  time.Time `dynamodbav:"updated_at"`
	Ver        int       `dynamodbav:"ver"`
}

// newScheduleRec is the item of a schedule; the due keys follow enabled and
// next_run_at, so a disabled schedule is not in the index.
func newScheduleRec(org string, s schedules.Schedule, ver int) scheduleRec {
	r := scheduleRec{keys: scheduleKey(org, s.ID), ID: s.ID, Name: s.Name, Cron: s.Cron, Timezone: s.Timezone,
		TargetMode: s.Targets.Mode, AssetIDs: s.Targets.AssetIDs, Tag: s.Targets.Tag, Enabled: s.Enabled,
		LastRunAt: stampPtr(s.LastRunAt), LastScanID: s.LastScanID, LastError: s.LastError, CreatedBy: s.CreatedBy,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Ver: ver}
	if s.Enabled && s.NextRunAt != nil {
		r.NextRunAt = stamp(*s.NextRunAt)
		r.DuePK, r.DueSK = duePK, dueSK(*s.NextRunAt, org, s.ID)
	}
	return r
}

func (r scheduleRec) domain() schedules.Schedule {
	ids := r.AssetIDs
	if ids == nil {
		ids = []string{}
	}
	return schedules.Schedule{ID: r.ID, Name: r.Name, Cron: r.Cron, Timezone: r.Timezone,
		Targets: schedules.Targets{Mode: r.TargetMode, AssetIDs: ids, Tag: r.Tag}, Enabled: r.Enabled,
		NextRunAt: unstamp(r.NextRunAt), LastRunAt: unstamp(r.LastRunAt), LastScanID: r.LastScanID, LastError: r.LastError,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Ver}
}

// CreateSchedule implements schedules.Store.
func (s *Store) CreateSchedule(ctx context.Context, org string, sc schedules.Schedule) error {
	item, err := marshal(newScheduleRec(org, sc, 1))
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{s.putNew(item), s.counterAdd(org, schedulesCounter, 1)})
	if _, ok := err.(*txCanceled); ok {
		return domain.E(domain.KindConflict, "a schedule with this id exists")
	}
	return err
}

// GetSchedule implements schedules.Store.
func (s *Store) GetSchedule(ctx context.Context, org, id string) (schedules.Schedule, error) {
	r, err := s.getScheduleRec(ctx, org, id)
	if err != nil {
		return schedules.Schedule{}, err
	}
	return r.domain(), nil
}

func (s *Store) getScheduleRec(ctx context.Context, org, id string) (scheduleRec, error) {
	if !domain.ValidID(id) {
		return scheduleRec{}, domain.NotFound("schedule")
	}
	return getItem[scheduleRec](ctx, s, scheduleKey(org, id), "schedule")
}

// ListSchedules implements schedules.Store: newest first, total from the
// counter.
func (s *Store) ListSchedules(ctx context.Context, org string, req domain.PageRequest) (domain.Page[schedules.Schedule], error) {
	var recs []scheduleRec
	next, err := s.page(ctx, basePartition(orgPK(org), schedulePrefix, true), req, &recs)
	if err != nil {
		return domain.Page[schedules.Schedule]{}, err
	}
	total, err := s.count(ctx, org, schedulesCounter)
	if err != nil {
		return domain.Page[schedules.Schedule]{}, err
	}
	out := make([]schedules.Schedule, len(recs))
	for i, r := range recs {
		out[i] = r.domain()
	}
	return domain.Page[schedules.Schedule]{Items: out, Total: total, Request: req, NextCursor: next}, nil
}

// UpdateSchedule implements schedules.Store: the whole item is put back on
// the condition that its version did not move (the dispatcher's claims move
// it too), which rewrites or removes the due keys with it.
func (s *Store) UpdateSchedule(ctx context.Context, org, id string, fn func(*schedules.Schedule) error) (schedules.Schedule, error) {
	for range retries {
		r, err := s.getScheduleRec(ctx, org, id)
		if err != nil {
			return schedules.Schedule{}, err
		}
		sc := r.domain()
		if err := fn(&sc); err != nil {
			return schedules.Schedule{}, err
		}
		sc.ID, sc.CreatedAt, sc.CreatedBy = r.ID, r.CreatedAt, r.CreatedBy
		sc.Version = r.Ver + 1
		item, err := marshal(newScheduleRec(org, sc, sc.Version))
		if err != nil {
			return schedules.Schedule{}, err
		}
		won, err := s.putIfVersion(ctx, item, r.Ver)
		if err != nil {
			return schedules.Schedule{}, err
		}
		if !won {
			continue
		}
		if !sc.Enabled {
			sc.NextRunAt = nil
		}
		return sc, nil
	}
	return schedules.Schedule{}, domain.E(domain.KindConflict, "the schedule changed concurrently; retry")
}

// DeleteSchedule implements schedules.Store.
func (s *Store) DeleteSchedule(ctx context.Context, org, id string) error {
	if !domain.ValidID(id) {
		return domain.NotFound("schedule")
	}
	err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: scheduleKey(org, id).av(),
			ConditionExpression: aws.String("attribute_exists(PK)")}},
		s.counterAdd(org, schedulesCounter, -1),
	})
	if _, ok := err.(*txCanceled); ok {
		return domain.NotFound("schedule")
	}
	return err
}

// dueKey is the DueIndex key (with the table key) of one entry.
func dueKey(d schedules.Due) map[string]types.AttributeValue {
	k := scheduleKey(d.OrgID, d.ID).av()
	k["DuePK"] = str(duePK)
	k["DueSK"] = str(dueSK(d.NextRunAt, d.OrgID, d.ID))
	return k
}

// DueSchedules implements schedules.Store: one query of the DueIndex
// partition, keys only, oldest first.
func (s *Store) DueSchedules(ctx context.Context, now time.Time, limit int, after *schedules.Due) ([]schedules.Due, *schedules.Due, error) {
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(DueIndex),
		KeyConditionExpression: aws.String("DuePK = :pk AND DueSK < :bound"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(duePK), ":bound": str(stamp(now) + "$"),
		},
		ProjectionExpression: aws.String("DueSK"),
		Limit:                aws.Int32(int32(max(limit, 1))),
	}
	if after != nil {
		in.ExclusiveStartKey = dueKey(*after)
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, nil, classify(err)
	}
	var out []schedules.Due
	for _, item := range res.Items {
		v, ok := item["DueSK"].(*types.AttributeValueMemberS)
		if !ok {
			continue
		}
		d, ok := parseDueSK(v.Value)
		if ok {
			out = append(out, d)
		}
	}
	var more *schedules.Due
	if res.LastEvaluatedKey != nil {
		if v, ok := res.LastEvaluatedKey["DueSK"].(*types.AttributeValueMemberS); ok {
			if d, ok := parseDueSK(v.Value); ok {
				more = &d
			}
		}
	}
	return out, more, nil
}

func parseDueSK(sk string) (schedules.Due, bool) {
	parts := strings.Split(sk, "#")
	if len(parts) != 3 {
		return schedules.Due{}, false
	}
	at := unstamp(parts[0])
	if at == nil {
		return schedules.Due{}, false
	}
	return schedules.Due{OrgID: parts[1], ID: parts[2], NextRunAt: *at}, true
}

// ClaimSchedule implements schedules.Store: one conditional update on the
// schedule item, which a missing item fails as well.
func (s *Store) ClaimSchedule(ctx context.Context, org, id string, read time.Time, next *time.Time, now time.Time) (bool, error) {
	vals := map[string]types.AttributeValue{
		":read": str(stamp(read)), ":now": str(stamp(now)), ":t": boolean(true), ":one": num(1),
	}
	expr := "SET #last = :now, #ver = #ver + :one"
	if next != nil {
		expr += ", #next = :next, DueSK = :due"
		vals[":next"], vals[":due"] = str(stamp(*next)), str(dueSK(*next, org, id))
	} else {
		expr += " REMOVE #next, DuePK, DueSK"
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: scheduleKey(org, id).av(),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("#next = :read AND #enabled = :t"),
		ExpressionAttributeNames:  names("#next", "next_run_at", "#last", "last_run_at", "#ver", "ver", "#enabled", "enabled"),
		ExpressionAttributeValues: vals,
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, classify(err)
	}
	return true, nil
}

// ReleaseSchedule implements schedules.Store.
func (s *Store) ReleaseSchedule(ctx context.Context, org, id string, claimedNext *time.Time, claimedAt, restore time.Time, lastError string) error {
	vals := map[string]types.AttributeValue{
		":restore": str(stamp(restore)), ":due": str(dueSK(restore, org, id)), ":pk": str(duePK),
		":at": str(stamp(claimedAt)), ":err": str(lastError), ":one": num(1), ":t": boolean(true),
	}
	cond := "#last = :at AND #enabled = :t AND "
	if claimedNext != nil {
		cond += "#next = :claimed"
		vals[":claimed"] = str(stamp(*claimedNext))
	} else {
		cond += "attribute_not_exists(#next)"
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: scheduleKey(org, id).av(),
		UpdateExpression:          aws.String("SET #next = :restore, DuePK = :pk, DueSK = :due, #err = :err, #ver = #ver + :one"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names("#next", "next_run_at", "#last", "last_run_at", "#ver", "ver", "#enabled", "enabled", "#err", "last_error"),
		ExpressionAttributeValues: vals,
	})
	if isConditionFailed(err) {
		return nil
	}
	return classify(err)
}

// RecordRun implements schedules.Store.
func (s *Store) RecordRun(ctx context.Context, org, id string, ranAt time.Time, scanID, lastError string) error {
	vals := map[string]types.AttributeValue{":at": str(stamp(ranAt)), ":one": num(1)}
	var set, remove []string
	set = append(set, "#ver = #ver + :one")
	if scanID != "" {
		set = append(set, "#scan = :scan")
		vals[":scan"] = str(scanID)
	}
	if lastError != "" {
		set = append(set, "#err = :err")
		vals[":err"] = str(lastError)
	} else {
		remove = append(remove, "#err")
	}
	expr := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: scheduleKey(org, id).av(),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("attribute_exists(PK) AND #last = :at"),
		ExpressionAttributeNames:  recordNames(scanID != ""),
		ExpressionAttributeValues: vals,
	})
	if isConditionFailed(err) {
		return nil
	}
	return classify(err)
}

func recordNames(withScan bool) map[string]string {
	n := names("#ver", "ver", "#err", "last_error", "#last", "last_run_at")
	if withScan {
		n["#scan"] = "last_scan_id"
	}
	return n
}
