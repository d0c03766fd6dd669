// Package schedules runs scans on a calendar: schedules with a cron
// expression in an IANA time zone and a set of targets (assets, a tag, or
// every asset), the API use cases over them, and the dispatcher that starts
// one scan per due time.
//
// An enabled schedule carries its next due instant in a sparse index (see
// docs/data-model.md); the dispatcher reads only the due ones and claims each
// with a conditional update on the due instant it read, so a due time starts
// exactly one scan however many dispatchers run, and however late.
package schedules

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"rampart/shared/assets"
	"rampart/shared/domain"
)

// Target modes: what a schedule scans.
const (
	TargetAssets = "assets" // the listed assets
	TargetTag    = "tag"    // the network assets carrying a tag when the scan starts
	TargetAll    = "all"    // every network asset of the organization when the scan starts
)

// Targets is what a schedule scans: exactly one mode.
type Targets struct {
	Mode     string
	AssetIDs []string // TargetAssets
	Tag      string   // TargetTag
}

// Schedule is a recurring scan.
type Schedule struct {
	ID       string
	Name     string
	Cron     string // canonical expression (ParseCron)
	Timezone string // IANA name
	Targets  Targets
	Enabled  bool
	// NextRunAt is the next due instant; nil while disabled.
	NextRunAt *time.Time
	// LastRunAt is when the dispatcher last ran the schedule (started a scan
	// or failed to); LastScanID the newest scan it started; LastError why the
	// last due run could not start (or which targets it skipped), "" when it
	// went well.
	LastRunAt  *time.Time
	LastScanID string
	LastError  string
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// Version increases with every write, the dispatcher's included; it is
	// the ETag.
	Version int
}

// ETag is the entity tag of a schedule.
func ETag(s Schedule) string { return `"` + strconv.Itoa(s.Version) + `"` }

// Due is an entry of the due index.
type Due struct {
	OrgID     string
	ID        string
	NextRunAt time.Time
}

// Store is the persistence port of schedules.
type Store interface {
	// CreateSchedule writes a new schedule (and its due entry when enabled)
	// with the organization's schedule counter.
	CreateSchedule(ctx context.Context, orgID string, s Schedule) error
	// GetSchedule is a strongly consistent read.
	GetSchedule(ctx context.Context, orgID, id string) (Schedule, error)
	ListSchedules(ctx context.Context, orgID string, page domain.PageRequest) (domain.Page[Schedule], error)
	// UpdateSchedule applies fn to the current schedule and writes it with
	// an optimistic condition, retrying on a concurrent write.
	UpdateSchedule(ctx context.Context, orgID, id string, fn func(*Schedule) error) (Schedule, error)
	DeleteSchedule(ctx context.Context, orgID, id string) error

	// DueSchedules reads up to limit entries of the due index with a due
	// instant at or before now, oldest first, after the entry `after` (nil:
	// from the start); more is the entry to continue after, nil at the end.
	DueSchedules(ctx context.Context, now time.Time, limit int, after *Due) (due []Due, more *Due, err error)
	// ClaimSchedule moves an enabled schedule whose next_run_at is still
	// `read` to next (nil: out of the due index) and sets last_run_at to
	// now, in one conditional update; claimed is false when the condition
	// failed (claimed by another dispatcher, changed, disabled or deleted).
	ClaimSchedule(ctx context.Context, orgID, id string, read time.Time, next *time.Time, now time.Time) (claimed bool, err error)
	// ReleaseSchedule undoes a claim (next_run_at back to restore) when the
	// scan could not be started for a reason that may pass, recording why;
	// it does nothing when the schedule changed since the claim.
	ReleaseSchedule(ctx context.Context, orgID, id string, claimedNext *time.Time, claimedAt, restore time.Time, lastError string) error
	// RecordRun stores the outcome of the run claimed at ranAt: the scan it
	// started (scanID "" keeps the previous one) and lastError. It does
	// nothing when the schedule was deleted or ran again since.
	RecordRun(ctx context.Context, orgID, id string, ranAt time.Time, scanID, lastError string) error
}

// Assets is the asset lookup of schedules.
type Assets interface {
	// GetAssets returns the assets of the given ids that exist, in no order.
	GetAssets(ctx context.Context, orgID string, ids []string) ([]domain.Asset, error)
	// TaggedAssets returns every asset carrying the tag.
	TaggedAssets(ctx context.Context, orgID, tag string) ([]domain.Asset, error)
}

// ScanStarter queues a scan: scans.Service.Create, the same path the API's
// POST /scans takes (it writes the scan and publishes "scan requested").
// Empty assetIDs scan every network asset of the organization.
type ScanStarter interface {
	Create(ctx context.Context, p domain.Principal, assetIDs []string, scheduleID string) (domain.Scan, error)
}

