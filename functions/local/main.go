// Command local serves every route group of Rampart from one process, with
// the workers in-process: `make run` starts it against the local emulators.
// With -openapi it prints the live OpenAPI document and exits.
package main

import (
	"context"
	"flag"
	"fmt"
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
	srv, err := compose(ctx, p)
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

// compose registers every function's routes on one server, as API Gateway
// routes them to separate functions in AWS.
func compose(ctx context.Context, p *platform.Platform) (*httpapi.Server, error) {
	// One server takes the bodies of every function: the largest cap applies
	// (each route still sets its own limit).
	p.AttachmentBodyCap()
	p.ImportBodyCap()
	srv, err := p.Server()
	if err != nil {
		return nil, err
	}
	health.Register(srv.API, p.HealthChecks())
	authRoutes, err := p.AuthRoutes(ctx)
	if err != nil {
		return nil, err
	}
	authRoutes.Register(srv.API)
	members, err := p.MemberRoutes()
	if err != nil {
		return nil, err
	}
	members.RegisterUsers(srv.API)
	members.RegisterOrganizations(srv.API)
	p.ClientRoutes().Register(srv.API)
	p.AssetRoutes().Register(srv.API)
	p.SessionRoutes().Register(srv.API)
	p.FindingRoutes().Register(srv.API)
	p.AttachmentRoutes().Register(srv.API)
	p.TaxonomyRoutes().Register(srv.API)
	p.TemplateRoutes().Register(srv.API)
	scanRoutes, err := p.ScanRoutes()
	if err != nil {
		return nil, err
	}
	scanRoutes.Register(srv.API)
	scheduleRoutes, err := p.ScheduleRoutes()
	if err != nil {
		return nil, err
	}
	scheduleRoutes.Register(srv.API)
	reportRoutes, err := p.ReportRoutes()
	if err != nil {
		return nil, err
	}
	reportRoutes.Register(srv.API)
	srv.RegisterDocs(httpapi.DocsOptions{Spec: httpapi.LiveSpec(srv.API), RequireAuth: p.Config.DocsRequireAuth})
	srv.RegisterLegacy(p.Config.LegacySunset)
	return srv, nil
}
