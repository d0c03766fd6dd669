package scans

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"rampart/shared/domain"
	"rampart/shared/events"
	"rampart/shared/scanner"
)

// Orgs reads the organization setting that decides whether private ranges may
// be scanned.
type Orgs interface {
	GetOrg(ctx context.Context, id string) (domain.Organization, error)
}

// Worker runs requested scans. One invocation claims the scan with a lease
// (a duplicate event finds it claimed and does nothing), scans the targets
// not yet done, and either finishes the scan or, when its time runs out,
// releases the lease and requests a continuation.
type Worker struct {
	Store     Store
	Orgs      Orgs
	Scanner   scanner.Scanner
	Publisher events.Publisher
	Clock     domain.Clock
	Log       *slog.Logger
	// Lease is how long a claim holds without renewal; a running worker
	// renews it every quarter of it, so a dead worker's scan is free again
	// soon after.
	Lease time.Duration
	// Reserve is the time kept back before the invocation's deadline to
	// record the last targets and hand over.
	Reserve time.Duration
	// CancelPoll is how often a running scan re-reads its cancel flag.
	CancelPoll time.Duration
	// MaxAttempts fails a scan whose invocations keep failing.
	MaxAttempts int
}

// Handle runs (or continues) the requested scan.
func (w *Worker) Handle(ctx context.Context, e events.ScanRequested) error {
	now := w.Clock()
	scan, claimed, err := w.Store.ClaimScan(ctx, e.OrgID, e.ScanID, now, now.Add(w.Lease))
	if err != nil {
		return err
	}
	if !claimed {
		w.Log.Info("scan not claimed: finished, cancelled or held by another worker", "scan_id", e.ScanID)
		return nil
	}
	if w.MaxAttempts > 0 && scan.Attempts > w.MaxAttempts {
		return w.Store.FailScan(ctx, e.OrgID, e.ScanID,
			fmt.Sprintf("the scan was attempted %d times without finishing; see the worker logs", scan.Attempts-1), now)
	}
	if err := w.run(ctx, e, scan); err != nil {
		w.release(context.WithoutCancel(ctx), e)
		return err
	}
	return nil
}

// release hands the scan back so that the retried event can claim it at once.
// The failure that got us here may be the database itself, so it tries for a
// while; if it never gets through, the lease runs out on its own and the
// recovery sweep requests the scan again.
func (w *Worker) release(ctx context.Context, e events.ScanRequested) {
	var err error
	for attempt := range 6 {
		if err = w.Store.ReleaseScan(ctx, e.OrgID, e.ScanID); err == nil {
			return
		}
		time.Sleep(time.Duration(attempt+1) * 500 * time.Millisecond)
	}
	w.Log.Error("release scan", "scan_id", e.ScanID, "error", err.Error())
}

func (w *Worker) run(ctx context.Context, e events.ScanRequested, scan domain.Scan) error {
	org, err := w.Orgs.GetOrg(ctx, e.OrgID)
	if err != nil {
		return err
	}
	targets, err := w.Store.Targets(ctx, e.OrgID, e.ScanID)
	if err != nil {
		return err
	}
	var pending []scanner.Target
	byAsset := map[string]domain.ScanTarget{}
	done := 0
	for _, t := range targets {
		byAsset[t.AssetID] = t
		if t.Done {
			done++
			continue
		}
		pending = append(pending, scanner.Target{AssetID: t.AssetID, Type: t.Type, Value: t.Target})
	}

	sc := w.Scanner
	// Loopback is opened by the deployment (tests) and only together with the
	// organization's private-range setting.
	sc.Guard.AllowPrivate = org.Settings.AllowPrivateTargets
	sc.Guard.AllowLoopback = sc.Guard.AllowLoopback && org.Settings.AllowPrivateTargets
	stop := w.stopper(ctx, e)
	var (
		recordErr atomic.Pointer[error]
		progress  atomic.Int64
	)
	progress.Store(int64(done))
	summary := sc.Scan(ctx, pending, scanner.Hooks{
		ShouldStop: func() bool { return stop.should() || recordErr.Load() != nil },
		OnTarget: func(rep scanner.TargetReport) {
			if recordErr.Load() != nil {
				return
			}
			if err := w.record(ctx, e, scan, byAsset[rep.Target.AssetID], rep); err != nil {
				recordErr.Store(&err)
			}
		},
		OnProgress: func(int, int) {
			n := progress.Add(1)
			if err := w.Store.SetProgress(ctx, e.OrgID, e.ScanID, int(n)); err != nil {
				w.Log.Warn("scan progress", "scan_id", e.ScanID, "error", err.Error())
			}
		},
	})
	if p := recordErr.Load(); p != nil {
		return *p
	}
	switch {
	case stop.cancelled.Load():
		return w.finish(ctx, e, scan, domain.ScanCancelled)
	case summary.Stopped || summary.Done < len(pending):
		// Out of time: hand over to a fresh invocation.
		if err := w.Store.ReleaseScan(ctx, e.OrgID, e.ScanID); err != nil {
			return err
		}
		return w.Publisher.PublishScanRequested(ctx, e)
	}
	return w.finish(ctx, e, scan, domain.ScanCompleted)
}

