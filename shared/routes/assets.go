package routes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/assets"
	"rampart/shared/domain"
	"rampart/shared/httpapi"
)

// Assets serves /assets (families A and B), including the CSV import.
type Assets struct {
	Service *assets.Service
}

// AssetView is an asset of the organization.
type AssetView struct {
	ID          string    `json:"id"`
	Type        string    `json:"type" doc:"A value of the taxonomy's asset_type domain"`
	Target      *string   `json:"target" doc:"Normalised target; null for an artefact without a URL"`
	Name        string    `json:"name"`
	ClientID    *string   `json:"client_id"`
	Tags        []string  `json:"tags"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func emptyToNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func newAssetView(a domain.Asset) AssetView {
	tags := a.Tags
	if tags == nil {
		tags = []string{}
	}
	return AssetView{ID: a.ID, Type: a.Type, Target: emptyToNull(a.Target), Name: a.Name, ClientID: emptyToNull(a.ClientID),
		Tags: tags, Description: a.Description, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

const targetDoc = "Parsed and normalised for the type: domain (IDNA to ASCII, lower case, no trailing dot), " +
	"host (a host name or an IP literal), ip (canonical IPv4/IPv6, no zone or range), url (http or https, " +
	"default port dropped, empty path /, fragment dropped, no user info); reviewed artefacts take an optional URL. " +
	"Network targets that resolve to private, loopback, link-local or reserved addresses are refused unless " +
	"the organization allows private ranges (loopback and link-local never)."

// AssetCreate is POST /assets.
type AssetCreate struct {
	Type        string   `json:"type" maxLength:"64" doc:"A value of the taxonomy's asset_type domain"`
	Target      string   `json:"target,omitempty" maxLength:"2048"`
	Name        string   `json:"name,omitempty" maxLength:"200" doc:"Default: the target"`
	ClientID    string   `json:"client_id,omitempty" maxLength:"64"`
	Tags        []string `json:"tags,omitempty" maxItems:"100" doc:"At most 20 distinct slugs (letters, digits, . _ -) of up to 64 characters; lower-cased"`
	Description string   `json:"description,omitempty" maxLength:"10000"`
}

// AssetPatch is PATCH /assets/{asset_id}: absent fields are unchanged.
type AssetPatch struct {
	Type        *string   `json:"type,omitempty" maxLength:"64"`
	Target      *string   `json:"target,omitempty" maxLength:"2048" doc:"Empty removes the URL of an artefact"`
	Name        *string   `json:"name,omitempty" maxLength:"200" doc:"Empty resets it to the target"`
	ClientID    *string   `json:"client_id,omitempty" maxLength:"64" doc:"Empty detaches the asset from its client"`
	Tags        *[]string `json:"tags,omitempty" maxItems:"100" doc:"Replaces the tags"`
	Description *string   `json:"description,omitempty" maxLength:"10000"`
}

type assetOutput struct {
	ETag string `header:"ETag" doc:"Version of the asset, for If-Match"`
	Body AssetView
}

func assetOut(a domain.Asset) *assetOutput {
	return &assetOutput{ETag: assets.ETag(a), Body: newAssetView(a)}
}

type assetPath struct {
	AssetID string `path:"asset_id" maxLength:"64"`
}

// ImportErrorView is one problem of an import answer.
type ImportErrorView struct {
	Row      int    `json:"row" doc:"Record number in the file; the header is row 1"`
	Field    string `json:"field,omitempty" doc:"Column, when one cell is at fault"`
	Location string `json:"location" doc:"row N or row N.field, as in validation errors"`
	Message  string `json:"message"`
}

// ImportView is the answer of an import.
type ImportView struct {
	Created int               `json:"created" doc:"Assets written"`
	Skipped int               `json:"skipped" doc:"Rows whose (type, target) already had an asset"`
	Errors  []ImportErrorView `json:"errors" doc:"Empty unless writing stopped midway: then it names the first row not written"`
}

// importInput reads the body raw: a multipart form (field file) or a
// text/csv body, told apart by Content-Type.
type importInput struct {
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"text/csv"`
}

