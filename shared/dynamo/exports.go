package dynamo

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/findings"
	"rampart/shared/reports"
)

// A report export is stored as:
//   EXPORT#<id>                        the record (GSI1: ORG#<org>#EXPORT#<subject> / <id>,
//                                      so a subject's exports list newest first); ttl
//   EXPORTKEY#<subject>#<format>#<fp>  reuse marker: the export of that subject, format
//                                      and fingerprint (written with the export, in one
//                                      transaction, on the condition that it still names
//                                      the export it replaces); ttl
// in the organization's partition. <subject> is "session:<id>" or "scan:<id>".
// Both carry the retention as ttl; the store also hides an export whose ttl
// has passed (DynamoDB deletes expired items up to days late).

func exportKey(org, id string) keys { return orgItem(org, "EXPORT#"+id) }
func exportMarkerKey(org, reuseKey string) keys {
	return orgItem(org, "EXPORTKEY#"+reuseKey)
}
func exportsBySubjectPK(org, subject string) string { return orgPK(org) + "#EXPORT#" + subject }

type exportRec struct {
	keys
	GSI1PK          string     `dynamodbav:"GSI1PK"`
	GSI1SK          string     `dynamodbav:"GSI1SK"`
	ID              string     `dynamodbav:"id"`
	SubjectType     string     `dynamodbav:"subject_type"`
	SubjectID       string     `dynamodbav:"subject_id"`
	ClientID        string     `dynamodbav:"client_id"`
	Format          string     `dynamodbav:"format"`
	Status          string     `dynamodbav:"status"`
	TaxonomyVersion int        `dynamodbav:"taxonomy_version"`
	Fingerprint     string     `dynamodbav:"fingerprint"`
	FileName        string     `dynamodbav:"file_name"`
	Size            int64      `dynamodbav:"size"`
	SHA256          string     `dynamodbav:"sha256"`
	Key             string     `dynamodbav:"object_key"`
	Error           string     `dynamodbav:"error"`
	RequestedBy     string     `dynamodbav:"requested_by"`
	CreatedAt       time.Time  `dynamodbav:"created_at"`
	StartedAt       *time.Time `dynamodbav:"started_at"`
	FinishedAt      *time.Time `dynamodbav:"finished_at"`
	TTL             int64      `dynamodbav:"ttl"`
	Ver             int        `dynamodbav:"ver"`
}

func newExportRec(org string, e reports.Export) exportRec {
	return exportRec{keys: exportKey(org, e.ID), GSI1PK: exportsBySubjectPK(org, e.Subject()), GSI1SK: e.ID, ID: e.ID,
		SubjectType: e.SubjectType, SubjectID: e.SubjectID, ClientID: e.ClientID, Format: e.Format, Status: e.Status,
		TaxonomyVersion: e.TaxonomyVersion, Fingerprint: e.Fingerprint, FileName: e.FileName, Size: e.Size, SHA256: e.SHA256,
		Key: e.Key, Error: e.Error, RequestedBy: e.RequestedBy, CreatedAt: e.CreatedAt, StartedAt: e.StartedAt,
		FinishedAt: e.FinishedAt, TTL: e.ExpiresAt.Unix(), Ver: e.Version}
}

func (r exportRec) domain(org string) reports.Export {
	return reports.Export{ID: r.ID, OrgID: org, SubjectType: r.SubjectType, SubjectID: r.SubjectID, ClientID: r.ClientID,
		Format: r.Format, Status: r.Status, TaxonomyVersion: r.TaxonomyVersion, Fingerprint: r.Fingerprint, FileName: r.FileName,
		Size: r.Size, SHA256: r.SHA256, Key: r.Key, Error: r.Error, RequestedBy: r.RequestedBy, CreatedAt: r.CreatedAt,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, ExpiresAt: time.Unix(r.TTL, 0).UTC(), Version: r.Ver}
}

type exportMarkerRec struct {
	keys
	ExportID string `dynamodbav:"eid"`
	TTL      int64  `dynamodbav:"ttl"`
}

