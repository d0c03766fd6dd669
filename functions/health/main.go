// Command health serves the health routes, the API documentation and the
// legacy unversioned paths.
package main

import (
	"rampart"
	"rampart/shared/health"
	"rampart/shared/httpapi"
	"rampart/shared/platform"
)

func main() { platform.RunHTTP(newServer) }

func newServer(p *platform.Platform) (*httpapi.Server, error) {
	srv, err := p.Server()
	if err != nil {
		return nil, err
	}
	health.Register(srv.API, p.HealthChecks())
	srv.RegisterDocs(httpapi.DocsOptions{
		Spec:        func() ([]byte, error) { return rampart.OpenAPISnapshot, nil },
		RequireAuth: p.Config.DocsRequireAuth,
	})
	srv.RegisterLegacy(p.Config.LegacySunset)
	return srv, nil
}
