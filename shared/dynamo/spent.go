package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// GetItemAPI is the DynamoDB call SessionLedger.Spent makes.
type GetItemAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Spent implements session.SpentLookup with one strongly consistent
// GetItem of the token's item: the onboarding page's link check, which
// must not spend the token. The client must also make GetItem calls (a
// *dynamodb.Client does).
func (l *SessionLedger) Spent(ctx context.Context, id string) (*onboarding.SessionUse, error) {
	getter, ok := l.Client.(GetItemAPI)
	if !ok {
		return nil, errors.New("dynamo: the session ledger's client cannot read (no GetItem)")
	}
	if id == "" {
		return nil, errors.New("dynamo: session use without an ID")
	}
	out, err := getter.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(l.Table),
		Key:            map[string]types.AttributeValue{DedupKeyAttribute: &types.AttributeValueMemberS{Value: SessionKeyPrefix + id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	return decodeUse(out.Item), nil
}
