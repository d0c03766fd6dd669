package dynamo_test

// Contract tests of taxonomy.Store on DynamoDB Local (fail without emulators).

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/taxonomy"
	"rampart/shared/testenv"
)

func taxCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func taxWantKind(t *testing.T, err error, kind domain.Kind, what string) {
	t.Helper()
	if !domain.Is(err, kind) {
		t.Fatalf("%s: error = %v, want kind %v", what, err, kind)
	}
}

// relabelled returns a copy of the built-in domains with critical relabelled.
func relabelled(label string) domain.Taxonomy {
	b := taxonomy.Builtin()
	b.Domains[domain.DomainRiskLevel][0].Label = label
	return domain.Taxonomy{Domains: b.Domains, CreatedAt: time.Now().UTC().Truncate(time.Millisecond), CreatedBy: "u-" + label}
}

func criticalLabel(t domain.Taxonomy) string {
	v, _ := t.Lookup(domain.DomainRiskLevel, "critical")
	return v.Label
}

func seedV1(t *testing.T, s *dynamo.Store, org string) {
	t.Helper()
	v1 := taxonomy.Builtin()
	v1.CreatedAt = time.Now().UTC()
	if _, err := s.SeedTaxonomy(taxCtx(t), org, v1); err != nil {
		t.Fatalf("seed: %v", err)
	}
}

