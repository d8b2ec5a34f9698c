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

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Names in the dedup table (template.yaml's DedupTable): key pk, TTL
// attribute expires_at in epoch seconds. A spent session token is the item
// "session#<token id>".
const (
	DedupKeyAttribute = "pk"
	DedupTTLAttribute = "expires_at"
	SessionKeyPrefix  = "session#"
)

// PutItemAPI is the one DynamoDB call SessionLedger makes. It, GetItemAPI
// and UpdateItemAPI are also the pieces of the wider interfaces here.
type PutItemAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

var _ PutItemAPI = (*dynamodb.Client)(nil)

// SessionLedger records spent onboarding-session tokens in the dedup table,
// so that each is used once. The signup spends every token here, before
// the code exchange.
type SessionLedger struct {
	Client PutItemAPI
	Table  string
}

var _ onboarding.SessionLedger = (*SessionLedger)(nil)

// sessionItem is a spent token. It holds the token's ID, never the token.
type sessionItem struct {
	PK        string `dynamodbav:"pk"`
	ExpiresAt int64  `dynamodbav:"expires_at"`
	ClientRef string `dynamodbav:"client_ref,omitempty"`
	WABAID    string `dynamodbav:"waba_id,omitempty"`
	UsedAt    string `dynamodbav:"used_at,omitempty"`
	Attempt   string `dynamodbav:"attempt,omitempty"`
	CodeHash  string `dynamodbav:"code_hash,omitempty"`
}

// sessionPut is the conditional put that spends u in table: it writes
// only when no use of u.ID exists, and returns the earlier use (ALL_OLD)
// when one does.
func sessionPut(table string, u onboarding.SessionUse) (*dynamodb.PutItemInput, error) {
	if u.ID == "" {
		return nil, errors.New("dynamo: session use without an ID")
	}
	if table == "" {
		return nil, errors.New("dynamo: no session table to spend the token in")
	}
	av, err := attributevalue.MarshalMap(sessionItem{
		PK: SessionKeyPrefix + u.ID,
		// Rounded up: TTL deletion must not come before the instant the
		// verifier stops accepting the token.
		ExpiresAt: ceilUnix(u.ExpiresAt),
		ClientRef: u.ClientRef,
		WABAID:    u.WABAID,
		UsedAt:    stamp(u.UsedAt),
		Attempt:   u.Attempt,
		CodeHash:  u.CodeHash,
	})
	if err != nil {
		return nil, fmt.Errorf("encode session use: %w", err)
	}
	return &dynamodb.PutItemInput{
		TableName:                           aws.String(table),
		Item:                                av,
		ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames:            map[string]string{"#pk": DedupKeyAttribute},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, nil
}

// decodeUse reads the earlier use out of a spent token's item; nil when
// there is none or it cannot be read.
func decodeUse(av map[string]types.AttributeValue) *onboarding.SessionUse {
	return decodeUseOf(av, "")
}

// decodeUseOf is decodeUse for a use of the code whose fingerprint is
// codeHash: when a counted retry, not the first use, spent that code
// (CountReuse), the earlier use is that retry's attempt and time.
func decodeUseOf(av map[string]types.AttributeValue, codeHash string) *onboarding.SessionUse {
	if len(av) == 0 {
		return nil
	}
	var old sessionItem
	if err := attributevalue.UnmarshalMap(av, &old); err != nil {
		return nil
	}
	prev := &onboarding.SessionUse{
		ID:        strings.TrimPrefix(old.PK, SessionKeyPrefix),
		ClientRef: old.ClientRef,
		WABAID:    old.WABAID,
		UsedAt:    parseStamp(old.UsedAt),
		Attempt:   old.Attempt,
		CodeHash:  old.CodeHash,
	}
	if old.ExpiresAt > 0 {
		prev.ExpiresAt = time.Unix(old.ExpiresAt, 0).UTC()
	}
	if codeHash == "" || codeHash == old.CodeHash {
		return prev
	}
	if attempt, at, ok := retryUse(av, codeHash); ok {
		prev.Attempt, prev.UsedAt, prev.CodeHash = attempt, at, codeHash
	}
	return prev
}

// retryUse reads the attempt and time CountReuse recorded for the counted
// retry that spent the code whose fingerprint is codeHash; ok is false
// when no retry spent it.
func retryUse(av map[string]types.AttributeValue, codeHash string) (attempt string, at time.Time, ok bool) {
	a, _ := av[RetryAttemptPrefix+codeHash].(*types.AttributeValueMemberS)
	used, _ := av[RetryUsedAtPrefix+codeHash].(*types.AttributeValueMemberS)
	if a == nil || used == nil {
		return "", time.Time{}, false
	}
	return a.Value, parseStamp(used.Value), true
}

// Spend implements onboarding.SessionLedger with one conditional PutItem;
// a lost condition returns the earlier use from ALL_OLD, without a second
// read.
func (l *SessionLedger) Spend(ctx context.Context, u onboarding.SessionUse) (*onboarding.SessionUse, error) {
	put, err := sessionPut(l.Table, u)
	if err != nil {
		return nil, err
	}
	_, err = l.Client.PutItem(ctx, put)
	if err == nil {
		return nil, nil
	}
	item, lost := lostCondition(err)
	if !lost {
		return nil, err
	}
	return decodeUseOf(item, u.CodeHash), onboarding.ErrSessionUsed
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
