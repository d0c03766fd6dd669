package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"rampart/shared/assets"
	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/testenv"
)

var asmT0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func asmAsset(i int, typ, target, client string, tags ...string) domain.Asset {
	now := asmT0.Add(time.Duration(i) * time.Second)
	if tags == nil {
		tags = []string{}
	}
	return domain.Asset{ID: domain.NewIDAt(now), Type: typ, Target: target, Name: fmt.Sprintf("asset %d %s", i, target),
		ClientID: client, Tags: tags, CreatedAt: now, UpdatedAt: now}
}

// asmList lists with a filter and returns the ids and the total.
func asmList(t *testing.T, s *dynamo.Store, org string, f assets.Filter) ([]string, int) {
	t.Helper()
	p, err := s.ListAssets(context.Background(), org, f, domain.PageRequest{Page: 1, PerPage: 100})
	if err != nil {
		t.Fatalf("list %+v: %v", f, err)
	}
	ids := []string{}
	for _, a := range p.Items {
		ids = append(ids, a.ID)
	}
	return ids, p.Total
}

func asmWantList(t *testing.T, s *dynamo.Store, org string, f assets.Filter, want ...domain.Asset) {
	t.Helper()
	ids, total := asmList(t, s, org, f)
	var w []string
	for _, a := range want {
		w = append(w, a.ID)
	}
	if w == nil {
		w = []string{}
	}
	if !slices.Equal(ids, w) || total != len(w) {
		t.Fatalf("list %+v = %v (total %d), want %v", f, ids, total, w)
	}
}

