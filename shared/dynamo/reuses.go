package dynamo

import (
	"context"
	"errors"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// UpdateItemAPI is the DynamoDB call SessionLedger.CountReuse makes.
type UpdateItemAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ onboarding.SessionReuseCounter = (*SessionLedger)(nil)

// SessionReusesAttribute counts the retries a spent token served.
const SessionReusesAttribute = "reuses"

// CountReuse implements onboarding.SessionReuseCounter with one
// conditional UpdateItem on the spent token's item: the count goes up only
// while the item exists and holds fewer than max. The client must also
// make UpdateItem calls (a *dynamodb.Client does); SessionLedger keeps
// PutItemAPI as its declared need so that Spend's fakes stay small.
func (l *SessionLedger) CountReuse(ctx context.Context, u onboarding.SessionUse, max int) error {
	updater, ok := l.Client.(UpdateItemAPI)
	if !ok {
		return errors.New("dynamo: the session ledger's client cannot count retries (no UpdateItem)")
	}
	if u.ID == "" {
		return errors.New("dynamo: session use without an ID")
	}
	_, err := updater.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(l.Table),
		Key:                      map[string]types.AttributeValue{DedupKeyAttribute: &types.AttributeValueMemberS{Value: SessionKeyPrefix + u.ID}},
		UpdateExpression:         aws.String("SET #n = if_not_exists(#n, :zero) + :one"),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND (attribute_not_exists(#n) OR #n < :max)"),
		ExpressionAttributeNames: map[string]string{"#pk": DedupKeyAttribute, "#n": SessionReusesAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": &types.AttributeValueMemberN{Value: "0"},
			":one":  &types.AttributeValueMemberN{Value: "1"},
			":max":  &types.AttributeValueMemberN{Value: strconv.Itoa(max)},
		},
	})
	if _, lost := lostCondition(err); lost {
		return onboarding.ErrSessionUsed
	}
	return err
}
