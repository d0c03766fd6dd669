package routes

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
	"rampart/shared/reports"
)

// Reports serves /reports: queued report generation and status (family B)
// and the per-session report downloads (family A).
type Reports struct {
	Reports *reports.Service
}

// ExportView is a report export (a task) as the API shows it.
type ExportView struct {
	TaskID          string     `json:"task_id" doc:"Id of the export (the task); also id"`
	ID              string     `json:"id"`
	Status          string     `json:"status" enum:"queued,running,succeeded,failed"`
	Detail          string     `json:"detail" doc:"What the status means; for failed, why"`
	Format          string     `json:"format" enum:"pdf,csv,json"`
	SubjectType     string     `json:"subject_type" enum:"session,scan"`
	SessionID       string     `json:"session_id,omitempty"`
	ScanID          string     `json:"scan_id,omitempty"`
	TaxonomyVersion int        `json:"taxonomy_version" doc:"Taxonomy version the report uses"`
	FileName        string     `json:"file_name" doc:"Name the download is saved under"`
	Size            *int64     `json:"size" doc:"Bytes of the report; null until stored"`
	SHA256          string     `json:"sha256,omitempty" doc:"Hex SHA-256 of the report"`
	RequestedBy     string     `json:"requested_by,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	FinishedAt      *time.Time `json:"finished_at,omitempty"`
	ExpiresAt       time.Time  `json:"expires_at" doc:"When the export and its report are deleted (retention)"`
	StatusURL       string     `json:"status_url"`
	DownloadURL     string     `json:"download_url,omitempty" doc:"Route that redirects to the report, once succeeded"`
}

// NewExportView converts an export for the API.
func NewExportView(e reports.Export) ExportView {
	v := ExportView{TaskID: e.ID, ID: e.ID, Status: e.Status, Format: e.Format, SubjectType: e.SubjectType,
		TaxonomyVersion: e.TaxonomyVersion, FileName: e.FileName, SHA256: e.SHA256, RequestedBy: e.RequestedBy,
		CreatedAt: e.CreatedAt, StartedAt: e.StartedAt, FinishedAt: e.FinishedAt, ExpiresAt: e.ExpiresAt,
		StatusURL: statusPath(e.ID)}
	if e.SubjectType == reports.SubjectScan {
		v.ScanID = e.SubjectID
	} else {
		v.SessionID = e.SubjectID
	}
	switch e.Status {
	case reports.StatusQueued:
		v.Detail = "waiting for the report workflow"
	case reports.StatusRunning:
		v.Detail = "the report is being generated"
	case reports.StatusSucceeded:
		v.Detail = "the report is ready"
		size := e.Size
		v.Size = &size
		v.DownloadURL = "/api/v1/reports/download/" + e.ID
	case reports.StatusFailed:
		v.Detail = e.Error
	}
	return v
}

func statusPath(id string) string { return "/api/v1/reports/status/" + id }

// GenerateRequest asks for a report (also accepted as query parameters).
type GenerateRequest struct {
	ScanID    string `json:"scan_id,omitempty" maxLength:"64" doc:"A completed scan"`
	SessionID string `json:"session_id,omitempty" maxLength:"64" doc:"An assessment session"`
	Format    string `json:"format,omitempty" enum:"pdf,csv,json" doc:"Default pdf"`
}

type generateInput struct {
	ScanID    string `query:"scan_id" maxLength:"64"`
	SessionID string `query:"session_id" maxLength:"64"`
	Format    string `query:"format" enum:"pdf,csv,json"`
	Body      *GenerateRequest
}

// merge takes each field from the query or the body; giving both with
// different values is a 422.
func (in *generateInput) merge() (reports.Request, error) {
	b := GenerateRequest{}
	if in.Body != nil {
		b = *in.Body
	}
	var errs []domain.FieldError
	pick := func(q, body, name string) string {
		if q != "" && body != "" && q != body {
			errs = append(errs, domain.FieldError{Location: "query." + name, Message: "differs from body." + name})
		}
		if q != "" {
			return q
		}
		return body
	}
	r := reports.Request{ScanID: pick(in.ScanID, b.ScanID, "scan_id"), SessionID: pick(in.SessionID, b.SessionID, "session_id"),
		Format: pick(in.Format, b.Format, "format")}
	if len(errs) > 0 {
		return r, domain.Invalid("the query and the body disagree", errs...)
	}
	if r.Format == "" {
		r.Format = reports.FormatPDF
	}
	return r, nil
}

type reportTaskPath struct {
	TaskID string `path:"task_id" maxLength:"64"`
}

type reportExportPath struct {
	ID string `path:"id" maxLength:"64"`
}

type reportSessionPath struct {
	ID string `path:"id" maxLength:"64"`
}

type reportRedirect struct {
	Location string `header:"Location" doc:"Presigned download URL, valid a few minutes"`
}

// sessionReportOutput is 302 to the report once ready, else 202 with the
// export and where to poll.
type sessionReportOutput struct {
	Status     int
	Location   string `header:"Location" doc:"302: presigned download URL; 202: the status route"`
	RetryAfter string `header:"Retry-After" doc:"202: seconds to wait before polling the status route"`
	Body       ExportView
}

const downloadDoc = "The URL is valid a few minutes (5 by default) and its answer carries the report's content type and " +
	"`Content-Disposition: attachment; filename=\"<ASCII fallback>\"; filename*=UTF-8''<name>`."

// Register adds the report routes.
func (h *Reports) Register(api huma.API) {
	tags := []string{"Reports"}
	svc := h.Reports
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "generate-report", Method: http.MethodPost, Path: "/api/v1/reports/generate",
		Summary: "Queue a report of a completed scan or of a session", Tags: tags, DefaultStatus: http.StatusAccepted,
		Description: "`scan_id` or `session_id`, and `format` (`pdf`, `csv` or `json`; default `pdf`), from the query or " +
			"a JSON body. The scan must be completed (409 otherwise); client members cannot report on scans (403) and see " +
			"only their client's sessions. Always starts a new export (the task); poll `GET /api/v1/reports/status/{task_id}`.",
		Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
	}, func(ctx context.Context, in *generateInput) (*struct {
		Location string `header:"Location" doc:"The status route of the task"`
		Body     ExportView
	}, error) {
		r, err := in.merge()
		if err != nil {
			return nil, err
		}
		e, err := svc.Generate(ctx, httpapi.PrincipalFrom(ctx), r)
		if err != nil {
			return nil, err
		}
		return &struct {
			Location string `header:"Location" doc:"The status route of the task"`
			Body     ExportView
		}{Location: statusPath(e.ID), Body: NewExportView(e)}, nil
	})
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "get-report-status", Method: http.MethodGet, Path: "/api/v1/reports/status/{task_id}",
		Summary: "Status of a report task", Tags: tags,
		Description: "`queued`, `running`, `succeeded` or `failed` (`detail` says why), with format, size, SHA-256, " +
			"timings and the taxonomy version. An expired export (after the retention) is 404.",
	}, func(ctx context.Context, in *reportTaskPath) (*struct{ Body ExportView }, error) {
		e, err := svc.Get(ctx, httpapi.PrincipalFrom(ctx), in.TaskID)
		if err != nil {
			return nil, err
		}
		return &struct{ Body ExportView }{Body: NewExportView(e)}, nil
	})
	download := func(ctx context.Context, id string) (*reportRedirect, error) {
		u, _, err := svc.DownloadURL(ctx, httpapi.PrincipalFrom(ctx), id)
		if err != nil {
			return nil, err
		}
		return &reportRedirect{Location: u}, nil
	}
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "download-report", Method: http.MethodGet, Path: "/api/v1/reports/download/{task_id}",
		Summary: "Download a report (302 to a short-lived presigned URL)", Tags: tags, DefaultStatus: http.StatusFound,
		Description: downloadDoc + " 409 while the task is queued or running, or when it failed.",
		Errors:      []int{http.StatusConflict},
	}, func(ctx context.Context, in *reportTaskPath) (*reportRedirect, error) {
		return download(ctx, in.TaskID)
	})
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "download-export", Method: http.MethodGet, Path: "/api/v1/reports/exports/{id}/download",
		Summary: "Download a stored export (302 to a short-lived presigned URL)", Tags: tags, DefaultStatus: http.StatusFound,
		Description: downloadDoc + " 409 while the export is not ready.",
		Errors:      []int{http.StatusConflict},
	}, func(ctx context.Context, in *reportExportPath) (*reportRedirect, error) { return download(ctx, in.ID) })
	for _, format := range reports.Formats {
		httpapi.Register(api, httpapi.Viewer, huma.Operation{
			OperationID: "session-report-" + format, Method: http.MethodGet, Path: "/api/v1/reports/sessions/{id}/" + format,
			Summary: "The session's " + format + " report", Tags: tags, DefaultStatus: http.StatusFound,
			Description: "Reuses the newest export of the session in this format when the session and its findings have not " +
				"changed since (same fingerprint: the session's and its findings' last change, their number and the " +
				"taxonomy version), else starts one; waits up to a few seconds for it. **302** to a presigned URL once " +
				"ready (" + downloadDoc + "), else **202** with the export, `Location` of the status route and `Retry-After`.",
			Responses: map[string]*huma.Response{
				"202": {Description: "Not ready yet: poll the status route in Location after Retry-After seconds"},
			},
			Errors: []int{http.StatusServiceUnavailable},
		}, func(ctx context.Context, in *reportSessionPath) (*sessionReportOutput, error) {
			e, u, err := svc.SessionReport(ctx, httpapi.PrincipalFrom(ctx), in.ID, format)
			if err != nil {
				return nil, err
			}
			if u != "" {
				return &sessionReportOutput{Status: http.StatusFound, Location: u, Body: NewExportView(e)}, nil
			}
			return &sessionReportOutput{Status: http.StatusAccepted, Location: statusPath(e.ID),
				RetryAfter: strconv.Itoa(2), Body: NewExportView(e)}, nil
		})
	}
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "list-session-exports", Method: http.MethodGet, Path: "/api/v1/reports/sessions/{id}/exports",
		Summary: "Stored exports of a session, newest first", Tags: tags,
		Description: "Every format and status, until the retention ends. The total counts the session's exports " +
			"(a key-only query of its list).",
	}, func(ctx context.Context, in *struct {
		ID string `path:"id" maxLength:"64"`
		httpapi.PageQuery
	}) (*httpapi.PageOutput[ExportView], error) {
		p, err := svc.SessionExports(ctx, httpapi.PrincipalFrom(ctx), in.ID, in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, NewExportView), nil
	})
}
