package routes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/attachments"
	"rampart/shared/domain"
	"rampart/shared/httpapi"
)

// Attachments serves the files attached to findings.
type Attachments struct {
	Attachments *attachments.Service
}

// AttachmentView is an attachment as the API shows it.
type AttachmentView struct {
	ID          string    `json:"id"`
	FindingID   string    `json:"finding_id"`
	FileName    string    `json:"file_name" doc:"The uploaded file's name, sanitised (no path, control or bidi characters; NFC; at most 255 bytes)"`
	ContentType string    `json:"content_type" doc:"Sniffed from the bytes (the declared type while pending)"`
	Size        int64     `json:"size" doc:"Bytes"`
	SHA256      string    `json:"sha256" doc:"Hex SHA-256 of the stored bytes (the declared one while pending)"`
	Status      string    `json:"status" enum:"pending,available" doc:"Only available attachments are listed and can be downloaded"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// NewAttachmentView converts an attachment for the API.
func NewAttachmentView(a attachments.Attachment) AttachmentView {
	return AttachmentView{ID: a.ID, FindingID: a.FindingID, FileName: a.FileName, ContentType: a.ContentType, Size: a.Size,
		SHA256: a.SHA256, Status: a.Status, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt}
}

// UploadRequest declares a file for the presigned upload.
type UploadRequest struct {
	FileName    string `json:"file_name" minLength:"1" maxLength:"4096" doc:"Original file name; kept (sanitised) as metadata only"`
	ContentType string `json:"content_type" minLength:"3" maxLength:"255" doc:"Content-Type the PUT will send; the stored type is sniffed from the bytes at confirm"`
	Size        int64  `json:"size" minimum:"1" doc:"Exact size in bytes, at most 25 MiB (413 above)"`
	SHA256      string `json:"sha256" pattern:"^[0-9a-fA-F]{64}$" doc:"Hex SHA-256 of the file"`
}

// PresignedRequestView is a request the client sends to storage itself.
type PresignedRequestView struct {
	Method    string            `json:"method" enum:"PUT"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers" doc:"Send every one of these headers, unchanged (they are signed)"`
	ExpiresAt time.Time         `json:"expires_at" doc:"The URL is refused after this instant"`
}

// UploadView answers the first step of a presigned upload.
type UploadView struct {
	Attachment AttachmentView       `json:"attachment"`
	Upload     PresignedRequestView `json:"upload"`
}

// attachmentPath is the input of routes with only an id. (huma binds no
// parameters of an embedded struct of an unexported type: routes with more
// input spell the id field out.)
type attachmentPath struct {
	ID string `path:"id" maxLength:"64"`
}

type bodyKey struct{}

// withBody hands the raw request body to the multipart handler, which
// streams it instead of letting huma parse the whole form.
func withBody(ctx huma.Context, next func(huma.Context)) {
	next(huma.WithValue(ctx, bodyKey{}, ctx.BodyReader()))
}

const uploadFlows = "Two ways to upload:\n\n" +
	"1. **Multipart** (files up to the configured limit, 4 MiB by default): `POST /api/v1/findings/{id}/attachments` " +
	"with `multipart/form-data` and the file in the field `file`; the answer (201) is the available attachment.\n" +
	"2. **Presigned** (files up to 25 MiB): `POST /api/v1/findings/{id}/attachments/uploads` with " +
	"`{file_name, content_type, size, sha256}` answers a pending attachment and a presigned `PUT` (valid a few minutes) " +
	"bound to that exact size, content type and SHA-256; send the file with every header of `upload.headers`, then " +
	"`POST /api/v1/attachments/{id}/confirm`. Rampart reads the stored object back, checks size, SHA-256 and type, and " +
	"only then lists the attachment. Unconfirmed uploads lapse after a day.\n\n" +
	"Either way the type is sniffed from the bytes and must be on the allow-list (images PNG/JPEG/GIF/WebP, PDF, text, " +
	"CSV, JSON, HAR, XML, pcap/pcapng, zip, docx/xlsx/pptx, odt/ods/odp, HTML, SVG); anything else, executables above " +
	"all, is 415 whatever the file is called. HTML, SVG and XML are stored and downloaded as " +
	"`application/octet-stream`. Every download forces `Content-Disposition: attachment`."

