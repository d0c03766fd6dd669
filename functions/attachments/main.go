// Command attachments serves the files attached to findings: multipart and
// presigned uploads, confirmation, listing, presigned downloads and deletion.
package main

import (
	"context"

	"rampart/shared/httpapi"
	"rampart/shared/platform"
)

func main() {
	p, err := platform.New(context.Background())
	if err != nil {
		platform.Fatal(err)
	}
	srv, err := newServer(p)
	if err != nil {
		platform.Fatal(err)
	}
	if err := p.Serve(srv); err != nil {
		platform.Fatal(err)
	}
}

func newServer(p *platform.Platform) (*httpapi.Server, error) {
	p.AttachmentBodyCap()
	srv, err := p.Server()
	if err != nil {
		return nil, err
	}
	p.AttachmentRoutes().Register(srv.API)
	return srv, nil
}
