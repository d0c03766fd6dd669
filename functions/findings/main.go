// Command findings serves findings: lists, statistics, changes with history,
// bulk updates.
package main

import (
	"context"

	"rampart/shared/httpapi"
	"rampart/shared/platform"
)

func main() {
	p, err := platform.New(context.Background())
	if err != nil {
		platform.Fatal(err)
	}
	srv, err := newServer(p)
	if err != nil {
		platform.Fatal(err)
	}
	if err := p.Serve(srv); err != nil {
		platform.Fatal(err)
	}
}

func newServer(p *platform.Platform) (*httpapi.Server, error) {
	srv, err := p.Server()
	if err != nil {
		return nil, err
	}
	p.FindingRoutes().Register(srv.API)
	return srv, nil
}
