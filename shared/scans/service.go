// Package scans runs the scanner over an organization's assets: the API side
// (create, cancel, compare, delete) and the worker that claims a requested
// scan, runs the checks, records results and deduplicated findings, resolves
// what is no longer seen, and scores the scan.
package scans

import (
	"context"
	"fmt"
	"time"

	"rampart/shared/domain"
	"rampart/shared/events"
	"rampart/shared/scanner"
)

// Store is the persistence port of scans.
type Store interface {
	CreateScan(ctx context.Context, orgID string, s domain.Scan, targets []domain.ScanTarget) error
	GetScan(ctx context.Context, orgID, id string) (domain.Scan, error)
	ListScans(ctx context.Context, orgID, status string, page domain.PageRequest) (domain.Page[domain.Scan], error)
	// RequestCancel cancels a pending scan at once and asks a running one to
	// stop; other statuses are a Conflict.
	RequestCancel(ctx context.Context, orgID, id string, at time.Time) (domain.Scan, error)
	// DeleteScan removes a finished scan, its targets, results and
	// observations, and the findings no other scan observed; it returns the
	// ids of the deleted findings.
	DeleteScan(ctx context.Context, orgID, id string) ([]string, error)
	ListResults(ctx context.Context, orgID, id string, page domain.PageRequest) (domain.Page[domain.ScanResult], error)
	Observations(ctx context.Context, orgID, id string) ([]domain.Observation, error)

	// Worker side.
	ClaimScan(ctx context.Context, orgID, id string, now, leaseUntil time.Time) (domain.Scan, bool, error)
	ReleaseScan(ctx context.Context, orgID, id string) error
	SetLease(ctx context.Context, orgID, id string, until time.Time) error
	// ExpiredLeases lists running scans whose lease ended before now.
	ExpiredLeases(ctx context.Context, now time.Time, limit int) ([]ScanRef, error)
	Targets(ctx context.Context, orgID, id string) ([]domain.ScanTarget, error)
	SetProgress(ctx context.Context, orgID, id string, done int) error
	RecordTarget(ctx context.Context, orgID, scanID string, t domain.ScanTarget, results []domain.ScanResult) error
	ObserveFinding(ctx context.Context, orgID, scanID string, f domain.Finding, at time.Time) (domain.Finding, error)
	// ResolveUnseen resolves the asset's open scan findings of the passed
	// checks that the scan did not observe.
	ResolveUnseen(ctx context.Context, orgID, scanID, assetID string, passed []string, since, at time.Time) (int, error)
	FinishScan(ctx context.Context, orgID string, s domain.Scan) error
	FailScan(ctx context.Context, orgID, id, reason string, at time.Time) error
}

// ScanRef names a scan of an organization.
type ScanRef struct{ OrgID, ScanID string }

// Recover requests again the running scans whose lease expired: their worker
// died, or failed and could not hand the scan back. The schedule dispatcher
// runs it every minute, so no scan stays running without a worker.
func Recover(ctx context.Context, store Store, pub events.Publisher, now time.Time) (int, error) {
	stale, err := store.ExpiredLeases(ctx, now, 100)
	if err != nil {
		return 0, err
	}
	for i, r := range stale {
		if err := pub.PublishScanRequested(ctx, events.ScanRequested{OrgID: r.OrgID, ScanID: r.ScanID}); err != nil {
			return i, err
		}
	}
	return len(stale), nil
}

// Assets is the asset lookup scans need.
type Assets interface {
	GetAsset(ctx context.Context, orgID, id string) (domain.Asset, error)
	AllAssets(ctx context.Context, orgID string) ([]domain.Asset, error)
}

// Service implements the scan API use cases.
type Service struct {
	Store     Store
	Assets    Assets
	Publisher events.Publisher
	Clock     domain.Clock
	// Attachments deletes the attachments of findings a scan deletion
	// removes; nil when attachments are not wired.
	Attachments interface {
		DeleteFindingAttachments(ctx context.Context, orgID, findingID string) error
	}
}

// MaxTargets bounds one scan.
const MaxTargets = 10000

