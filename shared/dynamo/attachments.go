package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/attachments"
	"rampart/shared/domain"
)

// An attachment is stored as:
//   ATTACH#<id>                   the record (pending ones carry a ttl)
//   FINDING#<fid>#A#<id>          list entry beside its finding: a full copy
//                                 (attachments never change), available only
//   COUNT#attach#<fid>            the finding's attachment count
// all in the organization's partition. Confirming or creating an available
// attachment writes the three in one transaction with a check that the
// finding exists, so the list (a strongly consistent query) and its total
// are exact right after the write.

func attachKey(org, id string) keys { return orgItem(org, "ATTACH#"+id) }
func attachEntryKey(org, fid, id string) keys {
	return orgItem(org, attachPrefix(fid)+id)
}
func attachPrefix(fid string) string  { return "FINDING#" + fid + "#A#" }
func attachCounter(fid string) string { return "attach#" + fid }

type attachRec struct {
	keys
	ID          string     `dynamodbav:"id"`
	FindingID   string     `dynamodbav:"finding_id"`
	FileName    string     `dynamodbav:"file_name"`
	ContentType string     `dynamodbav:"content_type"`
	Size        int64      `dynamodbav:"size"`
	SHA256      string     `dynamodbav:"sha256"`
	Status      string     `dynamodbav:"status"`
	CreatedBy   string     `dynamodbav:"created_by"`
	CreatedAt   time.Time  `dynamodbav:"created_at"`
	ExpiresAt   *time.Time `dynamodbav:"expires_at,omitempty"`
	TTL         int64      `dynamodbav:"ttl,omitempty"`
}

func newAttachRec(k keys, a attachments.Attachment) attachRec {
	r := attachRec{keys: k, ID: a.ID, FindingID: a.FindingID, FileName: a.FileName, ContentType: a.ContentType, Size: a.Size,
		SHA256: a.SHA256, Status: a.Status, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt}
	if a.ExpiresAt != nil {
		r.TTL = a.ExpiresAt.Unix()
	}
	return r
}

func (r attachRec) domain() attachments.Attachment {
	return attachments.Attachment{ID: r.ID, FindingID: r.FindingID, FileName: r.FileName, ContentType: r.ContentType,
		Size: r.Size, SHA256: r.SHA256, Status: r.Status, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
}

// findingExists is a transaction item that fails when the finding is gone.
func (s *Store) findingExists(org, fid string) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: &s.table, Key: findingKey(org, fid).av(), ConditionExpression: aws.String("attribute_exists(PK)"),
	}}
}

// listed are the writes that list an available attachment.
func (s *Store) listed(org string, a attachments.Attachment) ([]types.TransactWriteItem, error) {
	entry, err := marshal(newAttachRec(attachEntryKey(org, a.FindingID, a.ID), a))
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{s.putNew(entry), s.counterAdd(org, attachCounter(a.FindingID), 1)}, nil
}

// CreateAttachment implements attachments.Store.
func (s *Store) CreateAttachment(ctx context.Context, org string, a attachments.Attachment) error {
	a.ExpiresAt = nil
	item, err := marshal(newAttachRec(attachKey(org, a.ID), a))
	if err != nil {
		return err
	}
	rest, err := s.listed(org, a)
	if err != nil {
		return err
	}
	err = s.transact(ctx, append([]types.TransactWriteItem{s.findingExists(org, a.FindingID), s.putNew(item)}, rest...))
	if tc, ok := err.(*txCanceled); ok {
		if tc.failed(0) {
			return domain.NotFound("finding")
		}
		return domain.E(domain.KindConflict, "an attachment with this id exists")
	}
	return err
}

// CreatePendingAttachment implements attachments.Store.
func (s *Store) CreatePendingAttachment(ctx context.Context, org string, a attachments.Attachment) error {
	item, err := marshal(newAttachRec(attachKey(org, a.ID), a))
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{s.findingExists(org, a.FindingID), s.putNew(item)})
	if tc, ok := err.(*txCanceled); ok {
		if tc.failed(0) {
			return domain.NotFound("finding")
		}
		return domain.E(domain.KindConflict, "an attachment with this id exists")
	}
	return err
}

