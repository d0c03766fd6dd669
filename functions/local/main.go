// Command local serves every route group of Rampart from one process, with
// the workers in-process: `make run` starts it against the local emulators.
// With -openapi it prints the live OpenAPI document and exits.
package main

import (
	"context"
	"flag"
	"os"

	"rampart/shared/health"
	"rampart/shared/httpapi"
	"rampart/shared/platform"
)

func main() {
	printSpec := flag.Bool("openapi", false, "print the OpenAPI document and exit")
	flag.Parse()
	ctx := context.Background()
	p, err := platform.New(ctx)
	if err != nil {
		platform.Fatal(err)
	}
	srv := compose(p)
	if *printSpec {
		b, err := httpapi.LiveSpec(srv.API)()
		if err != nil {
			platform.Fatal(err)
		}
		_, _ = os.Stdout.Write(append(b, '\n'))
		return
	}
	if err := p.Bootstrap(ctx); err != nil {
		platform.Fatal(err)
	}
	if err := p.Serve(srv); err != nil {
		platform.Fatal(err)
	}
}

// compose registers every function's routes on one server, as API Gateway
// routes them to separate functions in AWS.
func compose(p *platform.Platform) *httpapi.Server {
	srv := p.Server()
	health.Register(srv.API, p.HealthChecks())
	srv.RegisterDocs(httpapi.DocsOptions{Spec: httpapi.LiveSpec(srv.API), RequireAuth: p.Config.DocsRequireAuth})
	srv.RegisterLegacy(p.Config.LegacySunset)
	return srv
}
