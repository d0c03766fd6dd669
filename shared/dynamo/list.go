package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
)

// counterAdd adjusts an organization's counter in a transaction; counters
// answer `total` without counting.
func (s *Store) counterAdd(org, kind string, delta int) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.table, Key: counterKey(org, kind).av(),
		UpdateExpression:          aws.String("ADD #c :d"),
		ExpressionAttributeNames:  names("#c", "count"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(int64(delta))},
	}}
}

// count reads a counter (0 when it was never written).
func (s *Store) count(ctx context.Context, org, kind string) (int, error) {
	var c counterRec
	if _, err := s.get(ctx, counterKey(org, kind), &c, true); err != nil {
		return 0, err
	}
	return c.Count, nil
}

// partition names one list: the base table or an index, one partition key
// value and a sort-key prefix.
type partition struct {
	index  string // "" for the base table
	pkName string
	pk     string
	skName string
	prefix string
	// descending lists newest first (ids are ULIDs, so key order is time).
	descending bool
}

func (p partition) query(table string) *dynamodb.QueryInput {
	in := &dynamodb.QueryInput{
		TableName:                 &table,
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  names("#pk", p.pkName, "#sk", p.skName),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(p.pk), ":prefix": str(p.prefix)},
		ScanIndexForward:          aws.Bool(!p.descending),
	}
	if p.prefix == "" {
		// DynamoDB refuses begins_with on an empty string: the whole partition.
		in.KeyConditionExpression = aws.String("#pk = :pk")
		in.ExpressionAttributeNames = names("#pk", p.pkName)
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":pk": str(p.pk)}
	}
	if p.index != "" {
		in.IndexName = aws.String(p.index)
	} else {
		in.ConsistentRead = aws.Bool(true)
	}
	return in
}

func basePartition(pk, prefix string, descending bool) partition {
	return partition{pkName: "PK", pk: pk, skName: "SK", prefix: prefix, descending: descending}
}

func indexPartition(index, pk, prefix string, descending bool) partition {
	return partition{index: index, pkName: index + "PK", pk: pk, skName: index + "SK", prefix: prefix, descending: descending}
}

// page reads one page of a partition into out (a pointer to a slice). Page N
// without a cursor is reached by counting past the pages before it (key-only
// reads); a cursor continues in one read. The cost never depends on the size
// of the partition beyond the requested position.
func (s *Store) page(ctx context.Context, p partition, req domain.PageRequest, out any) (next string, err error) {
	in := p.query(s.table)
	in.Limit = aws.Int32(int32(req.PerPage))
	if req.Cursor != "" {
		if in.ExclusiveStartKey, err = decodeCursor(req.Cursor, p); err != nil {
			return "", err
		}
	} else {
		skip := (req.Page - 1) * req.PerPage
		for skip > 0 {
			c := *in
			c.Select = types.SelectCount
			c.Limit = aws.Int32(int32(min(skip, 1000)))
			res, err := s.db.Query(ctx, &c)
			if err != nil {
				return "", classify(err)
			}
			skip -= int(res.Count)
			if res.LastEvaluatedKey == nil {
				return "", attributevalue.UnmarshalListOfMaps(nil, out)
			}
			in.ExclusiveStartKey = res.LastEvaluatedKey
		}
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return "", classify(err)
	}
	if err := attributevalue.UnmarshalListOfMaps(res.Items, out); err != nil {
		return "", domain.Wrap(domain.KindInternal, err, "decode items")
	}
	if res.LastEvaluatedKey != nil && len(res.Items) == req.PerPage {
		next = encodeCursor(res.LastEvaluatedKey)
	}
	return next, nil
}

// all reads a whole partition into out; for lists whose filters no index
// serves. Callers document the cost.
func (s *Store) all(ctx context.Context, p partition, out any) error {
	var items []map[string]types.AttributeValue
	pg := dynamodb.NewQueryPaginator(s.db, p.query(s.table))
	for pg.HasMorePages() {
		res, err := pg.NextPage(ctx)
		if err != nil {
			return classify(err)
		}
		items = append(items, res.Items...)
	}
	if err := attributevalue.UnmarshalListOfMaps(items, out); err != nil {
		return domain.Wrap(domain.KindInternal, err, "decode items")
	}
	return nil
}

// Cursors are the LastEvaluatedKey, string attributes only, base64-encoded.
func encodeCursor(k map[string]types.AttributeValue) string {
	m := map[string]string{}
	for name, v := range k {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			m[name] = s.Value
		}
	}
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor refuses a cursor that does not belong to the partition being
// read: a forged cursor cannot move a query into another tenant's data.
func decodeCursor(c string, p partition) (map[string]types.AttributeValue, error) {
	bad := domain.Invalid("invalid cursor", domain.FieldError{Location: "query.cursor", Message: "not a cursor of this list"})
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, bad
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil || m[p.pkName] != p.pk || len(m) > 4 {
		return nil, bad
	}
	out := map[string]types.AttributeValue{}
	for k, v := range m {
		switch k {
		case "PK", "SK", p.pkName, p.skName:
			out[k] = str(v)
		default:
			return nil, bad
		}
	}
	// The cursor must also lie inside the list's sort-key range: another
	// list of the same partition would continue somewhere else entirely.
	if sk, ok := m[p.skName]; !ok || !strings.HasPrefix(sk, p.prefix) {
		return nil, bad
	}
	return out, nil
}

// orgItem is the key of an organization-scoped item.
func orgItem(org, sk string) keys { return keys{orgPK(org), sk} }
