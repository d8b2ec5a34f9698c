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

// nonceKey is the dedup-table key of a spent signature nonce:
// "<scheme>nonce#<sha256 of the nonce>" ("v2nonce#…", "v3nonce#…"), hashed
// so that a header of any length makes a key of one.
func nonceKey(scheme callbacks.Scheme, nonce string) string {
	sum := sha256.Sum256([]byte(nonce))
	return string(scheme) + "nonce#" + hex.EncodeToString(sum[:])
}

// NonceLedger records the nonces of signed Plivo callbacks in the dedup
// table, each bound to the body it first came with.
type NonceLedger struct {
	Client PutItemAPI
	Table  string
}

var _ callbacks.NonceLedger = (*NonceLedger)(nil)

// Spend implements callbacks.NonceLedger with one conditional PutItem: the
// nonce is new, its entry expired (TTL deletion lags), or it came with
// this very body before (Plivo's retry). Anything else is a reuse.
func (l *NonceLedger) Spend(ctx context.Context, scheme callbacks.Scheme, nonce, bodyHash string, expires, now time.Time) error {
	_, err := l.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(l.Table),
		Item: map[string]types.AttributeValue{
			DedupKeyAttribute: str(nonceKey(scheme, nonce)),
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
