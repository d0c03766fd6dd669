package dynamo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/scans"
)

// A scan is stored as:
//   SCAN#<id>                          the scan (GSI1: ORG#<org>#SCAN#<status> / <id>)
//   ST#<scan>#<asset>                  its targets and what became of each
//   SR#<scan>#<asset>#<check>#<subj>   raw check results
//   SO#<scan>#<finding>                observations: the findings it saw
// The children use prefixes of their own so that listing scans reads scans only.

func scanKey(org, id string) keys            { return orgItem(org, "SCAN#"+id) }
func targetPrefix(scan string) string        { return "ST#" + scan + "#" }
func resultPrefix(scan string) string        { return "SR#" + scan + "#" }
func observationPrefix(scan string) string   { return "SO#" + scan + "#" }
func scanStatusPK(org, status string) string { return orgPK(org) + "#SCAN#" + status }

type scanRec struct {
	keys
	GSI1PK          string         `dynamodbav:"GSI1PK"`
	GSI1SK          string         `dynamodbav:"GSI1SK"`
	ID              string         `dynamodbav:"id"`
	Status          string         `dynamodbav:"status"`
	ScheduleID      string         `dynamodbav:"schedule_id"`
	CreatedBy       string         `dynamodbav:"created_by"`
	Targets         int            `dynamodbav:"targets"`
	Done            int            `dynamodbav:"done"`
	Score           *float64       `dynamodbav:"score"`
	ScoreReason     string         `dynamodbav:"score_reason"`
	Hosts           int            `dynamodbav:"hosts"`
	LiveHosts       int            `dynamodbav:"live_hosts"`
	Counts          map[string]int `dynamodbav:"counts"`
	Findings        int            `dynamodbav:"findings"`
	Results         int            `dynamodbav:"results"`
	Reason          string         `dynamodbav:"reason"`
	CancelRequested bool           `dynamodbav:"cancel_requested"`
	Attempts        int            `dynamodbav:"attempts"`
	LeaseUntil      int64          `dynamodbav:"lease_until"`
	CreatedAt       time.Time      `dynamodbav:"created_at"`
	StartedAt       *time.Time     `dynamodbav:"started_at"`
	CompletedAt     *time.Time     `dynamodbav:"completed_at"`
	UpdatedAt       time.Time      `dynamodbav:"updated_at"`
}

func newScanRec(org string, s domain.Scan) scanRec {
	return scanRec{keys: scanKey(org, s.ID), GSI1PK: scanStatusPK(org, s.Status), GSI1SK: s.ID, ID: s.ID, Status: s.Status,
		ScheduleID: s.ScheduleID, CreatedBy: s.CreatedBy, Targets: s.Targets, Done: s.Done, Score: s.Score,
		ScoreReason: s.ScoreReason, Hosts: s.Hosts, LiveHosts: s.LiveHosts, Counts: s.Counts, Findings: s.Findings,
		Results: s.Results, Reason: s.Reason, CancelRequested: s.CancelRequested, Attempts: s.Attempts,
		CreatedAt: s.CreatedAt, StartedAt: s.StartedAt, CompletedAt: s.CompletedAt, UpdatedAt: s.UpdatedAt}
}

func (r scanRec) domain() domain.Scan {
	counts := r.Counts
	if counts == nil {
		counts = map[string]int{}
	}
	return domain.Scan{ID: r.ID, Status: r.Status, ScheduleID: r.ScheduleID, CreatedBy: r.CreatedBy, Targets: r.Targets,
		Done: r.Done, Score: r.Score, ScoreReason: r.ScoreReason, Hosts: r.Hosts, LiveHosts: r.LiveHosts, Counts: counts,
		Findings: r.Findings, Results: r.Results, Reason: r.Reason, CancelRequested: r.CancelRequested,
		Attempts: r.Attempts, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, CompletedAt: r.CompletedAt, UpdatedAt: r.UpdatedAt}
}

type targetRec struct {
	keys
	AssetID   string         `dynamodbav:"asset_id"`
	Type      string         `dynamodbav:"type"`
	Target    string         `dynamodbav:"target"`
	ClientID  string         `dynamodbav:"client_id"`
	Done      bool           `dynamodbav:"done"`
	Clean     bool           `dynamodbav:"clean"`
	Live      bool           `dynamodbav:"live"`
	HostScore int            `dynamodbav:"host_score"`
	Counts    map[string]int `dynamodbav:"counts"`
	Passed    []string       `dynamodbav:"passed"`
	Results   int            `dynamodbav:"results"`
}