// Register adds the attachment routes.
func (h *Attachments) Register(api huma.API) {
	tags := []string{"Attachments"}
	svc := h.Attachments
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "list-attachments", Method: http.MethodGet, Path: "/api/v1/findings/{id}/attachments",
		Summary: "Attachments of a finding (oldest first)", Tags: tags,
		Description: "Available attachments only; pending presigned uploads are not listed. `total` comes from a counter.",
	}, func(ctx context.Context, in *struct {
		ID string `path:"id" maxLength:"64"`
		httpapi.PageQuery
	}) (*httpapi.PageOutput[AttachmentView], error) {
		p, err := svc.List(ctx, httpapi.PrincipalFrom(ctx), in.ID, in.Request())
		if err != nil {
			return nil, err
		}
		return httpapi.NewPage(p, NewAttachmentView), nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "upload-attachment", Method: http.MethodPost, Path: "/api/v1/findings/{id}/attachments",
		Summary: "Upload a file (multipart, field file)", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: fmt.Sprintf("The file goes in the `file` field of a `multipart/form-data` body; at most %d bytes "+
			"(413 above, with the limit in the detail; larger files use the presigned upload).\n\n", svc.MaxUpload()) + uploadFlows,
		Errors:      []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity},
		Middlewares: huma.Middlewares{withBody},
		// The schema is added after registration: with a schema huma would
		// read and decode the whole body itself.
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
			"multipart/form-data": {Encoding: map[string]*huma.Encoding{"file": {ContentType: "application/octet-stream"}}},
		}},
	}, func(ctx context.Context, in *struct {
		ID          string `path:"id" maxLength:"64"`
		ContentType string `header:"Content-Type"`
	}) (*struct{ Body AttachmentView }, error) {
		body, _ := ctx.Value(bodyKey{}).(io.Reader)
		a, err := h.upload(ctx, in.ID, in.ContentType, body)
		if err != nil {
			return nil, err
		}
		return &struct{ Body AttachmentView }{Body: NewAttachmentView(a)}, nil
	})
	if item := api.OpenAPI().Paths["/api/v1/findings/{id}/attachments"]; item != nil && item.Post != nil {
		item.Post.RequestBody.Content["multipart/form-data"].Schema = &huma.Schema{Type: "object", Required: []string{"file"},
			Properties: map[string]*huma.Schema{"file": {Type: "string", Format: "binary",
				Description: "The file; its name (the part's filename) is kept, sanitised, as metadata"}}}
	}
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "start-attachment-upload", Method: http.MethodPost, Path: "/api/v1/findings/{id}/attachments/uploads",
		Summary: "Start a presigned upload (files up to 25 MiB)", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: fmt.Sprintf("Creates a pending attachment (it lapses after a day unless confirmed) and answers a "+
			"presigned `PUT` of at most %d bytes, bound to the declared size, content type and SHA-256: storage refuses "+
			"any other body. Send it with every header of `upload.headers`, then confirm.\n\n", svc.MaxPresigned()) + uploadFlows,
		Errors: []int{http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"64"`
		Body UploadRequest
	}) (*struct{ Body UploadView }, error) {
		a, ps, err := svc.StartUpload(ctx, httpapi.PrincipalFrom(ctx), in.ID, attachments.NewUpload{
			FileName: in.Body.FileName, ContentType: in.Body.ContentType, Size: in.Body.Size, SHA256: in.Body.SHA256})
		if err != nil {
			return nil, err
		}
		return &struct{ Body UploadView }{Body: UploadView{Attachment: NewAttachmentView(a), Upload: PresignedRequestView{
			Method: ps.Method, URL: ps.URL, Headers: ps.Headers, ExpiresAt: ps.ExpiresAt}}}, nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "confirm-attachment-upload", Method: http.MethodPost, Path: "/api/v1/attachments/{id}/confirm",
		Summary: "Confirm a presigned upload", Tags: tags,
		Description: "Reads the uploaded object back and checks its size and SHA-256 against the declared ones and its " +
			"sniffed type against the allow-list; then moves it under the organization's attachments and lists it " +
			"(status `available`). A mismatch is 422 (415 for a disallowed type): the upload and the pending attachment " +
			"are deleted and nothing is listed. Confirming before the PUT is 409 (the attachment stays pending). " +
			"Confirming an available attachment again returns it.\n\n" + uploadFlows,
		Errors: []int{http.StatusConflict, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *attachmentPath) (*struct{ Body AttachmentView }, error) {
		a, err := svc.Confirm(ctx, httpapi.PrincipalFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &struct{ Body AttachmentView }{Body: NewAttachmentView(a)}, nil
	})
	httpapi.Register(api, httpapi.Viewer, huma.Operation{
		OperationID: "download-attachment", Method: http.MethodGet, Path: "/api/v1/attachments/{id}/download",
		Summary: "Download an attachment (302 to a short-lived presigned URL)", Tags: tags, DefaultStatus: http.StatusFound,
		Description: "Redirects to a presigned storage URL valid a few minutes (5 by default) whose answer carries " +
			"`Content-Disposition: attachment; filename=\"<ASCII fallback>\"; filename*=UTF-8''<name>` and the stored " +
			"content type (`application/octet-stream` for HTML, SVG and XML), so that nothing renders inline. Access to " +
			"the finding is checked before the URL is signed. A pending attachment is 409.",
		Errors: []int{http.StatusConflict},
	}, func(ctx context.Context, in *attachmentPath) (*struct {
		Location string `header:"Location" doc:"Presigned download URL"`
	}, error) {
		u, err := svc.DownloadURL(ctx, httpapi.PrincipalFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &struct {
			Location string `header:"Location" doc:"Presigned download URL"`
		}{Location: u}, nil
	})
	httpapi.Register(api, httpapi.Auditor, huma.Operation{
		OperationID: "delete-attachment", Method: http.MethodDelete, Path: "/api/v1/attachments/{id}",
		Summary: "Delete an attachment (object and record)", Tags: tags, DefaultStatus: http.StatusNoContent,
		Description: "Removes the stored object, then the record; pending attachments too.",
	}, func(ctx context.Context, in *attachmentPath) (*struct{}, error) {
		if err := svc.Delete(ctx, httpapi.PrincipalFrom(ctx), in.ID); err != nil {
			return nil, err
		}
		return &struct{}{}, nil
	})
}

