package events

import (
	"bytes"
	"embed"
	"encoding/json"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"
)

// EventBridge events (eventbridge/<name>.json): scheduled rule ticks and bus
// events, as EventBridge delivers them to a Lambda.
//
//go:embed eventbridge
var eventBridgeFiles embed.FS

// CloudWatch returns the EventBridge event eventbridge/<name>.json, such as
// CloudWatch(t, "schedule-tick"), as the CloudWatchEvent a Lambda handler
// receives. Fields that the event type does not know fail the test.
func CloudWatch(t testing.TB, name string) awsevents.CloudWatchEvent {
	t.Helper()
	b, err := eventBridgeFiles.ReadFile("eventbridge/" + name + ".json")
	if err != nil {
		t.Fatalf("event eventbridge/%s.json: %v", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e awsevents.CloudWatchEvent
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("event eventbridge/%s.json: %v", name, err)
	}
	if e.Version != "0" || e.DetailType == "" || e.Source == "" || e.ID == "" {
		t.Fatalf("event eventbridge/%s.json is not an EventBridge event (version 0, detail-type, source, id)", name)
	}
	return e
}
