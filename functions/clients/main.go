// Command clients serves the A family's clients of the current organization.
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
	p.ClientRoutes().Register(srv.API)
	return srv, nil
}
