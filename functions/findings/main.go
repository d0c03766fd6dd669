// Command findings serves findings: lists, statistics, changes with history,
// bulk updates.
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
	p.FindingRoutes().Register(srv.API)
	return srv, nil
}
