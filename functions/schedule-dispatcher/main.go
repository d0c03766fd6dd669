// Command schedule-dispatcher starts the scans of due schedules. An
// EventBridge rule invokes it every minute (rate(1 minute)) with a
// "Scheduled Event"; each run claims the schedules due by now, so a late,
// repeated or concurrent invocation starts no scan twice.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"rampart/shared/domain"
	"rampart/shared/platform"
	"rampart/shared/schedules"
)

func main() {
	p, err := platform.New(context.Background())
	if err != nil {
		platform.Fatal(err)
	}
	d, err := p.Dispatcher(domain.SystemClock)
	if err != nil {
		platform.Fatal(err)
	}
	lambda.Start(handler(d))
}

// handler runs the dispatcher at the clock's now (not the event's time: a
// delayed delivery still dispatches everything due by when it runs). An
// error, returned only when the due index cannot be read, fails the
// invocation; the next minute's run picks up what was due.
func handler(d *schedules.Dispatcher) func(context.Context, events.CloudWatchEvent) error {
	return func(ctx context.Context, e events.CloudWatchEvent) error {
		if e.DetailType != "Scheduled Event" {
			d.Log.Warn("schedule dispatcher: ignoring an event that is not a Scheduled Event",
				"detail_type", e.DetailType, "source", e.Source, "id", e.ID)
			return nil
		}
		rep, err := d.Tick(ctx)
		if err != nil {
			return err
		}
		d.Log.Debug("schedule dispatcher run", "event", e.ID, "due", rep.Due, "started", rep.Started)
		return nil
	}
}
