// Command report-worker runs the steps of the report state machine: Step
// Functions invokes it with {"step": "load"|"render"|"store"|"finish"|"fail",
// "export_id", "org_id", ...}. A failed step returns a function error of type
// Rampart.Transient (retried by the state machine) or Rampart.ReportFailed
// (caught into the fail step).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"rampart/shared/platform"
)

func main() {
	p, err := platform.New(context.Background())
	if err != nil {
		platform.Fatal(err)
	}
	lambda.Start(p.ReportWorker().Handle)
}
