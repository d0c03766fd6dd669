package routes

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
	"rampart/shared/findings"
	"rampart/shared/httpapi"
	"rampart/shared/scanner"
	"rampart/shared/scans"
)

// Scans serves /scans.
type Scans struct {
	Scans    *scans.Service
	Store    scans.Store
	Findings *findings.Service
}

// ScanView is a scan as the API shows it.
type ScanView struct {
	ID              string         `json:"id"`
	Status          string         `json:"status" enum:"pending,running,completed,failed,cancelled"`
	ScheduleID      string         `json:"schedule_id,omitempty"`
	CreatedBy       string         `json:"created_by,omitempty"`
	Progress        ScanProgress   `json:"progress"`
	Score           *float64       `json:"score" doc:"Mean over live hosts of 100 minus 50/20/10/5 per critical/high/medium/low finding; null when no host answered"`
	ScoreReason     string         `json:"score_reason,omitempty" doc:"Why there is no score"`
	Hosts           int            `json:"hosts"`
	LiveHosts       int            `json:"live_hosts"`
	Counts          map[string]int `json:"counts" doc:"Findings observed, by severity"`
	Findings        int            `json:"findings"`
	Reason          string         `json:"reason,omitempty" doc:"Why the scan failed"`
	CancelRequested bool           `json:"cancel_requested"`
	CreatedAt       time.Time      `json:"created_at"`
	StartedAt       *time.Time     `json:"started_at,omitempty"`
	CompletedAt     *time.Time     `json:"completed_at,omitempty"`
	UpdatedAt       time.Time      `json:"updated_at"`
}

// ScanProgress is assets done out of total.
type ScanProgress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// NewScanView converts a scan for the API.
func NewScanView(s domain.Scan) ScanView {
	counts := map[string]int{}
	for _, sev := range domain.Severities {
		counts[sev] = s.Counts[sev]
	}
	return ScanView{ID: s.ID, Status: s.Status, ScheduleID: s.ScheduleID, CreatedBy: s.CreatedBy,
		Progress: ScanProgress{Done: s.Done, Total: s.Targets}, Score: s.Score, ScoreReason: s.ScoreReason,
		Hosts: s.Hosts, LiveHosts: s.LiveHosts, Counts: counts, Findings: s.Findings, Reason: s.Reason,
		CancelRequested: s.CancelRequested, CreatedAt: s.CreatedAt, StartedAt: s.StartedAt,
		CompletedAt: s.CompletedAt, UpdatedAt: s.UpdatedAt}
}

// NewScanRequest starts a scan.
type NewScanRequest struct {
	AssetIDs []string `json:"asset_ids,omitempty" maxItems:"10000" doc:"Assets to scan; omitted or empty: every network asset of the organization"`
}

// ResultView is one raw check result.
type ResultView struct {
	AssetID  string       `json:"asset_id"`
	CheckID  string       `json:"check_id"`
	Subject  string       `json:"subject,omitempty"`
	Host     string       `json:"host"`
	Outcome  string       `json:"outcome" enum:"pass,fail,warn,error,skipped"`
	Severity string       `json:"severity,omitempty"`
	Evidence EvidenceView `json:"evidence"`
}

// EvidenceView is what a check saw.
type EvidenceView struct {
	Summary string            `json:"summary"`
	Facts   map[string]string `json:"facts,omitempty"`
}

// ObservationView is a finding in a comparison.
type ObservationView struct {
	Fingerprint string `json:"fingerprint"`
	FindingID   string `json:"finding_id"`
	AssetID     string `json:"asset_id"`
	CheckID     string `json:"check_id"`
	Title       string `json:"title"`
	Severity    string `json:"severity"`
}

// CompareView is the difference between two scans.
type CompareView struct {
	From       string            `json:"from"`
	To         string            `json:"to"`
	ScoreDelta *float64          `json:"score_delta" doc:"Score of the second minus the first; null when either has none"`
	New        []ObservationView `json:"new"`
	Resolved   []ObservationView `json:"resolved"`
	Persistent []ObservationView `json:"persistent"`
}

type ScanPath struct {
	ScanID string `path:"scan_id" maxLength:"64"`
}

type scanOutput struct{ Body ScanView }

