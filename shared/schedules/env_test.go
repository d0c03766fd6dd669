package schedules_test

// Test environment of the schedule service and dispatcher: a table of its
// own on DynamoDB Local, an injected clock, and the real scan service
// (scans.Service.Create, as the API uses it) publishing to a recording bus,
// so a test counts the scans a dispatcher starts without running them.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rampart/shared/assets"
	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/events"
	"rampart/shared/platform"
	"rampart/shared/scans"
	"rampart/shared/schedules"
	"rampart/shared/testenv"
)

// clock is a settable clock, safe for concurrent dispatchers.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t.UTC()
}

// bus records "scan requested" events; failures makes the next publishes
// fail, as an unreachable EventBridge would.
type bus struct {
	mu       sync.Mutex
	events   []events.ScanRequested
	failures atomic.Int32
}

func (b *bus) PublishScanRequested(_ context.Context, e events.ScanRequested) error {
	if b.failures.Add(-1) >= 0 {
		return errors.New("event bus unavailable")
	}
	b.failures.Store(0)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, e)
	return nil
}

func (b *bus) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.events)
}

// storeAssets adapts the store to the asset lookups of scans and schedules.
type storeAssets struct{ s *dynamo.Store }

func (a storeAssets) GetAsset(ctx context.Context, org, id string) (domain.Asset, error) {
	return a.s.GetAsset(ctx, org, id)
}

func (a storeAssets) GetAssets(ctx context.Context, org string, ids []string) ([]domain.Asset, error) {
	return a.s.GetAssets(ctx, org, ids)
}

func (a storeAssets) all(ctx context.Context, org string, f assets.Filter) ([]domain.Asset, error) {
	var out []domain.Asset
	req := domain.PageRequest{Page: 1, PerPage: 100}
	for {
		p, err := a.s.ListAssets(ctx, org, f, req)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" || len(p.Items) == 0 {
			return out, nil
		}
		req.Cursor = p.NextCursor
	}
}

func (a storeAssets) AllAssets(ctx context.Context, org string) ([]domain.Asset, error) {
	return a.all(ctx, org, assets.Filter{})
}

func (a storeAssets) TaggedAssets(ctx context.Context, org, tag string) ([]domain.Asset, error) {
	return a.all(ctx, org, assets.Filter{Tag: tag})
}

type env struct {
	t     *testing.T
	p     *platform.Platform
	st    *dynamo.Store
	clock *clock
	bus   *bus
	svc   *schedules.Service
	org   string
	user  domain.Principal
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newEnv(t *testing.T) *env {
	t.Helper()
	p := testenv.Platform(t)
	e := &env{t: t, p: p, st: p.Store(), clock: &clock{now: time.Date(2026, 3, 1, 10, 10, 0, 0, time.UTC)}, bus: &bus{},
		org: domain.NewID()}
	e.user = domain.Principal{OrgID: e.org, UserID: domain.NewID(), Role: domain.RoleAuditor}
	sa := storeAssets{e.st}
	e.svc = &schedules.Service{Store: e.st, Assets: sa, Clock: e.clock.Now,
		Scans: &scans.Service{Store: e.st, Assets: sa, Publisher: e.bus, Clock: e.clock.Now}}
	// Schedules of all assets need one.
	e.asset("10.0.0.100")
	return e
}

func (e *env) dispatcher() *schedules.Dispatcher {
	return &schedules.Dispatcher{Service: e.svc, Clock: e.clock.Now, Log: quiet}
}

// asset writes a network asset (an ip by default) straight to the store.
func (e *env) asset(target string, tags ...string) string {
	e.t.Helper()
	now := e.clock.Now()
	a := domain.Asset{ID: domain.NewIDAt(now), Type: "ip", Target: target, Name: target, Tags: tags, CreatedAt: now, UpdatedAt: now}
	if tags == nil {
		a.Tags = []string{}
	}
	if err := e.st.CreateAsset(context.Background(), e.org, a); err != nil {
		e.t.Fatal(err)
	}
	return a.ID
}

func ptr[T any](v T) *T { return &v }

// create makes a schedule through the service at the clock's time.
func (e *env) create(in schedules.Input) schedules.Schedule {
	e.t.Helper()
	if in.Name == nil {
		in.Name = ptr("nightly")
	}
	if in.AssetIDs == nil && in.Tag == nil && in.All == nil {
		in.All = ptr(true)
	}
	s, err := e.svc.Create(context.Background(), e.user, in)
	if err != nil {
		e.t.Fatalf("create schedule: %v", err)
	}
	return s
}

func (e *env) get(id string) schedules.Schedule {
	e.t.Helper()
	s, err := e.st.GetSchedule(context.Background(), e.org, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// scansOf lists the scans a schedule started, oldest first.
func (e *env) scansOf(id string) []domain.Scan {
	e.t.Helper()
	p, err := e.st.ListScans(context.Background(), e.org, "", domain.PageRequest{Page: 1, PerPage: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []domain.Scan
	for _, s := range p.Items {
		if s.ScheduleID == id {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// run sets the clock and runs one dispatcher at that instant.
func (e *env) run(d *schedules.Dispatcher, at time.Time) schedules.Report {
	e.t.Helper()
	e.clock.Set(at)
	rep, err := d.Run(context.Background(), at)
	if err != nil {
		e.t.Fatalf("dispatcher run at %s: %v", at, err)
	}
	return rep
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}
