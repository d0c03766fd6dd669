// Command scan-worker runs a requested scan. EventBridge invokes it with the
// "scan requested" event; a duplicate event finds the scan claimed and does
// nothing.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	rampartevents "rampart/shared/events"
	"rampart/shared/platform"
	"rampart/shared/scans"
)

func main() {
	p, err := platform.New(context.Background())
	if err != nil {
		platform.Fatal(err)
	}
	h, err := newHandler(p)
	if err != nil {
		platform.Fatal(err)
	}
	lambda.Start(h)
}

// newHandler returns the Lambda handler: an error makes EventBridge retry the
// event (and, after its retries, send it to the dead-letter queue).
func newHandler(p *platform.Platform) (func(context.Context, events.CloudWatchEvent) error, error) {
	pub, err := p.Publisher()
	if err != nil {
		return nil, err
	}
	w, err := p.ScanWorker(pub)
	if err != nil {
		return nil, err
	}
	return handler(w), nil
}

func handler(w *scans.Worker) func(context.Context, events.CloudWatchEvent) error {
	return func(ctx context.Context, e events.CloudWatchEvent) error {
		req, err := rampartevents.Parse(e.DetailType, e.Detail)
		if err != nil {
			// A malformed event will not get better on retry: log and drop.
			w.Log.Error("scan worker: bad event", "error", err.Error(), "id", e.ID)
			return nil
		}
		return w.Handle(ctx, req)
	}
}
