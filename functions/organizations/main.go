// Command organizations serves organizations, members, roles and invitations.
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
	m.RegisterOrganizations(srv.API)
	return srv, nil
}
