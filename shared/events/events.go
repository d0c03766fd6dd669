// Package events carries "scan requested" between the API, the schedule
// dispatcher and the scan worker: on EventBridge in AWS, through an
// in-process bus in local mode. Both sides use the same event shape.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// Source and DetailType of the scan-requested event; the stack's rule
// matches them.
const (
	Source              = "rampart.scans"
	DetailScanRequested = "ScanRequested"
)

// ScanRequested asks the scan worker to run (or continue) a scan.
type ScanRequested struct {
	OrgID  string `json:"org_id"`
	ScanID string `json:"scan_id"`
}

// Publisher publishes scan requests.
type Publisher interface {
	PublishScanRequested(ctx context.Context, e ScanRequested) error
}

// EventBridgeAPI is the part of the EventBridge client the publisher uses.
type EventBridgeAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge publishes to a bus.
type EventBridge struct {
	Client EventBridgeAPI
	Bus    string
}

// PublishScanRequested implements Publisher. PutEvents can accept the call
// and still fail the entry, so the entry's own error is checked too.
func (b *EventBridge) PublishScanRequested(ctx context.Context, e ScanRequested) error {
	detail, err := json.Marshal(e)
	if err != nil {
		return err
	}
	out, err := b.Client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(b.Bus),
		Source:       aws.String(Source),
		DetailType:   aws.String(DetailScanRequested),
		Detail:       aws.String(string(detail)),
	}}})
	if err != nil {
		return fmt.Errorf("put event: %w", err)
	}
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
		return fmt.Errorf("put event: %s: %s", aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage))
	}
	return nil
}

// Parse reads a ScanRequested from an EventBridge event's detail.
func Parse(detailType string, detail json.RawMessage) (ScanRequested, error) {
	if detailType != DetailScanRequested {
		return ScanRequested{}, fmt.Errorf("unexpected detail-type %q", detailType)
	}
	var e ScanRequested
	if err := json.Unmarshal(detail, &e); err != nil {
		return ScanRequested{}, fmt.Errorf("scan requested detail: %w", err)
	}
	if e.OrgID == "" || e.ScanID == "" {
		return ScanRequested{}, errors.New("scan requested detail lacks org_id or scan_id")
	}
	return e, nil
}

// Local delivers events to a handler in-process, each in its own goroutine,
// as EventBridge delivers them to the worker asynchronously, and retries a
// failed delivery as the stack's retry policy does. Wait lets tests and
// shutdown wait for deliveries in flight.
type Local struct {
	Handle func(ctx context.Context, e ScanRequested) error
	Log    *slog.Logger
	// Retries after a failed delivery, each after Backoff times its number
	// (EventBridge's own policy retries with backoff too).
	Retries int
	Backoff time.Duration
	wg      sync.WaitGroup
}

// PublishScanRequested implements Publisher.
func (l *Local) PublishScanRequested(_ context.Context, e ScanRequested) error {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for attempt := 0; ; attempt++ {
			// Detached from the request: the scan outlives the API call.
			err := l.Handle(context.Background(), e)
			if err == nil {
				return
			}
			if l.Log != nil {
				l.Log.Error("scan worker", "scan_id", e.ScanID, "attempt", attempt+1, "error", err.Error())
			}
			if attempt >= l.Retries {
				return
			}
			time.Sleep(l.Backoff * time.Duration(attempt+1))
		}
	}()
	return nil
}

// Wait blocks until every delivered event was handled.
func (l *Local) Wait() { l.wg.Wait() }