type resultRec struct {
	keys
	AssetID  string            `dynamodbav:"asset_id"`
	CheckID  string            `dynamodbav:"check_id"`
	Subject  string            `dynamodbav:"subject"`
	Host     string            `dynamodbav:"host"`
	Outcome  string            `dynamodbav:"outcome"`
	Severity string            `dynamodbav:"severity"`
	Summary  string            `dynamodbav:"summary"`
	Facts    map[string]string `dynamodbav:"facts"`
}

type observationRec struct {
	keys
	FindingID   string `dynamodbav:"fid"`
	Fingerprint string `dynamodbav:"fingerprint"`
	AssetID     string `dynamodbav:"asset_id"`
	CheckID     string `dynamodbav:"check_id"`
	Title       string `dynamodbav:"title"`
	Severity    string `dynamodbav:"severity"`
}

// CreateScan implements scans.Store: the targets are written first (in
// batches), then the scan with its counters, so a listed scan always has its
// targets.
func (s *Store) CreateScan(ctx context.Context, org string, sc domain.Scan, targets []domain.ScanTarget) error {
	var items []map[string]types.AttributeValue
	for _, t := range targets {
		item, err := marshal(targetRec{keys: orgItem(org, targetPrefix(sc.ID)+t.AssetID), AssetID: t.AssetID,
			Type: t.Type, Target: t.Target, ClientID: t.ClientID})
		if err != nil {
			return err
		}
		items = append(items, item)
	}
	if err := s.batchWrite(ctx, items); err != nil {
		return err
	}
	item, err := marshal(newScanRec(org, sc))
	if err != nil {
		return err
	}
	return s.transact(ctx, []types.TransactWriteItem{
		s.putNew(item), s.counterAdd(org, "scans", 1), s.counterAdd(org, "scans#"+sc.Status, 1),
	})
}

// batchWrite puts items 25 at a time, retrying what DynamoDB leaves
// unprocessed.
func (s *Store) batchWrite(ctx context.Context, items []map[string]types.AttributeValue) error {
	for start := 0; start < len(items); start += 25 {
		var reqs []types.WriteRequest
		for _, it := range items[start:min(start+25, len(items))] {
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
		if err := s.writeBatch(ctx, reqs); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) writeBatch(ctx context.Context, reqs []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{s.table: reqs}
	for attempt := 0; len(pending[s.table]) > 0; attempt++ {
		if attempt > 8 {
			return domain.E(domain.KindUnavailable, "database throttled the write")
		}
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return classify(err)
		}
		pending = out.UnprocessedItems
		if len(pending[s.table]) > 0 {
			time.Sleep(time.Duration(10<<attempt) * time.Millisecond)
		}
	}
	return nil
}

// GetScan implements scans.Store.
func (s *Store) GetScan(ctx context.Context, org, id string) (domain.Scan, error) {
	r, err := s.getScanRec(ctx, org, id)
	return r.domain(), err
}

func (s *Store) getScanRec(ctx context.Context, org, id string) (scanRec, error) {
	if !domain.ValidID(id) {
		return scanRec{}, domain.NotFound("scan")
	}
	return getItem[scanRec](ctx, s, scanKey(org, id), "scan")
}

// ListScans implements scans.Store: newest first, by status through GSI1.
func (s *Store) ListScans(ctx context.Context, org, status string, req domain.PageRequest) (domain.Page[domain.Scan], error) {
	p := basePartition(orgPK(org), "SCAN#", true)
	kind := "scans"
	if status != "" {
		p = indexPartition(GSI1, scanStatusPK(org, status), "", true)
		kind = "scans#" + status
	}
	var recs []scanRec
	next, err := s.page(ctx, p, req, &recs)
	if err != nil {
		return domain.Page[domain.Scan]{}, err
	}
	total, err := s.count(ctx, org, kind)
	if err != nil {
		return domain.Page[domain.Scan]{}, err
	}
	out := make([]domain.Scan, len(recs))
	for i, r := range recs {
		out[i] = r.domain()
	}
	return domain.Page[domain.Scan]{Items: out, Total: total, Request: req, NextCursor: next}, nil
}

// transition moves a scan from one status to another with its counters, on
// the condition given; ok is false when the condition failed.
func (s *Store) transition(ctx context.Context, org, id, from, to string, cond string, set string,
	vals map[string]types.AttributeValue) (bool, error) {
	if vals == nil {
		vals = map[string]types.AttributeValue{}
	}
	vals[":from"] = str(from)
	vals[":to"] = str(to)
	vals[":gsi"] = str(scanStatusPK(org, to))
	expr := "SET #st = :to, GSI1PK = :gsi"
	if set != "" {
		expr += ", " + set
	}
	condition := "#st = :from"
	if cond != "" {
		condition += " AND (" + cond + ")"
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: &s.table, Key: scanKey(org, id).av(),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String(condition),
		ExpressionAttributeNames: names("#st", "status"), ExpressionAttributeValues: vals,
	}}}
	if from != to {
		items = append(items, s.counterAdd(org, "scans#"+from, -1), s.counterAdd(org, "scans#"+to, 1))
	}
	err := s.transact(ctx, items)
	if _, ok := err.(*txCanceled); ok {
		return false, nil
	}
	return err == nil, err
}

