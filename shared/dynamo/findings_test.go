package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/findings"
	"rampart/shared/testenv"
)

func newFinding(i int, sev, status, asset, session, client string) domain.Finding {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	return domain.Finding{ID: domain.NewIDAt(now), Title: fmt.Sprintf("finding %d", i), Severity: sev, Status: status,
		Category: "tls", AssetID: asset, SessionID: session, ClientID: client, Source: domain.SourceManual,
		CreatedAt: now, UpdatedAt: now, Version: 1}
}

func setStatus(status string) func(*domain.Finding) ([]domain.HistoryEntry, error) {
	return func(f *domain.Finding) ([]domain.HistoryEntry, error) {
		if f.Status == status {
			return nil, nil
		}
		old := *f
		f.Status = status
		f.UpdatedAt = time.Now().UTC()
		return findings.History(old, *f, []string{"status"}, "tester", "", f.UpdatedAt), nil
	}
}

func TestFindingStoreListsAndStatsStayExact(t *testing.T) {
	store := testenv.Platform(t).Store()
	ctx := context.Background()
	org := domain.NewID()
	assetA, assetB, sess, client := domain.NewID(), domain.NewID(), domain.NewID(), domain.NewID()
	sevs := []string{"critical", "high", "medium", "low", "info"}
	var ids []string
	for i := range 12 {
		asset := assetA
		if i%3 == 0 {
			asset = assetB
		}
		f := newFinding(i, sevs[i%5], "open", asset, sess, client)
		if err := store.CreateFinding(ctx, org, f, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	// Move three findings to resolved: counters follow.
	for _, id := range ids[:3] {
		if _, err := store.UpdateFinding(ctx, org, id, 0, setStatus("resolved")); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		q         findings.Query
		wantTotal int
		bySev     map[string]int
	}{
		{"all", findings.Query{}, 12, map[string]int{"critical": 3, "high": 3, "medium": 2, "low": 2, "info": 2}},
		{"critical or high", findings.Query{Severities: []string{"critical", "high"}}, 6, nil},
		{"open", findings.Query{Statuses: []string{"open"}}, 9, nil},
		{"resolved critical", findings.Query{Statuses: []string{"resolved"}, Severities: []string{"critical"}}, 1, nil},
		{"asset B", findings.Query{AssetID: assetB}, 4, nil},
		{"session", findings.Query{SessionID: sess}, 12, nil},
		{"client", findings.Query{ClientID: client}, 12, nil},
		{"other client", findings.Query{ClientID: domain.NewID()}, 0, nil},
		{"asset B and session (unindexed)", findings.Query{AssetID: assetB, SessionID: sess}, 4, nil},
		{"text", findings.Query{Text: "finding 1"}, 3, nil}, // 1, 10, 11
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Page = domain.PageRequest{Page: 1, PerPage: 5}
			st, err := store.FindingStats(ctx, org, q)
			if err != nil {
				t.Fatal(err)
			}
			if st.Total != tt.wantTotal {
				t.Errorf("stats total = %d, want %d", st.Total, tt.wantTotal)
			}
			for sev, n := range tt.bySev {
				if st.BySeverity[sev] != n {
					t.Errorf("by severity %s = %d, want %d", sev, st.BySeverity[sev], n)
				}
			}
			page, err := store.ListFindings(ctx, org, q)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != tt.wantTotal {
				t.Errorf("list total = %d, want %d", page.Total, tt.wantTotal)
			}
			if want := min(5, tt.wantTotal); len(page.Items) != want {
				t.Errorf("page has %d items, want %d", len(page.Items), want)
			}
			for _, f := range page.Items {
				if len(q.Severities) > 0 && f.Severity != q.Severities[0] && f.Severity != q.Severities[len(q.Severities)-1] {
					t.Errorf("item %s has severity %s outside the filter", f.ID, f.Severity)
				}
			}
		})
	}
}

