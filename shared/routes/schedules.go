package routes

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/httpapi"
	"rampart/shared/schedules"
)

// Schedules serves /schedules (family B).
type Schedules struct {
	Service *schedules.Service
}

// ScheduleView is a schedule as the API shows it.
type ScheduleView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Cron       string     `json:"cron" doc:"Canonical 5-field expression (minute hour day-of-month month day-of-week) or descriptor"`
	Timezone   string     `json:"timezone" doc:"IANA time zone the expression is read in"`
	TargetMode string     `json:"target_mode" enum:"assets,tag,all" doc:"Which of asset_ids, tag or all chooses the targets"`
	AssetIDs   []string   `json:"asset_ids" doc:"The assets scanned (target_mode assets); empty otherwise"`
	Tag        *string    `json:"tag" doc:"Network assets carrying this tag when a scan starts (target_mode tag); null otherwise"`
	All        bool       `json:"all" doc:"Every network asset of the organization when a scan starts (target_mode all)"`
	Enabled    bool       `json:"enabled"`
	NextRunAt  *time.Time `json:"next_run_at" doc:"When the schedule is next due; null while disabled"`
	LastRunAt  *time.Time `json:"last_run_at" doc:"When the dispatcher last ran the schedule; null before its first due time"`
	LastScanID *string    `json:"last_scan_id" doc:"The newest scan the dispatcher started for the schedule"`
	LastError  *string    `json:"last_error" doc:"Why the last due run could not start (or which targets it skipped); null when it went well"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// NewScheduleView converts a schedule for the API.
func NewScheduleView(s schedules.Schedule) ScheduleView {
	ids := s.Targets.AssetIDs
	if ids == nil || s.Targets.Mode != schedules.TargetAssets {
		ids = []string{}
	}
	v := ScheduleView{ID: s.ID, Name: s.Name, Cron: s.Cron, Timezone: s.Timezone, TargetMode: s.Targets.Mode, AssetIDs: ids,
		All: s.Targets.Mode == schedules.TargetAll, Enabled: s.Enabled, LastRunAt: s.LastRunAt,
		LastScanID: optString(s.LastScanID), LastError: optString(s.LastError), CreatedBy: s.CreatedBy,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	if s.Targets.Mode == schedules.TargetTag {
		v.Tag = optString(s.Targets.Tag)
	}
	if s.Enabled {
		v.NextRunAt = s.NextRunAt
	}
	return v
}

const (
	cronDoc = "5-field cron expression (minute hour day-of-month month day-of-week), e.g. `0 3 * * 1-5`, or " +
		"@hourly, @daily, @weekly, @monthly, @yearly (@annually). Day of month and day of week: either matches when " +
		"both are set. @every, seconds and years are not accepted."
	zoneDoc    = "IANA time zone, e.g. Europe/Berlin; default UTC"
	targetsDoc = "Targets: exactly one of asset_ids (non-empty), tag, or all: true"
)

// ScheduleCreate is POST /schedules.
type ScheduleCreate struct {
	Name     string   `json:"name,omitempty" maxLength:"200" doc:"Required"`
	Cron     string   `json:"cron,omitempty" maxLength:"200" doc:"Required: 5 fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly"`
	Timezone string   `json:"timezone,omitempty" maxLength:"64" doc:"IANA time zone, e.g. Europe/Berlin; default UTC"`
	AssetIDs []string `json:"asset_ids,omitempty" maxItems:"1000" doc:"Assets of the organization to scan (network assets)"`
	Tag      string   `json:"tag,omitempty" maxLength:"64" doc:"Scan the network assets carrying this tag when each scan starts"`
	All      bool     `json:"all,omitempty" doc:"Scan every network asset of the organization when each scan starts"`
	Enabled  *bool    `json:"enabled,omitempty" doc:"Default true"`
}

// SchedulePatch is PATCH /schedules/{schedule_id}: absent fields are
// unchanged. Giving any of asset_ids, tag or all replaces the targets (and
// exactly one must then be set).
type SchedulePatch struct {
	Name     *string   `json:"name,omitempty" maxLength:"200"`
	Cron     *string   `json:"cron,omitempty" maxLength:"200"`
	Timezone *string   `json:"timezone,omitempty" maxLength:"64" doc:"IANA time zone, e.g. Europe/Berlin"`
	AssetIDs *[]string `json:"asset_ids,omitempty" maxItems:"1000"`
	Tag      *string   `json:"tag,omitempty" maxLength:"64"`
	All      *bool     `json:"all,omitempty"`
	Enabled  *bool     `json:"enabled,omitempty" doc:"false takes the schedule out of the due list; true makes it due at its next time after now"`
}

type scheduleOutput struct {
	ETag string `header:"ETag" doc:"Version of the schedule, for If-Match; a run of the schedule changes it"`
	Body ScheduleView
}

func scheduleOut(s schedules.Schedule) *scheduleOutput {
	return &scheduleOutput{ETag: schedules.ETag(s), Body: NewScheduleView(s)}
}

// SchedulePath names one schedule.
type SchedulePath struct {
	ScheduleID string `path:"schedule_id" maxLength:"64" doc:"Schedule id"`
}

// Register adds the schedule routes.
func (h *Schedules) Register(api huma.API) {
	tags := []string{"Schedules"}
	// Schedules scan the organization's assets at large: like scans, client
	// members have no view of them.
	viewer, auditor := httpapi.Viewer.NotForClients(), httpapi.Auditor.NotForClients()
	httpapi.Register(api, viewer, huma.Operation{
		OperationID: "list-schedules", Method: http.MethodGet, Path: "/api/v1/schedules",
		Summary: "List scan schedules, newest first", Tags: tags,
		Description: "`total` comes from a counter; `next_cursor` pages cheaply.",
	}, func(ctx context.Context, in *struct{ httpapi.PageQuery }) (*httpapi.PageOutput[ScheduleView], error) {
		p, err := h.Service.List(ctx, httpapi.PrincipalFrom(ctx), in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, NewScheduleView), nil
	})
	httpapi.Register(api, auditor, huma.Operation{
		OperationID: "create-schedule", Method: http.MethodPost, Path: "/api/v1/schedules",
		Summary: "Create a scan schedule", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "`cron`: " + cronDoc + "\n\n`timezone`: " + zoneDoc + ". " + targetsDoc + ". " +
			"An invalid expression or zone, or an asset id that is not a network asset of the organization, is 422.\n\n" +
			"Around daylight-saving changes each local time of the expression fires once: a time the clocks skip " +
			"fires when they skip it (02:30 on a 02:00→03:00 night fires at 03:00), a time that occurs twice fires " +
			"at its first occurrence.",
	}, func(ctx context.Context, in *struct{ Body ScheduleCreate }) (*scheduleOutput, error) {
		b := in.Body
		input := schedules.Input{Name: &b.Name, Cron: &b.Cron, Timezone: &b.Timezone, Enabled: b.Enabled}
		if len(b.AssetIDs) > 0 {
			input.AssetIDs = &b.AssetIDs
		}
		if b.Tag != "" {
			input.Tag = &b.Tag
		}
		if b.All {
			input.All = &b.All
		}
		s, err := h.Service.Create(ctx, httpapi.PrincipalFrom(ctx), input)
		if err != nil {
			return nil, err
		}
		return scheduleOut(s), nil
	})
	httpapi.Register(api, viewer, huma.Operation{
		OperationID: "get-schedule", Method: http.MethodGet, Path: "/api/v1/schedules/{schedule_id}",
		Summary: "A scan schedule, with its next and last runs", Tags: tags,
	}, func(ctx context.Context, in *SchedulePath) (*scheduleOutput, error) {
		s, err := h.Service.Get(ctx, httpapi.PrincipalFrom(ctx), in.ScheduleID)
		if err != nil {
			return nil, err
		}
		return scheduleOut(s), nil
	})
	httpapi.Register(api, auditor, huma.Operation{
		OperationID: "update-schedule", Method: http.MethodPatch, Path: "/api/v1/schedules/{schedule_id}",
		Summary: "Change a scan schedule", Tags: tags, Errors: []int{http.StatusPreconditionFailed},
		Description: "A new `cron` or `timezone`, or `enabled: true`, makes the schedule due at its next time after " +
			"now; `enabled: false` takes it out of the due list (`next_run_at` null). " + targetsDoc +
			" when any of them is given.",
	}, func(ctx context.Context, in *struct {
		SchedulePath
		IfMatch string `header:"If-Match" maxLength:"256" doc:"ETag of the version the change is based on; a stale one is 412"`
		Body    SchedulePatch
	}) (*scheduleOutput, error) {
		b := in.Body
		s, err := h.Service.Update(ctx, httpapi.PrincipalFrom(ctx), in.ScheduleID, schedules.Input{
			Name: b.Name, Cron: b.Cron, Timezone: b.Timezone, AssetIDs: b.AssetIDs, Tag: b.Tag, All: b.All, Enabled: b.Enabled,
		}, in.IfMatch)
		if err != nil {
			return nil, err
		}
		return scheduleOut(s), nil
	})
	httpapi.Register(api, auditor, huma.Operation{
		OperationID: "delete-schedule", Method: http.MethodDelete, Path: "/api/v1/schedules/{schedule_id}",
		Summary: "Delete a scan schedule", Tags: tags, DefaultStatus: http.StatusNoContent,
		Description: "A due run not yet started never starts. Scans the schedule started are kept.",
	}, func(ctx context.Context, in *SchedulePath) (*struct{}, error) {
		return nil, h.Service.Delete(ctx, httpapi.PrincipalFrom(ctx), in.ScheduleID)
	})
	httpapi.Register(api, auditor, huma.Operation{
		OperationID: "run-schedule", Method: http.MethodPost, Path: "/api/v1/schedules/{schedule_id}/run",
		Summary: "Start a scan of the schedule's targets now", Tags: tags, DefaultStatus: http.StatusAccepted,
		Errors: []int{http.StatusConflict},
		Description: "Queues a scan (as POST /scans does) with the schedule's targets and `schedule_id`; 202 with the " +
			"scan. The schedule's `next_run_at` does not move. 409 when none of its targets exists any more.",
	}, func(ctx context.Context, in *SchedulePath) (*scanOutput, error) {
		s, err := h.Service.RunNow(ctx, httpapi.PrincipalFrom(ctx), in.ScheduleID)
		if err != nil {
			return nil, err
		}
		return &scanOutput{Body: NewScanView(s)}, nil
	})
}
