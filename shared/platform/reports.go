package platform

import (
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"rampart/shared/domain"
	"rampart/shared/reports"
	"rampart/shared/routes"
)

// localReports holds each platform's in-process report workflow, so that
// every route group of the local server shares one (and tests can wait on
// it).
var localReports sync.Map // *Platform → *reports.Local

// ReportWorker builds the worker that runs the report steps.
func (p *Platform) ReportWorker() *reports.Worker {
	return &reports.Worker{Store: p.Store(), Source: p.Store(), Objects: p.Bucket(), Clock: domain.SystemClock, Log: p.Log}
}

// ReportWorkflow returns the Step Functions adapter (Lambda, which needs
// RAMPART_REPORT_STATE_MACHINE), or in local mode the in-process runner of
// the same steps with the same retry policy.
func (p *Platform) ReportWorkflow() (reports.Workflow, error) {
	if p.Config.Lambda {
		if p.Config.ReportStateMachine == "" {
			return nil, errors.New("RAMPART_REPORT_STATE_MACHINE is required")
		}
		return &reports.StepFunctions{Client: sfn.NewFromConfig(p.AWS.AWS), StateMachineARN: p.Config.ReportStateMachine}, nil
	}
	return p.LocalReports(), nil
}

// LocalReports is the in-process report workflow of this platform.
func (p *Platform) LocalReports() *reports.Local {
	l, _ := localReports.LoadOrStore(p, &reports.Local{Worker: p.ReportWorker(), Policy: reports.Retry, Log: p.Log})
	return l.(*reports.Local)
}

// Reports builds the report service.
func (p *Platform) Reports() (*reports.Service, error) {
	wf, err := p.ReportWorkflow()
	if err != nil {
		return nil, err
	}
	days := p.Config.ReportRetentionDays
	if days <= 0 {
		days = reports.DefaultRetentionDays
	}
	return &reports.Service{Store: p.Store(), Subjects: p.Store(), Workflow: wf, Objects: p.Bucket(),
		Clock: domain.SystemClock, Log: p.Log, Retention: time.Duration(days) * 24 * time.Hour,
		DownloadTTL: p.Config.DownloadURLTTL}, nil
}

// ReportRoutes builds the handlers of the reports function.
func (p *Platform) ReportRoutes() (*routes.Reports, error) {
	svc, err := p.Reports()
	if err != nil {
		return nil, err
	}
	return &routes.Reports{Reports: svc}, nil
}
