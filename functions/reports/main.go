// Command reports serves /reports: queued report generation, status and
// downloads (family B) and the per-session report routes (family A). It
// writes export records and starts the report state machine.
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
	r, err := p.ReportRoutes()
	if err != nil {
		return nil, err
	}
	r.Register(srv.API)
	return srv, nil
}
