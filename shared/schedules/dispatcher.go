package schedules

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"rampart/shared/domain"
)

// Dispatcher starts the scans of due schedules. EventBridge runs it every
// minute in AWS (functions/schedule-dispatcher); in local mode a ticker runs
// it (Loop). Runs may overlap, repeat or come late: each due time of a
// schedule starts exactly one scan.
//
// For each entry of the due index at or before now, the dispatcher reads the
// schedule itself (strongly consistent: the index is eventually consistent)
// and, if it is still enabled and due, claims it with one conditional update
// on the next_run_at it read: next_run_at moves to the first time after now
// (so after an outage one catch-up scan runs, not one per missed time), and
// last_run_at becomes now. Only the dispatcher whose claim succeeded starts
// the scan, through the same scans.Service.Create as POST /scans, as the
// schedule (created_by "schedule:<id>").
//
// Outcomes: targets that no longer exist are recorded in last_error and the
// schedule stays enabled and keeps its new due time; a failure that may pass
// (the database or the event bus unavailable) gives the due time back, so
// the next run retries it. A process that dies between the claim and the
// scan loses that one due time (at most once, never twice).
type Dispatcher struct {
	Service *Service
	Clock   domain.Clock
	Log     *slog.Logger
	// Batch is how many due entries one query reads (default 100);
	// MaxPerRun bounds one run (default 1000): what is left is due at the
	// next run. Workers is how many schedules are dispatched at once
	// (default 8).
	Batch, MaxPerRun, Workers int
	// Recover, when set, runs first in every run: it requests again the
	// scans whose worker lost its lease (scans.Recover).
	Recover func(ctx context.Context, now time.Time) (int, error)
}

// Report counts what one run did.
type Report struct {
	Due     int // due entries read from the index
	Started int // scans started
	Failed  int // claimed, but no scan could start (recorded in last_error)
	Retried int // claimed, failed for a reason that may pass, given back
	Skipped int // not claimed: claimed elsewhere, changed, disabled or deleted
}

// SchedulePrincipal is who a dispatched scan is created by: the schedule,
// with the rights of an admin of its organization.
func SchedulePrincipal(orgID, scheduleID string) domain.Principal {
	return domain.Principal{OrgID: orgID, UserID: "schedule:" + scheduleID, Role: domain.RoleAdmin}
}

// Tick runs the dispatcher at the clock's now.
func (d *Dispatcher) Tick(ctx context.Context) (Report, error) { return d.Run(ctx, d.Clock().UTC()) }

// Run dispatches every schedule due at or before now. It returns an error
// only when the due index cannot be read; failures of single schedules are
// logged and counted.
func (d *Dispatcher) Run(ctx context.Context, now time.Time) (Report, error) {
	if d.Recover != nil {
		// A failure here must not hold up the schedules: it is logged, and
		// the next run tries again.
		if n, err := d.Recover(ctx, now); err != nil {
			d.Log.Error("scan recovery", "error", err.Error())
		} else if n > 0 {
			d.Log.Info("scan recovery: requested scans whose lease expired", "scans", n)
		}
	}
	batch, maxRun, workers := orDefault(d.Batch, 100), orDefault(d.MaxPerRun, 1000), orDefault(d.Workers, 8)
	var (
		rep  Report
		mu   sync.Mutex
		wg   sync.WaitGroup
		sem  = make(chan struct{}, workers)
		next *Due
		read int
	)
	for read < maxRun && ctx.Err() == nil {
		due, more, err := d.Service.Store.DueSchedules(ctx, now, min(batch, maxRun-read), next)
		if err != nil {
			wg.Wait()
			rep.Due = read
			return rep, err
		}
		for _, e := range due {
			read++
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				outcome := d.dispatch(ctx, e, now)
				mu.Lock()
				defer mu.Unlock()
				switch outcome {
				case started:
					rep.Started++
				case failed:
					rep.Failed++
				case retried:
					rep.Retried++
				default:
					rep.Skipped++
				}
			}()
		}
		if more == nil {
			break
		}
		next = more
	}
	wg.Wait()
	rep.Due = read
	if rep.Due > 0 {
		d.log().Info("schedules dispatched", "due", rep.Due, "started", rep.Started, "failed", rep.Failed,
			"retried", rep.Retried, "skipped", rep.Skipped)
	}
	return rep, nil
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