// Service implements the schedule use cases.
type Service struct {
	Store  Store
	Assets Assets
	Scans  ScanStarter
	Clock  domain.Clock
}

// Limits of a schedule's fields.
const (
	MaxName = 200
	// MaxAssetIDs bounds the assets listed by one schedule (the item holds
	// them); a tag or "all" covers more.
	MaxAssetIDs = 1000
)

// DefaultTimezone is the zone of a schedule created without one.
const DefaultTimezone = "UTC"

// Input is a new schedule or a change (nil fields are unchanged in a
// PATCH). The target fields AssetIDs, Tag and All are one choice: a change
// that gives any of them replaces the targets, and exactly one must be set
// (a non-empty list, a tag, or true).
type Input struct {
	Name     *string
	Cron     *string
	Timezone *string
	AssetIDs *[]string
	Tag      *string
	All      *bool
	Enabled  *bool
}

func (in Input) touchesTargets() bool { return in.AssetIDs != nil || in.Tag != nil || in.All != nil }

// fields collects the validation errors of one request.
type fields []domain.FieldError

func (f *fields) add(location, msg string) {
	*f = append(*f, domain.FieldError{Location: location, Message: msg})
}

func (f fields) err() error {
	if len(f) == 0 {
		return nil
	}
	return domain.Invalid("invalid schedule: "+f[0].Location+": "+f[0].Message, f...)
}

// checked is an input after validation: what a write applies.
type checked struct {
	name    *string
	cron    *Cron
	zone    *string
	loc     *time.Location
	targets *Targets
	enabled *bool
}

func (s *Service) check(ctx context.Context, orgID string, in Input, create bool) (checked, error) {
	var errs fields
	var c checked
	if in.Name != nil || create {
		n, err := domain.CleanName(deref(in.Name), "body.name", true, MaxName)
		if err != nil {
			errs.add("body.name", fieldMessage(err))
		}
		c.name = &n
	}
	if in.Cron != nil || create {
		cr, err := ParseCron(deref(in.Cron))
		if err != nil {
			errs.add("body.cron", err.Error())
		}
		c.cron = &cr
	}
	if in.Timezone != nil || create {
		name := strings.TrimSpace(deref(in.Timezone))
		if name == "" {
			name = DefaultTimezone
		}
		loc, err := LoadZone(name)
		if err != nil {
			errs.add("body.timezone", err.Error())
		}
		c.zone, c.loc = &name, loc
	}
	if in.touchesTargets() || create {
		t, err := s.checkTargets(ctx, orgID, in, &errs)
		if err != nil {
			return c, err
		}
		c.targets = &t
	}
	c.enabled = in.Enabled
	return c, errs.err()
}

func fieldMessage(err error) string {
	if de, ok := err.(*domain.Error); ok && len(de.Fields) > 0 {
		return de.Fields[0].Message
	}
	return err.Error()
}

