package dynamo_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/sessions"
	"rampart/shared/testenv"
)

func TestAssessmentSessionStore(t *testing.T) {
	s := testenv.Platform(t).Store()
	bg := context.Background()
	org, c1, c2 := domain.NewID(), domain.NewID(), domain.NewID()
	mk := func(i int, client, status string) domain.Session {
		now := asmT0.Add(time.Duration(i) * time.Second)
		ss := domain.Session{ID: domain.NewIDAt(now), Name: "s", ClientID: client, Status: status,
			AssetIDs: []string{}, ReviewerIDs: []string{}, CreatedAt: now, UpdatedAt: now}
		if err := s.CreateAssessmentSession(bg, org, ss); err != nil {
			t.Fatal(err)
		}
		return ss
	}
	s1, s2, s3 := mk(1, c1, "planned"), mk(2, c2, "planned"), mk(3, c1, "in_progress")
	want := func(f sessions.Filter, ids ...string) {
		t.Helper()
		p, err := s.ListAssessmentSessions(bg, org, f, domain.PageRequest{Page: 1, PerPage: 10})
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, x := range p.Items {
			got = append(got, x.ID)
		}
		if ids == nil {
			ids = []string{}
		}
		if !slices.Equal(got, ids) || p.Total != len(ids) {
			t.Fatalf("%+v = %v (total %d), want %v", f, got, p.Total, ids)
		}
	}
	want(sessions.Filter{}, s3.ID, s2.ID, s1.ID)
	want(sessions.Filter{ClientID: c1}, s3.ID, s1.ID)
	want(sessions.Filter{Status: "planned"}, s2.ID, s1.ID)
	want(sessions.Filter{ClientID: c1, Status: "planned"}, s1.ID)
	want(sessions.Filter{ClientID: domain.NewID()})

	// Status and client changes move the index entries and counters.
	got, err := s.UpdateAssessmentSession(bg, org, s1.ID, func(ss *domain.Session) error {
		ss.Status, ss.ClientID, ss.AssetIDs = "completed", c2, []string{"a"}
		return nil
	})
	if err != nil || got.Status != "completed" || !slices.Equal(got.AssetIDs, []string{"a"}) {
		t.Fatalf("update = %+v, %v", got, err)
	}
	want(sessions.Filter{Status: "planned"}, s2.ID)
	want(sessions.Filter{Status: "completed"}, s1.ID)
	want(sessions.Filter{ClientID: c1}, s3.ID)
	want(sessions.Filter{ClientID: c2}, s2.ID, s1.ID)
	want(sessions.Filter{}, s3.ID, s2.ID, s1.ID)

	if _, err := s.GetAssessmentSession(bg, domain.NewID(), s2.ID); !domain.Is(err, domain.KindNotFound) {
		t.Fatalf("foreign get: %v", err)
	}
	if _, err := s.UpdateAssessmentSession(bg, org, "junk", func(*domain.Session) error { return nil }); !domain.Is(err, domain.KindNotFound) {
		t.Fatalf("junk update: %v", err)
	}
	// The sign-in sessions of the identity store live elsewhere: an
	// assessment session id is no refresh token.
	if _, err := s.GetRefreshToken(bg, s2.ID); !domain.Is(err, domain.KindNotFound) {
		t.Fatalf("refresh token lookup: %v", err)
	}
}
