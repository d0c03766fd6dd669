package faults_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/testenv"
)

func TestZZDurability(t *testing.T) {
	ddb := startDynamo(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.endpoint())
	p := testenv.Platform(t)
	db := p.AWS.DynamoDB
	ctx := context.Background()
	table := p.Config.Table
	for i, d := range []time.Duration{-1, -2, 5 * time.Second, 12 * time.Second} {
		for j := 0; j < 5; j++ {
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: &table, Item: map[string]types.AttributeValue{
					"PK": &types.AttributeValueMemberS{Value: "X"}, "SK": &types.AttributeValueMemberS{Value: fmt.Sprintf("%d-%d", i, j)}},
					ConditionExpression: aws.String("attribute_not_exists(PK)")}},
				{Put: &types.Put{TableName: &table, Item: map[string]types.AttributeValue{
					"PK": &types.AttributeValueMemberS{Value: "Y"}, "SK": &types.AttributeValueMemberS{Value: fmt.Sprintf("%d-%d", i, j)}}}},
			}})
			if err != nil {
				t.Fatal(err)
			}
		}
		switch d {
		case -1:
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: "Z"}, "SK": &types.AttributeValueMemberS{Value: fmt.Sprint(i)}}})
			if err != nil {
				t.Fatal(err)
			}
		case -2:
			_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: &table, KeyConditionExpression: aws.String("PK = :p"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "X"}}, Select: types.SelectCount})
			if err != nil {
				t.Fatal(err)
			}
		default:
			time.Sleep(d)
		}
		ddb.kill()
		ddb.start()
		out, err := db.Query(ctx, &dynamodb.QueryInput{TableName: &table, KeyConditionExpression: aws.String("PK = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "X"}}, Select: types.SelectCount})
		if err != nil {
			t.Fatal(err)
		}
		outY, _ := db.Query(ctx, &dynamodb.QueryInput{TableName: &table, KeyConditionExpression: aws.String("PK = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "Y"}}, Select: types.SelectCount})
		t.Logf("delay %s: acked %d, stored X %d Y %d", d, (i+1)*5, out.Count, outY.Count)
	}
}
