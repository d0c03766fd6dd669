package platform

// The assessment capabilities: clients, assets (with the CSV import) and
// assessment sessions.

import (
	"time"

	"rampart/shared/assets"
	"rampart/shared/clients"
	"rampart/shared/domain"
	"rampart/shared/routes"
	"rampart/shared/sessions"
)

// ClientRoutes builds the handlers of the clients function.
func (p *Platform) ClientRoutes() *routes.Clients {
	return &routes.Clients{Service: &clients.Service{Store: p.Store(), Clock: domain.SystemClock}}
}

// AssetService builds the asset service. Targets are checked against the
// scanner's SSRF guard with the system resolver.
func (p *Platform) AssetService() *assets.Service {
	return &assets.Service{
		Store: p.Store(), Orgs: p.Store(), Taxonomy: p.Store(), Clock: domain.SystemClock,
		Guard: assets.SSRFGuard{Timeout: 3 * time.Second},
	}
}

// AssetRoutes builds the handlers of the assets function. A server that
// serves them needs a body cap of at least routes.ImportMaxRequestBytes
// (see ImportBodyCap).
func (p *Platform) AssetRoutes() *routes.Assets {
	return &routes.Assets{Service: p.AssetService()}
}

// ImportBodyCap raises the configured server-wide body cap to what the CSV
// import needs; call it before Server in a process that serves AssetRoutes.
// Operations with a JSON body keep huma's own 1 MiB limit.
func (p *Platform) ImportBodyCap() {
	p.Config.MaxBodyBytes = max(p.Config.MaxBodyBytes, routes.ImportMaxRequestBytes)
}

// SessionRoutes builds the handlers of the sessions function.
func (p *Platform) SessionRoutes() *routes.AssessmentSessions {
	return &routes.AssessmentSessions{Service: &sessions.Service{Store: p.Store(), Taxonomy: p.Store(), Clock: domain.SystemClock}}
}