// importOverhead is room for the multipart envelope around a file of the
// maximum size.
const importOverhead = 64 << 10

// ImportMaxRequestBytes is the largest import request: the server-wide body
// cap of a process serving the import must be at least this.
const ImportMaxRequestBytes = assets.MaxImportBytes + importOverhead

// Register adds the asset routes.
func (h *Assets) Register(api huma.API) {
	tags := []string{"Assets"}
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "list-assets", Method: http.MethodGet, Path: "/api/v1/assets",
		Summary: "Assets of the organization, newest first", Tags: tags,
		Description: "Filters combine. One filter (client_id, type or tag) or none pages an index and answers " +
			"`total` from a counter; combined filters and `q` (part of the name or target) read the narrowest " +
			"matching list whole and filter it. A client member sees only its client's assets.",
	}, func(ctx context.Context, in *struct {
		httpapi.PageQuery
		ClientID string `query:"client_id" maxLength:"64"`
		Type     string `query:"type" maxLength:"64"`
		Tag      string `query:"tag" maxLength:"64"`
		Q        string `query:"q" maxLength:"200"`
	}) (*httpapi.PageOutput[AssetView], error) {
		p, err := h.Service.List(ctx, httpapi.PrincipalFrom(ctx),
			assets.Filter{ClientID: in.ClientID, Type: in.Type, Tag: in.Tag, Query: in.Q}, in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, newAssetView), nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "create-asset", Method: http.MethodPost, Path: "/api/v1/assets",
		Summary: "Create an asset", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: targetDoc + " A (type, target) that already has an asset is 409.",
		Errors:      []int{http.StatusConflict},
	}, func(ctx context.Context, in *struct{ Body AssetCreate }) (*assetOutput, error) {
		b := in.Body
		input := assets.Input{Type: &b.Type, Target: &b.Target, Name: &b.Name, ClientID: &b.ClientID, Description: &b.Description}
		if b.Tags != nil {
			input.Tags = &b.Tags
		}
		a, err := h.Service.Create(ctx, httpapi.PrincipalFrom(ctx), input)
		if err != nil {
			return nil, err
		}
		return assetOut(a), nil
	})
	h.registerImport(api, tags)
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "get-asset", Method: http.MethodGet, Path: "/api/v1/assets/{asset_id}",
		Summary: "An asset", Tags: tags,
	}, func(ctx context.Context, in *assetPath) (*assetOutput, error) {
		a, err := h.Service.Get(ctx, httpapi.PrincipalFrom(ctx), in.AssetID)
		if err != nil {
			return nil, err
		}
		return assetOut(a), nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "update-asset", Method: http.MethodPatch, Path: "/api/v1/assets/{asset_id}",
		Summary: "Change an asset", Tags: tags, Description: targetDoc + " Moving to a (type, target) that has an asset is 409.",
		Errors: []int{http.StatusConflict, http.StatusPreconditionFailed},
	}, func(ctx context.Context, in *struct {
		AssetID string `path:"asset_id" maxLength:"64"`
		IfMatch string `header:"If-Match" maxLength:"256" doc:"ETag of the version the change is based on; a stale one is 412"`
		Body    AssetPatch
	}) (*assetOutput, error) {
		b := in.Body
		a, err := h.Service.Update(ctx, httpapi.PrincipalFrom(ctx), in.AssetID, assets.Input{Type: b.Type, Target: b.Target,
			Name: b.Name, ClientID: b.ClientID, Tags: b.Tags, Description: b.Description}, in.IfMatch)
		if err != nil {
			return nil, err
		}
		return assetOut(a), nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "delete-asset", Method: http.MethodDelete, Path: "/api/v1/assets/{asset_id}",
		Summary: "Delete an asset", Tags: tags, DefaultStatus: http.StatusNoContent,
		Description: "Findings keep a record (id, type and target) of the asset they were found on.",
	}, func(ctx context.Context, in *assetPath) (*struct{}, error) {
		return nil, h.Service.Delete(ctx, httpapi.PrincipalFrom(ctx), in.AssetID)
	})
}