// CreateExport implements reports.Store.
func (s *Store) CreateExport(ctx context.Context, org string, e reports.Export, reuse *reports.Reuse) error {
	if e.Version == 0 {
		e.Version = 1
	}
	item, err := marshal(newExportRec(org, e))
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{s.putNew(item)}
	if reuse != nil {
		marker, err := marshal(exportMarkerRec{keys: exportMarkerKey(org, reuse.Key), ExportID: e.ID, TTL: reuse.ExpiresAt.Unix()})
		if err != nil {
			return err
		}
		put := types.Put{TableName: &s.table, Item: marker, ConditionExpression: aws.String("attribute_not_exists(PK)")}
		if reuse.Replace != "" {
			put.ConditionExpression = aws.String("attribute_not_exists(PK) OR eid = :old")
			put.ExpressionAttributeValues = map[string]types.AttributeValue{":old": str(reuse.Replace)}
		}
		items = append(items, types.TransactWriteItem{Put: &put})
	}
	err = s.transact(ctx, items)
	if tc, ok := err.(*txCanceled); ok {
		if tc.failed(0) {
			return domain.E(domain.KindConflict, "an export with this id exists")
		}
		return domain.E(domain.KindConflict, "another request started this report meanwhile")
	}
	return err
}

// ReuseCandidate implements reports.Store.
func (s *Store) ReuseCandidate(ctx context.Context, org, key string) (string, error) {
	var r exportMarkerRec
	found, err := s.get(ctx, exportMarkerKey(org, key), &r, true)
	if err != nil || !found {
		return "", err
	}
	return r.ExportID, nil
}

// GetExport implements reports.Store: NotFound for an id of another
// organization, an unknown one and an expired one alike.
func (s *Store) GetExport(ctx context.Context, org, id string) (reports.Export, error) {
	r, err := s.getExportRec(ctx, org, id)
	if err != nil {
		return reports.Export{}, err
	}
	return r.domain(org), nil
}

func (s *Store) getExportRec(ctx context.Context, org, id string) (exportRec, error) {
	var r exportRec
	if !domain.ValidID(id) || !domain.ValidID(org) {
		return r, domain.NotFound("report export")
	}
	found, err := s.get(ctx, exportKey(org, id), &r, true)
	if err != nil {
		return r, err
	}
	if !found || (r.TTL > 0 && !s.clock().Before(time.Unix(r.TTL, 0))) {
		return r, domain.NotFound("report export")
	}
	return r, nil
}

// UpdateExport implements reports.Store with the ver condition.
func (s *Store) UpdateExport(ctx context.Context, org, id string, fn func(*reports.Export) error) (reports.Export, error) {
	for range retries {
		r, err := s.getExportRec(ctx, org, id)
		if err != nil {
			return reports.Export{}, err
		}
		cur := r.domain(org)
		if err := fn(&cur); err != nil {
			return reports.Export{}, err
		}
		cur.ID, cur.OrgID, cur.Version = r.ID, org, r.Ver+1
		item, err := marshal(newExportRec(org, cur))
		if err != nil {
			return reports.Export{}, err
		}
		won, err := s.putIfVersion(ctx, item, r.Ver)
		if err != nil {
			return reports.Export{}, err
		}
		if !won {
			continue
		}
		return cur, nil
	}
	return reports.Export{}, domain.E(domain.KindConflict, "the export changed concurrently too often; retry")
}

// ListExports implements reports.Store: one page of the subject's GSI1
// partition, newest first, without expired items. The total counts the
// partition (a query that reads keys only): a subject has as many exports
// as were requested within the retention, so a counter, which TTL deletions
// would not decrease, is not used.
func (s *Store) ListExports(ctx context.Context, org, subject string, now time.Time, req domain.PageRequest) (domain.Page[reports.Export], error) {
	p := indexPartition(GSI1, exportsBySubjectPK(org, subject), "", true)
	// The whole partition (no sort-key condition: begins_with with an empty
	// prefix is refused on an index key), newest first, unexpired only.
	query := func() *dynamodb.QueryInput {
		return &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(GSI1),
			KeyConditionExpression:    aws.String("GSI1PK = :pk"),
			FilterExpression:          aws.String("#ttl > :now"),
			ExpressionAttributeNames:  names("#ttl", "ttl"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(p.pk), ":now": num(now.Unix())},
			ScanIndexForward:          aws.Bool(false)}
	}
	count := query()
	count.Select = types.SelectCount
	total := 0
	pg := dynamodb.NewQueryPaginator(s.db, count)
	for pg.HasMorePages() {
		res, err := pg.NextPage(ctx)
		if err != nil {
			return domain.Page[reports.Export]{}, classify(err)
		}
		total += int(res.Count)
	}
	in := query()
	var recs []exportRec
	next, err := s.filteredExports(ctx, in, req, p, &recs)
	if err != nil {
		return domain.Page[reports.Export]{}, err
	}
	out := make([]reports.Export, len(recs))
	for i, r := range recs {
		out[i] = r.domain(org)
	}
	return domain.Page[reports.Export]{Items: out, Total: total, Request: req, NextCursor: next}, nil
}

