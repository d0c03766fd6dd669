package reports_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"rampart/shared/domain"
	"rampart/shared/reports"
)

// sfnRecorder is a Step Functions endpoint on 127.0.0.1 that records each
// request and answers StartExecution: the first start of a name succeeds,
// a second one is ExecutionAlreadyExists, as Step Functions answers a
// start of a closed execution or one with another input.
type sfnRecorder struct {
	mu       sync.Mutex
	requests []recorded
	names    map[string]bool
	fail     bool
}

type recorded struct {
	Target, ContentType string
	Body                map[string]any
}

func (r *sfnRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, recorded{Target: req.Header.Get("X-Amz-Target"), ContentType: req.Header.Get("Content-Type"), Body: body})
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if r.fail {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"com.amazonaws.states#StateMachineDoesNotExist","message":"State Machine Does Not Exist"}`)
		return
	}
	name, _ := body["name"].(string)
	if r.names[name] {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"com.amazonaws.states#ExecutionAlreadyExists","message":"Execution Already Exists: 'arn:aws:states:us-east-1:123456789012:execution:rampart-report:`+name+`'"}`)
		return
	}
	r.names[name] = true
	_, _ = io.WriteString(w, `{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:rampart-report:`+name+`","startDate":1.7e9}`)
}

func TestReportsStepFunctionsAdapter(t *testing.T) {
	rec := &sfnRecorder{names: map[string]bool{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	client := sfn.New(sfn.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 1,
	})
	const arn = "arn:aws:states:us-east-1:123456789012:stateMachine:rampart-report"
	wf := &reports.StepFunctions{Client: client, StateMachineARN: arn}
	org, id := domain.NewID(), domain.NewID()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wf.Start(ctx, org, id); err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := wf.Start(ctx, org, id); err != nil {
		t.Fatalf("duplicate start is not harmless: %v", err)
	}
	if len(rec.requests) != 2 {
		t.Fatalf("%d requests", len(rec.requests))
	}
	for _, r := range rec.requests {
		if r.Target != "AWSStepFunctions.StartExecution" || r.ContentType != "application/x-amz-json-1.0" {
			t.Errorf("target %q content type %q", r.Target, r.ContentType)
		}
		if r.Body["stateMachineArn"] != arn || r.Body["name"] != id || len(r.Body) != 3 {
			t.Errorf("body %v", r.Body)
		}
		var input map[string]string
		if err := json.Unmarshal([]byte(r.Body["input"].(string)), &input); err != nil ||
			len(input) != 2 || input["export_id"] != id || input["org_id"] != org {
			t.Errorf("input %v (%v): the state machine reads $.export_id and $.org_id", r.Body["input"], err)
		}
	}
	rec.fail = true
	err := wf.Start(ctx, org, domain.NewID())
	if !domain.Is(err, domain.KindUnavailable) {
		t.Errorf("other errors: %v, want unavailable", err)
	}
}

// TestReportsLambdaErrors checks the error types the state machine sees:
// aws-lambda-go reports a messages.InvokeResponse_Error value unchanged
// (any other error's type would be its Go type name, which cannot contain
// the dot of Rampart.Transient).
func TestReportsLambdaErrors(t *testing.T) {
	for _, c := range []struct {
		err      error
		typ, msg string
	}{
		{domain.Wrap(domain.KindUnavailable, errors.New("dial tcp: refused"), "database unavailable"), "Rampart.Transient", "database unavailable"},
		{domain.E(domain.KindThrottled, "slow down"), "Rampart.Transient", "slow down"},
		{domain.NotFound("session"), "Rampart.ReportFailed", "session not found"},
		{domain.Wrap(domain.KindInternal, errors.New("secret detail"), "decode item"), "Rampart.ReportFailed", "internal error"},
		{errors.New("boom"), "Rampart.ReportFailed", "internal error"},
	} {
		le := reports.LambdaError(c.err)
		ir, ok := le.(messages.InvokeResponse_Error)
		if !ok || ir.Type != c.typ || ir.Message != c.msg {
			t.Errorf("%v: %#v", c.err, le)
		}
		ce := reports.CaughtError(c.err)
		if ce.Error != c.typ {
			t.Errorf("caught %v", ce)
		}
	}
	if reports.TransientErrorType != "Rampart.Transient" {
		t.Error("the state machine retries Rampart.Transient")
	}
	// Through the adapter Lambda runs the handler with: a bad step is a
	// ReportFailed function error, decoded from the raw payload.
	h := lambda.NewHandler((&reports.Worker{}).Handle)
	_, err := h.Invoke(context.Background(), []byte(`{"step":"explode","export_id":"`+domain.NewID()+`","org_id":"`+domain.NewID()+`"}`))
	if ir, ok := err.(messages.InvokeResponse_Error); !ok || ir.Type != reports.FailedErrorType {
		t.Errorf("handler error %#v", err)
	}
}

// TestReportsRetryPolicy pins the policy to the state machine's Retry
// (infra/stack.go; infra/stack_test.go asserts the same numbers).
func TestReportsRetryPolicy(t *testing.T) {
	p := reports.Retry
	if p.Interval != 2*time.Second || p.BackoffRate != 2 || p.MaxAttempts != 3 {
		t.Fatalf("policy %+v", p)
	}
	for i, want := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		if got := p.Delay(i); got != want {
			t.Errorf("delay %d = %s", i, got)
		}
	}
	for _, c := range []struct {
		te   *reports.TaskError
		want string
	}{
		{&reports.TaskError{Error: "Rampart.ReportFailed", Cause: `{"errorMessage":"session not found","errorType":"Rampart.ReportFailed"}`},
			"the report could not be produced: session not found"},
		{&reports.TaskError{Error: "Rampart.Transient", Cause: `{"errorMessage":"storage unavailable","errorType":"Rampart.Transient"}`},
			"the database or storage stayed unavailable (storage unavailable); request the report again"},
		{&reports.TaskError{Error: "States.Timeout", Cause: ""}, "the report took longer than the workflow allows"},
		{&reports.TaskError{Error: "Lambda.Unknown", Cause: "The cause could not be determined"}, "the report could not be produced (Lambda.Unknown)"},
		{nil, "the report could not be produced"},
	} {
		if got := reports.FailureDetail(c.te); got != c.want {
			t.Errorf("%v: %q", c.te, got)
		}
	}
}
