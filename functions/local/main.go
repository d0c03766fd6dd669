// Command local serves every route group of Rampart from one process, with
// the workers in-process: `make run` starts it against the local emulators.
// With -openapi it prints the live OpenAPI document and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

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
	srv, err := p.LocalServer(ctx)
	if err != nil {
		platform.Fatal(err)
	}
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
	email, password, err := p.SeedAdmin(ctx)
	if err != nil {
		platform.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "\nRampart is starting on http://%s\n  admin: %s\n  password: %s\n  docs: http://%s/api/v1/docs\n\n",
		p.Config.Addr, email, password, p.Config.Addr)
	// No EventBridge rule locally: a ticker runs the schedule dispatcher
	// every RAMPART_DISPATCH_INTERVAL until the server shuts down.
	stopDispatcher, err := p.StartDispatcher(ctx)
	if err != nil {
		platform.Fatal(err)
	}
	if err := p.Serve(srv); err != nil {
		platform.Fatal(err)
	}
	stopDispatcher()
}