// ClaimScan implements scans.Store: a pending scan, or a running one whose
// lease expired (its worker died or handed over), becomes running under a new
// lease. A duplicate event finds the lease held and claims nothing.
func (s *Store) ClaimScan(ctx context.Context, org, id string, now, leaseUntil time.Time) (domain.Scan, bool, error) {
	r, err := s.getScanRec(ctx, org, id)
	if err != nil {
		return domain.Scan{}, false, err
	}
	if r.Status != domain.ScanPending && r.Status != domain.ScanRunning {
		return r.domain(), false, nil
	}
	started := now
	if r.StartedAt != nil {
		started = *r.StartedAt
	}
	startedAV, err := marshalValue(started)
	if err != nil {
		return domain.Scan{}, false, err
	}
	ok, err := s.transition(ctx, org, id, r.Status, domain.ScanRunning, "lease_until < :now",
		"lease_until = :lease, attempts = attempts + :one, started_at = :started, updated_at = :started, DuePK = :duepk, DueSK = :duesk",
		map[string]types.AttributeValue{":now": num(now.Unix()), ":lease": num(leaseUntil.Unix()), ":one": num(1), ":started": startedAV,
			":duepk": str(leasePK), ":duesk": str(leaseSK(org, id, leaseUntil))})
	if err != nil || !ok {
		return r.domain(), false, err
	}
	r, err = s.getScanRec(ctx, org, id)
	return r.domain(), err == nil, err
}

// Leases of running scans are also entries of the sparse DueIndex, under
// their own partition: the dispatcher finds scans whose worker died or could
// not hand over (an expired lease) and requests them again.
const leasePK = "LEASE"

func leaseSK(org, id string, until time.Time) string {
	return fmt.Sprintf("%020d#%s#%s", max(until.Unix(), 0), org, id)
}

// ReleaseScan implements scans.Store: the lease ends now, so the next event
// can claim the scan at once (and the recovery sweep finds it if no event
// comes).
func (s *Store) ReleaseScan(ctx context.Context, org, id string) error {
	return s.SetLease(ctx, org, id, time.Unix(0, 0))
}

// SetLease implements scans.Store: a running scan's lease moves to until.
func (s *Store) SetLease(ctx context.Context, org, id string, until time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: scanKey(org, id).av(),
		UpdateExpression:          aws.String("SET lease_until = :until, DueSK = :duesk"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND #st = :running"),
		ExpressionAttributeNames:  names("#st", "status"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":until": num(until.Unix()), ":duesk": str(leaseSK(org, id, until)), ":running": str(domain.ScanRunning)},
	})
	if isConditionFailed(err) {
		return nil // finished or deleted meanwhile: no lease to move
	}
	return classify(err)
}

