package platform_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/platform"
	"rampart/shared/templates"
	"rampart/shared/testenv"
)

// seededCounts returns the organization's number of taxonomy versions, its
// current version and its number of templates (total and items listed).
func seededCounts(t *testing.T, p *platform.Platform, org string) (versions, current, tplTotal, tplItems int) {
	t.Helper()
	ctx := context.Background()
	vs, err := p.TaxonomyService().Versions(ctx, org, domain.PageRequest{Page: 1, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := p.TaxonomyService().Current(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := p.TemplateService().List(ctx, org, templates.Filter{}, domain.PageRequest{Page: 1, PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	return vs.Total, cur.Version, tp.Total, len(tp.Items)
}

func TestOrgCreatedSeedsOnce(t *testing.T) {
	p := testenv.Platform(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	builtin := len(templates.Builtin(time.Now()))

	org := domain.NewID()
	for range 2 {
		if err := p.OrgCreated(ctx, org); err != nil {
			t.Fatalf("OrgCreated: %v", err)
		}
	}
	if v, cur, total, items := seededCounts(t, p, org); v != 1 || cur != 1 || total != builtin || items != builtin {
		t.Fatalf("after OrgCreated twice: %d versions (current %d), %d templates (%d listed); want 1, 1, %d", v, cur, total, items, builtin)
	}

	// Concurrent calls (a retried request racing the first one).
	org2 := domain.NewID()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.OrgCreated(ctx, org2); err != nil {
				t.Errorf("concurrent OrgCreated: %v", err)
			}
		}()
	}
	wg.Wait()
	if v, cur, total, items := seededCounts(t, p, org2); v != 1 || cur != 1 || total != builtin || items != builtin {
		t.Fatalf("after concurrent OrgCreated: %d versions (current %d), %d templates (%d listed)", v, cur, total, items)
	}

	// A retry after a partial failure completes the seeding: here the
	// taxonomy and two templates were written before the failure.
	org3 := domain.NewID()
	if err := p.TaxonomyService().Seed(ctx, org3); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Store().SeedTemplates(ctx, org3, templates.Builtin(time.Now())[:2]); err != nil {
		t.Fatal(err)
	}
	if err := p.OrgCreated(ctx, org3); err != nil {
		t.Fatalf("OrgCreated after a partial seeding: %v", err)
	}
	if v, cur, total, items := seededCounts(t, p, org3); v != 1 || cur != 1 || total != builtin || items != builtin {
		t.Fatalf("after a completed partial seeding: %d versions (current %d), %d templates (%d listed)", v, cur, total, items)
	}

	// Seeding never undoes the organization's own changes to its taxonomy.
	doms := map[string][]domain.TaxonomyValue{}
	cur, _ := p.TaxonomyService().Current(ctx, org)
	for k, v := range cur.Domains {
		doms[k] = v
	}
	if _, err := p.TaxonomyService().Create(ctx, org, "someone", doms, "body.domains"); err != nil {
		t.Fatal(err)
	}
	if err := p.OrgCreated(ctx, org); err != nil {
		t.Fatal(err)
	}
	if v, c, _, _ := seededCounts(t, p, org); v != 2 || c != 2 {
		t.Fatalf("OrgCreated after a new version: %d versions, current %d", v, c)
	}
}

// An organization whose seeding failed and was never retried still has the
// built-in version 1: reads serve it, and the first write stores it first.
func TestTaxonomyOfAnUnseededOrganization(t *testing.T) {
	p := testenv.Platform(t)
	ctx := context.Background()
	svc := p.TaxonomyService()
	org := domain.NewID()
	cur, err := svc.Current(ctx, org)
	if err != nil || cur.Version != 1 || !cur.Active {
		t.Fatalf("current = v%d, %v", cur.Version, err)
	}
	if _, err := svc.Activate(ctx, org, 1); err != nil {
		t.Fatalf("activate v1 of an unseeded org: %v", err)
	}
	org2 := domain.NewID()
	v, err := svc.Create(ctx, org2, "admin", cur.Domains, "body.domains")
	if err != nil || v.Version != 2 {
		t.Fatalf("create in an unseeded org = v%d, %v", v.Version, err)
	}
	vs, err := svc.Versions(ctx, org2, domain.PageRequest{Page: 1, PerPage: 10})
	if err != nil || vs.Total != 2 || vs.Items[1].Version != 1 || vs.Items[1].CreatedBy != "system" || !vs.Items[0].Active {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	_, err = svc.Activate(ctx, org2, 3)
	if de, ok := err.(*domain.Error); !ok || de.Kind != domain.KindInvalid || de.Fields[0].Location != "body.version" {
		t.Fatalf("activate unknown = %v", err)
	}
}
