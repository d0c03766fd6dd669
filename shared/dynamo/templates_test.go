package dynamo_test

// Contract tests of templates.Store on DynamoDB Local (fail without emulators).

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/templates"
	"rampart/shared/testenv"
)

func newTemplate(title, severity, category string) domain.Template {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return domain.Template{ID: domain.NewIDAt(now), Title: title, Severity: severity, Category: category,
		Description: "d " + title, References: []string{"https://example.com/" + title}, CreatedAt: now, UpdatedAt: now}
}

func templateTotal(t *testing.T, s *dynamo.Store, org string) int {
	t.Helper()
	p, err := s.ListTemplates(taxCtx(t), org, templates.Filter{}, domain.PageRequest{Page: 1, PerPage: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}

func TestTemplateStoreCRUD(t *testing.T) {
	s := testenv.Platform(t).Store()
	ctx, org, other := taxCtx(t), domain.NewID(), domain.NewID()
	tp := newTemplate("xss", "medium", "vulnerability")
	tp.CVSSVector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"
	if err := s.CreateTemplate(ctx, org, tp); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTemplate(ctx, org, tp.ID)
	if err != nil || got.Version != 1 || got.Title != "xss" || got.CVSSVector != tp.CVSSVector ||
		!slices.Equal(got.References, tp.References) || !got.CreatedAt.Equal(tp.CreatedAt) || got.BuiltIn {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if n := templateTotal(t, s, org); n != 1 {
		t.Fatalf("total %d, want 1", n)
	}
	// Another organization, junk ids and unknown ids are not found.
	for _, c := range []struct{ org, id string }{{other, tp.ID}, {org, "junk"}, {org, domain.NewID()}} {
		_, err := s.GetTemplate(ctx, c.org, c.id)
		taxWantKind(t, err, domain.KindNotFound, "get "+c.id)
		_, err = s.UpdateTemplate(ctx, c.org, c.id, 0, func(*domain.Template) error { return nil })
		taxWantKind(t, err, domain.KindNotFound, "update "+c.id)
		taxWantKind(t, s.DeleteTemplate(ctx, c.org, c.id), domain.KindNotFound, "delete "+c.id)
	}

	upd, err := s.UpdateTemplate(ctx, org, tp.ID, 1, func(x *domain.Template) error {
		x.Title, x.References = "Stored XSS", nil
		x.ID, x.BuiltIn = "hijack", true // ignored: id and built_in are not writable
		return nil
	})
	if err != nil || upd.Version != 2 || upd.Title != "Stored XSS" || upd.ID != tp.ID || upd.BuiltIn {
		t.Fatalf("update = %+v, %v", upd, err)
	}
	got, _ = s.GetTemplate(ctx, org, tp.ID)
	if got.Version != 2 || got.Title != "Stored XSS" || len(got.References) != 0 || got.References == nil {
		t.Fatalf("after update = %+v", got)
	}
	_, err = s.UpdateTemplate(ctx, org, tp.ID, 1, func(*domain.Template) error { return nil })
	taxWantKind(t, err, domain.KindPrecondition, "update with a stale version")
	_, err = s.UpdateTemplate(ctx, org, tp.ID, 0, func(*domain.Template) error { return domain.Invalid("no") })
	taxWantKind(t, err, domain.KindInvalid, "update whose closure refuses")

	if err := s.DeleteTemplate(ctx, org, tp.ID); err != nil {
		t.Fatal(err)
	}
	taxWantKind(t, s.DeleteTemplate(ctx, org, tp.ID), domain.KindNotFound, "delete twice")
	_, err = s.GetTemplate(ctx, org, tp.ID)
	taxWantKind(t, err, domain.KindNotFound, "get after delete")
	if n := templateTotal(t, s, org); n != 0 {
		t.Fatalf("total after delete %d, want 0", n)
	}
}

func TestTemplateStoreConcurrentUpdatesLoseNothing(t *testing.T) {
	s := testenv.Platform(t).Store()
	ctx, org := taxCtx(t), domain.NewID()
	tp := newTemplate("base", "low", "")
	tp.References = nil
	if err := s.CreateTemplate(ctx, org, tp); err != nil {
		t.Fatal(err)
	}
	const n = 4
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := fmt.Sprintf("https://example.com/%d", i)
			var err error
			for range 5 { // the store retries; a persistent collision is a Conflict to retry
				_, err = s.UpdateTemplate(ctx, org, tp.ID, 0, func(x *domain.Template) error {
					x.References = append(x.References, ref)
					return nil
				})
				if !domain.Is(err, domain.KindConflict) {
					break
				}
			}
			if err != nil {
				t.Errorf("update %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	got, _ := s.GetTemplate(ctx, org, tp.ID)
	if len(got.References) != n || got.Version != n+1 {
		t.Fatalf("after %d concurrent updates: %d references, version %d", n, len(got.References), got.Version)
	}
}

func TestTemplateStoreListPagesAndFilters(t *testing.T) {
	s := testenv.Platform(t).Store()
	ctx, org := taxCtx(t), domain.NewID()
	empty, err := s.ListTemplates(ctx, org, templates.Filter{}, domain.PageRequest{Page: 1, PerPage: 25})
	if err != nil || empty.Total != 0 || len(empty.Items) != 0 || empty.Pages() != 0 {
		t.Fatalf("empty list = %+v, %v", empty, err)
	}
	var ids []string
	for i := range 7 {
		sev := []string{"high", "low"}[i%2]
		tp := newTemplate(fmt.Sprintf("T%d", i), sev, "tls")
		ids = append(ids, tp.ID)
		if err := s.CreateTemplate(ctx, org, tp); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	for page := 1; page <= 3; page++ {
		p, err := s.ListTemplates(ctx, org, templates.Filter{}, domain.PageRequest{Page: page, PerPage: 3})
		if err != nil || p.Total != 7 || p.Pages() != 3 {
			t.Fatalf("page %d: total %d, %v", page, p.Total, err)
		}
		for _, it := range p.Items {
			seen = append(seen, it.ID)
		}
	}
	if !slices.Equal(seen, ids) {
		t.Fatalf("pages gave %v, want %v in id order", seen, ids)
	}
	p4, err := s.ListTemplates(ctx, org, templates.Filter{}, domain.PageRequest{Page: 4, PerPage: 3})
	if err != nil || len(p4.Items) != 0 || p4.Total != 7 {
		t.Fatalf("page past the end = %d items, %v", len(p4.Items), err)
	}
	p1, _ := s.ListTemplates(ctx, org, templates.Filter{}, domain.PageRequest{Page: 1, PerPage: 3})
	pc, err := s.ListTemplates(ctx, org, templates.Filter{}, domain.PageRequest{Page: 1, PerPage: 3, Cursor: p1.NextCursor})
	if err != nil || len(pc.Items) != 3 || pc.Items[0].ID != ids[3] {
		t.Fatalf("cursor page = %+v, %v", pc.Items, err)
	}
	_, err = s.ListTemplates(ctx, domain.NewID(), templates.Filter{}, domain.PageRequest{Page: 1, PerPage: 3, Cursor: p1.NextCursor})
	taxWantKind(t, err, domain.KindInvalid, "another organization's cursor")

	high, err := s.ListTemplates(ctx, org, templates.Filter{Severity: "high"}, domain.PageRequest{Page: 1, PerPage: 2})
	if err != nil || high.Total != 4 || len(high.Items) != 2 || high.Items[0].Severity != "high" {
		t.Fatalf("severity filter = total %d items %d, %v", high.Total, len(high.Items), err)
	}
	q, err := s.ListTemplates(ctx, org, templates.Filter{Query: "t6"}, domain.PageRequest{Page: 1, PerPage: 25})
	if err != nil || q.Total != 1 || q.Items[0].Title != "T6" {
		t.Fatalf("q filter = %+v, %v", q, err)
	}
	none, err := s.ListTemplates(ctx, org, templates.Filter{Category: "dns"}, domain.PageRequest{Page: 1, PerPage: 25})
	if err != nil || none.Total != 0 || len(none.Items) != 0 {
		t.Fatalf("category filter = %+v, %v", none, err)
	}
}

func TestTemplateStoreSeedIsIdempotent(t *testing.T) {
	s := testenv.Platform(t).Store()
	ctx, org := taxCtx(t), domain.NewID()
	builtin := templates.Builtin(time.Now().UTC())
	// A partial earlier seeding wrote two of them.
	n, err := s.SeedTemplates(ctx, org, builtin[:2])
	if err != nil || n != 2 {
		t.Fatalf("partial seed = %d, %v", n, err)
	}
	n, err = s.SeedTemplates(ctx, org, builtin)
	if err != nil || n != len(builtin)-2 {
		t.Fatalf("completing seed wrote %d, %v; want %d", n, err, len(builtin)-2)
	}
	n, err = s.SeedTemplates(ctx, org, builtin)
	if err != nil || n != 0 {
		t.Fatalf("repeated seed wrote %d, %v", n, err)
	}
	if total := templateTotal(t, s, org); total != len(builtin) {
		t.Fatalf("total %d, want %d", total, len(builtin))
	}
	p, err := s.ListTemplates(ctx, org, templates.Filter{}, domain.PageRequest{Page: 1, PerPage: 100})
	if err != nil || len(p.Items) != len(builtin) {
		t.Fatalf("list %d items, %v", len(p.Items), err)
	}
	for i, it := range p.Items {
		if it.ID != builtin[i].ID || !it.BuiltIn {
			t.Fatalf("item %d = %s built_in %v, want %s", i, it.ID, it.BuiltIn, builtin[i].ID)
		}
	}
	// Concurrent seedings of a fresh organization write each template once.
	org2 := domain.NewID()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.SeedTemplates(ctx, org2, builtin); err != nil {
				t.Errorf("concurrent seed: %v", err)
			}
		}()
	}
	wg.Wait()
	if total := templateTotal(t, s, org2); total != len(builtin) {
		t.Fatalf("total after concurrent seeding %d, want %d", total, len(builtin))
	}
}
