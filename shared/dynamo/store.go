package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"rampart/shared/domain"
)

// Store is the DynamoDB adapter of every port Rampart has.
type Store struct {
	db    *dynamodb.Client
	table string
	clock domain.Clock
}

// New returns a store on the given table.
func New(db *dynamodb.Client, table string, clock domain.Clock) *Store {
	if clock == nil {
		clock = domain.SystemClock
	}
	return &Store{db: db, table: table, clock: clock}
}

// keys is the primary key of an item.
type keys struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
}

func (k keys) av() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"PK": str(k.PK), "SK": str(k.SK)}
}

func str(s string) types.AttributeValue    { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue     { return &types.AttributeValueMemberN{Value: fmt.Sprint(n)} }
func boolean(b bool) types.AttributeValue  { return &types.AttributeValueMemberBOOL{Value: b} }
func names(kv ...string) map[string]string { return pairs(kv) }

func pairs(kv []string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func marshal(v any) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(v)
	if err != nil {
		return nil, domain.Wrap(domain.KindInternal, err, "encode item")
	}
	return item, nil
}

// get reads one item into out; found is false when it does not exist.
func (s *Store) get(ctx context.Context, k keys, out any, consistent bool) (bool, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: k.av(), ConsistentRead: aws.Bool(consistent),
	})
	if err != nil {
		return false, classify(err)
	}
	if res.Item == nil {
		return false, nil
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return false, domain.Wrap(domain.KindInternal, err, "decode item")
	}
	return true, nil
}

// txCanceled reports which items of a transaction failed their condition.
type txCanceled struct{ reasons []string }

func (e *txCanceled) Error() string { return fmt.Sprintf("transaction canceled: %v", e.reasons) }

// failed reports whether item i of the transaction failed its condition.
func (e *txCanceled) failed(i int) bool {
	return i < len(e.reasons) && e.reasons[i] == "ConditionalCheckFailed"
}

// transact writes items atomically. A canceled transaction whose reasons are
// all conditions comes back as *txCanceled for the caller to interpret.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		reasons := make([]string, len(tce.CancellationReasons))
		conditional := false
		for i, r := range tce.CancellationReasons {
			reasons[i] = aws.ToString(r.Code)
			conditional = conditional || reasons[i] == "ConditionalCheckFailed"
		}
		for _, r := range reasons {
			if r == "TransactionConflict" || r == "ThrottlingError" || r == "ProvisionedThroughputExceeded" {
				return domain.Wrap(domain.KindConflict, err, "a concurrent change to the same data won; retry")
			}
		}
		if conditional {
			return &txCanceled{reasons: reasons}
		}
	}
	return classify(err)
}

func (s *Store) put(item map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item}}
}

func (s *Store) putNew(item map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)"),
	}}
}

func (s *Store) del(k keys) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: k.av()}}
}

// classify turns SDK errors into domain errors: a dependency that cannot be
// reached or is throttling is Unavailable (503); anything else is a bug.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return domain.Wrap(domain.KindUnavailable, err, "database unavailable")
	}
	var netErr net.Error
	var opErr *net.OpError
	if errors.As(err, &netErr) || errors.As(err, &opErr) {
		return domain.Wrap(domain.KindUnavailable, err, "database unavailable")
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
			"InternalServerError", "ServiceUnavailable", "ResourceNotFoundException":
			return domain.Wrap(domain.KindUnavailable, err, "database unavailable")
		}
	}
	var retry interface{ RetryableError() bool }
	if errors.As(err, &retry) && retry.RetryableError() {
		return domain.Wrap(domain.KindUnavailable, err, "database unavailable")
	}
	return domain.Wrap(domain.KindInternal, err, "database error")
}

// isConditionFailed reports a failed ConditionExpression of a single write.
func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func marshalValue(v any) (types.AttributeValue, error) {
	av, err := attributevalue.Marshal(v)
	if err != nil {
		return nil, domain.Wrap(domain.KindInternal, err, "encode value")
	}
	return av, nil
}

func deleteInput(table string, k keys) *dynamodb.DeleteItemInput {
	return &dynamodb.DeleteItemInput{TableName: &table, Key: k.av()}
}

// putIfVersion writes item on the condition that the stored item is still at
// version ver. won is false when a concurrent write got there first (or the
// item is gone): the caller reads again and retries.
func (s *Store) putIfVersion(ctx context.Context, item map[string]types.AttributeValue, ver int) (won bool, err error) {
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("ver = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(ver))},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	return err == nil, classify(err)
}

// getItem reads one item strongly consistently into a record of type R; an
// absent item is NotFound naming what.
func getItem[R any](ctx context.Context, s *Store, k keys, what string) (R, error) {
	var r R
	found, err := s.get(ctx, k, &r, true)
	if err == nil && !found {
		err = domain.NotFound(what)
	}
	return r, err
}
