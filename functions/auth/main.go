// Command auth serves sign-in, tokens, single sign-on and the caller's
// profile. It is the only function that holds the token signing key.
package main

import (
	"context"

	"rampart/shared/httpapi"
	"rampart/shared/platform"
)

func main() {
	platform.RunHTTP(func(p *platform.Platform) (*httpapi.Server, error) { return newServer(context.Background(), p) })
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
