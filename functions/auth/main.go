// Command auth serves sign-in, tokens, single sign-on and the caller's
// profile. It is the only function that holds the token signing key.
package main

import (
	"context"

	"rampart/shared/httpapi"
	"rampart/shared/platform"
)

func main() {
	ctx := context.Background()
	p, err := platform.New(ctx)
	if err != nil {
		platform.Fatal(err)
	}
	srv, err := newServer(ctx, p)
	if err != nil {
		platform.Fatal(err)
	}
	if err := p.Serve(srv); err != nil {
		platform.Fatal(err)
	}
}

func newServer(ctx context.Context, p *platform.Platform) (*httpapi.Server, error) {
	srv, err := p.Server()
	if err != nil {
		return nil, err
	}
	a, err := p.AuthRoutes(ctx)
	if err != nil {
		return nil, err
	}
	a.Register(srv.API)
	return srv, nil
}