// record stores one target's results and findings, then marks it done; a
// retried target repeats these writes harmlessly.
func (w *Worker) record(ctx context.Context, e events.ScanRequested, scan domain.Scan, t domain.ScanTarget, rep scanner.TargetReport) error {
	if rep.Stopped {
		// Partial: a continuation scans the target again.
		return nil
	}
	at := w.Clock()
	t.Counts = map[string]int{}
	for _, f := range rep.Findings {
		df := domain.Finding{
			Title: f.Title, Description: f.Description, Severity: string(f.Severity), Status: "open",
			Category: string(f.Category), NIS2: f.NIS2, AssetID: t.AssetID, AssetType: t.Type, AssetTarget: t.Target,
			ClientID: t.ClientID, Evidence: evidenceText(f.Evidence), Remediation: f.Remediation,
			References: f.References, Source: domain.SourceScan, CheckID: f.CheckID, Fingerprint: f.Fingerprint,
		}
		if f.Subject != "" {
			df.Title = f.Title + " (" + f.Subject + ")"
		}
		if _, err := w.Store.ObserveFinding(ctx, e.OrgID, e.ScanID, df, at); err != nil {
			return err
		}
		t.Counts[df.Severity]++
	}
	results := make([]domain.ScanResult, 0, len(rep.Results))
	t.Passed = nil
	for _, r := range rep.Results {
		if r.Outcome == scanner.OutcomePass {
			t.Passed = append(t.Passed, r.CheckID)
		}
		results = append(results, domain.ScanResult{ScanID: e.ScanID, AssetID: t.AssetID, CheckID: r.CheckID,
			Subject: r.Subject, Host: r.Host, Outcome: string(r.Outcome), Severity: string(r.Severity),
			Summary: r.Evidence.Summary, Facts: r.Evidence.Facts})
	}
	t.Done = true
	t.Live = rep.Live
	t.Clean = len(rep.Errors) == 0 && !rep.TimedOut && !rep.Stopped
	if rep.Live {
		t.HostScore = scanner.HostScore(rep.Findings)
	}
	return w.Store.RecordTarget(ctx, e.OrgID, e.ScanID, t, results)
}

func evidenceText(ev scanner.Evidence) string {
	if len(ev.Facts) == 0 {
		return ev.Summary
	}
	keys := make([]string, 0, len(ev.Facts))
	for k := range ev.Facts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(ev.Summary)
	for _, k := range keys {
		fmt.Fprintf(&b, "\n%s: %s", k, ev.Facts[k])
	}
	return b.String()
}

// finish resolves what clean targets no longer show, scores the scan from
// every target's record, and writes the final status.
func (w *Worker) finish(ctx context.Context, e events.ScanRequested, scan domain.Scan, status string) error {
	// A fresh lease covers the resolving and scoring below.
	if err := w.Store.SetLease(ctx, e.OrgID, e.ScanID, w.Clock().Add(w.Lease)); err != nil {
		return err
	}
	targets, err := w.Store.Targets(ctx, e.OrgID, e.ScanID)
	if err != nil {
		return err
	}
	since := scan.CreatedAt
	if scan.StartedAt != nil {
		since = *scan.StartedAt
	}
	at := w.Clock()
	if status == domain.ScanCompleted {
		for _, t := range targets {
			if t.Clean {
				if _, err := w.Store.ResolveUnseen(ctx, e.OrgID, e.ScanID, t.AssetID, t.Passed, since, at); err != nil {
					return err
				}
			}
		}
	}
	final := scan
	final.Status = status
	final.Counts = map[string]int{}
	final.Done, final.Hosts, final.LiveHosts, final.Findings = 0, 0, 0, 0
	sum := 0
	for _, t := range targets {
		if !t.Done {
			continue
		}
		final.Done++
		final.Hosts++
		for sev, n := range t.Counts {
			final.Counts[sev] += n
			final.Findings += n
		}
		if t.Live {
			final.LiveHosts++
			sum += t.HostScore
		}
	}
	if final.LiveHosts > 0 {
		score := float64(sum) / float64(final.LiveHosts)
		final.Score, final.ScoreReason = &score, ""
	} else {
		final.Score = nil
		final.ScoreReason = fmt.Sprintf("no host answered: none of the %d scanned assets responded to any probe", final.Hosts)
		if final.Hosts == 0 {
			final.ScoreReason = "no asset was scanned"
		}
	}
	final.CompletedAt, final.UpdatedAt = &at, at
	return w.Store.FinishScan(ctx, e.OrgID, final)
}

// stopper tells the scanner to stop between checks when the scan was
// cancelled or the invocation is about to run out of time.
type stopper struct {
	w         *Worker
	ctx       context.Context
	e         events.ScanRequested
	mu        sync.Mutex
	checked   time.Time
	renewed   time.Time
	cancelled atomic.Bool
}

func (w *Worker) stopper(ctx context.Context, e events.ScanRequested) *stopper {
	return &stopper{w: w, ctx: ctx, e: e, renewed: time.Now()}
}

func (s *stopper) should() bool {
	if s.cancelled.Load() {
		return true
	}
	if dl, ok := s.ctx.Deadline(); ok && time.Until(dl) < s.w.Reserve {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.checked) < s.w.CancelPoll {
		return false
	}
	s.checked = time.Now()
	if time.Since(s.renewed) > s.w.Lease/4 {
		if err := s.w.Store.SetLease(s.ctx, s.e.OrgID, s.e.ScanID, s.w.Clock().Add(s.w.Lease)); err == nil {
			s.renewed = time.Now()
		}
	}
	scan, err := s.w.Store.GetScan(s.ctx, s.e.OrgID, s.e.ScanID)
	if err == nil && scan.CancelRequested {
		s.cancelled.Store(true)
		return true
	}
	return false
}
