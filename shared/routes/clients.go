package routes

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/clients"
	"rampart/shared/domain"
	"rampart/shared/httpapi"
)

// Clients serves /clients (family A).
type Clients struct {
	Service *clients.Service
}

// ClientView is a client of the organization.
type ClientView struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	ContactName  string    `json:"contact_name"`
	ContactEmail string    `json:"contact_email"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func newClientView(c domain.Client) ClientView {
	return ClientView{ID: c.ID, Name: c.Name, Description: c.Description, ContactName: c.ContactName,
		ContactEmail: c.ContactEmail, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// ClientCreate is POST /clients.
type ClientCreate struct {
	Name         string `json:"name" maxLength:"200" doc:"Required; names need not be unique"`
	Description  string `json:"description,omitempty" maxLength:"10000"`
	ContactName  string `json:"contact_name,omitempty" maxLength:"200"`
	ContactEmail string `json:"contact_email,omitempty" maxLength:"254" doc:"An email address, or empty"`
}

// ClientPatch is PATCH /clients/{id}: absent fields are unchanged.
type ClientPatch struct {
	Name         *string `json:"name,omitempty" maxLength:"200"`
	Description  *string `json:"description,omitempty" maxLength:"10000"`
	ContactName  *string `json:"contact_name,omitempty" maxLength:"200"`
	ContactEmail *string `json:"contact_email,omitempty" maxLength:"254" doc:"An email address, or empty to clear it"`
}

type clientOutput struct {
	ETag string `header:"ETag" doc:"Version of the client, for If-Match"`
	Body ClientView
}

func clientOut(c domain.Client) *clientOutput {
	return &clientOutput{ETag: clients.ETag(c), Body: newClientView(c)}
}

type clientPath struct {
	ID string `path:"id" maxLength:"64" doc:"Client id"`
}

// Register adds the client routes.
func (h *Clients) Register(api huma.API) {
	tags := []string{"Clients"}
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "list-clients", Method: http.MethodGet, Path: "/api/v1/clients",
		Summary: "Clients of the organization, by name", Tags: tags,
		Description: "`q` matches the name (case-insensitive). A client member sees only its own client. " +
			"Without `q`, `total` comes from a counter and `next_cursor` pages cheaply; with `q` the organization's " +
			"clients are read whole and filtered.",
	}, func(ctx context.Context, in *struct {
		httpapi.PageQuery
		Q string `query:"q" maxLength:"200" doc:"Part of the name"`
	}) (*httpapi.PageOutput[ClientView], error) {
		p, err := h.Service.List(ctx, httpapi.PrincipalFrom(ctx), in.Q, in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, newClientView), nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "create-client", Method: http.MethodPost, Path: "/api/v1/clients",
		Summary: "Create a client", Tags: tags, DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *struct{ Body ClientCreate }) (*clientOutput, error) {
		b := in.Body
		c, err := h.Service.Create(ctx, httpapi.PrincipalFrom(ctx), clients.Input{
			Name: &b.Name, Description: &b.Description, ContactName: &b.ContactName, ContactEmail: &b.ContactEmail})
		if err != nil {
			return nil, err
		}
		return clientOut(c), nil
	})
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "get-client", Method: http.MethodGet, Path: "/api/v1/clients/{id}",
		Summary: "A client", Tags: tags,
	}, func(ctx context.Context, in *clientPath) (*clientOutput, error) {
		c, err := h.Service.Get(ctx, httpapi.PrincipalFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return clientOut(c), nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "update-client", Method: http.MethodPatch, Path: "/api/v1/clients/{id}",
		Summary: "Change a client", Tags: tags, Errors: []int{http.StatusPreconditionFailed},
	}, func(ctx context.Context, in *struct {
		ID      string `path:"id" maxLength:"64" doc:"Client id"`
		IfMatch string `header:"If-Match" maxLength:"256" doc:"ETag of the version the change is based on; a stale one is 412"`
		Body    ClientPatch
	}) (*clientOutput, error) {
		b := in.Body
		c, err := h.Service.Update(ctx, httpapi.PrincipalFrom(ctx), in.ID, clients.Input{
			Name: b.Name, Description: b.Description, ContactName: b.ContactName, ContactEmail: b.ContactEmail}, in.IfMatch)
		if err != nil {
			return nil, err
		}
		return clientOut(c), nil
	})
}