type outcome int

const (
	skipped outcome = iota
	started
	failed
	retried
)

func (d *Dispatcher) dispatch(ctx context.Context, e Due, now time.Time) outcome {
	store := d.Service.Store
	log := d.log().With("org_id", e.OrgID, "schedule_id", e.ID)
	sc, err := store.GetSchedule(ctx, e.OrgID, e.ID)
	if domain.Is(err, domain.KindNotFound) {
		return skipped // deleted after the index was read
	}
	if err != nil {
		log.Error("read due schedule", "error", err.Error())
		return retried // nothing was claimed: the next run sees it again
	}
	if !sc.Enabled || sc.NextRunAt == nil || sc.NextRunAt.After(now) {
		return skipped // the index lags a claim or a change
	}
	read := *sc.NextRunAt
	var next *time.Time
	var broken string
	cr, err := ParseCron(sc.Cron)
	loc, zerr := LoadZone(sc.Timezone)
	switch {
	case err != nil:
		broken = "the stored cron expression is invalid: " + err.Error()
	case zerr != nil:
		broken = "the stored time zone is invalid: " + zerr.Error()
	default:
		if n, ok := cr.Next(now, loc); ok {
			next = &n
		} else {
			broken = "the cron expression matches no future time"
		}
	}
	claimed, err := store.ClaimSchedule(ctx, e.OrgID, e.ID, read, next, now)
	if err != nil {
		log.Error("claim schedule", "error", err.Error())
		return retried
	}
	if !claimed {
		return skipped
	}
	// From here on the due time is ours: finish recording it even when the
	// run's context ends.
	rec := context.WithoutCancel(ctx)
	if broken != "" {
		log.Error("schedule cannot run", "reason", broken)
		d.record(rec, log, e, now, "", broken)
		return failed
	}
	scan, note, err := d.Service.start(ctx, SchedulePrincipal(e.OrgID, e.ID), sc)
	switch {
	case err == nil:
		d.record(rec, log, e, now, scan.ID, note)
		log.Info("scheduled scan started", "scan_id", scan.ID, "due", read.Format(time.RFC3339))
		return started
	case transient(err):
		msg := "the scan could not be started and will be retried: " + message(err)
		log.Warn("scheduled scan not started, retrying", "error", err.Error())
		if rerr := store.ReleaseSchedule(rec, e.OrgID, e.ID, next, now, read, msg); rerr != nil {
			log.Error("release schedule", "error", rerr.Error())
		}
		return retried
	default:
		log.Warn("scheduled scan not started", "error", err.Error())
		d.record(rec, log, e, now, "", message(err))
		return failed
	}
}

func (d *Dispatcher) record(ctx context.Context, log *slog.Logger, e Due, ranAt time.Time, scanID, lastError string) {
	if err := d.Service.Store.RecordRun(ctx, e.OrgID, e.ID, ranAt, scanID, lastError); err != nil {
		log.Error("record schedule run", "error", err.Error())
	}
}

// transient reports a failure that may pass: a dependency unavailable or
// throttled, a write conflict, a bug on one request, or the run's own
// deadline. Targets that are gone, or too many assets, will not pass.
func transient(err error) bool {
	if errors.Is(err, errTargetsGone) {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch domain.KindOf(err) {
	case domain.KindInvalid, domain.KindTooLarge, domain.KindNotFound, domain.KindForbidden:
		return false
	}
	return true
}

// message is the caller-safe text of an error.
func message(err error) string {
	var de *domain.Error
	if errors.As(err, &de) {
		return de.Message
	}
	return err.Error()
}

// Loop runs the dispatcher every interval until ctx ends (local mode, where
// no EventBridge rule exists). A run that fails is logged; the next tick
// tries again.
func (d *Dispatcher) Loop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := d.Tick(ctx); err != nil && ctx.Err() == nil {
				d.log().Error("schedule dispatcher", "error", err.Error())
			}
		}
	}
}