func TestFindingStorePaginationAndSort(t *testing.T) {
	store := testenv.Platform(t).Store()
	ctx := context.Background()
	org, asset := domain.NewID(), domain.NewID()
	sevs := []string{"low", "critical", "info", "high", "medium"}
	var created []string
	for i := range 7 {
		f := newFinding(i, sevs[i%5], "open", asset, "", "")
		if err := store.CreateFinding(ctx, org, f, nil); err != nil {
			t.Fatal(err)
		}
		created = append(created, f.ID)
	}
	read := func(q findings.Query) []string {
		t.Helper()
		p, err := store.ListFindings(ctx, org, q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range p.Items {
			ids = append(ids, f.ID)
		}
		return ids
	}
	// Newest first across pages, with and without cursor.
	p1, err := store.ListFindings(ctx, org, findings.Query{Sort: findings.SortCreated, Desc: true, Page: domain.PageRequest{Page: 1, PerPage: 3}})
	if err != nil {
		t.Fatal(err)
	}
	p3 := read(findings.Query{Sort: findings.SortCreated, Desc: true, Page: domain.PageRequest{Page: 3, PerPage: 3}})
	if got := p1.Items[0].ID; got != created[6] {
		t.Errorf("first item %s, want newest %s", got, created[6])
	}
	if len(p3) != 1 || p3[0] != created[0] {
		t.Errorf("last page = %v, want [%s]", p3, created[0])
	}
	p2 := read(findings.Query{Sort: findings.SortCreated, Desc: true, Page: domain.PageRequest{Page: 2, PerPage: 3}})
	p2c := read(findings.Query{Sort: findings.SortCreated, Desc: true, Page: domain.PageRequest{Page: 1, PerPage: 3, Cursor: p1.NextCursor}})
	if fmt.Sprint(p2) != fmt.Sprint(p2c) || len(p2) != 3 {
		t.Errorf("page 2 by number %v != by cursor %v", p2, p2c)
	}
	if empty := read(findings.Query{Page: domain.PageRequest{Page: 4, PerPage: 3}}); len(empty) != 0 {
		t.Errorf("page past the end = %v, want empty", empty)
	}
	// Most severe first.
	p, err := store.ListFindings(ctx, org, findings.Query{Sort: findings.SortSeverity, Desc: true, Page: domain.PageRequest{Page: 1, PerPage: 7}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(p.Items); i++ {
		if domain.SeverityRank(p.Items[i-1].Severity) > domain.SeverityRank(p.Items[i].Severity) {
			t.Fatalf("not most severe first: %s before %s", p.Items[i-1].Severity, p.Items[i].Severity)
		}
	}
	// A cursor of another list is refused.
	if _, err := store.ListFindings(ctx, domain.NewID(), findings.Query{Page: domain.PageRequest{Page: 1, PerPage: 3, Cursor: p1.NextCursor}}); !domain.Is(err, domain.KindInvalid) {
		t.Errorf("foreign cursor: err = %v, want invalid", err)
	}
}

func TestFindingStoreConcurrency(t *testing.T) {
	store := testenv.Platform(t).Store()
	ctx := context.Background()
	org := domain.NewID()
	f := newFinding(1, "high", "open", domain.NewID(), "", "")
	if err := store.CreateFinding(ctx, org, f, nil); err != nil {
		t.Fatal(err)
	}
	t.Run("same If-Match: exactly one wins", func(t *testing.T) {
		const n = 6
		var wins, stale atomic.Int32
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := store.UpdateFinding(ctx, org, f.ID, 1, func(x *domain.Finding) ([]domain.HistoryEntry, error) {
					old := *x
					x.Title = fmt.Sprintf("writer %d", i)
					return findings.History(old, *x, []string{"title"}, "t", "", time.Now()), nil
				})
				switch {
				case err == nil:
					wins.Add(1)
				case domain.Is(err, domain.KindPrecondition):
					stale.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || stale.Load() != n-1 {
			t.Fatalf("wins=%d stale=%d, want 1 and %d", wins.Load(), stale.Load(), n-1)
		}
	})
	t.Run("no If-Match: no change is lost", func(t *testing.T) {
		before, _ := store.GetFinding(ctx, org, f.ID)
		const n = 6
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := store.UpdateFinding(ctx, org, f.ID, 0, func(x *domain.Finding) ([]domain.HistoryEntry, error) {
					old := *x
					x.Evidence = fmt.Sprintf("%s[%d]", x.Evidence, i)
					return findings.History(old, *x, []string{"evidence"}, "t", "", time.Now()), nil
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		after, _ := store.GetFinding(ctx, org, f.ID)
		if after.Version != before.Version+n {
			t.Errorf("version %d → %d, want +%d", before.Version, after.Version, n)
		}
		for i := range n {
			if !contains(after.Evidence, fmt.Sprintf("[%d]", i)) {
				t.Errorf("change %d lost: evidence %q", i, after.Evidence)
			}
		}
		h, err := store.ListHistory(ctx, org, f.ID, domain.PageRequest{Page: 1, PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		if h.Total != n+1 || len(h.Items) != n+1 {
			t.Errorf("history total %d items %d, want %d", h.Total, len(h.Items), n+1)
		}
	})
	st, err := store.FindingStats(ctx, org, findings.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 1 || st.ByStatus["open"] != 1 {
		t.Errorf("stats after concurrent updates = %+v, want one open finding", st)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

var _ findings.Store = (*dynamo.Store)(nil)
