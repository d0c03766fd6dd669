package platform

import (
	"context"

	"rampart/shared/domain"
	"rampart/shared/routes"
	"rampart/shared/taxonomy"
	"rampart/shared/templates"
)

// TaxonomyService builds the taxonomy service.
func (p *Platform) TaxonomyService() *taxonomy.Service {
	return &taxonomy.Service{Store: p.Store(), Clock: domain.SystemClock}
}

// TemplateService builds the template service; severity and category are
// checked against the organization's current taxonomy.
func (p *Platform) TemplateService() *templates.Service {
	st := p.Store()
	return &templates.Service{Store: st, Taxonomy: st, Clock: domain.SystemClock}
}

// TaxonomyRoutes builds the handlers of the taxonomy function.
func (p *Platform) TaxonomyRoutes() *routes.Taxonomy {
	return &routes.Taxonomy{Service: p.TaxonomyService()}
}

// TemplateRoutes builds the handlers of the templates function.
func (p *Platform) TemplateRoutes() *routes.Templates {
	return &routes.Templates{Service: p.TemplateService()}
}

// SeedOrganization gives a new organization the built-in taxonomy version 1
// and the built-in templates. Both steps write only what is missing, so a
// retry after a partial failure completes the seeding without duplicating
// anything.
func (p *Platform) SeedOrganization(ctx context.Context, orgID string) error {
	if err := p.TaxonomyService().Seed(ctx, orgID); err != nil {
		return err
	}
	return p.TemplateService().Seed(ctx, orgID)
}
