package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/findings"
)

const systemActor = "system"

func observationKey(org, scan, fid string) keys { return orgItem(org, observationPrefix(scan)+fid) }

func (s *Store) observationItem(org, scanID string, f domain.Finding) (types.TransactWriteItem, error) {
	item, err := marshal(observationRec{keys: observationKey(org, scanID, f.ID), FindingID: f.ID, Fingerprint: f.Fingerprint,
		AssetID: f.AssetID, CheckID: f.CheckID, Title: f.Title, Severity: f.Severity})
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return s.putNew(item), nil
}

// ObserveFinding implements scans.Store. The fingerprint marker makes a scan
// finding unique per problem: a new fingerprint creates the finding, a known
// one updates it (last seen, observation count, a resolved finding reopened),
// each with its history. The observation item, written in the same
// transaction on the condition that it does not exist, makes a repeated call
// for the same scan a no-op: a retried target neither loses nor doubles a
// finding.
func (s *Store) ObserveFinding(ctx context.Context, org, scanID string, f domain.Finding, at time.Time) (domain.Finding, error) {
	for range retries {
		var marker struct {
			keys
			FindingID string `dynamodbav:"fid"`
		}
		found, err := s.get(ctx, fingerprintKey(org, f.Fingerprint), &marker, true)
		if err != nil {
			return domain.Finding{}, err
		}
		if !found {
			created, err := s.createScanFinding(ctx, org, scanID, f, at)
			if domain.Is(err, domain.KindConflict) {
				continue // created concurrently: update it instead
			}
			return created, err
		}
		f.ID = marker.FindingID
		obs, err := s.observationItem(org, scanID, f)
		if err != nil {
			return domain.Finding{}, err
		}
		updated, err := s.updateFinding(ctx, org, f.ID, 0, func(cur *domain.Finding) ([]domain.HistoryEntry, error) {
			old := *cur
			cur.LastSeenAt, cur.LastScanID = &at, scanID
			cur.Observations++
			cur.Title, cur.Description, cur.Evidence = f.Title, f.Description, f.Evidence
			cur.Remediation, cur.References, cur.NIS2 = f.Remediation, f.References, f.NIS2
			var changed []string
			if cur.Severity != f.Severity {
				cur.Severity = f.Severity
				changed = append(changed, "severity")
			}
			reason := ""
			if cur.Status == "resolved" {
				cur.Status = "open"
				changed = append(changed, "status")
				reason = "reopened: seen again by scan " + scanID
			}
			cur.UpdatedAt = at
			return findings.History(old, *cur, changed, systemActor, reason, at), nil
		}, []types.TransactWriteItem{obs})
		if err == errExtraFailed {
			return updated, nil // this scan already observed it
		}
		if domain.Is(err, domain.KindNotFound) {
			continue // deleted meanwhile: create it anew
		}
		return updated, err
	}
	return domain.Finding{}, domain.E(domain.KindConflict, "the finding changed concurrently too often")
}

func (s *Store) createScanFinding(ctx context.Context, org, scanID string, f domain.Finding, at time.Time) (domain.Finding, error) {
	f.ID = domain.NewIDAt(at)
	f.FirstSeenAt, f.LastSeenAt, f.LastScanID, f.Observations = &at, &at, scanID, 1
	f.CreatedAt, f.UpdatedAt, f.Version, f.CreatedBy = at, at, 1, systemActor
	if f.Status == "" {
		f.Status = "open"
	}
	hs := []domain.HistoryEntry{{ID: domain.NewIDAt(at), FindingID: f.ID, Field: "created", To: f.Status,
		ChangedBy: systemActor, Reason: "found by scan " + scanID, At: at}}
	obs, err := s.observationItem(org, scanID, f)
	if err != nil {
		return domain.Finding{}, err
	}
	item, err := marshal(newFindingRec(org, f, len(hs)))
	if err != nil {
		return domain.Finding{}, err
	}
	fp, err := marshal(struct {
		keys
		FindingID string `dynamodbav:"fid"`
	}{fingerprintKey(org, f.Fingerprint), f.ID})
	if err != nil {
		return domain.Finding{}, err
	}
	rest, err := s.findingWrites(org, nil, &f, hs)
	if err != nil {
		return domain.Finding{}, err
	}
	err = s.transact(ctx, append([]types.TransactWriteItem{s.putNew(item), s.putNew(fp), obs}, rest...))
	if _, ok := err.(*txCanceled); ok {
		return domain.Finding{}, domain.E(domain.KindConflict, "fingerprint taken")
	}
	return f, err
}

