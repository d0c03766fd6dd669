package dynamo_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/schedules"
	"rampart/shared/testenv"
)

var schedT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestScheduleStore(t *testing.T) {
	p := testenv.Platform(t)
	s := p.Store()
	bg := context.Background()
	org, other := domain.NewID(), domain.NewID()
	mk := func(org string, i int, next *time.Time) schedules.Schedule {
		t.Helper()
		created := schedT0.Add(time.Duration(i) * time.Second)
		sc := schedules.Schedule{ID: domain.NewIDAt(created), Name: "s", Cron: "0 3 * * *", Timezone: "UTC",
			Targets: schedules.Targets{Mode: schedules.TargetAll}, Enabled: next != nil, NextRunAt: next,
			CreatedBy: "u", CreatedAt: created, UpdatedAt: created}
		if err := s.CreateSchedule(bg, org, sc); err != nil {
			t.Fatal(err)
		}
		return sc
	}
	at := func(minutes int) *time.Time { v := schedT0.Add(time.Duration(minutes) * time.Minute); return &v }

	a := mk(org, 1, at(0))  // due at t0
	b := mk(org, 2, at(-5)) // due before
	c := mk(org, 3, at(1))  // due after t0
	d := mk(org, 4, nil)    // disabled
	e := mk(other, 5, at(-1))

	t.Run("get, list, counter", func(t *testing.T) {
		got, err := s.GetSchedule(bg, org, a.ID)
		if err != nil || got.Name != "s" || got.Version != 1 || !got.NextRunAt.Equal(*a.NextRunAt) || got.Targets.Mode != schedules.TargetAll {
			t.Fatalf("get = %+v, %v", got, err)
		}
		if _, err := s.GetSchedule(bg, other, a.ID); !domain.Is(err, domain.KindNotFound) {
			t.Fatalf("foreign get: %v", err)
		}
		if _, err := s.GetSchedule(bg, org, "junk"); !domain.Is(err, domain.KindNotFound) {
			t.Fatalf("junk get: %v", err)
		}
		page, err := s.ListSchedules(bg, org, domain.PageRequest{Page: 1, PerPage: 3})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if !slices.Equal(ids, []string{d.ID, c.ID, b.ID}) || page.Total != 4 || page.NextCursor == "" {
			t.Fatalf("page 1 = %v total %d cursor %q", ids, page.Total, page.NextCursor)
		}
		p2, err := s.ListSchedules(bg, org, domain.PageRequest{Page: 1, PerPage: 3, Cursor: page.NextCursor})
		if err != nil || len(p2.Items) != 1 || p2.Items[0].ID != a.ID {
			t.Fatalf("page 2 = %+v, %v", p2.Items, err)
		}
		if _, err := s.ListSchedules(bg, other, domain.PageRequest{Page: 1, PerPage: 3, Cursor: page.NextCursor}); !domain.Is(err, domain.KindInvalid) {
			t.Fatalf("another organization's cursor: %v", err)
		}
	})

	dueIDs := func(now time.Time, limit int, after *schedules.Due) ([]string, *schedules.Due) {
		t.Helper()
		due, more, err := s.DueSchedules(bg, now, limit, after)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range due {
			out = append(out, x.ID)
		}
		return out, more
	}

	t.Run("due index", func(t *testing.T) {
		// Due at or before now, oldest first, across organizations; not the
		// disabled one, not the one due a minute later.
		got, more := dueIDs(schedT0, 10, nil)
		if !slices.Equal(got, []string{b.ID, e.ID, a.ID}) || more != nil {
			t.Fatalf("due at t0 = %v (more %v), want %v", got, more, []string{b.ID, e.ID, a.ID})
		}
		if got, _ := dueIDs(schedT0.Add(-time.Second), 10, nil); !slices.Equal(got, []string{b.ID, e.ID}) {
			t.Fatalf("due a second before t0 = %v", got)
		}
		if got, _ := dueIDs(schedT0.Add(59*time.Second+999*time.Millisecond), 10, nil); len(got) != 3 {
			t.Fatalf("due just before c = %v", got)
		}
		// A limit and a continuation.
		first, more := dueIDs(schedT0, 2, nil)
		if !slices.Equal(first, []string{b.ID, e.ID}) || more == nil || more.ID != e.ID {
			t.Fatalf("first batch = %v, more %+v", first, more)
		}
		rest, more := dueIDs(schedT0, 2, more)
		if !slices.Equal(rest, []string{a.ID}) || more != nil {
			t.Fatalf("second batch = %v, more %+v", rest, more)
		}
	})

	t.Run("claim", func(t *testing.T) {
		next := at(24 * 60)
		ok, err := s.ClaimSchedule(bg, org, b.ID, *at(-4), next, schedT0) // a due time it does not have
		if err != nil || ok {
			t.Fatalf("claim with a stale read: %v %v", ok, err)
		}
		ok, err = s.ClaimSchedule(bg, org, b.ID, *b.NextRunAt, next, schedT0)
		if err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		ok, err = s.ClaimSchedule(bg, org, b.ID, *b.NextRunAt, next, schedT0)
		if err != nil || ok {
			t.Fatalf("second claim of the same due time: %v %v", ok, err)
		}
		got, _ := s.GetSchedule(bg, org, b.ID)
		if !got.NextRunAt.Equal(*next) || !got.LastRunAt.Equal(schedT0) || got.Version != 2 {
			t.Fatalf("claimed = %+v", got)
		}
		if ids, _ := dueIDs(schedT0, 10, nil); slices.Contains(ids, b.ID) {
			// The index is eventually consistent; DynamoDB Local updates it
			// at once.
			t.Fatalf("claimed schedule still due: %v", ids)
		}
		if ids, _ := dueIDs(*next, 10, nil); !slices.Contains(ids, b.ID) {
			t.Fatalf("claimed schedule not due at its next time: %v", ids)
		}
		// A missing schedule and a disabled one are never claimed, and the
		// claim does not create an item.
		gone := domain.NewID()
		if ok, err := s.ClaimSchedule(bg, org, gone, schedT0, next, schedT0); err != nil || ok {
			t.Fatalf("claim of a missing schedule: %v %v", ok, err)
		}
		if _, err := s.GetSchedule(bg, org, gone); !domain.Is(err, domain.KindNotFound) {
			t.Fatalf("claim created an item: %v", err)
		}
		if ok, err := s.ClaimSchedule(bg, org, d.ID, schedT0, next, schedT0); err != nil || ok {
			t.Fatalf("claim of a disabled schedule: %v %v", ok, err)
		}

		// Record the run: only for the claim it belongs to.
		if err := s.RecordRun(bg, org, b.ID, schedT0.Add(time.Minute), "SCAN-OTHER", "x"); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordRun(bg, org, b.ID, schedT0, "SCAN1", "2 of 3 assets gone"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetSchedule(bg, org, b.ID)
		if got.LastScanID != "SCAN1" || got.LastError != "2 of 3 assets gone" || got.Version != 3 {
			t.Fatalf("recorded = %+v", got)
		}
		if err := s.RecordRun(bg, org, b.ID, schedT0, "", ""); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.GetSchedule(bg, org, b.ID); got.LastScanID != "SCAN1" || got.LastError != "" {
			t.Fatalf("recorded without a scan = %+v", got)
		}
		if err := s.RecordRun(bg, org, gone, schedT0, "S", "e"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSchedule(bg, org, gone); !domain.Is(err, domain.KindNotFound) {
			t.Fatalf("record created an item: %v", err)
		}

		// Release gives the due time back, once.
		ok, err = s.ClaimSchedule(bg, other, e.ID, *e.NextRunAt, next, schedT0)
		if err != nil || !ok {
			t.Fatalf("claim e: %v %v", ok, err)
		}
		if err := s.ReleaseSchedule(bg, other, e.ID, next, schedT0, *e.NextRunAt, "bus down"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetSchedule(bg, other, e.ID)
		if !got.NextRunAt.Equal(*e.NextRunAt) || got.LastError != "bus down" {
			t.Fatalf("released = %+v", got)
		}
		if ids, _ := dueIDs(schedT0, 10, nil); !slices.Contains(ids, e.ID) {
			t.Fatalf("released schedule not due: %v", ids)
		}
		// A release for a claim that is no longer current changes nothing.
		if err := s.ReleaseSchedule(bg, other, e.ID, next, schedT0, schedT0.Add(-time.Hour), "late"); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.GetSchedule(bg, other, e.ID); !got.NextRunAt.Equal(*e.NextRunAt) || got.LastError != "bus down" {
			t.Fatalf("stale release changed %+v", got)
		}
	})

	t.Run("update moves and removes the due entry", func(t *testing.T) {
		later := at(90)
		got, err := s.UpdateSchedule(bg, org, c.ID, func(sc *schedules.Schedule) error {
			sc.Enabled = false
			sc.NextRunAt = nil
			return nil
		})
		if err != nil || got.Enabled || got.NextRunAt != nil {
			t.Fatalf("disable = %+v, %v", got, err)
		}
		raw, err := p.AWS.DynamoDB.GetItem(bg, &dynamodb.GetItemInput{TableName: aws.String(p.Config.Table),
			Key: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: "ORG#" + org}, "SK": &types.AttributeValueMemberS{Value: "SCHEDULE#" + c.ID}},
			ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"DuePK", "DueSK", "next_run_at"} {
			if _, ok := raw.Item[k]; ok {
				t.Fatalf("disabled schedule keeps %s", k)
			}
		}
		if ids, _ := dueIDs(*later, 10, nil); slices.Contains(ids, c.ID) {
			t.Fatalf("disabled schedule due: %v", ids)
		}
		got, err = s.UpdateSchedule(bg, org, c.ID, func(sc *schedules.Schedule) error {
			sc.Enabled, sc.NextRunAt = true, later
			return nil
		})
		if err != nil || !got.Enabled || !got.NextRunAt.Equal(*later) {
			t.Fatalf("enable = %+v, %v", got, err)
		}
		if ids, _ := dueIDs(*later, 10, nil); !slices.Contains(ids, c.ID) {
			t.Fatalf("enabled schedule not due: %v", ids)
		}
		if _, err := s.UpdateSchedule(bg, other, c.ID, func(*schedules.Schedule) error { return nil }); !domain.Is(err, domain.KindNotFound) {
			t.Fatalf("foreign update: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := s.DeleteSchedule(bg, other, a.ID); !domain.Is(err, domain.KindNotFound) {
			t.Fatalf("foreign delete: %v", err)
		}
		if err := s.DeleteSchedule(bg, org, a.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSchedule(bg, org, a.ID); !domain.Is(err, domain.KindNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if ids, _ := dueIDs(schedT0, 10, nil); slices.Contains(ids, a.ID) {
			t.Fatalf("deleted schedule due: %v", ids)
		}
		if ok, err := s.ClaimSchedule(bg, org, a.ID, *a.NextRunAt, at(60), schedT0); err != nil || ok {
			t.Fatalf("claim of a deleted schedule: %v %v", ok, err)
		}
		page, err := s.ListSchedules(bg, org, domain.PageRequest{Page: 1, PerPage: 10})
		if err != nil || page.Total != 3 || len(page.Items) != 3 {
			t.Fatalf("after delete: total %d, %d items, %v", page.Total, len(page.Items), err)
		}
	})
}