func (h *Assets) registerImport(api huma.API, tags []string) {
	const path = "/api/v1/assets/import"
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "import-assets", Method: http.MethodPost, Path: path,
		Summary: "Import assets from a CSV file", Tags: tags,
		Description: "The file comes as a multipart form (field `file`) or as a `text/csv` body, UTF-8 (a BOM is " +
			"allowed), LF or CRLF line ends. The header row names the columns: `type` and `target` (required), " +
			"`name`, `client_id`, `tags` (separated by `;` or `|`), `description`; unknown columns are 422. " +
			fmt.Sprintf("Limits: %d bytes (5 MiB) and %d data rows, else 413. ", assets.MaxImportBytes, assets.MaxImportRows) +
			"Every row is validated first (type, target, client, tags, SSRF check; duplicates within the file are " +
			"errors): an invalid file is 422 with one error per cell at `row N.field` (the header is row 1) and " +
			"nothing is written. Rows whose (type, target) already has an asset are skipped and counted. Cells are " +
			"stored as plain text, formulas included. If writing fails midway, the answer counts what was created " +
			"and names the first row not written in `errors`; uploading the same file again skips what exists.",
		MaxBodyBytes: ImportMaxRequestBytes,
		Errors:       []int{http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusBadRequest},
	}, func(ctx context.Context, in *importInput) (*struct{ Body ImportView }, error) {
		data, err := importFile(in.ContentType, in.RawBody)
		if err != nil {
			return nil, err
		}
		res, err := h.Service.Import(ctx, httpapi.PrincipalFrom(ctx), data)
		if err != nil {
			return nil, err
		}
		out := ImportView{Created: res.Created, Skipped: res.Skipped, Errors: []ImportErrorView{}}
		for _, e := range res.Errors {
			out.Errors = append(out.Errors, ImportErrorView{Row: e.Row, Field: e.Field, Location: e.Location(), Message: e.Message})
		}
		return &struct{ Body ImportView }{Body: out}, nil
	})
	// Document the multipart form beside the text/csv body (the handler
	// reads both from the raw body).
	if item := api.OpenAPI().Paths[path]; item != nil && item.Post != nil && item.Post.RequestBody != nil {
		rb := item.Post.RequestBody
		rb.Description = "A CSV file: multipart/form-data with the file in field `file`, or the file itself as text/csv."
		rb.Content["multipart/form-data"] = &huma.MediaType{
			Schema: &huma.Schema{
				Type:     "object",
				Required: []string{"file"},
				Properties: map[string]*huma.Schema{
					"file": {Type: "string", Format: "binary", Description: "The CSV file"},
				},
			},
			Encoding: map[string]*huma.Encoding{"file": {ContentType: "text/csv, application/octet-stream"}},
		}
	}
}

// importFile extracts the CSV bytes from a text/csv body or from the field
// `file` of a multipart form.
func importFile(contentType string, body []byte) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, unsupportedImport()
	}
	switch mt {
	case "text/csv", "application/csv", "text/plain":
		if len(body) > assets.MaxImportBytes {
			return nil, tooLargeImport()
		}
		return body, nil
	case "multipart/form-data":
	default:
		return nil, unsupportedImport()
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, domain.E(domain.KindMalformed, "multipart body without a boundary")
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, domain.E(domain.KindMalformed, "malformed multipart body: %v", err)
		}
		if part.FormName() != "file" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, assets.MaxImportBytes+1))
		if err != nil {
			return nil, domain.E(domain.KindMalformed, "malformed multipart body: %v", err)
		}
		if len(data) > assets.MaxImportBytes {
			return nil, tooLargeImport()
		}
		return data, nil
	}
	return nil, domain.Invalid("the multipart form has no field file",
		domain.FieldError{Location: "body.file", Message: "required: the CSV file"})
}

func unsupportedImport() error {
	return domain.E(domain.KindUnsupported, "send the CSV file as multipart/form-data (field file) or as a text/csv body")
}

func tooLargeImport() error {
	return domain.E(domain.KindTooLarge, "the file is larger than %d bytes (limit: 5 MiB per import); split it", assets.MaxImportBytes)
}