// GetAttachment implements attachments.Store.
func (s *Store) GetAttachment(ctx context.Context, org, id string) (attachments.Attachment, error) {
	var r attachRec
	if !domain.ValidID(id) {
		return attachments.Attachment{}, domain.NotFound("attachment")
	}
	found, err := s.get(ctx, attachKey(org, id), &r, true)
	if err != nil {
		return attachments.Attachment{}, err
	}
	if !found {
		return attachments.Attachment{}, domain.NotFound("attachment")
	}
	return r.domain(), nil
}

// ConfirmAttachment implements attachments.Store.
func (s *Store) ConfirmAttachment(ctx context.Context, org string, a attachments.Attachment) error {
	a.Status, a.ExpiresAt = attachments.StatusAvailable, nil
	item, err := marshal(newAttachRec(attachKey(org, a.ID), a))
	if err != nil {
		return err
	}
	rest, err := s.listed(org, a)
	if err != nil {
		return err
	}
	put := types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("#s = :pending"),
		ExpressionAttributeNames:  names("#s", "status"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pending": str(attachments.StatusPending)},
	}}
	err = s.transact(ctx, append([]types.TransactWriteItem{s.findingExists(org, a.FindingID), put}, rest...))
	if tc, ok := err.(*txCanceled); ok {
		if tc.failed(0) {
			return domain.NotFound("finding")
		}
		return domain.E(domain.KindConflict, "the attachment is no longer pending")
	}
	return err
}

// DeleteAttachment implements attachments.Store. The record is deleted on
// the condition that its status is the one read, so that the list entry and
// the count go with it exactly when they exist.
func (s *Store) DeleteAttachment(ctx context.Context, org, id string) (attachments.Attachment, error) {
	for range retries {
		a, err := s.GetAttachment(ctx, org, id)
		if err != nil {
			return attachments.Attachment{}, err
		}
		items := []types.TransactWriteItem{{Delete: &types.Delete{TableName: &s.table, Key: attachKey(org, id).av(),
			ConditionExpression:       aws.String("#s = :s"),
			ExpressionAttributeNames:  names("#s", "status"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":s": str(a.Status)},
		}}}
		if a.Status == attachments.StatusAvailable {
			items = append(items, s.del(attachEntryKey(org, a.FindingID, id)), s.counterAdd(org, attachCounter(a.FindingID), -1))
		}
		err = s.transact(ctx, items)
		if _, ok := err.(*txCanceled); ok || domain.Is(err, domain.KindConflict) {
			continue // changed or deleted concurrently: read again
		}
		if err != nil {
			return attachments.Attachment{}, err
		}
		return a, nil
	}
	return attachments.Attachment{}, domain.E(domain.KindConflict, "the attachment changed concurrently too often; retry")
}

// DeletePendingAttachment implements attachments.Store.
func (s *Store) DeletePendingAttachment(ctx context.Context, org, id string) error {
	if !domain.ValidID(id) {
		return domain.NotFound("attachment")
	}
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: attachKey(org, id).av(),
		ConditionExpression:                 aws.String("#s = :pending"),
		ExpressionAttributeNames:            names("#s", "status"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":pending": str(attachments.StatusPending)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if len(ccf.Item) == 0 {
			return domain.NotFound("attachment")
		}
		return domain.E(domain.KindConflict, "the attachment is no longer pending")
	}
	return classify(err)
}

