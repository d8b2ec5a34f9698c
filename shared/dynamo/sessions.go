package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/session"
)

// Names in the dedup table (template.yaml's DedupTable): key pk, TTL
// attribute expires_at in epoch seconds. A spent session token is the item
// "session#<token id>".
const (
	DedupKeyAttribute = "pk"
	DedupTTLAttribute = "expires_at"
	SessionKeyPrefix  = "session#"
)

// PutItemAPI is the one DynamoDB call SessionLedger makes.
type PutItemAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

var _ PutItemAPI = (*dynamodb.Client)(nil)

// SessionLedger records spent onboarding-session tokens in the dedup table,
// so that each is used once.
type SessionLedger struct {
	Client PutItemAPI
	Table  string
}

var _ session.Ledger = (*SessionLedger)(nil)

// sessionItem is a spent token. It holds the token's ID, never the token.
type sessionItem struct {
	PK        string `dynamodbav:"pk"`
	ExpiresAt int64  `dynamodbav:"expires_at"`
	ClientRef string `dynamodbav:"client_ref,omitempty"`
	WABAID    string `dynamodbav:"waba_id,omitempty"`
	UsedAt    string `dynamodbav:"used_at,omitempty"`
}

// Spend implements session.Ledger with one conditional PutItem; a lost
// condition returns the earlier use from ALL_OLD, without a second read.
func (l *SessionLedger) Spend(ctx context.Context, u session.Use) (*session.Use, error) {
	if u.ID == "" {
		return nil, errors.New("dynamo: session use without an ID")
	}
	av, err := attributevalue.MarshalMap(sessionItem{
		PK: SessionKeyPrefix + u.ID,
		// Rounded up: TTL deletion must not come before the instant the
		// verifier stops accepting the token.
		ExpiresAt: ceilUnix(u.ExpiresAt),
		ClientRef: u.ClientRef,
		WABAID:    u.WABAID,
		UsedAt:    stamp(u.UsedAt),
	})
	if err != nil {
		return nil, fmt.Errorf("encode session use: %w", err)
	}
	_, err = l.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(l.Table),
		Item:                                av,
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            map[string]string{"#pk": DedupKeyAttribute},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return nil, nil
	}
	item, lost := lostCondition(err)
	if !lost {
		return nil, err
	}
	if len(item) == 0 {
		return nil, session.ErrUsed
	}
	var old sessionItem
	if err := attributevalue.UnmarshalMap(item, &old); err != nil {
		return nil, session.ErrUsed
	}
	prev := &session.Use{
		ID:        strings.TrimPrefix(old.PK, SessionKeyPrefix),
		ClientRef: old.ClientRef,
		WABAID:    old.WABAID,
		UsedAt:    parseStamp(old.UsedAt),
	}
	if old.ExpiresAt > 0 {
		prev.ExpiresAt = time.Unix(old.ExpiresAt, 0).UTC()
	}
	return prev, session.ErrUsed
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