// filteredExports reads one page of a filtered query: DynamoDB applies Limit
// before the filter, so it reads on until the page is full.
func (s *Store) filteredExports(ctx context.Context, in *dynamodb.QueryInput, req domain.PageRequest, p partition, out *[]exportRec) (string, error) {
	skip := (req.Page - 1) * req.PerPage
	if req.Cursor != "" {
		k, err := decodeCursor(req.Cursor, p)
		if err != nil {
			return "", err
		}
		in.ExclusiveStartKey, skip = k, 0
	}
	in.Limit = aws.Int32(int32(max(req.PerPage+skip, 25)))
	for {
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return "", classify(err)
		}
		var batch []exportRec
		if err := attributevalue.UnmarshalListOfMaps(res.Items, &batch); err != nil {
			return "", domain.Wrap(domain.KindInternal, err, "decode items")
		}
		for i, r := range batch {
			if skip > 0 {
				skip--
				continue
			}
			*out = append(*out, r)
			if len(*out) == req.PerPage {
				if i == len(batch)-1 && res.LastEvaluatedKey == nil {
					return "", nil
				}
				return encodeCursor(map[string]types.AttributeValue{"PK": str(r.PK), "SK": str(r.SK),
					"GSI1PK": str(r.GSI1PK), "GSI1SK": str(r.GSI1SK)}), nil
			}
		}
		if res.LastEvaluatedKey == nil {
			return "", nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// The reads of the report workflow's load step (reports.Source).

// ScanFindingsPage implements reports.Source: one page of the findings a
// scan observed (its observation items, in finding id order), read by key.
func (s *Store) ScanFindingsPage(ctx context.Context, org, scanID, cursor string, limit int) ([]domain.Finding, string, error) {
	var obs []struct {
		FindingID string `dynamodbav:"fid"`
	}
	next, err := s.page(ctx, basePartition(orgPK(org), observationPrefix(scanID), false),
		domain.PageRequest{Page: 1, PerPage: limit, Cursor: cursor}, &obs)
	if err != nil {
		return nil, "", err
	}
	entries := make([]indexRec, len(obs))
	for i, o := range obs {
		entries[i] = indexRec{FindingID: o.FindingID}
	}
	fs, err := s.findingsByID(ctx, org, entries)
	return fs, next, err
}

// FindingAttachmentList implements reports.Source: the available
// attachments of each finding. The findings' attachment counters are read
// in batches; only findings that have attachments cost a query.
func (s *Store) FindingAttachmentList(ctx context.Context, org string, findingIDs []string) (map[string][]reports.Attachment, error) {
	ks := make([]keys, 0, len(findingIDs))
	for _, id := range findingIDs {
		ks = append(ks, counterKey(org, attachCounter(id)))
	}
	var counters []counterRec
	if err := s.batchGet(ctx, ks, &counters); err != nil {
		return nil, err
	}
	out := map[string][]reports.Attachment{}
	for _, c := range counters {
		fid, ok := strings.CutPrefix(c.SK, "COUNT#"+attachCounter(""))
		if !ok || c.Count <= 0 {
			continue
		}
		list, err := s.FindingAttachments(ctx, org, fid)
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			out[fid] = append(out[fid], reports.Attachment{ID: a.ID, FileName: a.FileName, ContentType: a.ContentType, Size: a.Size})
		}
	}
	return out, nil
}

// SessionFindingsState implements reports.Subjects: the last change of any
// finding of a session (the newest entry of its "last updated" list, one
// read) and how many it has (its statistics item).
func (s *Store) SessionFindingsState(ctx context.Context, org, sessionID string) (time.Time, int, error) {
	scope := "s:" + sessionID
	in := basePartition(orgPK(org), indexPrefix(scope, "u"), true).query(s.table)
	in.Limit = aws.Int32(1)
	in.ProjectionExpression = aws.String("SK")
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return time.Time{}, 0, classify(err)
	}
	var latest time.Time
	if len(res.Items) == 1 {
		var k keys
		if err := attributevalue.UnmarshalMap(res.Items[0], &k); err != nil {
			return time.Time{}, 0, domain.Wrap(domain.KindInternal, err, "decode item")
		}
		rest := strings.TrimPrefix(k.SK, indexPrefix(scope, "u"))
		if ts, _, ok := strings.Cut(rest, "#"); ok {
			latest, _ = time.Parse("2006-01-02T15:04:05.000000000Z", ts)
		}
	}
	st, err := s.readStats(ctx, org, scope, findings.Query{})
	if err != nil {
		return time.Time{}, 0, err
	}
	return latest, st.Total, nil
}
