// Command sessions serves the A family's assessment sessions.
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
	p.SessionRoutes().Register(srv.API)
	return srv, nil
}
