package platform

import (
	"rampart/shared/attachments"
	"rampart/shared/domain"
	"rampart/shared/findings"
	"rampart/shared/httpapi"
	"rampart/shared/objects"
	"rampart/shared/routes"
)

// uploadOverhead is room for the multipart framing around a file.
const uploadOverhead = 64 << 10

// lambdaPayload is the Lambda request payload ceiling: nothing larger
// reaches a function, whatever Rampart allows.
const lambdaPayload = 6 << 20

// Bucket is the S3 bucket of this process.
func (p *Platform) Bucket() *objects.Bucket { return objects.NewBucket(p.AWS.S3, p.Config.Bucket) }

// Attachments builds the attachment service. It authorizes through the
// findings service's Get (which only needs the store), so that a client
// member reaches only its client's findings' attachments. The scan and
// finding deletion code calls its DeleteFindingAttachments.
func (p *Platform) Attachments() *attachments.Service {
	return &attachments.Service{
		Store:    p.Store(),
		Objects:  p.Bucket(),
		Findings: &findings.Service{Store: p.Store(), Clock: domain.SystemClock},
		Clock:    domain.SystemClock,
		Log:      p.Log,

		MaxUploadBytes: p.Config.MaxUploadBytes,
		UploadURLTTL:   p.Config.UploadURLTTL,
		DownloadURLTTL: p.Config.DownloadURLTTL,
	}
}

// AttachmentRoutes builds the handlers of the attachments function.
func (p *Platform) AttachmentRoutes() *routes.Attachments {
	return &routes.Attachments{Attachments: p.Attachments()}
}

// AttachmentBodyCap is the request body cap a server that serves the
// multipart upload needs: the upload limit plus its framing, and up to the
// Lambda payload ceiling so that an oversized file is read only to its limit
// and answered 413 with the limit in the detail.
func (p *Platform) AttachmentBodyCap() int64 {
	return max(p.Config.MaxBodyBytes, p.Config.MaxUploadBytes+uploadOverhead, lambdaPayload)
}

// AttachmentServer is the attachments function's server: Server with the
// body cap the multipart upload needs (other routes keep huma's own
// per-operation limit of 1 MiB).
func (p *Platform) AttachmentServer() (*httpapi.Server, error) {
	authn, err := p.Authenticator()
	if err != nil {
		return nil, err
	}
	return httpapi.New(httpapi.Options{
		Auth:         authn,
		MaxBodyBytes: p.AttachmentBodyCap(),
		Stage:        p.Config.Stage,
		Logger:       p.Log,
	}), nil
}
