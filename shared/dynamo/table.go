// Package dynamo is Rampart's DynamoDB store: one table, keys as
// docs/data-model.md describes them.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Index names of the table; docs/data-model.md says what each serves.
const (
	GSI1     = "GSI1"
	GSI2     = "GSI2"
	GSI3     = "GSI3"
	DueIndex = "DueIndex"
	// TTLAttribute holds the expiry (epoch seconds) of expiring items.
	TTLAttribute = "ttl"
)

type indexDef struct{ name, pk, sk string }

var indexes = []indexDef{
	{GSI1, "GSI1PK", "GSI1SK"},
	{GSI2, "GSI2PK", "GSI2SK"},
	{GSI3, "GSI3PK", "GSI3SK"},
	{DueIndex, "DuePK", "DueSK"},
}

// EnsureTable creates the table with its indexes and TTL when it is missing,
// and adds indexes that a newer version of the design introduced. It is for
// emulators and tests; the CDK stack owns the table in AWS.
func EnsureTable(ctx context.Context, db *dynamodb.Client, table string) error {
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		if err := createTable(ctx, db, table); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("describe table %s: %w", table, err)
	default:
		if err := addMissingIndexes(ctx, db, table, desc.Table); err != nil {
			return err
		}
	}
	return enableTTL(ctx, db, table)
}

func attr(name string) types.AttributeDefinition {
	return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
}

func keySchema(pk, sk string) []types.KeySchemaElement {
	return []types.KeySchemaElement{
		{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange},
	}
}

func gsi(ix indexDef) types.GlobalSecondaryIndex {
	return types.GlobalSecondaryIndex{
		IndexName:  aws.String(ix.name),
		KeySchema:  keySchema(ix.pk, ix.sk),
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
	}
}

func createTable(ctx context.Context, db *dynamodb.Client, table string) error {
	in := &dynamodb.CreateTableInput{
		TableName:            &table,
		BillingMode:          types.BillingModePayPerRequest,
		KeySchema:            keySchema("PK", "SK"),
		AttributeDefinitions: []types.AttributeDefinition{attr("PK"), attr("SK")},
	}
	for _, ix := range indexes {
		in.AttributeDefinitions = append(in.AttributeDefinitions, attr(ix.pk), attr(ix.sk))
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi(ix))
	}
	if _, err := db.CreateTable(ctx, in); err != nil {
		var inUse *types.ResourceInUseException
		if errors.As(err, &inUse) { // created concurrently by another process
			return waitActive(ctx, db, table)
		}
		return fmt.Errorf("create table %s: %w", table, err)
	}
	return waitActive(ctx, db, table)
}

func addMissingIndexes(ctx context.Context, db *dynamodb.Client, table string, desc *types.TableDescription) error {
	have := map[string]bool{}
	for _, g := range desc.GlobalSecondaryIndexes {
		have[aws.ToString(g.IndexName)] = true
	}
	for _, ix := range indexes {
		if have[ix.name] {
			continue
		}
		g := gsi(ix)
		_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:            &table,
			AttributeDefinitions: []types.AttributeDefinition{attr(ix.pk), attr(ix.sk)},
			GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
				IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection,
			}}},
		})
		if err != nil {
			return fmt.Errorf("add index %s: %w", ix.name, err)
		}
		if err := waitIndexes(ctx, db, table); err != nil {
			return err
		}
	}
	return nil
}

// waitIndexes waits until the table and every index are ACTIVE: DynamoDB
// builds one new index at a time, and a backfilling index cannot be read.
func waitIndexes(ctx context.Context, db *dynamodb.Client, table string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
		if err != nil {
			return fmt.Errorf("wait for indexes of %s: %w", table, err)
		}
		ready := out.Table.TableStatus == types.TableStatusActive
		for _, g := range out.Table.GlobalSecondaryIndexes {
			ready = ready && (g.IndexStatus == "" || g.IndexStatus == types.IndexStatusActive)
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for indexes of %s: %w", table, ctx.Err())
		case <-time.After(delay):
		}
	}
}

func enableTTL(ctx context.Context, db *dynamodb.Client, table string) error {
	out, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &table})
	if err == nil && out.TimeToLiveDescription != nil &&
		out.TimeToLiveDescription.TimeToLiveStatus == types.TimeToLiveStatusEnabled {
		return nil
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: &table,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTLAttribute), Enabled: aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("enable ttl on %s: %w", table, err)
	}
	return nil
}

func waitActive(ctx context.Context, db *dynamodb.Client, table string) error {
	w := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: &table}, time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", table, err)
	}
	return nil
}

// Ping reports whether the table answers; the readiness probe uses it.
func Ping(ctx context.Context, db *dynamodb.Client, table string) error {
	_, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	return err
}
