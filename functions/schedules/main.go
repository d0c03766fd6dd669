// Command schedules serves the scan schedule API; "run now" queues a scan on
// the event bus for the scan worker.
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
	r, err := p.ScheduleRoutes()
	if err != nil {
		return nil, err
	}
	r.Register(srv.API)
	return srv, nil
}