func TestTaxonomyStoreUnseededServesBuiltin(t *testing.T) {
	s := testenv.Platform(t).Store()
	ctx, org := taxCtx(t), domain.NewID()
	cur, err := s.CurrentTaxonomy(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Version != 1 || cur.CreatedBy != taxonomy.SystemActor || criticalLabel(cur) != "Critical" {
		t.Fatalf("current of an unseeded org = v%d by %q", cur.Version, cur.CreatedBy)
	}
	p, current, err := s.TaxonomyVersions(ctx, org, domain.PageRequest{Page: 1, PerPage: 25})
	if err != nil || p.Total != 1 || len(p.Items) != 1 || current != 1 {
		t.Fatalf("versions of an unseeded org = %+v current %d err %v", p, current, err)
	}
	if _, _, err := s.GetTaxonomyVersion(ctx, org, 1); err != nil {
		t.Fatalf("get v1 of an unseeded org: %v", err)
	}
	_, _, err = s.GetTaxonomyVersion(ctx, org, 2)
	taxWantKind(t, err, domain.KindNotFound, "get v2 of an unseeded org")
	_, err = s.CreateTaxonomyVersion(ctx, org, relabelled("X"))
	taxWantKind(t, err, domain.KindNotFound, "create in an unseeded org")
	_, err = s.ActivateTaxonomyVersion(ctx, org, 1)
	taxWantKind(t, err, domain.KindNotFound, "activate in an unseeded org")
}

func TestTaxonomyStoreSeedIsIdempotent(t *testing.T) {
	s := testenv.Platform(t).Store()
	ctx, org := taxCtx(t), domain.NewID()
	v1 := taxonomy.Builtin()
	v1.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	wrote, err := s.SeedTaxonomy(ctx, org, v1)
	if err != nil || !wrote {
		t.Fatalf("first seed wrote=%v err=%v", wrote, err)
	}
	// A second seeding with other content changes nothing: v1 is immutable.
	other := relabelled("Other")
	other.Version = 1
	wrote, err = s.SeedTaxonomy(ctx, org, other)
	if err != nil || wrote {
		t.Fatalf("second seed wrote=%v err=%v", wrote, err)
	}
	cur, err := s.CurrentTaxonomy(ctx, org)
	if err != nil || cur.Version != 1 || criticalLabel(cur) != "Critical" || !cur.CreatedAt.Equal(v1.CreatedAt) {
		t.Fatalf("current after reseed = v%d %q %v, err %v", cur.Version, criticalLabel(cur), cur.CreatedAt, err)
	}
	p, _, err := s.TaxonomyVersions(ctx, org, domain.PageRequest{Page: 1, PerPage: 100})
	if err != nil || p.Total != 1 || len(p.Items) != 1 {
		t.Fatalf("versions after reseed: total %d items %d err %v", p.Total, len(p.Items), err)
	}

	// Concurrent seedings of a fresh organization: exactly one writes.
	org2 := domain.NewID()
	var wg sync.WaitGroup
	var mu sync.Mutex
	writes := 0
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := s.SeedTaxonomy(ctx, org2, v1)
			if err != nil {
				t.Errorf("concurrent seed: %v", err)
			}
			if w {
				mu.Lock()
				writes++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if writes != 1 {
		t.Fatalf("%d concurrent seedings wrote, want 1", writes)
	}
	p, current, err := s.TaxonomyVersions(ctx, org2, domain.PageRequest{Page: 1, PerPage: 100})
	if err != nil || p.Total != 1 || len(p.Items) != 1 || current != 1 {
		t.Fatalf("versions after concurrent seeding: %+v current %d err %v", p, current, err)
	}
}

func TestTaxonomyStoreCreateActivateAndList(t *testing.T) {
	s := testenv.Platform(t).Store()
	ctx, org := taxCtx(t), domain.NewID()
	seedV1(t, s, org)

	v2, err := s.CreateTaxonomyVersion(ctx, org, relabelled("Two"))
	if err != nil || v2.Version != 2 {
		t.Fatalf("create v2 = %d, %v", v2.Version, err)
	}
	cur, err := s.CurrentTaxonomy(ctx, org)
	if err != nil || cur.Version != 2 || criticalLabel(cur) != "Two" || cur.CreatedBy != "u-Two" {
		t.Fatalf("current after create = v%d %q by %q, %v", cur.Version, criticalLabel(cur), cur.CreatedBy, err)
	}
	v3, err := s.CreateTaxonomyVersion(ctx, org, relabelled("Three"))
	if err != nil || v3.Version != 3 {
		t.Fatalf("create v3 = %d, %v", v3.Version, err)
	}

	// Newest first, total from the pointer, pages and cursor.
	p, current, err := s.TaxonomyVersions(ctx, org, domain.PageRequest{Page: 1, PerPage: 2})
	if err != nil || p.Total != 3 || current != 3 || len(p.Items) != 2 || p.Items[0].Version != 3 || p.Items[1].Version != 2 {
		t.Fatalf("page 1 = %v total %d current %d err %v", versionsOf(p.Items), p.Total, current, err)
	}
	if p.NextCursor == "" {
		t.Fatal("page 1 has no cursor")
	}
	p2, _, err := s.TaxonomyVersions(ctx, org, domain.PageRequest{Page: 2, PerPage: 2})
	if err != nil || len(p2.Items) != 1 || p2.Items[0].Version != 1 || criticalLabel(p2.Items[0]) != "Critical" {
		t.Fatalf("page 2 = %v err %v", versionsOf(p2.Items), err)
	}
	pc, _, err := s.TaxonomyVersions(ctx, org, domain.PageRequest{Page: 1, PerPage: 2, Cursor: p.NextCursor})
	if err != nil || len(pc.Items) != 1 || pc.Items[0].Version != 1 {
		t.Fatalf("cursor page = %v err %v", versionsOf(pc.Items), err)
	}
	p3, _, err := s.TaxonomyVersions(ctx, org, domain.PageRequest{Page: 3, PerPage: 2})
	if err != nil || len(p3.Items) != 0 || p3.Total != 3 {
		t.Fatalf("page 3 = %v err %v", versionsOf(p3.Items), err)
	}

	// Activate an older version: the very next read sees it.
	act, err := s.ActivateTaxonomyVersion(ctx, org, 1)
	if err != nil || act.Version != 1 {
		t.Fatalf("activate 1 = %d, %v", act.Version, err)
	}
	cur, _ = s.CurrentTaxonomy(ctx, org)
	if cur.Version != 1 || criticalLabel(cur) != "Critical" || cur.CreatedBy != taxonomy.SystemActor {
		t.Fatalf("current after activate = v%d %q", cur.Version, criticalLabel(cur))
	}
	_, current, _ = s.TaxonomyVersions(ctx, org, domain.PageRequest{Page: 1, PerPage: 10})
	if current != 1 {
		t.Fatalf("list says current %d after activating 1", current)
	}
	// A version created after an activation still takes the next number.
	v4, err := s.CreateTaxonomyVersion(ctx, org, relabelled("Four"))
	if err != nil || v4.Version != 4 {
		t.Fatalf("create after activate = %d, %v", v4.Version, err)
	}
	if _, err := s.ActivateTaxonomyVersion(ctx, org, 2); err != nil {
		t.Fatal(err)
	}
	got, current, err := s.GetTaxonomyVersion(ctx, org, 2)
	if err != nil || current != 2 || criticalLabel(got) != "Two" {
		t.Fatalf("get v2 = %q current %d err %v", criticalLabel(got), current, err)
	}
	_, err = s.ActivateTaxonomyVersion(ctx, org, 5)
	taxWantKind(t, err, domain.KindNotFound, "activate a version that does not exist")
	_, _, err = s.GetTaxonomyVersion(ctx, org, 5)
	taxWantKind(t, err, domain.KindNotFound, "get a version that does not exist")

	// Another organization is untouched.
	other := domain.NewID()
	seedV1(t, s, other)
	cur, _ = s.CurrentTaxonomy(ctx, other)
	po, _, _ := s.TaxonomyVersions(ctx, other, domain.PageRequest{Page: 1, PerPage: 10})
	if cur.Version != 1 || po.Total != 1 {
		t.Fatalf("other org sees v%d and %d versions", cur.Version, po.Total)
	}
	_, err = s.ActivateTaxonomyVersion(ctx, other, 3)
	taxWantKind(t, err, domain.KindNotFound, "activate another organization's version")
}

func versionsOf(ts []domain.Taxonomy) []int {
	out := make([]int, len(ts))
	for i, t := range ts {
		out[i] = t.Version
	}
	return out
}

// The store never overwrites a version item: with the pointer forced back
// (as if a writer had a stale view), creating fails instead of replacing v2.
func TestTaxonomyStoreVersionsAreImmutable(t *testing.T) {
	p := testenv.Platform(t)
	s := p.Store()
	ctx, org := taxCtx(t), domain.NewID()
	seedV1(t, s, org)
	if _, err := s.CreateTaxonomyVersion(ctx, org, relabelled("Two")); err != nil {
		t.Fatal(err)
	}
	_, err := p.AWS.DynamoDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(p.Config.Table),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "ORG#" + org}, "SK": &types.AttributeValueMemberS{Value: "TAXONOMY"}},
		UpdateExpression:          aws.String("SET latest = :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateTaxonomyVersion(ctx, org, relabelled("Overwrite"))
	taxWantKind(t, err, domain.KindConflict, "create over an existing version")
	got, _, err := s.GetTaxonomyVersion(ctx, org, 2)
	if err != nil || criticalLabel(got) != "Two" {
		t.Fatalf("v2 after attempted overwrite = %q, %v", criticalLabel(got), err)
	}
	// The keys are as docs/data-model.md spells them.
	res, err := p.AWS.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(p.Config.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "ORG#" + org}, "SK": &types.AttributeValueMemberS{Value: "TAXONOMY#0000000002"}},
	})
	if err != nil || res.Item == nil {
		t.Fatalf("TAXONOMY#0000000002 not found: %v", err)
	}
}

