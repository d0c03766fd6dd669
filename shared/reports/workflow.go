package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"rampart/shared/domain"
)

// ExecutionInput is the input of a report state machine execution: the
// state machine reads $.export_id and $.org_id.
type ExecutionInput struct {
	ExportID string `json:"export_id"`
	OrgID    string `json:"org_id"`
}

// SFNAPI is the part of the Step Functions client the adapter uses.
type SFNAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// StepFunctions starts the report state machine (infra/stack.go). The
// execution is named after the export, so a second start of the same export
// is refused by Step Functions with ExecutionAlreadyExists (or, while the
// first runs with the same input, answered with it): either way the
// export's one execution exists, and Start succeeds.
type StepFunctions struct {
	Client          SFNAPI
	StateMachineARN string
}

// Start implements Workflow.
func (s *StepFunctions) Start(ctx context.Context, orgID, exportID string) error {
	input, err := json.Marshal(ExecutionInput{ExportID: exportID, OrgID: orgID})
	if err != nil {
		return err
	}
	_, err = s.Client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(s.StateMachineARN),
		Name:            aws.String(exportID),
		Input:           aws.String(string(input)),
	})
	var exists *sfntypes.ExecutionAlreadyExists
	if err == nil || errors.As(err, &exists) {
		return nil
	}
	return domain.Wrap(domain.KindUnavailable, err, "the report workflow could not be started; try again")
}

// Local runs the workflow in-process, as the state machine does: the steps
// in order, each retried on a transient error under Policy, and any other
// error (or retries exhausted) caught into the fail step, which is itself
// retried under the same policy. Start returns at once (the execution
// continues detached from the request); a second Start of the same export
// is harmless. Wait lets tests and shutdown wait for executions in flight.
type Local struct {
	Worker *Worker
	Policy RetryPolicy
	// Sleep waits between attempts (nil: a timer that honours ctx).
	Sleep func(ctx context.Context, d time.Duration) error
	Log   *slog.Logger

	mu      sync.Mutex
	started map[string]bool
	wg      sync.WaitGroup
}

// Start implements Workflow.
func (l *Local) Start(_ context.Context, orgID, exportID string) error {
	l.mu.Lock()
	if l.started == nil {
		l.started = map[string]bool{}
	}
	if l.started[exportID] {
		l.mu.Unlock()
		return nil
	}
	l.started[exportID] = true
	l.wg.Add(1)
	l.mu.Unlock()
	go func() {
		defer l.wg.Done()
		if err := l.Run(context.Background(), orgID, exportID); err != nil && l.Log != nil {
			l.Log.Error("report workflow", "export_id", exportID, "error", err.Error())
		}
	}()
	return nil
}

// Wait blocks until every started execution ended.
func (l *Local) Wait() { l.wg.Wait() }

// Run runs one execution to its end. It returns nil when the export
// succeeded, the caught error when the fail path ran (like a failed
// execution), or the fail step's own error.
func (l *Local) Run(ctx context.Context, orgID, exportID string) error {
	t := Task{ExportID: exportID, OrgID: orgID}
	for _, step := range Steps {
		t.Step = step
		res, err := l.attempt(ctx, t)
		if err != nil {
			caught := CaughtError(err)
			ft := Task{Step: StepFail, ExportID: exportID, OrgID: orgID, Error: &caught}
			if _, ferr := l.attempt(ctx, ft); ferr != nil {
				return fmt.Errorf("step %s: %w; then fail: %v", step, err, ferr)
			}
			return fmt.Errorf("step %s: %w", step, err)
		}
		// Each result is passed on under its step name, as the state
		// machine's ResultPath does.
		r := res
		switch step {
		case StepLoad:
			t.Load = &r
		case StepRender:
			t.Render = &r
		case StepStore:
			t.Store = &r
		}
	}
	return nil
}

// attempt runs a step, retrying transient errors under the policy.
func (l *Local) attempt(ctx context.Context, t Task) (Result, error) {
	for n := 0; ; n++ {
		res, err := l.Worker.Run(ctx, t)
		if err == nil || !Transient(err) || n >= l.Policy.MaxAttempts {
			return res, err
		}
		if err := l.sleep(ctx, l.Policy.Delay(n)); err != nil {
			return Result{}, err
		}
	}
}

func (l *Local) sleep(ctx context.Context, d time.Duration) error {
	if l.Sleep != nil {
		return l.Sleep(ctx, d)
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// CaughtError is what the state machine's Catch puts at $.error for a step
// that failed with err: the Lambda function error's type, and as the cause
// the function error's JSON ({"errorMessage", "errorType"}).
func CaughtError(err error) TaskError {
	le, _ := LambdaError(err).(messages.InvokeResponse_Error)
	cause, _ := json.Marshal(le)
	return TaskError{Error: le.Type, Cause: string(cause)}
}
