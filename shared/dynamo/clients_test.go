package dynamo_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"rampart/shared/clients"
	"rampart/shared/domain"
	"rampart/shared/testenv"
)

func TestClientStore(t *testing.T) {
	s := testenv.Platform(t).Store()
	bg := context.Background()
	org := domain.NewID()
	mk := func(i int, name string) domain.Client {
		now := asmT0.Add(time.Duration(i) * time.Second)
		c := domain.Client{ID: domain.NewIDAt(now), Name: name, CreatedAt: now, UpdatedAt: now}
		if err := s.CreateClient(bg, org, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	zeta, alpha, beta, alpha2 := mk(1, "Zeta"), mk(2, "alpha"), mk(3, "Beta GmbH"), mk(4, "Alpha")
	names := func(f clients.Filter, req domain.PageRequest) ([]string, int, string) {
		t.Helper()
		p, err := s.ListClients(bg, org, f, req)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, c := range p.Items {
			out = append(out, c.ID)
		}
		return out, p.Total, p.NextCursor
	}
	all := domain.PageRequest{Page: 1, PerPage: 100}
	// By name, case-insensitively; names need not be unique (ties by id).
	if got, total, _ := names(clients.Filter{}, all); !slices.Equal(got, []string{alpha.ID, alpha2.ID, beta.ID, zeta.ID}) || total != 4 {
		t.Fatalf("list = %v (%d)", got, total)
	}
	if got, total, _ := names(clients.Filter{Query: "ALP"}, all); !slices.Equal(got, []string{alpha.ID, alpha2.ID}) || total != 2 {
		t.Fatalf("q = %v (%d)", got, total)
	}
	if got, total, _ := names(clients.Filter{OnlyID: beta.ID}, all); !slices.Equal(got, []string{beta.ID}) || total != 1 {
		t.Fatalf("only = %v (%d)", got, total)
	}
	if got, total, _ := names(clients.Filter{OnlyID: beta.ID, Query: "zzz"}, all); len(got) != 0 || total != 0 {
		t.Fatalf("only+q = %v (%d)", got, total)
	}
	first, total, cursor := names(clients.Filter{}, domain.PageRequest{Page: 1, PerPage: 3})
	second, _, _ := names(clients.Filter{}, domain.PageRequest{Page: 1, PerPage: 3, Cursor: cursor})
	if len(first) != 3 || total != 4 || !slices.Equal(second, []string{zeta.ID}) {
		t.Fatalf("pages %v %v", first, second)
	}

	// A rename moves the client in the name order.
	renamed, err := s.UpdateClient(bg, org, zeta.ID, func(c *domain.Client) error { c.Name = "Aardvark"; return nil })
	if err != nil || renamed.Name != "Aardvark" || !renamed.CreatedAt.Equal(zeta.CreatedAt) {
		t.Fatalf("update = %+v, %v", renamed, err)
	}
	if got, total, _ := names(clients.Filter{}, all); !slices.Equal(got, []string{zeta.ID, alpha.ID, alpha2.ID, beta.ID}) || total != 4 {
		t.Fatalf("after rename = %v (%d)", got, total)
	}
	// Other organizations and junk ids are not found.
	for _, c := range []struct{ org, id string }{{domain.NewID(), beta.ID}, {org, "junk"}, {org, domain.NewID()}} {
		if _, err := s.GetClient(bg, c.org, c.id); !domain.Is(err, domain.KindNotFound) {
			t.Fatalf("get %v: %v", c, err)
		}
		if _, err := s.UpdateClient(bg, c.org, c.id, func(*domain.Client) error { return nil }); !domain.Is(err, domain.KindNotFound) {
			t.Fatalf("update %v: %v", c, err)
		}
	}
	if ok, err := s.ClientExists(bg, org, beta.ID); !ok || err != nil {
		t.Fatalf("exists: %v %v", ok, err)
	}
}