func TestAssetStoreIndexesCountersAndMarkers(t *testing.T) {
	s := testenv.Platform(t).Store()
	bg := context.Background()
	org, c1, c2 := domain.NewID(), domain.NewID(), domain.NewID()
	a1 := asmAsset(1, "domain", "example.com", c1, "web", "pci")
	a2 := asmAsset(2, "ip", "192.0.2.1", "", "web")
	a3 := asmAsset(3, "other", "", c1)
	a4 := asmAsset(4, "other", "", c2)
	for _, a := range []domain.Asset{a1, a2, a3, a4} {
		if err := s.CreateAsset(bg, org, a); err != nil {
			t.Fatal(err)
		}
	}
	// Newest first in every list; totals from counters.
	asmWantList(t, s, org, assets.Filter{}, a4, a3, a2, a1)
	asmWantList(t, s, org, assets.Filter{ClientID: c1}, a3, a1)
	asmWantList(t, s, org, assets.Filter{Type: "other"}, a4, a3)
	asmWantList(t, s, org, assets.Filter{Tag: "web"}, a2, a1)
	asmWantList(t, s, org, assets.Filter{Tag: "pci"}, a1)
	asmWantList(t, s, org, assets.Filter{ClientID: c1, Tag: "web"}, a1)
	asmWantList(t, s, org, assets.Filter{Type: "other", ClientID: c2}, a4)
	asmWantList(t, s, org, assets.Filter{Query: "EXAMPLE"}, a1)
	asmWantList(t, s, org, assets.Filter{Tag: "web", Query: "192.0"}, a2)
	// Another organization sees none of it.
	asmWantList(t, s, domain.NewID(), assets.Filter{})

	// A second asset with the same (type, target) is a conflict; the same
	// target with another type is not.
	dup := asmAsset(5, "domain", "example.com", "")
	if err := s.CreateAsset(bg, org, dup); !domain.Is(err, domain.KindConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	host := asmAsset(6, "host", "example.com", "")
	if err := s.CreateAsset(bg, org, host); err != nil {
		t.Fatal(err)
	}
	asmWantList(t, s, org, assets.Filter{}, host, a4, a3, a2, a1)

	// Moving a1 onto host's key fails and changes nothing.
	_, err := s.UpdateAsset(bg, org, a1.ID, func(a *domain.Asset) error { a.Type = "host"; return nil })
	if !domain.Is(err, domain.KindConflict) {
		t.Fatalf("move onto a taken key: %v", err)
	}
	asmWantList(t, s, org, assets.Filter{Type: "domain"}, a1)

	// Changing type, target, client and tags moves the marker, the index
	// items and the counters in one transaction.
	got, err := s.UpdateAsset(bg, org, a1.ID, func(a *domain.Asset) error {
		a.Type, a.Target, a.ClientID, a.Tags = "url", "https://example.com/", c2, []string{"pci", "prod"}
		return nil
	})
	if err != nil || got.Target != "https://example.com/" {
		t.Fatalf("update: %+v %v", got, err)
	}
	asmWantList(t, s, org, assets.Filter{Type: "domain"})
	asmWantList(t, s, org, assets.Filter{Type: "url"}, got)
	asmWantList(t, s, org, assets.Filter{ClientID: c1}, a3)
	asmWantList(t, s, org, assets.Filter{ClientID: c2}, a4, got)
	asmWantList(t, s, org, assets.Filter{Tag: "web"}, a2)
	asmWantList(t, s, org, assets.Filter{Tag: "prod"}, got)
	// The old key is free again.
	again := asmAsset(7, "domain", "example.com", "")
	if err := s.CreateAsset(bg, org, again); err != nil {
		t.Fatalf("old key still taken: %v", err)
	}
	known, err := s.ExistingKeys(bg, org, []assets.Key{{Type: "domain", Target: "example.com"}, {Type: "url", Target: "https://example.com/"}, {Type: "ip", Target: "192.0.2.9"}})
	if err != nil || len(known) != 2 || !known[assets.Key{Type: "url", Target: "https://example.com/"}] {
		t.Fatalf("existing keys = %v, %v", known, err)
	}

	// Delete removes the asset, its marker, its tag items and counts.
	if err := s.DeleteAsset(bg, org, got.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAsset(bg, org, got.ID); !domain.Is(err, domain.KindNotFound) {
		t.Fatalf("deleted asset: %v", err)
	}
	if err := s.DeleteAsset(bg, org, got.ID); !domain.Is(err, domain.KindNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	asmWantList(t, s, org, assets.Filter{Tag: "prod"})
	asmWantList(t, s, org, assets.Filter{Tag: "pci"})
	asmWantList(t, s, org, assets.Filter{Type: "url"})
	asmWantList(t, s, org, assets.Filter{ClientID: c2}, a4)
	asmWantList(t, s, org, assets.Filter{}, again, host, a4, a3, a2)
	if err := s.CreateAsset(bg, org, asmAsset(8, "url", "https://example.com/", "")); err != nil {
		t.Fatalf("deleted asset's key still taken: %v", err)
	}

	// A foreign organization's id is simply not found.
	if _, err := s.GetAsset(bg, domain.NewID(), a2.ID); !domain.Is(err, domain.KindNotFound) {
		t.Fatalf("foreign get: %v", err)
	}
	found, err := s.GetAssets(bg, org, []string{a2.ID, a3.ID, "junk", a2.ID, domain.NewID()})
	if err != nil || len(found) != 2 {
		t.Fatalf("GetAssets = %v, %v", found, err)
	}
}

func TestAssetStorePaging(t *testing.T) {
	s := testenv.Platform(t).Store()
	bg := context.Background()
	org, client := domain.NewID(), domain.NewID()
	var all []domain.Asset
	for i := range 7 {
		a := asmAsset(i, "ip", fmt.Sprintf("192.0.2.%d", i+1), client, "t")
		if err := s.CreateAsset(bg, org, a); err != nil {
			t.Fatal(err)
		}
		all = append([]domain.Asset{a}, all...)
	}
	for _, f := range []assets.Filter{{}, {ClientID: client}, {Type: "ip"}, {Tag: "t"}} {
		var seen []string
		cursor := ""
		for page := 1; page <= 4; page++ {
			p, err := s.ListAssets(bg, org, f, domain.PageRequest{Page: page, PerPage: 3})
			if err != nil {
				t.Fatal(err)
			}
			pc, err := s.ListAssets(bg, org, f, domain.PageRequest{Page: page, PerPage: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != 7 || len(p.Items) != len(pc.Items) {
				t.Fatalf("%+v page %d: total %d, %d items (cursor: %d)", f, page, p.Total, len(p.Items), len(pc.Items))
			}
			for i := range p.Items {
				if p.Items[i].ID != pc.Items[i].ID {
					t.Fatalf("%+v page %d: paging by number and by cursor differ", f, page)
				}
				seen = append(seen, p.Items[i].ID)
			}
			cursor = p.NextCursor
			if page == 3 && (len(p.Items) != 1 || cursor != "") {
				t.Fatalf("%+v last page: %d items, cursor %q", f, len(p.Items), cursor)
			}
		}
		var want []string
		for _, a := range all {
			want = append(want, a.ID)
		}
		if !slices.Equal(seen, want) {
			t.Fatalf("%+v: pages = %v, want %v", f, seen, want)
		}
	}
	// A cursor of another list is refused.
	p, _ := s.ListAssets(bg, org, assets.Filter{}, domain.PageRequest{Page: 1, PerPage: 3})
	if _, err := s.ListAssets(bg, org, assets.Filter{Type: "ip"}, domain.PageRequest{Page: 1, PerPage: 3, Cursor: p.NextCursor}); !domain.Is(err, domain.KindInvalid) {
		t.Fatalf("foreign cursor: %v", err)
	}
}

func TestAssetStoreWriteAssets(t *testing.T) {
	s := testenv.Platform(t).Store()
	bg := context.Background()
	org := domain.NewID()
	clients := []string{domain.NewID(), domain.NewID(), ""}
	var batch []domain.Asset
	for i := range 230 {
		var tags []string
		for j := range i % 4 {
			tags = append(tags, fmt.Sprintf("tag%d", j))
		}
		typ, target := "domain", fmt.Sprintf("h%d.example.com", i)
		if i%5 == 0 {
			typ, target = "other", ""
		}
		batch = append(batch, asmAsset(i, typ, target, clients[i%3], tags...))
	}
	// One asset of the file was created by someone else meanwhile.
	taken := asmAsset(1000, "domain", "h7.example.com", "")
	if err := s.CreateAsset(bg, org, taken); err != nil {
		t.Fatal(err)
	}
	res := s.WriteAssets(bg, org, batch)
	if res.Err != nil || res.Created != 229 || !slices.Equal(res.Duplicates, []int{7}) {
		t.Fatalf("write = created %d, duplicates %v, err %v", res.Created, res.Duplicates, res.Err)
	}
	_, total := asmList(t, s, org, assets.Filter{})
	if total != 230 {
		t.Fatalf("total = %d", total)
	}
	counts := map[string]int{}
	for i, a := range batch {
		if i == 7 {
			continue
		}
		counts["type:"+a.Type]++
		if a.ClientID != "" {
			counts["client:"+a.ClientID]++
		}
		for _, tg := range a.Tags {
			counts["tag:"+tg]++
		}
	}
	counts["type:domain"]++ // taken
	check := func(f assets.Filter, want int) {
		t.Helper()
		p, err := s.ListAssets(bg, org, f, domain.PageRequest{Page: 1, PerPage: 1})
		if err != nil || p.Total != want {
			t.Fatalf("%+v: total %d, %v; want %d", f, p.Total, err, want)
		}
	}
	check(assets.Filter{Type: "domain"}, counts["type:domain"])
	check(assets.Filter{Type: "other"}, counts["type:other"])
	check(assets.Filter{ClientID: clients[0]}, counts["client:"+clients[0]])
	check(assets.Filter{ClientID: clients[1]}, counts["client:"+clients[1]])
	for j := range 3 {
		check(assets.Filter{Tag: fmt.Sprintf("tag%d", j)}, counts[fmt.Sprintf("tag:tag%d", j)])
	}

	// A failing write reports where it stopped.
	cancelled, cancel := context.WithCancel(bg)
	cancel()
	res = s.WriteAssets(cancelled, org, []domain.Asset{asmAsset(2000, "domain", "late.example.com", "")})
	if res.Err == nil || res.FailedAt != 0 || res.Created != 0 || !strings.Contains(res.Err.Error(), "unavailable") {
		t.Fatalf("cancelled write = %+v", res)
	}
}

// Concurrent writers of one (type, target): exactly one wins, and the
// counters count the winner only.
func TestAssetStoreConcurrentKeys(t *testing.T) {
	s := testenv.Platform(t).Store()
	bg := context.Background()
	org := domain.NewID()
	const n = 6
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- s.CreateAsset(bg, org, asmAsset(i, "domain", "race.example.com", "", "r")) }()
	}
	won := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			won++
		case !domain.Is(err, domain.KindConflict):
			t.Fatalf("create: %v", err)
		}
	}
	if _, total := asmList(t, s, org, assets.Filter{Tag: "r"}); won != 1 || total != 1 {
		t.Fatalf("%d creates won, tag total %d", won, total)
	}
	// Several assets moving onto one free key at once.
	var ids []string
	for i := range n {
		a := asmAsset(10+i, "host", fmt.Sprintf("m%d.example.com", i), "")
		if err := s.CreateAsset(bg, org, a); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	for _, id := range ids {
		go func() {
			_, err := s.UpdateAsset(bg, org, id, func(a *domain.Asset) error { a.Target = "target.example.com"; return nil })
			errs <- err
		}()
	}
	won = 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			won++
		case !domain.Is(err, domain.KindConflict):
			t.Fatalf("update: %v", err)
		}
	}
	known, err := s.ExistingKeys(bg, org, []assets.Key{{Type: "host", Target: "target.example.com"}})
	if won != 1 || err != nil || len(known) != 1 {
		t.Fatalf("%d moves won, marker %v %v", won, known, err)
	}
	// The losers kept their own keys.
	ks := []assets.Key{}
	for i := range n {
		ks = append(ks, assets.Key{Type: "host", Target: fmt.Sprintf("m%d.example.com", i)})
	}
	if known, err := s.ExistingKeys(bg, org, ks); err != nil || len(known) != n-1 {
		t.Fatalf("old markers %v %v", known, err)
	}
}
