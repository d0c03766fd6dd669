package platform

import (
	"context"
	"time"

	"rampart/shared/assets"
	"rampart/shared/domain"
	"rampart/shared/routes"
	"rampart/shared/scans"
	"rampart/shared/schedules"
)

// scheduleAssets adapts the asset store to the lookups schedules need.
type scheduleAssets struct{ p *Platform }

func (a scheduleAssets) GetAssets(ctx context.Context, org string, ids []string) ([]domain.Asset, error) {
	return a.p.Store().GetAssets(ctx, org, ids)
}

// TaggedAssets pages through the tag's list with the list cursor.
func (a scheduleAssets) TaggedAssets(ctx context.Context, org, tag string) ([]domain.Asset, error) {
	var out []domain.Asset
	req := domain.PageRequest{Page: 1, PerPage: 100}
	for {
		p, err := a.p.Store().ListAssets(ctx, org, assets.Filter{Tag: tag}, req)
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

// ScheduleService builds the schedule service on the given clock; its scans
// are queued by the same scan service as POST /scans, on this process's
// publisher (EventBridge in Lambda, the in-process bus locally).
func (p *Platform) ScheduleService(clock domain.Clock) (*schedules.Service, error) {
	pub, err := p.Publisher()
	if err != nil {
		return nil, err
	}
	sc := &scans.Service{Store: p.Store(), Assets: storeAssets{p}, Publisher: pub, Clock: clock}
	return &schedules.Service{Store: p.Store(), Assets: scheduleAssets{p}, Scans: sc, Clock: clock}, nil
}

// ScheduleRoutes builds the handlers of the schedules function.
func (p *Platform) ScheduleRoutes() (*routes.Schedules, error) {
	svc, err := p.ScheduleService(domain.SystemClock)
	if err != nil {
		return nil, err
	}
	return &routes.Schedules{Service: svc}, nil
}

// Dispatcher builds the schedule dispatcher on the given clock.
func (p *Platform) Dispatcher(clock domain.Clock) (*schedules.Dispatcher, error) {
	svc, err := p.ScheduleService(clock)
	if err != nil {
		return nil, err
	}
	pub, err := p.Publisher()
	if err != nil {
		return nil, err
	}
	recoverScans := func(ctx context.Context, now time.Time) (int, error) {
		return scans.Recover(ctx, p.Store(), pub, now)
	}
	return &schedules.Dispatcher{Service: svc, Clock: clock, Log: p.Log, Recover: recoverScans}, nil
}

// StartDispatcher runs the dispatcher every Config.DispatchInterval in this
// process, as the EventBridge rule runs the dispatcher function in AWS
// (local mode). stop ends the ticker and waits for a run in progress.
func (p *Platform) StartDispatcher(ctx context.Context) (stop func(), err error) {
	d, err := p.Dispatcher(domain.SystemClock)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Loop(ctx, p.Config.DispatchInterval)
	}()
	p.Log.Info("schedule dispatcher started", "interval", p.Config.DispatchInterval.String())
	return func() {
		cancel()
		<-done
	}, nil
}
