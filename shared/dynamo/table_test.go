package dynamo_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/dynamo"
	"rampart/shared/testenv"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// describe returns the table's index names (sorted) and key attributes of
// each index.
func describe(t *testing.T, db *dynamodb.Client, table string) (*types.TableDescription, []string) {
	t.Helper()
	out, err := db.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatalf("describe %s: %v", table, err)
	}
	var names []string
	for _, g := range out.Table.GlobalSecondaryIndexes {
		names = append(names, aws.ToString(g.IndexName))
	}
	slices.Sort(names)
	return out.Table, names
}

func checkTable(t *testing.T, db *dynamodb.Client, table string) {
	t.Helper()
	desc, names := describe(t, db, table)
	if desc.TableStatus != types.TableStatusActive {
		t.Errorf("status = %s", desc.TableStatus)
	}
	if want := []string{dynamo.DueIndex, dynamo.GSI1, dynamo.GSI2, dynamo.GSI3}; !slices.Equal(names, want) {
		t.Errorf("indexes = %v, want %v", names, want)
	}
	keys := map[string]string{}
	for _, k := range desc.KeySchema {
		keys[aws.ToString(k.AttributeName)] = string(k.KeyType)
	}
	if keys["PK"] != "HASH" || keys["SK"] != "RANGE" {
		t.Errorf("key schema = %v", keys)
	}
	wantKeys := map[string][2]string{
		dynamo.GSI1: {"GSI1PK", "GSI1SK"}, dynamo.GSI2: {"GSI2PK", "GSI2SK"},
		dynamo.GSI3: {"GSI3PK", "GSI3SK"}, dynamo.DueIndex: {"DuePK", "DueSK"},
	}
	for _, g := range desc.GlobalSecondaryIndexes {
		w := wantKeys[aws.ToString(g.IndexName)]
		if len(g.KeySchema) != 2 || aws.ToString(g.KeySchema[0].AttributeName) != w[0] || aws.ToString(g.KeySchema[1].AttributeName) != w[1] {
			t.Errorf("%s keys = %v, want %v", aws.ToString(g.IndexName), g.KeySchema, w)
		}
		if g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeAll {
			t.Errorf("%s projection = %v", aws.ToString(g.IndexName), g.Projection)
		}
		if g.IndexStatus != "" && g.IndexStatus != types.IndexStatusActive {
			t.Errorf("%s status = %s", aws.ToString(g.IndexName), g.IndexStatus)
		}
	}
	ttl, err := db.DescribeTimeToLive(ctx(t), &dynamodb.DescribeTimeToLiveInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != dynamo.TTLAttribute {
		t.Errorf("TTL = %+v, want enabled on %q", d, dynamo.TTLAttribute)
	}
}

func TestEnsureTable(t *testing.T) {
	p := testenv.Platform(t) // Bootstrap ran EnsureTable once
	db, table := p.AWS.DynamoDB, p.Config.Table
	checkTable(t, db, table)

	// Idempotent: a second and third call change nothing and fail on nothing.
	for i := 0; i < 2; i++ {
		if err := dynamo.EnsureTable(ctx(t), db, table); err != nil {
			t.Fatalf("call %d: %v", i+2, err)
		}
	}
	checkTable(t, db, table)

	// The table answers reads and writes with the TTL attribute.
	_, err := db.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: &table, Item: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "T#1"}, "SK": &types.AttributeValueMemberS{Value: "X"},
		"DuePK": &types.AttributeValueMemberS{Value: "DUE"}, "DueSK": &types.AttributeValueMemberS{Value: "2026-01-01T00:00:00Z"},
		dynamo.TTLAttribute: &types.AttributeValueMemberN{Value: "4102444800"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := db.Query(ctx(t), &dynamodb.QueryInput{
		TableName: &table, IndexName: aws.String(dynamo.DueIndex),
		KeyConditionExpression:    aws.String("DuePK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "DUE"}},
	})
	if err != nil || q.Count != 1 {
		t.Fatalf("query DueIndex: %v, %d items", err, q.Count)
	}
}

// A table made by an older version of the design, without DueIndex and
// without TTL, gets both.
func TestEnsureTableAddsMissingIndex(t *testing.T) {
	p := testenv.Platform(t)
	db := p.AWS.DynamoDB
	table := testenv.UniqueName(t)
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table})
	})
	attr := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	keys := func(pk, sk string) []types.KeySchemaElement {
		return []types.KeySchemaElement{{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash}, {AttributeName: aws.String(sk), KeyType: types.KeyTypeRange}}
	}
	in := &dynamodb.CreateTableInput{
		TableName: &table, BillingMode: types.BillingModePayPerRequest, KeySchema: keys("PK", "SK"),
		AttributeDefinitions: []types.AttributeDefinition{attr("PK"), attr("SK")},
	}
	for _, n := range []string{"GSI1", "GSI2", "GSI3"} {
		in.AttributeDefinitions = append(in.AttributeDefinitions, attr(n+"PK"), attr(n+"SK"))
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(n), KeySchema: keys(n+"PK", n+"SK"), Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	if _, err := db.CreateTable(ctx(t), in); err != nil {
		t.Fatal(err)
	}
	if _, names := describe(t, db, table); slices.Contains(names, dynamo.DueIndex) {
		t.Fatal("set-up: DueIndex already there")
	}
	if err := dynamo.EnsureTable(ctx(t), db, table); err != nil {
		t.Fatal(err)
	}
	checkTable(t, db, table)
	if err := dynamo.EnsureTable(ctx(t), db, table); err != nil {
		t.Fatalf("again: %v", err)
	}
}

func TestPing(t *testing.T) {
	p := testenv.Platform(t)
	if err := dynamo.Ping(ctx(t), p.AWS.DynamoDB, p.Config.Table); err != nil {
		t.Errorf("ping: %v", err)
	}
	if err := dynamo.Ping(ctx(t), p.AWS.DynamoDB, testenv.UniqueName(t)); err == nil {
		t.Error("ping of a missing table succeeded")
	}
}
