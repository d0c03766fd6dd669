package main

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"rampart/events"
	"rampart/shared/platform"
	"rampart/shared/reports"
	"rampart/shared/reports/reporttest"
	"rampart/shared/testenv"
)

// sample is the export and organization the events/stepfunctions samples
// name (execution-input.json is what StartExecution passes).
func sample(t *testing.T) reports.ExecutionInput {
	t.Helper()
	var in reports.ExecutionInput
	if err := json.Unmarshal(events.Load(t, "stepfunctions/execution-input.json"), &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// seed writes the sample's organization, a session with findings and the
// sample's export of it (queued), on a fresh table and bucket.
func seed(t *testing.T) (*platform.Platform, reports.ExecutionInput) {
	t.Helper()
	p := testenv.Platform(t)
	in := sample(t)
	st := p.Store()
	reporttest.Org(t, st, in.OrgID, "Sample org")
	sess, _ := reporttest.Session(t, st, in.OrgID, reporttest.Client(t, st, in.OrgID, "Sample client"), 5)
	now := time.Now().UTC()
	e := reports.Export{ID: in.ExportID, OrgID: in.OrgID, SubjectType: reports.SubjectSession, SubjectID: sess.ID,
		ClientID: sess.ClientID, Format: reports.FormatPDF, Status: reports.StatusQueued, TaxonomyVersion: 1,
		FileName: "sample.pdf", CreatedAt: now, ExpiresAt: now.Add(time.Hour), Version: 1}
	if err := st.CreateExport(context.Background(), in.OrgID, e, nil); err != nil {
		t.Fatal(err)
	}
	return p, in
}

// invoke runs one sample event through the adapter Lambda runs the handler
// with (JSON in, JSON out, the error as the function error).
func invoke(t *testing.T, p *platform.Platform, event string) (reports.Result, error) {
	t.Helper()
	h := lambda.NewHandler(p.ReportWorker().Handle)
	out, err := h.Invoke(context.Background(), events.Load(t, "stepfunctions/"+event+".json"))
	if err != nil {
		return reports.Result{}, err
	}
	var r reports.Result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: answer %s: %v", event, out, err)
	}
	return r, nil
}

// closedPort is an address of 127.0.0.1 where nothing listens (any fixed
// port may be taken by another process).
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// functionError checks the error type the state machine would see.
func functionError(t *testing.T, err error, typ, message string) {
	t.Helper()
	ir, ok := err.(messages.InvokeResponse_Error)
	if !ok || ir.Type != typ || !strings.Contains(ir.Message, message) {
		t.Errorf("function error %#v, want type %s mentioning %q", err, typ, message)
	}
}

func TestStepSamples(t *testing.T) {
	p, in := seed(t)
	prev := map[string]any{}
	for _, step := range reports.Steps {
		// Each sample carries what the previous step really returns.
		var task reports.Task
		if err := json.Unmarshal(events.Load(t, "stepfunctions/"+step+".json"), &task); err != nil {
			t.Fatal(err)
		}
		if task.Step != step || task.ExportID != in.ExportID || task.OrgID != in.OrgID {
			t.Fatalf("sample %s: %+v", step, task)
		}
		for name, r := range map[string]*reports.Result{"load": task.Load, "render": task.Render, "store": task.Store} {
			if r != nil && r.Key != prev[name] {
				t.Errorf("sample %s: %s.key %q, but %s returns %q", step, name, r.Key, name, prev[name])
			}
		}
		res, err := invoke(t, p, step)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if res.Step != step {
			t.Errorf("%s answered %+v", step, res)
		}
		prev[step] = res.Key
	}
	if prev["load"] != reports.DataKey(in.ExportID) || prev["render"] != reports.WorkArtifactKey(in.ExportID) ||
		prev["store"] != reports.ArtifactKey(in.OrgID, in.ExportID, "pdf") {
		t.Errorf("keys %v", prev)
	}
	e, err := p.Store().GetExport(context.Background(), in.OrgID, in.ExportID)
	if err != nil || e.Status != reports.StatusSucceeded || e.Size == 0 || len(e.SHA256) != 64 {
		t.Fatalf("export %+v %v", e, err)
	}
	// A late MarkFailed leaves a succeeded export alone.
	if res, err := invoke(t, p, "fail"); err != nil || res.Status != reports.StatusSucceeded {
		t.Errorf("fail after success: %+v %v", res, err)
	}
}

func TestStepFailures(t *testing.T) {
	p, in := seed(t)
	// Render before load: the data is missing; that does not get better.
	_, err := invoke(t, p, "render")
	functionError(t, err, reports.FailedErrorType, "intermediate report data is missing")
	// Storage down: transient, for the state machine to retry.
	up := p.AWS.S3
	p.AWS.S3 = s3.NewFromConfig(p.AWS.AWS, func(o *s3.Options) {
		o.BaseEndpoint, o.RetryMaxAttempts, o.UsePathStyle = aws.String("http://"+closedPort(t)), 1, true
	})
	_, err = invoke(t, p, "load")
	functionError(t, err, reports.TransientErrorType, "storage unavailable")
	p.AWS.S3 = up
	// The caught error marks the export failed, with the reason.
	res, err := invoke(t, p, "fail")
	if err != nil || res.Status != reports.StatusFailed {
		t.Fatalf("fail: %+v %v", res, err)
	}
	e, _ := p.Store().GetExport(context.Background(), in.OrgID, in.ExportID)
	if e.Status != reports.StatusFailed || e.Error != "the report could not be produced: session not found" || e.FinishedAt == nil {
		t.Errorf("export %+v", e)
	}
	// A second MarkFailed (another cause) keeps the first reason.
	if _, err := invoke(t, p, "fail-timeout"); err != nil {
		t.Fatal(err)
	}
	if e2, _ := p.Store().GetExport(context.Background(), in.OrgID, in.ExportID); e2.Error != e.Error {
		t.Errorf("reason changed to %q", e2.Error)
	}
	// Later steps of a failed export refuse to run.
	_, err = invoke(t, p, "finish")
	functionError(t, err, reports.FailedErrorType, "already failed")
	// A payload without ids is refused.
	h := lambda.NewHandler(p.ReportWorker().Handle)
	_, err = h.Invoke(context.Background(), []byte(`{"step":"load","export_id":"x"}`))
	functionError(t, err, reports.FailedErrorType, "export_id and org_id")
}
