package routes

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
	"rampart/shared/sessions"
)

// AssessmentSessions serves /sessions (family A): assessment sessions, not
// sign-in sessions.
type AssessmentSessions struct {
	Service *sessions.Service
}

// SessionView is an assessment session.
type SessionView struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ClientID    string    `json:"client_id"`
	AssetIDs    []string  `json:"asset_ids" doc:"Scope: assets of the session's client, or without a client"`
	Status      string    `json:"status" doc:"A value of the taxonomy's session_status domain"`
	StartDate   *string   `json:"start_date" format:"date"`
	EndDate     *string   `json:"end_date" format:"date"`
	ReviewerIDs []string  `json:"reviewer_ids" doc:"Assigned reviewers: user ids of admins or auditors"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func newSessionView(s domain.Session) SessionView {
	return SessionView{ID: s.ID, Name: s.Name, ClientID: s.ClientID, AssetIDs: idsOrEmpty(s.AssetIDs), Status: s.Status,
		StartDate: emptyToNull(s.StartDate), EndDate: emptyToNull(s.EndDate), ReviewerIDs: idsOrEmpty(s.ReviewerIDs),
		Description: s.Description, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

func idsOrEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SessionCreate is POST /sessions.
type SessionCreate struct {
	Name        string   `json:"name" maxLength:"200"`
	ClientID    string   `json:"client_id" maxLength:"64"`
	AssetIDs    []string `json:"asset_ids,omitempty" maxItems:"500"`
	Status      string   `json:"status,omitempty" maxLength:"64" doc:"Default planned"`
	StartDate   string   `json:"start_date,omitempty" maxLength:"10" doc:"YYYY-MM-DD"`
	EndDate     string   `json:"end_date,omitempty" maxLength:"10" doc:"YYYY-MM-DD, not before start_date"`
	ReviewerIDs []string `json:"reviewer_ids,omitempty" maxItems:"50"`
	Description string   `json:"description,omitempty" maxLength:"10000"`
}

// SessionPatch is PATCH /sessions/{id}: absent fields are unchanged.
type SessionPatch struct {
	Name        *string   `json:"name,omitempty" maxLength:"200"`
	ClientID    *string   `json:"client_id,omitempty" maxLength:"64" doc:"The scope must suit the new client"`
	AssetIDs    *[]string `json:"asset_ids,omitempty" maxItems:"500" doc:"Replaces the scope"`
	Status      *string   `json:"status,omitempty" maxLength:"64"`
	StartDate   *string   `json:"start_date,omitempty" maxLength:"10" doc:"YYYY-MM-DD; empty clears it"`
	EndDate     *string   `json:"end_date,omitempty" maxLength:"10" doc:"YYYY-MM-DD; empty clears it"`
	ReviewerIDs *[]string `json:"reviewer_ids,omitempty" maxItems:"50" doc:"Replaces the reviewers"`
	Description *string   `json:"description,omitempty" maxLength:"10000"`
}

type sessionOutput struct {
	ETag string `header:"ETag" doc:"Version of the session, for If-Match"`
	Body SessionView
}

func sessionOut(s domain.Session) *sessionOutput {
	return &sessionOutput{ETag: sessions.ETag(s), Body: newSessionView(s)}
}

type sessionPath struct {
	ID string `path:"id" maxLength:"64" doc:"Session id"`
}

// Register adds the assessment session routes.
func (h *AssessmentSessions) Register(api huma.API) {
	tags := []string{"Assessment sessions"}
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "list-sessions", Method: http.MethodGet, Path: "/api/v1/sessions",
		Summary: "Assessment sessions, newest first", Tags: tags,
		Description: "One filter (client_id or status) or none pages an index and answers `total` from a counter; " +
			"both read the client's sessions whole. A client member sees only its client's sessions.",
	}, func(ctx context.Context, in *struct {
		httpapi.PageQuery
		ClientID string `query:"client_id" maxLength:"64"`
		Status   string `query:"status" maxLength:"64"`
	}) (*httpapi.PageOutput[SessionView], error) {
		p, err := h.Service.List(ctx, httpapi.PrincipalFrom(ctx), sessions.Filter{ClientID: in.ClientID, Status: in.Status}, in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, newSessionView), nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "create-session", Method: http.MethodPost, Path: "/api/v1/sessions",
		Summary: "Create an assessment session", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "The client must exist; every asset of the scope must exist and belong to that client or to " +
			"no client; every reviewer must be an active admin or auditor.",
	}, func(ctx context.Context, in *struct{ Body SessionCreate }) (*sessionOutput, error) {
		b := in.Body
		input := sessions.Input{Name: &b.Name, ClientID: &b.ClientID, Status: &b.Status, StartDate: &b.StartDate,
			EndDate: &b.EndDate, Description: &b.Description, AssetIDs: &b.AssetIDs, ReviewerIDs: &b.ReviewerIDs}
		s, err := h.Service.Create(ctx, httpapi.PrincipalFrom(ctx), input)
		if err != nil {
			return nil, err
		}
		return sessionOut(s), nil
	})
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "get-session", Method: http.MethodGet, Path: "/api/v1/sessions/{id}",
		Summary: "An assessment session", Tags: tags,
	}, func(ctx context.Context, in *sessionPath) (*sessionOutput, error) {
		s, err := h.Service.Get(ctx, httpapi.PrincipalFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return sessionOut(s), nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "update-session", Method: http.MethodPatch, Path: "/api/v1/sessions/{id}",
		Summary: "Change an assessment session", Tags: tags, Errors: []int{http.StatusPreconditionFailed},
	}, func(ctx context.Context, in *struct {
		ID      string `path:"id" maxLength:"64" doc:"Session id"`
		IfMatch string `header:"If-Match" maxLength:"256" doc:"ETag of the version the change is based on; a stale one is 412"`
		Body    SessionPatch
	}) (*sessionOutput, error) {
		b := in.Body
		s, err := h.Service.Update(ctx, httpapi.PrincipalFrom(ctx), in.ID, sessions.Input{Name: b.Name, ClientID: b.ClientID,
			AssetIDs: b.AssetIDs, Status: b.Status, StartDate: b.StartDate, EndDate: b.EndDate, ReviewerIDs: b.ReviewerIDs,
			Description: b.Description}, in.IfMatch)
		if err != nil {
			return nil, err
		}
		return sessionOut(s), nil
	})
}
