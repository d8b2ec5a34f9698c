package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// The signup table's index of records by display phone number. Its key is
// the number's digits (onboarding.PhoneDigits), which is how Plivo writes
// numbers in callbacks; it projects what routing a callback needs.
const (
	PhoneIndex = "by-phone"
	PhoneAttr  = "phone_e164"
)

// maxPhoneMatches bounds ByPhone: one number has one onboarding, or a few
// failed attempts beside it.
const maxPhoneMatches = 20

var _ callbacks.Directory = (*Store)(nil)

// ByPhone implements callbacks.Directory with a Query of the by-phone index.
// The records it returns hold the projected attributes only: WABA, phone
// number and business IDs, client_ref and state. The index is eventually
// consistent, which is fine for a number onboarded seconds before its first
// message at the earliest.
func (s *Store) ByPhone(ctx context.Context, digits string) ([]onboarding.Record, error) {
	if digits == "" {
		return nil, nil
	}
	var recs []onboarding.Record
	var start map[string]types.AttributeValue
	for {
		out, err := s.Client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.Table),
			IndexName:                 aws.String(PhoneIndex),
			KeyConditionExpression:    aws.String(PhoneAttr + " = :phone"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":phone": str(digits)},
			Limit:                     aws.Int32(maxPhoneMatches),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", PhoneIndex, err)
		}
		for _, av := range out.Items {
			rec, err := decode(av)
			if err != nil {
				return nil, err
			}
			recs = append(recs, *rec)
		}
		if len(out.LastEvaluatedKey) == 0 || len(recs) >= maxPhoneMatches {
			return recs, nil
		}
		start = out.LastEvaluatedKey
	}
}
