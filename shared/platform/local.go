package platform

import (
	"context"

	"rampart/shared/health"
	"rampart/shared/httpapi"
)

// LocalServer registers every function's routes on one server, as API
// Gateway routes them to separate functions in AWS: the local server of
// `make run`, and the whole API for tests.
func (p *Platform) LocalServer(ctx context.Context) (*httpapi.Server, error) {
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
