package dynamo

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Scanner is the DynamoDB call Onboarded makes.
type Scanner interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ Scanner = (*dynamodb.Client)(nil)

// Onboarded lists the onboarded records of the signup table, most recently
// onboarded first, at most limit of them (the first limit found when the
// table holds more). It is a filtered Scan, read by
// the local operator console so that the operator picks a WABA instead of
// typing one; no deployed function calls it, and none is granted Scan.
// The records hold what the console shows: WABA, number, customer, when.
func Onboarded(ctx context.Context, client Scanner, table string, limit int) ([]onboarding.Record, error) {
	var recs []onboarding.Record
	var start map[string]types.AttributeValue
	for {
		out, err := client.Scan(ctx, &dynamodb.ScanInput{
			TableName:                aws.String(table),
			FilterExpression:         aws.String("#state = :onboarded"),
			ProjectionExpression:     aws.String("waba_id, #state, display_phone_number, client_ref, onboarded_at, phone_number_id"),
			ExpressionAttributeNames: map[string]string{"#state": "state"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":onboarded": str(string(onboarding.StateOnboarded)),
			},
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		for _, av := range out.Items {
			rec, err := decode(av)
			if err != nil {
				return nil, err
			}
			recs = append(recs, *rec)
		}
		// A filtered Scan reads the whole table to find them: stop after
		// enough matches rather than walking a large table.
		if len(out.LastEvaluatedKey) == 0 || len(recs) >= limit {
			break
		}
		start = out.LastEvaluatedKey
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].OnboardedAt.After(recs[j].OnboardedAt) })
	if len(recs) > limit {
		recs = recs[:limit]
	}
	return recs, nil
}