// Create queues a scan of the given assets (all network assets of the
// organization when ids is empty) and publishes the scan request.
func (s *Service) Create(ctx context.Context, p domain.Principal, assetIDs []string, scheduleID string) (domain.Scan, error) {
	var assets []domain.Asset
	if len(assetIDs) == 0 {
		all, err := s.Assets.AllAssets(ctx, p.OrgID)
		if err != nil {
			return domain.Scan{}, err
		}
		for _, a := range all {
			if isNetwork(a.Type) && a.Target != "" {
				assets = append(assets, a)
			}
		}
		if len(assets) == 0 {
			return domain.Scan{}, domain.Invalid("the organization has no scannable assets",
				domain.FieldError{Location: "body.asset_ids", Message: "add domain, host, ip or url assets first"})
		}
	} else {
		seen := map[string]bool{}
		for i, id := range assetIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			loc := fmt.Sprintf("body.asset_ids[%d]", i)
			a, err := s.Assets.GetAsset(ctx, p.OrgID, id)
			if domain.Is(err, domain.KindNotFound) {
				return domain.Scan{}, domain.Invalid("no such asset", domain.FieldError{Location: loc, Message: "no such asset"})
			}
			if err != nil {
				return domain.Scan{}, err
			}
			if !isNetwork(a.Type) || a.Target == "" {
				return domain.Scan{}, domain.Invalid("asset cannot be scanned",
					domain.FieldError{Location: loc, Message: fmt.Sprintf("type %s has no network target", a.Type)})
			}
			assets = append(assets, a)
		}
	}
	if len(assets) > MaxTargets {
		return domain.Scan{}, domain.E(domain.KindTooLarge, "a scan covers at most %d assets", MaxTargets)
	}
	now := s.Clock()
	scan := domain.Scan{ID: domain.NewIDAt(now), Status: domain.ScanPending, ScheduleID: scheduleID, CreatedBy: p.UserID,
		Targets: len(assets), Counts: map[string]int{}, CreatedAt: now, UpdatedAt: now}
	targets := make([]domain.ScanTarget, len(assets))
	for i, a := range assets {
		targets[i] = domain.ScanTarget{AssetID: a.ID, Type: a.Type, Target: a.Target, ClientID: a.ClientID}
	}
	if err := s.Store.CreateScan(ctx, p.OrgID, scan, targets); err != nil {
		return domain.Scan{}, err
	}
	if err := s.Publisher.PublishScanRequested(ctx, events.ScanRequested{OrgID: p.OrgID, ScanID: scan.ID}); err != nil {
		reason := "the scan could not be queued: " + err.Error()
		_ = s.Store.FailScan(ctx, p.OrgID, scan.ID, reason, s.Clock())
		return domain.Scan{}, domain.Wrap(domain.KindUnavailable, err, "the scan could not be queued; try again")
	}
	return scan, nil
}

func isNetwork(t string) bool {
	for _, n := range scanner.TargetTypes() {
		if n == t {
			return true
		}
	}
	return false
}

// Cancel stops a pending or running scan.
func (s *Service) Cancel(ctx context.Context, p domain.Principal, id string) (domain.Scan, error) {
	return s.Store.RequestCancel(ctx, p.OrgID, id, s.Clock())
}

// Delete removes a scan that is not running, with what only it observed.
func (s *Service) Delete(ctx context.Context, p domain.Principal, id string) error {
	deleted, err := s.Store.DeleteScan(ctx, p.OrgID, id)
	if err != nil {
		return err
	}
	if s.Attachments != nil {
		for _, fid := range deleted {
			if err := s.Attachments.DeleteFindingAttachments(ctx, p.OrgID, fid); err != nil {
				return err
			}
		}
	}
	return nil
}

// Comparison is the difference between two scans by finding fingerprint.
type Comparison struct {
	From, To   domain.Scan
	ScoreDelta *float64
	New        []domain.Observation
	Resolved   []domain.Observation
	Persistent []domain.Observation
}

// Compare tells what appeared, disappeared and stayed from one scan to
// another.
func (s *Service) Compare(ctx context.Context, p domain.Principal, fromID, toID string) (Comparison, error) {
	from, err := s.Store.GetScan(ctx, p.OrgID, fromID)
	if err != nil {
		return Comparison{}, err
	}
	to, err := s.Store.GetScan(ctx, p.OrgID, toID)
	if err != nil {
		return Comparison{}, err
	}
	a, err := s.Store.Observations(ctx, p.OrgID, fromID)
	if err != nil {
		return Comparison{}, err
	}
	b, err := s.Store.Observations(ctx, p.OrgID, toID)
	if err != nil {
		return Comparison{}, err
	}
	c := Comparison{From: from, To: to, New: []domain.Observation{}, Resolved: []domain.Observation{}, Persistent: []domain.Observation{}}
	inA := map[string]bool{}
	for _, o := range a {
		inA[o.Fingerprint] = true
	}
	inB := map[string]bool{}
	for _, o := range b {
		inB[o.Fingerprint] = true
		if inA[o.Fingerprint] {
			c.Persistent = append(c.Persistent, o)
		} else {
			c.New = append(c.New, o)
		}
	}
	for _, o := range a {
		if !inB[o.Fingerprint] {
			c.Resolved = append(c.Resolved, o)
		}
	}
	if from.Score != nil && to.Score != nil {
		d := *to.Score - *from.Score
		c.ScoreDelta = &d
	}
	return c, nil
}