func TestTaxonomyStoreConcurrentCreation(t *testing.T) {
	s := testenv.Platform(t).Store()
	ctx, org := taxCtx(t), domain.NewID()
	seedV1(t, s, org)
	const n = 6
	var wg sync.WaitGroup
	var mu sync.Mutex
	var got []int
	labels := map[int]string{}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			label := fmt.Sprintf("L%d", i)
			v, err := s.CreateTaxonomyVersion(ctx, org, relabelled(label))
			if err != nil {
				t.Errorf("concurrent create %d: %v", i, err)
				return
			}
			mu.Lock()
			got = append(got, v.Version)
			labels[v.Version] = label
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Ints(got)
	for i, v := range got {
		if v != i+2 {
			t.Fatalf("versions %v, want 2..%d each once", got, n+1)
		}
	}
	// Each number holds the content of the creation that got it.
	for v, label := range labels {
		tx, _, err := s.GetTaxonomyVersion(ctx, org, v)
		if err != nil || criticalLabel(tx) != label {
			t.Fatalf("v%d holds %q, want %q (%v)", v, criticalLabel(tx), label, err)
		}
	}
	p, current, err := s.TaxonomyVersions(ctx, org, domain.PageRequest{Page: 1, PerPage: 100})
	if err != nil || p.Total != n+1 || len(p.Items) != n+1 || current != n+1 {
		t.Fatalf("after concurrent creation: total %d items %d current %d err %v", p.Total, len(p.Items), current, err)
	}
	cur, _ := s.CurrentTaxonomy(ctx, org)
	if cur.Version != n+1 || criticalLabel(cur) != labels[n+1] {
		t.Fatalf("current = v%d %q, want the last created", cur.Version, criticalLabel(cur))
	}
}
