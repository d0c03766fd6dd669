// Command assets serves assets and their CSV import (families A and B).
package main

import (
	"rampart/shared/httpapi"
	"rampart/shared/platform"
)

func main() { platform.RunHTTP(newServer) }

func newServer(p *platform.Platform) (*httpapi.Server, error) {
	// The CSV import takes files of up to 5 MiB: more than the default cap.
	p.ImportBodyCap()
	srv, err := p.Server()
	if err != nil {
		return nil, err
	}
	p.AssetRoutes().Register(srv.API)
	return srv, nil
}