// upload streams a multipart body to the first part named file; the service
// authorizes the finding before the body is parsed, and reads at most the
// limit plus one byte of the file.
func (h *Attachments) upload(ctx context.Context, findingID, contentType string, body io.Reader) (attachments.Attachment, error) {
	var part *multipart.Part
	defer func() {
		if part != nil {
			_ = part.Close()
		}
	}()
	return h.Attachments.Upload(ctx, httpapi.PrincipalFrom(ctx), findingID, func() (string, io.Reader, error) {
		mt, params, err := mime.ParseMediaType(contentType)
		if err != nil || mt != "multipart/form-data" || params["boundary"] == "" || body == nil {
			return "", nil, domain.E(domain.KindUnsupported,
				"send the file as multipart/form-data in the field file (or use the presigned upload)")
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err = mr.NextPart()
			if errors.Is(err, io.EOF) {
				return "", nil, domain.Invalid("the field file is missing", domain.FieldError{Location: "body.file", Message: "required"})
			}
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return "", nil, attachments.TooLarge(h.Attachments.MaxUpload(), "")
				}
				return "", nil, domain.Wrap(domain.KindMalformed, err, "malformed multipart body")
			}
			if part.FormName() == "file" {
				return partFileName(part), part, nil
			}
		}
	})
}

// partFileName is the file name as the client sent it (with its path, if
// any: the service sanitises it); Part.FileName would already strip it.
func partFileName(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return p.FileName()
	}
	return params["filename"]
}