// ResolveUnseen implements scans.Store: scan findings of the asset that are
// open or in progress, were not seen since the scan started, and whose check
// passed in this scan are resolved, with the reason in their history.
func (s *Store) ResolveUnseen(ctx context.Context, org, scanID, assetID string, passed []string, since, at time.Time) (int, error) {
	pass := map[string]bool{}
	for _, c := range passed {
		pass[c] = true
	}
	var entries []indexRec
	if err := s.all(ctx, basePartition(orgPK(org), indexPrefix("a:"+assetID, "c"), false), &entries); err != nil {
		return 0, err
	}
	fs, err := s.findingsByID(ctx, org, entries)
	if err != nil {
		return 0, err
	}
	unseen := func(f domain.Finding) bool {
		return f.Source == domain.SourceScan && pass[f.CheckID] && (f.Status == "open" || f.Status == "in_progress") &&
			f.LastScanID != scanID && (f.LastSeenAt == nil || f.LastSeenAt.Before(since))
	}
	n := 0
	for _, f := range fs {
		if !unseen(f) {
			continue
		}
		_, err := s.updateFinding(ctx, org, f.ID, 0, func(cur *domain.Finding) ([]domain.HistoryEntry, error) {
			if !unseen(*cur) {
				return nil, nil
			}
			old := *cur
			cur.Status = "resolved"
			cur.ResolutionNote = "Resolved automatically: not observed by scan " + scanID
			cur.UpdatedAt = at
			return findings.History(old, *cur, []string{"status"}, systemActor, "no longer observed by scan "+scanID, at), nil
		}, nil)
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// DeleteScan implements scans.Store. Each observation is taken back in the
// same transaction that deletes its item, so a deletion interrupted midway
// continues correctly when repeated; a finding no other scan observed goes
// with it.
func (s *Store) DeleteScan(ctx context.Context, org, id string) ([]string, error) {
	sc, err := s.getScanRec(ctx, org, id)
	if err != nil {
		return nil, err
	}
	if sc.Status == domain.ScanRunning {
		return nil, domain.E(domain.KindConflict, "the scan is running: cancel it first")
	}
	obs, err := s.Observations(ctx, org, id)
	if err != nil {
		return nil, err
	}
	var deleted []string
	for _, o := range obs {
		gone, err := s.unobserve(ctx, org, id, o.FindingID)
		if err != nil {
			return deleted, err
		}
		if gone {
			deleted = append(deleted, o.FindingID)
		}
	}
	for _, prefix := range []string{resultPrefix(id), targetPrefix(id)} {
		if err := s.deletePrefix(ctx, org, prefix); err != nil {
			return deleted, err
		}
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: &s.table, Key: scanKey(org, id).av(), ConditionExpression: aws.String("attribute_exists(PK)")}},
		s.counterAdd(org, "scans", -1), s.counterAdd(org, "scans#"+sc.Status, -1),
	})
	if _, ok := err.(*txCanceled); ok {
		return deleted, nil // deleted concurrently
	}
	return deleted, err
}

// unobserve takes one scan's observation back from a finding; it reports
// whether the finding was deleted because no scan observes it any more.
func (s *Store) unobserve(ctx context.Context, org, scanID, fid string) (bool, error) {
	delObs := types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: observationKey(org, scanID, fid).av(),
		ConditionExpression: aws.String("attribute_exists(PK)")}}
	for range retries {
		r, err := s.getFindingRec(ctx, org, fid)
		if domain.Is(err, domain.KindNotFound) {
			_, err = s.db.DeleteItem(ctx, deleteInput(s.table, observationKey(org, scanID, fid)))
			return false, classify(err)
		}
		if err != nil {
			return false, err
		}
		f := r.domain()
		if f.Observations > 1 || f.Source != domain.SourceScan {
			_, err := s.updateFinding(ctx, org, fid, 0, func(cur *domain.Finding) ([]domain.HistoryEntry, error) {
				cur.Observations--
				return nil, nil
			}, []types.TransactWriteItem{delObs})
			if err == errExtraFailed {
				return false, nil
			}
			return false, err
		}
		items := []types.TransactWriteItem{
			{Delete: &types.Delete{TableName: &s.table, Key: findingKey(org, fid).av(), ConditionExpression: aws.String("ver = :v"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(r.Ver))}}},
			delObs,
		}
		if f.Fingerprint != "" {
			items = append(items, s.del(fingerprintKey(org, f.Fingerprint)))
		}
		rest, err := s.findingWrites(org, &f, nil, nil)
		if err != nil {
			return false, err
		}
		err = s.transact(ctx, append(items, rest...))
		if tc, ok := err.(*txCanceled); ok {
			if tc.failed(1) {
				return false, nil
			}
			continue
		}
		if err != nil {
			return false, err
		}
		return true, s.deletePrefix(ctx, org, "FINDING#"+fid+"#H#")
	}
	return false, domain.E(domain.KindConflict, "the finding changed concurrently too often")
}

// deletePrefix deletes every item of the organization whose key starts with
// prefix, in batches.
func (s *Store) deletePrefix(ctx context.Context, org, prefix string) error {
	var ks []keys
	if err := s.all(ctx, basePartition(orgPK(org), prefix, false), &ks); err != nil {
		return err
	}
	for start := 0; start < len(ks); start += 25 {
		var reqs []types.WriteRequest
		for _, k := range ks[start:min(start+25, len(ks))] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k.av()}})
		}
		if err := s.writeBatch(ctx, reqs); err != nil {
			return err
		}
	}
	return nil
}
