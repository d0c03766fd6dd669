package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/findings"
	"rampart/shared/reports"
	"rampart/shared/reports/reporttest"
	"rampart/shared/testenv"
)

func newExport(org, subject string, i int, ttl time.Duration) reports.Export {
	now := time.Now().UTC().Add(time.Duration(i) * time.Millisecond)
	return reports.Export{ID: domain.NewIDAt(now), OrgID: org, SubjectType: reports.SubjectSession, SubjectID: subject,
		ClientID: "c1", Format: reports.FormatPDF, Status: reports.StatusQueued, TaxonomyVersion: 1, Fingerprint: "fp",
		FileName: fmt.Sprintf("r%d.pdf", i), RequestedBy: "u1", CreatedAt: now, ExpiresAt: now.Add(ttl), Version: 1}
}

func TestExportStore(t *testing.T) {
	p := testenv.Platform(t)
	st := p.Store()
	ctx := context.Background()
	org, other, subject := domain.NewID(), domain.NewID(), domain.NewID()

	e := newExport(org, subject, 0, time.Hour)
	if err := st.CreateExport(ctx, org, e, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateExport(ctx, org, e, nil); !domain.Is(err, domain.KindConflict) {
		t.Errorf("duplicate id: %v", err)
	}
	got, err := st.GetExport(ctx, org, e.ID)
	if err != nil || got.FileName != e.FileName || got.ExpiresAt.Unix() != e.ExpiresAt.Unix() || got.OrgID != org || got.Version != 1 {
		t.Fatalf("get %+v %v", got, err)
	}
	for _, c := range []struct{ org, id string }{{other, e.ID}, {org, domain.NewID()}, {org, "junk"}} {
		if _, err := st.GetExport(ctx, c.org, c.id); !domain.Is(err, domain.KindNotFound) {
			t.Errorf("get %s/%s: %v", c.org, c.id, err)
		}
	}

	// Concurrent updates are all applied (optimistic with retries).
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.UpdateExport(ctx, org, e.ID, func(x *reports.Export) error { x.Size++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got, _ := st.GetExport(ctx, org, e.ID); got.Size != 4 || got.Version != 5 {
		t.Errorf("after 4 updates: size %d version %d", got.Size, got.Version)
	}
	if _, err := st.UpdateExport(ctx, other, e.ID, func(*reports.Export) error { return nil }); !domain.Is(err, domain.KindNotFound) {
		t.Errorf("update in another organization: %v", err)
	}

	// Expired exports are hidden before DynamoDB's TTL removes them.
	gone := newExport(org, subject, 1, -time.Second)
	if err := st.CreateExport(ctx, org, gone, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetExport(ctx, org, gone.ID); !domain.Is(err, domain.KindNotFound) {
		t.Errorf("expired export: %v", err)
	}

	// The list: newest first, paged, without expired ones or other subjects.
	ids := []string{e.ID}
	for i := 2; i < 7; i++ {
		x := newExport(org, subject, i, time.Hour)
		if err := st.CreateExport(ctx, org, x, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, x.ID)
	}
	if err := st.CreateExport(ctx, org, newExport(org, domain.NewID(), 9, time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	subj := reports.SubjectKey(reports.SubjectSession, subject)
	var listed []string
	req := domain.PageRequest{Page: 1, PerPage: 4}
	for {
		pg, err := st.ListExports(ctx, org, subj, time.Now(), req)
		if err != nil {
			t.Fatal(err)
		}
		if pg.Total != 6 {
			t.Errorf("total %d", pg.Total)
		}
		for _, x := range pg.Items {
			listed = append(listed, x.ID)
		}
		if pg.NextCursor == "" {
			break
		}
		req.Cursor = pg.NextCursor
	}
	if fmt.Sprint(listed) != fmt.Sprint(reverse(ids)) {
		t.Errorf("listed %v, want %v", listed, reverse(ids))
	}
	pg2, err := st.ListExports(ctx, org, subj, time.Now(), domain.PageRequest{Page: 2, PerPage: 4})
	if err != nil || len(pg2.Items) != 2 || pg2.Items[0].ID != ids[1] {
		t.Errorf("page 2: %v %v", pg2.Items, err)
	}
	if pg, err := st.ListExports(ctx, other, subj, time.Now(), domain.PageRequest{Page: 1, PerPage: 10}); err != nil || pg.Total != 0 || len(pg.Items) != 0 {
		t.Errorf("other organization: %+v %v", pg, err)
	}
	// A cursor of another organization's list is refused.
	pg, _ := st.ListExports(ctx, org, subj, time.Now(), domain.PageRequest{Page: 1, PerPage: 1})
	if _, err := st.ListExports(ctx, other, subj, time.Now(), domain.PageRequest{Page: 1, PerPage: 1, Cursor: pg.NextCursor}); !domain.Is(err, domain.KindInvalid) {
		t.Errorf("foreign cursor: %v", err)
	}
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func TestExportReuseMarker(t *testing.T) {
	p := testenv.Platform(t)
	st := p.Store()
	ctx := context.Background()
	org, subject := domain.NewID(), domain.NewID()
	key := reports.ReuseKey(reports.SubjectKey(reports.SubjectSession, subject), "pdf", "fp1")
	if id, err := st.ReuseCandidate(ctx, org, key); err != nil || id != "" {
		t.Fatalf("empty marker: %q %v", id, err)
	}
	a, b := newExport(org, subject, 0, time.Hour), newExport(org, subject, 1, time.Hour)
	if err := st.CreateExport(ctx, org, a, &reports.Reuse{Key: key, ExpiresAt: a.ExpiresAt}); err != nil {
		t.Fatal(err)
	}
	// A concurrent request that also saw no marker loses, and writes nothing.
	if err := st.CreateExport(ctx, org, b, &reports.Reuse{Key: key, ExpiresAt: b.ExpiresAt}); !domain.Is(err, domain.KindConflict) {
		t.Fatalf("second create: %v", err)
	}
	if _, err := st.GetExport(ctx, org, b.ID); !domain.Is(err, domain.KindNotFound) {
		t.Errorf("the losing export was written: %v", err)
	}
	if id, _ := st.ReuseCandidate(ctx, org, key); id != a.ID {
		t.Errorf("marker %q", id)
	}
	// Replacing names the export replaced.
	if err := st.CreateExport(ctx, org, b, &reports.Reuse{Key: key, Replace: domain.NewID(), ExpiresAt: b.ExpiresAt}); !domain.Is(err, domain.KindConflict) {
		t.Errorf("replace of the wrong export: %v", err)
	}
	if err := st.CreateExport(ctx, org, b, &reports.Reuse{Key: key, Replace: a.ID, ExpiresAt: b.ExpiresAt}); err != nil {
		t.Fatal(err)
	}
	if id, _ := st.ReuseCandidate(ctx, org, key); id != b.ID {
		t.Errorf("marker %q after replace", id)
	}
	if id, _ := st.ReuseCandidate(ctx, domain.NewID(), key); id != "" {
		t.Errorf("marker seen from another organization: %q", id)
	}
}

func TestExportSourceReads(t *testing.T) {
	p := testenv.Platform(t)
	st := p.Store()
	ctx := context.Background()
	org := domain.NewID()
	reporttest.Org(t, st, org, "Org")
	client := reporttest.Client(t, st, org, "C")

	// A session's state: the newest finding change and the count.
	sess, ids := reporttest.Session(t, st, org, client, 3)
	latest, n, err := st.SessionFindingsState(ctx, org, sess.ID)
	if err != nil || n != 3 || latest.IsZero() {
		t.Fatalf("state %v %d %v", latest, n, err)
	}
	time.Sleep(5 * time.Millisecond)
	changed, err := st.UpdateFinding(ctx, org, ids[1], 0, func(f *domain.Finding) ([]domain.HistoryEntry, error) {
		old := *f
		f.Title, f.UpdatedAt, f.Version = "changed", time.Now().UTC(), old.Version+1
		return findings.History(old, *f, []string{"title"}, "u", "", f.UpdatedAt), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	latest2, n2, _ := st.SessionFindingsState(ctx, org, sess.ID)
	if !latest2.Equal(changed.UpdatedAt) || n2 != 3 {
		t.Errorf("after a change: %v (want %v) %d", latest2, changed.UpdatedAt, n2)
	}
	if l, n, err := st.SessionFindingsState(ctx, org, domain.NewID()); err != nil || n != 0 || !l.IsZero() {
		t.Errorf("empty session: %v %d %v", l, n, err)
	}

	// Attachments of a page of findings: one batch of counters, then only
	// the findings that have some.
	reporttest.Attach(t, st, org, ids[2], "b.txt")
	reporttest.Attach(t, st, org, ids[2], "a.txt")
	atts, err := st.FindingAttachmentList(ctx, org, append(ids, domain.NewID()))
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 2 || len(atts[ids[0]]) != 1 || len(atts[ids[2]]) != 2 || len(atts[ids[1]]) != 0 {
		t.Errorf("attachments %v", atts)
	}

	// A scan's findings, page by page.
	sc := reporttest.Scan(t, st, org, 7, domain.ScanCompleted)
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		fs, next, err := st.ScanFindingsPage(ctx, org, sc.ID, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, f := range fs {
			if seen[f.ID] || f.LastScanID != sc.ID {
				t.Errorf("finding %s twice or of another scan", f.ID)
			}
			seen[f.ID] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 7 || pages != 3 {
		t.Errorf("%d findings in %d pages", len(seen), pages)
	}
	if fs, _, err := st.ScanFindingsPage(ctx, domain.NewID(), sc.ID, "", 10); err != nil || len(fs) != 0 {
		t.Errorf("another organization: %v %v", fs, err)
	}
}
