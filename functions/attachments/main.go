// Command attachments serves the files attached to findings: multipart and
// presigned uploads, confirmation, listing, presigned downloads and deletion.
package main

import (
	"rampart/shared/httpapi"
	"rampart/shared/platform"
)

func main() { platform.RunHTTP(newServer) }

func newServer(p *platform.Platform) (*httpapi.Server, error) {
	p.AttachmentBodyCap()
	srv, err := p.Server()
	if err != nil {
		return nil, err
	}
	p.AttachmentRoutes().Register(srv.API)
	return srv, nil
}
