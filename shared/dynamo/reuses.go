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

// A counted retry that spends a code no use of the token spent before is
// recorded as that code's attempt: RetryAttemptPrefix and
// RetryUsedAtPrefix followed by the code's fingerprint
// (onboarding.CodeHash) name its attempt owner and its time. Top-level
// attributes, not a map, so that items written before them take them too;
// a token serves at most onboarding.MaxSessionReuses retries, so an item
// holds at most that many pairs.
const (
	RetryAttemptPrefix = "retry_attempt_"
	RetryUsedAtPrefix  = "retry_used_at_"
)

// CountReuse implements onboarding.SessionReuseCounter with one
// conditional UpdateItem on the spent token's item: the count goes up only
// while the item exists and holds fewer than max, and the same write
// records u's attempt for u's code unless a use of that code was recorded
// before (if_not_exists: a resend of the run keeps the attempt that spent
// its code). The client must also
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
	update := "SET #n = if_not_exists(#n, :zero) + :one"
	names := map[string]string{"#pk": DedupKeyAttribute, "#n": SessionReusesAttribute}
	values := map[string]types.AttributeValue{
		":zero": &types.AttributeValueMemberN{Value: "0"},
		":one":  &types.AttributeValueMemberN{Value: "1"},
		":max":  &types.AttributeValueMemberN{Value: strconv.Itoa(max)},
	}
	if u.CodeHash != "" && u.Attempt != "" {
		update += ", #ra = if_not_exists(#ra, :attempt), #ru = if_not_exists(#ru, :used)"
		names["#ra"], names["#ru"] = RetryAttemptPrefix+u.CodeHash, RetryUsedAtPrefix+u.CodeHash
		values[":attempt"] = &types.AttributeValueMemberS{Value: u.Attempt}
		values[":used"] = &types.AttributeValueMemberS{Value: stamp(u.UsedAt)}
	}
	_, err := updater.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(l.Table),
		Key:                       map[string]types.AttributeValue{DedupKeyAttribute: &types.AttributeValueMemberS{Value: SessionKeyPrefix + u.ID}},
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND (attribute_not_exists(#n) OR #n < :max)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if _, lost := lostCondition(err); lost {
		return onboarding.ErrSessionUsed
	}
	return err
}