// ExpiredLeases implements scans.Store: running scans whose lease ended
// before now, across organizations, at most limit.
func (s *Store) ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]scans.ScanRef, error) {
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(DueIndex),
		KeyConditionExpression:    aws.String("DuePK = :pk AND DueSK < :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(leasePK), ":now": str(fmt.Sprintf("%020d", now.Unix()))},
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, classify(err)
	}
	var out []scans.ScanRef
	for _, item := range res.Items {
		sk, _ := item["DueSK"].(*types.AttributeValueMemberS)
		if sk == nil {
			continue
		}
		if parts := strings.SplitN(sk.Value, "#", 3); len(parts) == 3 {
			out = append(out, scans.ScanRef{OrgID: parts[1], ScanID: parts[2]})
		}
	}
	return out, nil
}

// SetProgress implements scans.Store; progress only moves forward.
func (s *Store) SetProgress(ctx context.Context, org, id string, done int) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: scanKey(org, id).av(),
		UpdateExpression:          aws.String("SET done = :d"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND done < :d"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(int64(done))},
	})
	if isConditionFailed(err) {
		return nil
	}
	return classify(err)
}

// Targets implements scans.Store.
func (s *Store) Targets(ctx context.Context, org, id string) ([]domain.ScanTarget, error) {
	var recs []targetRec
	if err := s.all(ctx, basePartition(orgPK(org), targetPrefix(id), false), &recs); err != nil {
		return nil, err
	}
	out := make([]domain.ScanTarget, len(recs))
	for i, r := range recs {
		out[i] = domain.ScanTarget{AssetID: r.AssetID, Type: r.Type, Target: r.Target, ClientID: r.ClientID, Done: r.Done,
			Clean: r.Clean, Live: r.Live, HostScore: r.HostScore, Counts: r.Counts, Passed: r.Passed}
	}
	return out, nil
}

// RecordTarget implements scans.Store: results first (idempotent puts), then
// the target marked done with its counts, and the scan's result count.
func (s *Store) RecordTarget(ctx context.Context, org, scanID string, t domain.ScanTarget, results []domain.ScanResult) error {
	items := make([]map[string]types.AttributeValue, 0, len(results))
	for _, r := range results {
		item, err := marshal(resultRec{keys: orgItem(org, resultPrefix(scanID)+r.AssetID+"#"+r.CheckID+"#"+r.Subject),
			AssetID: r.AssetID, CheckID: r.CheckID, Subject: r.Subject, Host: r.Host, Outcome: r.Outcome,
			Severity: r.Severity, Summary: r.Summary, Facts: r.Facts})
		if err != nil {
			return err
		}
		items = append(items, item)
	}
	if err := s.batchWrite(ctx, items); err != nil {
		return err
	}
	prev := targetRec{}
	if _, err := s.get(ctx, orgItem(org, targetPrefix(scanID)+t.AssetID), &prev, true); err != nil {
		return err
	}
	item, err := marshal(targetRec{keys: orgItem(org, targetPrefix(scanID)+t.AssetID), AssetID: t.AssetID, Type: t.Type,
		Target: t.Target, ClientID: t.ClientID, Done: true, Clean: t.Clean, Live: t.Live, HostScore: t.HostScore,
		Counts: t.Counts, Passed: t.Passed, Results: len(results)})
	if err != nil {
		return err
	}
	return s.transact(ctx, []types.TransactWriteItem{
		s.put(item),
		{Update: &types.Update{TableName: &s.table, Key: scanKey(org, scanID).av(),
			UpdateExpression:          aws.String("ADD results :n"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(int64(len(results) - prev.Results))}}},
	})
}

// RequestCancel implements scans.Store.
func (s *Store) RequestCancel(ctx context.Context, org, id string, at time.Time) (domain.Scan, error) {
	r, err := s.getScanRec(ctx, org, id)
	if err != nil {
		return domain.Scan{}, err
	}
	atAV, err := marshalValue(at)
	if err != nil {
		return domain.Scan{}, err
	}
	var ok bool
	switch r.Status {
	case domain.ScanPending:
		ok, err = s.transition(ctx, org, id, domain.ScanPending, domain.ScanCancelled, "",
			"completed_at = :at, updated_at = :at, cancel_requested = :t",
			map[string]types.AttributeValue{":at": atAV, ":t": boolean(true)})
	case domain.ScanRunning:
		ok, err = s.transition(ctx, org, id, domain.ScanRunning, domain.ScanRunning, "",
			"cancel_requested = :t, updated_at = :at", map[string]types.AttributeValue{":at": atAV, ":t": boolean(true)})
	default:
		return domain.Scan{}, domain.E(domain.KindConflict, "only a pending or running scan can be cancelled; this one is %s", r.Status)
	}
	if err != nil {
		return domain.Scan{}, err
	}
	if !ok { // it moved on meanwhile
		return s.RequestCancel(ctx, org, id, at)
	}
	return s.GetScan(ctx, org, id)
}

