// Command scans serves the scan API; it queues scans on the event bus for the
// scan worker.
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
	r, err := p.ScanRoutes()
	if err != nil {
		return nil, err
	}
	r.Register(srv.API)
	return srv, nil
}
