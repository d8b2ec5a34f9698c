package dynamo

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// CallbackLedgerAPI is the part of the DynamoDB client CallbackLedger uses.
type CallbackLedgerAPI interface {
	PutItemAPI
	UpdateItemAPI
}

var _ CallbackLedgerAPI = (*dynamodb.Client)(nil)

// CallbackLedger keeps the dedupe entries of Plivo callbacks in the dedup
// table (template.yaml's DedupTable), one item per callback key, every
// change a conditional write.
type CallbackLedger struct {
	Client CallbackLedgerAPI
	Table  string
}

var _ callbacks.Ledger = (*CallbackLedger)(nil)

// callbackItem is the stored shape of a callbacks.Entry. The claim deadline
// is epoch milliseconds so a condition can compare it; expires_at is epoch
// seconds, as DynamoDB's TTL wants; the rest is readable in the console.
type callbackItem struct {
	PK             string              `dynamodbav:"pk"`
	State          string              `dynamodbav:"state"`
	Owner          string              `dynamodbav:"owner,omitempty"`
	ClaimExpiresAt int64               `dynamodbav:"claim_expires_at"`
	ExpiresAt      int64               `dynamodbav:"expires_at"`
	PayloadHash    string              `dynamodbav:"payload_hash,omitempty"`
	Kind           string              `dynamodbav:"kind,omitempty"`
	MessageUUID    string              `dynamodbav:"message_uuid,omitempty"`
	Status         string              `dynamodbav:"status,omitempty"`
	WABAID         string              `dynamodbav:"waba_id,omitempty"`
	PhoneNumberID  string              `dynamodbav:"phone_number_id,omitempty"`
	BusinessID     string              `dynamodbav:"business_id,omitempty"`
	ClientRef      string              `dynamodbav:"client_ref,omitempty"`
	Reason         string              `dynamodbav:"reason,omitempty"`
	Fields         map[string][]string `dynamodbav:"fields,omitempty"`
	EventID        string              `dynamodbav:"event_id,omitempty"`
	RequestID      string              `dynamodbav:"request_id,omitempty"`
	CreatedAt      string              `dynamodbav:"created_at,omitempty"`
	UpdatedAt      string              `dynamodbav:"updated_at,omitempty"`
	PublishedAt    string              `dynamodbav:"published_at,omitempty"`
}

func toCallbackItem(e *callbacks.Entry) callbackItem {
	return callbackItem{
		PK: e.Key, State: string(e.State), Owner: e.Owner, ClaimExpiresAt: millis(e.ClaimExpiresAt),
		ExpiresAt: ceilUnix(e.ExpiresAt), PayloadHash: e.PayloadHash, Kind: string(e.Kind), MessageUUID: e.MessageUUID,
		Status: e.Status, WABAID: e.Route.WABAID, PhoneNumberID: e.Route.PhoneNumberID, BusinessID: e.Route.BusinessID,
		ClientRef: e.Route.ClientRef, Reason: e.Reason, Fields: e.Fields, EventID: e.EventID, RequestID: e.RequestID,
		CreatedAt: stamp(e.CreatedAt), UpdatedAt: stamp(e.UpdatedAt), PublishedAt: stamp(e.PublishedAt),
	}
}

func (it *callbackItem) entry() *callbacks.Entry {
	e := &callbacks.Entry{
		Key: it.PK, State: callbacks.EntryState(it.State), Owner: it.Owner, ClaimExpiresAt: fromMillis(it.ClaimExpiresAt),
		PayloadHash: it.PayloadHash, Kind: callbacks.Kind(it.Kind), MessageUUID: it.MessageUUID, Status: it.Status,
		Route:  callbacks.Route{WABAID: it.WABAID, PhoneNumberID: it.PhoneNumberID, BusinessID: it.BusinessID, ClientRef: it.ClientRef},
		Reason: it.Reason, EventID: it.EventID, RequestID: it.RequestID,
		CreatedAt: parseStamp(it.CreatedAt), UpdatedAt: parseStamp(it.UpdatedAt), PublishedAt: parseStamp(it.PublishedAt),
	}
	if it.ExpiresAt > 0 {
		e.ExpiresAt = time.Unix(it.ExpiresAt, 0).UTC()
	}
	if it.Fields != nil {
		e.Fields = url.Values(it.Fields)
	}
	return e
}

// Claim implements callbacks.Ledger with one conditional PutItem: the key is
// new, its entry outlived expires_at (TTL deletion lags by up to days), or
// it is a claim whose deadline passed. ALL_OLD returns the winner of a lost
// condition without a second read.
func (l *CallbackLedger) Claim(ctx context.Context, e *callbacks.Entry, now time.Time) (*callbacks.Entry, error) {
	av, err := attributevalue.MarshalMap(toCallbackItem(e))
	if err != nil {
		return nil, fmt.Errorf("encode callback entry: %w", err)
	}
	_, err = l.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(l.Table),
		Item:                     av,
		ConditionExpression:      aws.String("attribute_not_exists(pk) OR expires_at < :now_s OR (#state = :claimed AND claim_expires_at < :now_ms)"),
		ExpressionAttributeNames: map[string]string{"#state": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":claimed": str(string(callbacks.EntryClaimed)),
			":now_s":   num(now.Unix()),
			":now_ms":  num(now.UnixMilli()),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return nil, nil
	}
	old, lost := lostCondition(err)
	if !lost {
		return nil, err
	}
	if len(old) == 0 {
		return nil, onboarding.ErrConditionFailed
	}
	var it callbackItem
	if err := attributevalue.UnmarshalMap(old, &it); err != nil {
		return nil, fmt.Errorf("decode callback entry: %w", err)
	}
	return it.entry(), onboarding.ErrConditionFailed
}

// MarkPublished implements callbacks.Ledger: owner's claim becomes
// published, with the bus's event ID.
func (l *CallbackLedger) MarkPublished(ctx context.Context, key, owner, eventID string, at time.Time) error {
	return l.update(ctx, key, owner, "SET #state = :published, event_id = :event, published_at = :at, updated_at = :at",
		map[string]types.AttributeValue{
			":published": str(string(callbacks.EntryPublished)),
			":event":     str(eventID),
			":at":        str(stamp(at)),
		})
}

// Release implements callbacks.Ledger: owner's claim ends now.
func (l *CallbackLedger) Release(ctx context.Context, key, owner string, at time.Time) error {
	return l.update(ctx, key, owner, "SET claim_expires_at = :zero, updated_at = :at",
		map[string]types.AttributeValue{":zero": num(0), ":at": str(stamp(at))})
}

// update changes the entry of key if owner still holds its claim.
func (l *CallbackLedger) update(ctx context.Context, key, owner, expr string, values map[string]types.AttributeValue) error {
	values[":claimed"] = str(string(callbacks.EntryClaimed))
	values[":owner"] = str(owner)
	_, err := l.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(l.Table),
		Key:                       map[string]types.AttributeValue{DedupKeyAttribute: str(key)},
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("#state = :claimed AND #owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#state": "state", "#owner": "owner"},
		ExpressionAttributeValues: values,
	})
	if _, lost := lostCondition(err); lost {
		return fmt.Errorf("callback %s is no longer claimed by %s: %w", key, strconv.Quote(owner), onboarding.ErrConditionFailed)
	}
	return err
}