// ListAttachments implements attachments.Store: one page of list entries,
// oldest first, and the total from the finding's counter.
func (s *Store) ListAttachments(ctx context.Context, org, fid string, req domain.PageRequest) (domain.Page[attachments.Attachment], error) {
	var recs []attachRec
	if !cursorUnder(req.Cursor, "SK", attachPrefix(fid)) {
		return domain.Page[attachments.Attachment]{}, domain.Invalid("invalid cursor",
			domain.FieldError{Location: "query.cursor", Message: "not a cursor of this list"})
	}
	next, err := s.page(ctx, basePartition(orgPK(org), attachPrefix(fid), false), req, &recs)
	if err != nil {
		return domain.Page[attachments.Attachment]{}, err
	}
	total, err := s.count(ctx, org, attachCounter(fid))
	if err != nil {
		return domain.Page[attachments.Attachment]{}, err
	}
	out := make([]attachments.Attachment, len(recs))
	for i, r := range recs {
		out[i] = r.domain()
	}
	return domain.Page[attachments.Attachment]{Items: out, Total: total, Request: req, NextCursor: next}, nil
}

// cursorUnder reports whether a cursor ("" is fine) points inside the list
// of sort keys starting with prefix: decodeCursor checks the partition only,
// and a cursor of another finding's list would make the query fail.
func cursorUnder(cursor, skName, prefix string) bool {
	if cursor == "" {
		return true
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return false
	}
	var m map[string]string
	return json.Unmarshal(b, &m) == nil && strings.HasPrefix(m[skName], prefix)
}

// FindingAttachments implements attachments.Store (reads the finding's list
// entries whole).
func (s *Store) FindingAttachments(ctx context.Context, org, fid string) ([]attachments.Attachment, error) {
	var recs []attachRec
	if err := s.all(ctx, basePartition(orgPK(org), attachPrefix(fid), false), &recs); err != nil {
		return nil, err
	}
	out := make([]attachments.Attachment, len(recs))
	for i, r := range recs {
		out[i] = r.domain()
	}
	return out, nil
}

// attachBatch is how many attachments one transaction deletes (two items
// each, plus the counter, within the 100-item limit).
const attachBatch = 49

// DeleteFindingAttachments implements attachments.Store. Each batch deletes
// records and list entries that must exist, and lowers the counter by as
// many, in one transaction; a batch that meets a concurrent change reads the
// list again. The counter item goes when the list is empty.
func (s *Store) DeleteFindingAttachments(ctx context.Context, org, fid string) ([]attachments.Attachment, error) {
	var deleted []attachments.Attachment
	exists := aws.String("attribute_exists(PK)")
	for attempt := 0; attempt < retries*4; attempt++ {
		list, err := s.FindingAttachments(ctx, org, fid)
		if err != nil {
			return deleted, err
		}
		if len(list) == 0 {
			// The counter item of a finding without attachments goes, unless
			// an attachment was added meanwhile.
			_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table,
				Key:                       counterKey(org, attachCounter(fid)).av(),
				ConditionExpression:       aws.String("attribute_not_exists(#c) OR #c = :zero"),
				ExpressionAttributeNames:  names("#c", "count"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0)},
			})
			if err != nil && !isConditionFailed(err) {
				return deleted, classify(err)
			}
			return deleted, nil
		}
		retry := false
		for start := 0; start < len(list) && !retry; start += attachBatch {
			batch := list[start:min(start+attachBatch, len(list))]
			items := make([]types.TransactWriteItem, 0, 2*len(batch)+1)
			for _, a := range batch {
				items = append(items,
					types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: attachKey(org, a.ID).av(), ConditionExpression: exists}},
					types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: attachEntryKey(org, fid, a.ID).av(), ConditionExpression: exists}})
			}
			items = append(items, s.counterAdd(org, attachCounter(fid), -len(batch)))
			err := s.transact(ctx, items)
			if _, ok := err.(*txCanceled); ok || domain.Is(err, domain.KindConflict) {
				retry = true
				continue
			}
			if err != nil {
				return deleted, err
			}
			deleted = append(deleted, batch...)
		}
	}
	return deleted, domain.E(domain.KindConflict, "the attachments of the finding changed concurrently too often; retry")
}
