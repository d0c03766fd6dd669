// Command users serves the A family's admin views of the current organization's members.
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
	m, err := p.MemberRoutes()
	if err != nil {
		return nil, err
	}
	m.RegisterUsers(srv.API)
	return srv, nil
}
