package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/callbacks"
)

// NonceKeyPrefix starts the dedup-table key of a spent V2 signature nonce:
// "v2nonce#<sha256 of the nonce>", hashed so that a header of any length
// makes a key of one.
const NonceKeyPrefix = "v2nonce#"

// NonceLedger records the nonces of V2-signed Plivo callbacks in the dedup
// table, each bound to the body it first came with.
type NonceLedger struct {
	Client PutItemAPI
	Table  string
}

var _ callbacks.NonceLedger = (*NonceLedger)(nil)

// Spend implements callbacks.NonceLedger with one conditional PutItem: the
// nonce is new, its entry expired (TTL deletion lags), or it came with
// this very body before (Plivo's retry). Anything else is a reuse.
func (l *NonceLedger) Spend(ctx context.Context, nonce, bodyHash string, expires, now time.Time) error {
	sum := sha256.Sum256([]byte(nonce))
	_, err := l.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(l.Table),
		Item: map[string]types.AttributeValue{
			DedupKeyAttribute: str(NonceKeyPrefix + hex.EncodeToString(sum[:])),
			DedupTTLAttribute: num(ceilUnix(expires)),
			"body_hash":       str(bodyHash),
			"used_at":         str(stamp(now)),
		},
		ConditionExpression:      aws.String("attribute_not_exists(#pk) OR #exp < :now OR body_hash = :hash"),
		ExpressionAttributeNames: map[string]string{"#pk": DedupKeyAttribute, "#exp": DedupTTLAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":  num(now.Unix()),
			":hash": str(bodyHash),
		},
	})
	if _, lost := lostCondition(err); lost {
		return callbacks.ErrNonceReused
	}
	return err
}