// FinishScan implements scans.Store: only a running scan finishes.
func (s *Store) FinishScan(ctx context.Context, org string, sc domain.Scan) error {
	counts, err := marshalValue(sc.Counts)
	if err != nil {
		return err
	}
	at, err := marshalValue(*sc.CompletedAt)
	if err != nil {
		return err
	}
	score := types.AttributeValue(&types.AttributeValueMemberNULL{Value: true})
	if sc.Score != nil {
		if score, err = marshalValue(*sc.Score); err != nil {
			return err
		}
	}
	ok, err := s.transition(ctx, org, sc.ID, domain.ScanRunning, sc.Status, "",
		"done = :done, score = :score, score_reason = :reason, hosts = :hosts, live_hosts = :live, counts = :counts, "+
			"findings = :findings, completed_at = :at, updated_at = :at, lease_until = :zero REMOVE DuePK, DueSK",
		map[string]types.AttributeValue{":done": num(int64(sc.Done)), ":score": score, ":reason": str(sc.ScoreReason),
			":hosts": num(int64(sc.Hosts)), ":live": num(int64(sc.LiveHosts)), ":counts": counts,
			":findings": num(int64(sc.Findings)), ":at": at, ":zero": num(0)})
	if err == nil && !ok {
		return domain.E(domain.KindConflict, "the scan is no longer running")
	}
	return err
}

// FailScan implements scans.Store: any unfinished scan fails with a reason.
func (s *Store) FailScan(ctx context.Context, org, id, reason string, at time.Time) error {
	r, err := s.getScanRec(ctx, org, id)
	if err != nil {
		return err
	}
	if r.domain().Finished() {
		return nil
	}
	atAV, err := marshalValue(at)
	if err != nil {
		return err
	}
	ok, err := s.transition(ctx, org, id, r.Status, domain.ScanFailed, "",
		"reason = :reason, completed_at = :at, updated_at = :at, lease_until = :zero REMOVE DuePK, DueSK",
		map[string]types.AttributeValue{":reason": str(reason), ":at": atAV, ":zero": num(0)})
	if err == nil && !ok {
		return s.FailScan(ctx, org, id, reason, at)
	}
	return err
}

// ListResults implements scans.Store.
func (s *Store) ListResults(ctx context.Context, org, id string, req domain.PageRequest) (domain.Page[domain.ScanResult], error) {
	sc, err := s.getScanRec(ctx, org, id)
	if err != nil {
		return domain.Page[domain.ScanResult]{}, err
	}
	var recs []resultRec
	next, err := s.page(ctx, basePartition(orgPK(org), resultPrefix(id), false), req, &recs)
	if err != nil {
		return domain.Page[domain.ScanResult]{}, err
	}
	out := make([]domain.ScanResult, len(recs))
	for i, r := range recs {
		out[i] = domain.ScanResult{ScanID: id, AssetID: r.AssetID, CheckID: r.CheckID, Subject: r.Subject, Host: r.Host,
			Outcome: r.Outcome, Severity: r.Severity, Summary: r.Summary, Facts: r.Facts}
	}
	return domain.Page[domain.ScanResult]{Items: out, Total: sc.Results, Request: req, NextCursor: next}, nil
}

// Observations implements scans.Store.
func (s *Store) Observations(ctx context.Context, org, id string) ([]domain.Observation, error) {
	var recs []observationRec
	if err := s.all(ctx, basePartition(orgPK(org), observationPrefix(id), false), &recs); err != nil {
		return nil, err
	}
	out := make([]domain.Observation, len(recs))
	for i, r := range recs {
		out[i] = domain.Observation{ScanID: id, FindingID: r.FindingID, Fingerprint: r.Fingerprint, AssetID: r.AssetID,
			CheckID: r.CheckID, Title: r.Title, Severity: r.Severity}
	}
	return out, nil
}
