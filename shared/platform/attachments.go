package platform

import (
	"rampart/shared/attachments"
	"rampart/shared/domain"
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
// findings service's Get, so that a client member reaches only its client's
// findings' attachments. The scan and
// finding deletion code calls its DeleteFindingAttachments.
func (p *Platform) Attachments() *attachments.Service {
	return &attachments.Service{
		Store:    p.Store(),
		Objects:  p.Bucket(),
		Findings: p.Findings(),
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

// AttachmentBodyCap raises the configured server-wide body cap to what the
// multipart upload needs: the upload limit plus its framing, and up to the
// Lambda payload ceiling, so that an oversized file is read only to its limit
// and answered 413 with the limit in the detail. Call it before Server in a
// process that serves AttachmentRoutes. Operations with a JSON body keep
// huma's own 1 MiB limit.
func (p *Platform) AttachmentBodyCap() {
	p.Config.MaxBodyBytes = max(p.Config.MaxBodyBytes, p.Config.MaxUploadBytes+uploadOverhead, lambdaPayload)
}