// checkTargets validates the target choice: exactly one mode; listed assets
// must exist in the organization and be scannable (a network type with a
// target); a tag must be a valid tag (it may match nothing yet).
func (s *Service) checkTargets(ctx context.Context, orgID string, in Input, errs *fields) (Targets, error) {
	var modes []string
	if in.AssetIDs != nil && len(*in.AssetIDs) > 0 {
		modes = append(modes, "asset_ids")
	}
	if in.Tag != nil && strings.TrimSpace(*in.Tag) != "" {
		modes = append(modes, "tag")
	}
	if in.All != nil && *in.All {
		modes = append(modes, "all")
	}
	switch len(modes) {
	case 0:
		errs.add("body.asset_ids", "choose the targets: a non-empty asset_ids, a tag, or all: true")
		return Targets{}, nil
	case 1:
	default:
		errs.add("body."+modes[1], "choose one kind of target: "+strings.Join(modes, " and ")+" are both set")
		return Targets{}, nil
	}
	switch modes[0] {
	case "tag":
		tag, err := assets.NormalizeTag(*in.Tag)
		if err != nil {
			errs.add("body.tag", err.Error())
		}
		return Targets{Mode: TargetTag, Tag: tag}, nil
	case "all":
		return Targets{Mode: TargetAll}, nil
	}
	raw := *in.AssetIDs
	if len(raw) > MaxAssetIDs {
		errs.add("body.asset_ids", fmt.Sprintf("at most %d assets; use a tag or all for more", MaxAssetIDs))
		return Targets{}, nil
	}
	var ids []string
	seen := map[string]bool{}
	for _, id := range raw {
		if id = strings.TrimSpace(id); domain.ValidID(id) && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	found, err := s.Assets.GetAssets(ctx, orgID, ids)
	if err != nil {
		return Targets{}, err
	}
	byID := make(map[string]domain.Asset, len(found))
	for _, a := range found {
		byID[a.ID] = a
	}
	for i, id := range raw {
		a, ok := byID[strings.TrimSpace(id)]
		switch {
		case !ok:
			errs.add(fmt.Sprintf("body.asset_ids[%d]", i), "no such asset")
		case !scannable(a):
			errs.add(fmt.Sprintf("body.asset_ids[%d]", i), fmt.Sprintf("type %s has no network target to scan", a.Type))
		}
	}
	return Targets{Mode: TargetAssets, AssetIDs: ids}, nil
}

func scannable(a domain.Asset) bool { return assets.IsNetworkType(a.Type) && a.Target != "" }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Create adds a schedule to the principal's organization. An enabled
// schedule is due at the next time its expression names after now.
func (s *Service) Create(ctx context.Context, p domain.Principal, in Input) (Schedule, error) {
	c, err := s.check(ctx, p.OrgID, in, true)
	if err != nil {
		return Schedule{}, err
	}
	now := s.Clock().UTC()
	sc := Schedule{ID: domain.NewIDAt(now), Name: *c.name, Cron: c.cron.String(), Timezone: *c.zone, Targets: *c.targets,
		Enabled: in.Enabled == nil || *in.Enabled, CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now, Version: 1}
	if sc.Enabled {
		if sc.NextRunAt, err = nextAfter(*c.cron, c.loc, now); err != nil {
			return Schedule{}, err
		}
	}
	if err := s.Store.CreateSchedule(ctx, p.OrgID, sc); err != nil {
		return Schedule{}, err
	}
	return sc, nil
}

func nextAfter(c Cron, loc *time.Location, now time.Time) (*time.Time, error) {
	next, ok := c.Next(now, loc)
	if !ok {
		return nil, domain.Invalid("the schedule never fires", domain.FieldError{Location: "body.cron", Message: "no future time matches"})
	}
	return &next, nil
}

// Get returns a schedule of the principal's organization.
func (s *Service) Get(ctx context.Context, p domain.Principal, id string) (Schedule, error) {
	if !domain.ValidID(id) {
		return Schedule{}, domain.NotFound("schedule")
	}
	return s.Store.GetSchedule(ctx, p.OrgID, id)
}

// List lists the organization's schedules, newest first.
func (s *Service) List(ctx context.Context, p domain.Principal, page domain.PageRequest) (domain.Page[Schedule], error) {
	return s.Store.ListSchedules(ctx, p.OrgID, page)
}

// Update changes a schedule; ifMatch, when set, must match its ETag. A
// change of the expression or the zone, or enabling, makes the schedule due
// at the next matching time after now (times missed while it was disabled
// are not caught up); disabling takes it out of the due index.
func (s *Service) Update(ctx context.Context, p domain.Principal, id string, in Input, ifMatch string) (Schedule, error) {
	cur, err := s.Get(ctx, p, id)
	if err != nil {
		return Schedule{}, err
	}
	if !etagMatches(ifMatch, ETag(cur)) {
		return Schedule{}, errStale()
	}
	c, err := s.check(ctx, p.OrgID, in, false)
	if err != nil {
		return Schedule{}, err
	}
	return s.Store.UpdateSchedule(ctx, p.OrgID, id, func(sc *Schedule) error {
		if !etagMatches(ifMatch, ETag(*sc)) {
			return errStale()
		}
		timing := false
		if c.name != nil {
			sc.Name = *c.name
		}
		if c.cron != nil && c.cron.String() != sc.Cron {
			sc.Cron, timing = c.cron.String(), true
		}
		if c.zone != nil && *c.zone != sc.Timezone {
			sc.Timezone, timing = *c.zone, true
		}
		if c.targets != nil {
			sc.Targets = *c.targets
		}
		if c.enabled != nil && *c.enabled != sc.Enabled {
			sc.Enabled, timing = *c.enabled, true
		}
		if timing || (sc.Enabled && sc.NextRunAt == nil) {
			sc.NextRunAt = nil
			if sc.Enabled {
				cr, err := ParseCron(sc.Cron)
				if err != nil {
					return domain.Wrap(domain.KindInternal, err, "stored cron expression")
				}
				loc, err := LoadZone(sc.Timezone)
				if err != nil {
					return domain.Wrap(domain.KindInternal, err, "stored time zone")
				}
				if sc.NextRunAt, err = nextAfter(cr, loc, s.Clock().UTC()); err != nil {
					return err
				}
			}
		}
		sc.UpdatedAt = s.Clock().UTC()
		return nil
	})
}

// etagMatches reports whether an If-Match header value admits the current
// ETag: empty (no condition), "*", or a list containing it (weak or strong).
func etagMatches(ifMatch, current string) bool {
	ifMatch = strings.TrimSpace(ifMatch)
	if ifMatch == "" || ifMatch == "*" {
		return true
	}
	for _, t := range strings.Split(ifMatch, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == current {
			return true
		}
	}
	return false
}

func errStale() error {
	return domain.E(domain.KindPrecondition, "the schedule changed since you read it (If-Match does not match its ETag); read it again")
}

// Delete removes a schedule. A run the dispatcher has not claimed yet never
// starts: its claim finds no schedule.
func (s *Service) Delete(ctx context.Context, p domain.Principal, id string) error {
	if !domain.ValidID(id) {
		return domain.NotFound("schedule")
	}
	return s.Store.DeleteSchedule(ctx, p.OrgID, id)
}

// RunNow starts a scan of the schedule's targets at once, as the principal,
// tagged with the schedule's id. The schedule itself is unchanged: its next
// due time stays, and last_run_at, last_scan_id and last_error keep
// describing the dispatcher's runs.
func (s *Service) RunNow(ctx context.Context, p domain.Principal, id string) (domain.Scan, error) {
	sc, err := s.Get(ctx, p, id)
	if err != nil {
		return domain.Scan{}, err
	}
	scan, _, err := s.start(ctx, p, sc)
	return scan, err
}

// start resolves a schedule's targets and starts the scan. note names the
// listed assets that no longer exist (the scan covers the rest). A schedule
// whose targets are all gone is a Conflict (its state, not the request, is
// at fault).
func (s *Service) start(ctx context.Context, p domain.Principal, sc Schedule) (domain.Scan, string, error) {
	ids, note, err := s.resolve(ctx, p.OrgID, sc.Targets)
	if err != nil {
		return domain.Scan{}, "", err
	}
	scan, err := s.Scans.Create(ctx, p, ids, sc.ID)
	if domain.Is(err, domain.KindInvalid) {
		// Validated when the schedule was written: what changed since is
		// the organization's assets (deleted, or no longer scannable).
		return domain.Scan{}, "", targetsGone(err)
	}
	return scan, note, err
}

// errTargetsGone marks the errors of a schedule whose targets are gone: the
// dispatcher records them and moves on rather than retrying.
var errTargetsGone = errors.New("targets gone")

func gone(format string, args ...any) error {
	return domain.Wrap(domain.KindConflict, errTargetsGone, fmt.Sprintf(format, args...))
}

func targetsGone(err error) error {
	msg := err.Error()
	if de, ok := err.(*domain.Error); ok {
		msg = de.Message
		if len(de.Fields) > 0 {
			msg += ": " + de.Fields[0].Message
		}
	}
	return gone("the schedule's targets no longer exist (%s); change its targets", msg)
}

// resolve turns targets into the asset ids to scan; nil means every network
// asset of the organization (the scan service reads them).
func (s *Service) resolve(ctx context.Context, orgID string, t Targets) ([]string, string, error) {
	switch t.Mode {
	case TargetAll:
		return nil, "", nil
	case TargetTag:
		tagged, err := s.Assets.TaggedAssets(ctx, orgID, t.Tag)
		if err != nil {
			return nil, "", err
		}
		var ids []string
		for _, a := range tagged {
			if scannable(a) {
				ids = append(ids, a.ID)
			}
		}
		if len(ids) == 0 {
			return nil, "", gone(
				"the schedule's targets no longer exist: no scannable asset carries the tag %q; tag assets or change its targets", t.Tag)
		}
		slices.Sort(ids)
		return ids, "", nil
	case TargetAssets:
		found, err := s.Assets.GetAssets(ctx, orgID, t.AssetIDs)
		if err != nil {
			return nil, "", err
		}
		ok := map[string]bool{}
		for _, a := range found {
			ok[a.ID] = scannable(a)
		}
		var ids []string
		for _, id := range t.AssetIDs {
			if ok[id] {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			return nil, "", gone(
				"the schedule's targets no longer exist: none of its %d assets exists or can be scanned; change its targets", len(t.AssetIDs))
		}
		note := ""
		if missing := len(t.AssetIDs) - len(ids); missing > 0 {
			note = fmt.Sprintf("%d of the schedule's %d assets no longer exist or cannot be scanned; the scan covers the other %d",
				missing, len(t.AssetIDs), len(ids))
		}
		return ids, note, nil
	}
	return nil, "", domain.E(domain.KindInternal, "schedule with unknown target mode %q", t.Mode)
}