// Register adds the scan routes.
func (h *Scans) Register(api huma.API) {
	tags := []string{"Scans"}
	// Scans cover the whole organization's assets: client members have no
	// view of them.
	viewer, auditor, admin := httpapi.Viewer.NotForClients(), httpapi.Auditor.NotForClients(), httpapi.Admin.NotForClients()
	httpapi.Register(api, viewer, huma.Operation{
		OperationID: "list-scan-checks", Method: http.MethodGet, Path: "/api/v1/scans/checks",
		Summary: "The catalogue of checks the scanner runs", Tags: tags,
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body []scanner.Check }, error) {
		return &struct{ Body []scanner.Check }{Body: scanner.Catalogue()}, nil
	})
	httpapi.Register(api, viewer, huma.Operation{
		OperationID: "list-scans", Method: http.MethodGet, Path: "/api/v1/scans",
		Summary: "List scans, newest first", Tags: tags,
	}, func(ctx context.Context, in *struct {
		httpapi.PageQuery
		Status string `query:"status" enum:"pending,running,completed,failed,cancelled"`
	}) (*httpapi.PageOutput[ScanView], error) {
		p, err := h.Store.ListScans(ctx, httpapi.PrincipalFrom(ctx).OrgID, in.Status, in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, NewScanView), nil
	})
	httpapi.Register(api, auditor, huma.Operation{
		OperationID: "create-scan", Method: http.MethodPost, Path: "/api/v1/scans",
		Summary: "Queue a scan; it runs asynchronously", Tags: tags, DefaultStatus: http.StatusAccepted,
	}, func(ctx context.Context, in *struct{ Body *NewScanRequest }) (*scanOutput, error) {
		var ids []string
		if in.Body != nil {
			ids = in.Body.AssetIDs
		}
		s, err := h.Scans.Create(ctx, httpapi.PrincipalFrom(ctx), ids, "")
		if err != nil {
			return nil, err
		}
		return &scanOutput{Body: NewScanView(s)}, nil
	})
	httpapi.Register(api, viewer, huma.Operation{
		OperationID: "get-scan", Method: http.MethodGet, Path: "/api/v1/scans/{scan_id}",
		Summary: "Status, progress, score and counts of a scan", Tags: tags,
	}, func(ctx context.Context, in *ScanPath) (*scanOutput, error) {
		s, err := h.Store.GetScan(ctx, httpapi.PrincipalFrom(ctx).OrgID, in.ScanID)
		if err != nil {
			return nil, err
		}
		return &scanOutput{Body: NewScanView(s)}, nil
	})
	httpapi.Register(api, admin, huma.Operation{
		OperationID: "delete-scan", Method: http.MethodDelete, Path: "/api/v1/scans/{scan_id}",
		Summary: "Delete a scan, its results, and the findings no other scan observed", Tags: tags,
		DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusConflict},
		Description: "A running scan must be cancelled first (409).",
	}, func(ctx context.Context, in *ScanPath) (*struct{}, error) {
		return nil, h.Scans.Delete(ctx, httpapi.PrincipalFrom(ctx), in.ScanID)
	})
	httpapi.Register(api, viewer, huma.Operation{
		OperationID: "scan-results", Method: http.MethodGet, Path: "/api/v1/scans/{scan_id}/results",
		Summary: "Raw check results of a scan", Tags: tags,
	}, func(ctx context.Context, in *struct {
		ScanPath
		httpapi.PageQuery
	}) (*httpapi.PageOutput[ResultView], error) {
		p, err := h.Store.ListResults(ctx, httpapi.PrincipalFrom(ctx).OrgID, in.ScanID, in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, func(r domain.ScanResult) ResultView {
			return ResultView{AssetID: r.AssetID, CheckID: r.CheckID, Subject: r.Subject, Host: r.Host, Outcome: r.Outcome,
				Severity: r.Severity, Evidence: EvidenceView{Summary: r.Summary, Facts: r.Facts}}
		}), nil
	})
	httpapi.Register(api, viewer, huma.Operation{
		OperationID: "scan-findings", Method: http.MethodGet, Path: "/api/v1/scans/{scan_id}/findings",
		Summary: "Findings observed by a scan", Tags: tags,
	}, func(ctx context.Context, in *struct {
		ScanPath
		httpapi.PageQuery
	}) (*httpapi.PageOutput[FindingView], error) {
		p := httpapi.PrincipalFrom(ctx)
		if _, err := h.Store.GetScan(ctx, p.OrgID, in.ScanID); err != nil {
			return nil, err
		}
		page, err := h.Findings.List(ctx, p, findings.Query{ScanID: in.ScanID, Sort: findings.SortSeverity, Desc: true, Page: in.Request()})
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(page, NewFindingView), nil
	})
	httpapi.Register(api, auditor, huma.Operation{
		OperationID: "cancel-scan", Method: http.MethodPost, Path: "/api/v1/scans/{scan_id}/cancel",
		Summary: "Cancel a pending or running scan", Tags: tags, Errors: []int{http.StatusConflict},
		Description: "A pending scan is cancelled at once; a running one stops between checks. Other statuses: 409.",
	}, func(ctx context.Context, in *ScanPath) (*scanOutput, error) {
		s, err := h.Scans.Cancel(ctx, httpapi.PrincipalFrom(ctx), in.ScanID)
		if err != nil {
			return nil, err
		}
		return &scanOutput{Body: NewScanView(s)}, nil
	})
	httpapi.Register(api, viewer, huma.Operation{
		OperationID: "compare-scans", Method: http.MethodGet, Path: "/api/v1/scans/{scan_id}/compare/{other_id}",
		Summary: "What appeared, was resolved and persisted from one scan to another", Tags: tags,
	}, func(ctx context.Context, in *struct {
		ScanPath
		OtherID string `path:"other_id" maxLength:"64"`
	}) (*struct{ Body CompareView }, error) {
		c, err := h.Scans.Compare(ctx, httpapi.PrincipalFrom(ctx), in.ScanID, in.OtherID)
		if err != nil {
			return nil, err
		}
		conv := func(os []domain.Observation) []ObservationView {
			out := make([]ObservationView, len(os))
			for i, o := range os {
				out[i] = ObservationView{Fingerprint: o.Fingerprint, FindingID: o.FindingID, AssetID: o.AssetID,
					CheckID: o.CheckID, Title: o.Title, Severity: o.Severity}
			}
			return out
		}
		return &struct{ Body CompareView }{Body: CompareView{From: c.From.ID, To: c.To.ID, ScoreDelta: c.ScoreDelta,
			New: conv(c.New), Resolved: conv(c.Resolved), Persistent: conv(c.Persistent)}}, nil
	})
}
