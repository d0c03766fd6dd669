// Command taxonomy serves the organization's versioned taxonomy (/taxonomy).
package main

import (
	"rampart/shared/httpapi"
	"rampart/shared/platform"
)

func main() { platform.RunHTTP(newServer) }

func newServer(p *platform.Platform) (*httpapi.Server, error) {
	srv, err := p.Server()
	if err != nil {
		return nil, err
	}
	p.TaxonomyRoutes().Register(srv.API)
	return srv, nil
}
