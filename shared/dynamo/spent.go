package dynamo

import (
	"context"
	"errors"
	"strings"

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
// GetItem of the token's item (latestUse): the onboarding page's link
// check, which must not spend the token. The client must also make GetItem calls (a
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
	return latestUse(out.Item), nil
}

// latestUse is decodeUse for the link check: the use of the token's latest
// run, the counted retry (CountReuse) that spent a code of its own latest,
// or else the first use. A page loaded afresh follows that run's outcome,
// and must not take a record an earlier run left as it. A retry of the
// first use's code is that run's resend, not a run of its own.
func latestUse(av map[string]types.AttributeValue) *onboarding.SessionUse {
	use := decodeUse(av)
	if use == nil {
		return nil
	}
	firstCode := use.CodeHash
	for name := range av {
		hash, isRetry := strings.CutPrefix(name, RetryUsedAtPrefix)
		if !isRetry || hash == firstCode {
			continue
		}
		if attempt, at, ok := retryUse(av, hash); ok && at.After(use.UsedAt) {
			use.UsedAt, use.Attempt, use.CodeHash = at, attempt, hash
		}
	}
	return use
}
