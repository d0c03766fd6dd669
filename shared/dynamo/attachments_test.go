package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/attachments"
	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/testenv"
)

func newAttachment(fid string, i int, status string) attachments.Attachment {
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	a := attachments.Attachment{ID: domain.NewIDAt(now), FindingID: fid, FileName: fmt.Sprintf("file %d.txt", i),
		ContentType: "text/plain; charset=utf-8", Size: int64(100 + i), SHA256: fmt.Sprintf("%064x", i), Status: status,
		CreatedBy: "u1", CreatedAt: now}
	if status == attachments.StatusPending {
		exp := now.Add(24 * time.Hour)
		a.ExpiresAt = &exp
	}
	return a
}

type attachFixture struct {
	store      *dynamo.Store
	db         *dynamodb.Client
	table      string
	org, finID string
}

func newAttachFixture(t *testing.T) attachFixture {
	p := testenv.Platform(t)
	store := p.Store()
	org := domain.NewID()
	f := newFinding(1, "high", "open", domain.NewID(), "", "")
	if err := store.CreateFinding(t.Context(), org, f, nil); err != nil {
		t.Fatal(err)
	}
	return attachFixture{store: store, db: p.AWS.DynamoDB, table: p.Config.Table, org: org, finID: f.ID}
}

func (fx attachFixture) list(t *testing.T, req domain.PageRequest) domain.Page[attachments.Attachment] {
	t.Helper()
	p, err := fx.store.ListAttachments(context.Background(), fx.org, fx.finID, req)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAttachStoreLifecycle(t *testing.T) {
	fx := newAttachFixture(t)
	ctx := t.Context()
	page := domain.PageRequest{Page: 1, PerPage: 10}

	// Writes for a finding that does not exist are refused, nothing written.
	ghost := newAttachment(domain.NewID(), 0, attachments.StatusAvailable)
	if err := fx.store.CreateAttachment(ctx, fx.org, ghost); !domain.Is(err, domain.KindNotFound) {
		t.Fatalf("create for a missing finding: %v", err)
	}
	if err := fx.store.CreatePendingAttachment(ctx, fx.org, newAttachment(domain.NewID(), 0, attachments.StatusPending)); !domain.Is(err, domain.KindNotFound) {
		t.Fatalf("pending for a missing finding: %v", err)
	}
	if _, err := fx.store.GetAttachment(ctx, fx.org, ghost.ID); !domain.Is(err, domain.KindNotFound) {
		t.Fatalf("ghost: %v", err)
	}

	avail := newAttachment(fx.finID, 1, attachments.StatusAvailable)
	if err := fx.store.CreateAttachment(ctx, fx.org, avail); err != nil {
		t.Fatal(err)
	}
	if err := fx.store.CreateAttachment(ctx, fx.org, avail); !domain.Is(err, domain.KindConflict) {
		t.Errorf("duplicate id: %v", err)
	}
	pending := newAttachment(fx.finID, 2, attachments.StatusPending)
	if err := fx.store.CreatePendingAttachment(ctx, fx.org, pending); err != nil {
		t.Fatal(err)
	}
	// A pending attachment is readable, carries a TTL, and is not listed.
	got, err := fx.store.GetAttachment(ctx, fx.org, pending.ID)
	if err != nil || got.Status != attachments.StatusPending || got.ExpiresAt == nil || !got.ExpiresAt.Equal(*pending.ExpiresAt) {
		t.Fatalf("pending = %+v, %v", got, err)
	}
	out, err := fx.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &fx.table, Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "ORG#" + fx.org}, "SK": &types.AttributeValueMemberS{Value: "ATTACH#" + pending.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if ttl, ok := out.Item["ttl"].(*types.AttributeValueMemberN); !ok || ttl.Value != fmt.Sprint(pending.ExpiresAt.Unix()) {
		t.Errorf("pending item ttl = %v", out.Item["ttl"])
	}
	if p := fx.list(t, page); p.Total != 1 || len(p.Items) != 1 || p.Items[0] != avail {
		t.Fatalf("list = %+v", p)
	}

	// Confirm lists it, once.
	pending.ContentType = "application/pdf"
	if err := fx.store.ConfirmAttachment(ctx, fx.org, pending); err != nil {
		t.Fatal(err)
	}
	if err := fx.store.ConfirmAttachment(ctx, fx.org, pending); !domain.Is(err, domain.KindConflict) {
		t.Errorf("second confirm: %v", err)
	}
	p := fx.list(t, page)
	if p.Total != 2 || len(p.Items) != 2 || p.Items[1].ID != pending.ID || p.Items[1].Status != attachments.StatusAvailable ||
		p.Items[1].ExpiresAt != nil || p.Items[1].ContentType != "application/pdf" {
		t.Fatalf("list after confirm = %+v", p)
	}
	out, _ = fx.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &fx.table, Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "ORG#" + fx.org}, "SK": &types.AttributeValueMemberS{Value: "ATTACH#" + pending.ID}}})
	if _, ok := out.Item["ttl"]; ok {
		t.Error("a confirmed attachment keeps its ttl")
	}

	// Another organization reaches nothing.
	other := domain.NewID()
	if _, err := fx.store.GetAttachment(ctx, other, avail.ID); !domain.Is(err, domain.KindNotFound) {
		t.Errorf("other org get: %v", err)
	}
	if _, err := fx.store.DeleteAttachment(ctx, other, avail.ID); !domain.Is(err, domain.KindNotFound) {
		t.Errorf("other org delete: %v", err)
	}
	if p, _ := fx.store.ListAttachments(ctx, other, fx.finID, page); p.Total != 0 || len(p.Items) != 0 {
		t.Errorf("other org list = %+v", p)
	}

	// Delete removes record, entry and count; a pending one only its record.
	if _, err := fx.store.DeleteAttachment(ctx, fx.org, avail.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.DeleteAttachment(ctx, fx.org, avail.ID); !domain.Is(err, domain.KindNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if p := fx.list(t, page); p.Total != 1 || len(p.Items) != 1 || p.Items[0].ID != pending.ID {
		t.Fatalf("list after delete = %+v", p)
	}
	lone := newAttachment(fx.finID, 3, attachments.StatusPending)
	if err := fx.store.CreatePendingAttachment(ctx, fx.org, lone); err != nil {
		t.Fatal(err)
	}
	if err := fx.store.DeletePendingAttachment(ctx, fx.org, pending.ID); !domain.Is(err, domain.KindConflict) {
		t.Errorf("delete pending of an available attachment: %v", err)
	}
	if err := fx.store.DeletePendingAttachment(ctx, fx.org, domain.NewID()); !domain.Is(err, domain.KindNotFound) {
		t.Errorf("delete pending of a missing attachment: %v", err)
	}
	if err := fx.store.DeletePendingAttachment(ctx, fx.org, lone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.GetAttachment(ctx, fx.org, lone.ID); !domain.Is(err, domain.KindNotFound) {
		t.Errorf("pending record survived: %v", err)
	}
	lone = newAttachment(fx.finID, 4, attachments.StatusPending)
	if err := fx.store.CreatePendingAttachment(ctx, fx.org, lone); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.store.DeleteAttachment(ctx, fx.org, lone.ID); err != nil {
		t.Fatal(err)
	}
	if p := fx.list(t, page); p.Total != 1 {
		t.Errorf("deleting a pending attachment moved the count: %d", p.Total)
	}
	if _, err := fx.store.GetAttachment(ctx, fx.org, "not-an-id"); !domain.Is(err, domain.KindNotFound) {
		t.Errorf("junk id: %v", err)
	}
}

func TestAttachStorePagesAndDeleteAll(t *testing.T) {
	fx := newAttachFixture(t)
	ctx := t.Context()
	const n = 60 // more than one delete batch
	var ids []string
	for i := range n {
		a := newAttachment(fx.finID, i, attachments.StatusAvailable)
		if err := fx.store.CreateAttachment(ctx, fx.org, a); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	tests := []struct {
		name      string
		req       domain.PageRequest
		wantFirst int
		wantLen   int
	}{
		{"first page", domain.PageRequest{Page: 1, PerPage: 25}, 0, 25},
		{"third page", domain.PageRequest{Page: 3, PerPage: 25}, 50, 10},
		{"past the end", domain.PageRequest{Page: 4, PerPage: 25}, -1, 0},
		{"page of 7", domain.PageRequest{Page: 2, PerPage: 7}, 7, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fx.list(t, tt.req)
			if p.Total != n || len(p.Items) != tt.wantLen {
				t.Fatalf("total %d, %d items", p.Total, len(p.Items))
			}
			if tt.wantLen > 0 && p.Items[0].ID != ids[tt.wantFirst] {
				t.Errorf("first item %s, want %s (oldest first)", p.Items[0].ID, ids[tt.wantFirst])
			}
		})
	}
	// The cursor continues where the page ended.
	p1 := fx.list(t, domain.PageRequest{Page: 1, PerPage: 25})
	p2 := fx.list(t, domain.PageRequest{PerPage: 25, Cursor: p1.NextCursor, Page: 1})
	if p1.NextCursor == "" || len(p2.Items) != 25 || p2.Items[0].ID != ids[25] {
		t.Fatalf("cursor page: %d items, cursor %q", len(p2.Items), p1.NextCursor)
	}
	// A cursor of another finding's list is refused.
	for _, c := range []string{p1.NextCursor, "bm9wZQ", "!!"} {
		if _, err := fx.store.ListAttachments(ctx, fx.org, domain.NewID(), domain.PageRequest{PerPage: 25, Cursor: c}); !domain.Is(err, domain.KindInvalid) {
			t.Errorf("cursor %q of another list: %v, want 422", c, err)
		}
	}

	// A pending attachment is not part of the finding's deletion.
	pending := newAttachment(fx.finID, n, attachments.StatusPending)
	if err := fx.store.CreatePendingAttachment(ctx, fx.org, pending); err != nil {
		t.Fatal(err)
	}
	deleted, err := fx.store.DeleteFindingAttachments(ctx, fx.org, fx.finID)
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != n {
		t.Errorf("deleted %d, want %d", len(deleted), n)
	}
	if p := fx.list(t, domain.PageRequest{Page: 1, PerPage: 25}); p.Total != 0 || len(p.Items) != 0 {
		t.Errorf("after delete all: %+v", p)
	}
	for _, id := range ids {
		if _, err := fx.store.GetAttachment(ctx, fx.org, id); !domain.Is(err, domain.KindNotFound) {
			t.Fatalf("%s survived: %v", id, err)
		}
	}
	out, err := fx.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &fx.table, Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "ORG#" + fx.org}, "SK": &types.AttributeValueMemberS{Value: "COUNT#attach#" + fx.finID}}})
	if err != nil || out.Item != nil {
		t.Errorf("counter item left: %v %v", out.Item, err)
	}
	// Again: nothing to do.
	if deleted, err := fx.store.DeleteFindingAttachments(ctx, fx.org, fx.finID); err != nil || len(deleted) != 0 {
		t.Errorf("second delete all: %d, %v", len(deleted), err)
	}
}
