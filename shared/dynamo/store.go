// Package dynamo keeps signup records in DynamoDB, one item per WABA, with
// every state change made by a conditional write.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Names of the table's key attributes and index; template.yaml declares the
// same ones and a test keeps them in step.
const (
	KeyAttribute   = "waba_id"
	RetryIndex     = "pending-retry"
	RetryShardAttr = "retry_shard"
	NextRetryAttr  = "next_retry_at"
	pendingShard   = "pending"
	// restrictionShard holds the restricted records whose restriction has
	// an end: the index is of records with work due at a time, a Plivo
	// retry (pendingShard) or the end of a restriction (this one).
	restrictionShard = "restricted"
	timestampLayout  = time.RFC3339Nano
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	PutItemAPI
	UpdateItemAPI
	GetItemAPI
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Store is the DynamoDB implementation of onboarding.Store.
type Store struct {
	Client API
	Table  string
}

var _ onboarding.Store = (*Store)(nil)

// item is the stored shape of a record. Lock and retry times are epoch
// milliseconds so conditions can compare them; the rest are RFC 3339 text
// that an operator can read in the console.
type item struct {
	WABAID             string `dynamodbav:"waba_id"`
	State              string `dynamodbav:"state"`
	PhoneNumberID      string `dynamodbav:"phone_number_id,omitempty"`
	BusinessID         string `dynamodbav:"business_id,omitempty"`
	ClientRef          string `dynamodbav:"client_ref,omitempty"`
	DisplayPhoneNumber string `dynamodbav:"display_phone_number,omitempty"`
	PhoneE164          string `dynamodbav:"phone_e164,omitempty"`
	PayloadHash        string `dynamodbav:"payload_hash,omitempty"`
	RequestID          string `dynamodbav:"request_id,omitempty"`
	LockOwner          string `dynamodbav:"lock_owner,omitempty"`
	LockExpiresAt      int64  `dynamodbav:"lock_expires_at"`
	CreatedAt          string `dynamodbav:"created_at"`
	UpdatedAt          string `dynamodbav:"updated_at"`
	VerifiedAt         string `dynamodbav:"verified_at,omitempty"`
	OnboardedAt        string `dynamodbav:"onboarded_at,omitempty"`
	SubscribedAt       string `dynamodbav:"subscribed_at,omitempty"`
	PlivoAttempts      int    `dynamodbav:"plivo_attempts"`
	PlivoPayloadHash   string `dynamodbav:"plivo_payload_hash,omitempty"`
	PlivoAPIID         string `dynamodbav:"plivo_api_id,omitempty"`
	RetryShard         string `dynamodbav:"retry_shard,omitempty"`
	NextRetryAt        int64  `dynamodbav:"next_retry_at,omitempty"`
	LastError          string `dynamodbav:"last_error,omitempty"`
	LastErrorMessage   string `dynamodbav:"last_error_message,omitempty"`
	FailureReason      string `dynamodbav:"failure_reason,omitempty"`
	Reconciled         bool   `dynamodbav:"reconciled,omitempty"`
	lifecycleItem
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timestampLayout)
}

// orderedLayout is RFC 3339 with every fraction digit written (UTC only),
// so that two stamps compare as text as they do as times: a condition can
// then say "only later" of an attribute an operator still reads. The
// shorter RFC3339Nano drops trailing zeros, and "…05Z" sorts after
// "…05.5Z".
const orderedLayout = "2006-01-02T15:04:05.000000000Z"

func orderedStamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(orderedLayout)
}

func parseStamp(s string) time.Time {
	t, _ := time.Parse(timestampLayout, s)
	return t
}

func toItem(r *onboarding.Record) item {
	it := item{
		WABAID: r.WABAID, State: string(r.State), PhoneNumberID: r.PhoneNumberID, BusinessID: r.BusinessID,
		ClientRef: r.ClientRef, DisplayPhoneNumber: r.DisplayPhoneNumber, PhoneE164: onboarding.PhoneDigits(r.DisplayPhoneNumber),
		PayloadHash: r.PayloadHash, RequestID: r.RequestID, LockOwner: r.LockOwner, LockExpiresAt: millis(r.LockExpiresAt),
		CreatedAt: stamp(r.CreatedAt), UpdatedAt: stamp(r.UpdatedAt), VerifiedAt: stamp(r.VerifiedAt),
		OnboardedAt: stamp(r.OnboardedAt), SubscribedAt: orderedStamp(r.SubscribedAt), PlivoAttempts: r.PlivoAttempts,
		PlivoPayloadHash: r.PlivoPayloadHash, PlivoAPIID: r.PlivoAPIID, LastError: r.LastError, LastErrorMessage: r.LastErrorMessage,
		FailureReason: r.FailureReason, Reconciled: r.Reconciled, lifecycleItem: toLifecycleItem(r.Lifecycle),
	}
	// Only verified records, proven locks (due when they expire), and
	// restricted records whose restriction ends are in the sparse retry
	// index.
	switch {
	case r.State == onboarding.StateVerified, r.State == onboarding.StateVerifying && !r.NextRetryAt.IsZero():
		it.RetryShard = pendingShard
		it.NextRetryAt = millis(r.NextRetryAt)
	case r.State == onboarding.StateRestricted && !r.RestrictedUntil.IsZero():
		it.RetryShard = restrictionShard
		it.NextRetryAt = millis(r.RestrictedUntil)
	}
	return it
}

func (it *item) record() *onboarding.Record {
	rec := &onboarding.Record{
		WABAID: it.WABAID, State: onboarding.State(it.State), PhoneNumberID: it.PhoneNumberID, BusinessID: it.BusinessID,
		ClientRef: it.ClientRef, DisplayPhoneNumber: it.DisplayPhoneNumber, PayloadHash: it.PayloadHash,
		RequestID: it.RequestID, LockOwner: it.LockOwner, LockExpiresAt: fromMillis(it.LockExpiresAt),
		CreatedAt: parseStamp(it.CreatedAt), UpdatedAt: parseStamp(it.UpdatedAt), VerifiedAt: parseStamp(it.VerifiedAt),
		OnboardedAt: parseStamp(it.OnboardedAt), SubscribedAt: parseStamp(it.SubscribedAt), PlivoAttempts: it.PlivoAttempts, PlivoPayloadHash: it.PlivoPayloadHash,
		PlivoAPIID: it.PlivoAPIID, NextRetryAt: fromMillis(it.NextRetryAt), LastError: it.LastError,
		LastErrorMessage: it.LastErrorMessage, FailureReason: it.FailureReason, Reconciled: it.Reconciled,
		Lifecycle: it.lifecycleItem.lifecycle(),
	}
	// In the index's restriction shard the due time is the restriction's
	// end, not a Plivo retry; a keys-only index item carries nothing else.
	if it.RetryShard == restrictionShard {
		rec.NextRetryAt = time.Time{}
		if rec.RestrictedUntil.IsZero() {
			rec.RestrictedUntil = fromMillis(it.NextRetryAt)
		}
	}
	return rec
}

func decode(av map[string]types.AttributeValue) (*onboarding.Record, error) {
	var it item
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	return it.record(), nil
}

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// lostCondition reports whether err is a failed condition, with the old
// item DynamoDB returned (empty unless ALL_OLD was asked for). Every
// conditional write of this package reads its conflicts through it.
func lostCondition(err error) (old map[string]types.AttributeValue, lost bool) {
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return nil, false
	}
	return ccf.Item, true
}

// conditionLost converts a failed condition into ErrConditionFailed with
// the record DynamoDB returned, saving a second read.
func conditionLost(err error) (*onboarding.Record, error) {
	old, lost := lostCondition(err)
	if !lost {
		return nil, err
	}
	if len(old) == 0 {
		return nil, onboarding.ErrConditionFailed
	}
	rec, derr := decode(old)
	if derr != nil {
		return nil, derr
	}
	return rec, onboarding.ErrConditionFailed
}

// lockUpdate is the conditional write that takes rec's lock: the WABA is
// new, its verifying lock expired, its last signup failed, or it waits for
// the customer (State.WaitsForCustomer). It writes the whole record as a
// put would, but keeps what Meta said of the WABA itself (wabaHealth),
// which may have arrived before the signup, and for a reconnect what Meta
// said of its number too: a reconnect is of the number Plivo onboarded,
// and Meta's reports of it still hold. A lost condition returns the
// existing record (ALL_OLD).
func (s *Store) lockUpdate(rec *onboarding.Record, now time.Time) (*types.Update, error) {
	update, names, values, err := fieldsUpdate(rec, !rec.Reconnect)
	if err != nil {
		return nil, err
	}
	names["#state"] = "state"
	for k, v := range takeoverValues(rec, map[string]types.AttributeValue{
		":verifying":        str(string(onboarding.StateVerifying)),
		":failed":           str(string(onboarding.StateFailed)),
		":unclaimed":        str(string(onboarding.StateUnclaimed)),
		":phone_unverified": str(string(onboarding.StatePhoneUnverified)),
		":awaiting_number":  str(string(onboarding.StateAwaitingNumber)),
		":now":              num(now.UnixMilli()),
	}) {
		values[k] = v
	}
	return &types.Update{
		TableName:                           aws.String(s.Table),
		Key:                                 wabaKey(rec.WABAID),
		ConditionExpression:                 aws.String(lockCondition + takeoverCondition(rec)),
		UpdateExpression:                    aws.String(update),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, nil
}

// Acquire implements onboarding.Store with one conditional UpdateItem
// (lockUpdate).
func (s *Store) Acquire(ctx context.Context, rec *onboarding.Record, now time.Time) (*onboarding.Record, error) {
	u, err := s.lockUpdate(rec, now)
	if err != nil {
		return nil, err
	}
	_, err = s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, ConditionExpression: u.ConditionExpression, UpdateExpression: u.UpdateExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
		ReturnValuesOnConditionCheckFailure: u.ReturnValuesOnConditionCheckFailure,
	})
	if err != nil {
		existing, err := conditionLost(err)
		return existing, err
	}
	return nil, nil
}

// Save implements onboarding.Store: the record's attributes are replaced,
// all but the health ones (saveUpdate), provided the writer still owns the
// lock.
func (s *Store) Save(ctx context.Context, rec *onboarding.Record) (*onboarding.Record, error) {
	in, err := s.saveUpdate(rec)
	if err != nil {
		return nil, err
	}
	_, err = s.Client.UpdateItem(ctx, in)
	if err != nil {
		existing, err := conditionLost(err)
		return existing, err
	}
	return rec, nil
}

// Claim implements onboarding.Store with one conditional UpdateItem. A
// verifying record has next_retry_at only as a proven lock.
//
// When DynamoDB applies the claim and its answer is lost, the SDK sends the
// same write again, and the resend fails the condition on the lock the
// first one took. ALL_OLD returns the item then, and when it holds this
// claim (Record.ClaimedBy) the claim is answered as made: otherwise the run
// would skip a record whose attempt it has counted and whose lock it holds
// until its deadline.
func (s *Store) Claim(ctx context.Context, wabaID, owner string, now, lockUntil time.Time) (*onboarding.Record, error) {
	rec, err := s.updated(ctx, &dynamodb.UpdateItemInput{
		Key:                      wabaKey(wabaID),
		ConditionExpression:      aws.String("#state IN (:verified, :verifying) AND next_retry_at <= :now AND lock_expires_at < :now"),
		UpdateExpression:         aws.String("SET lock_owner = :owner, lock_expires_at = :until, plivo_attempts = plivo_attempts + :one, updated_at = :stamp"),
		ExpressionAttributeNames: map[string]string{"#state": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":verified":  str(string(onboarding.StateVerified)),
			":verifying": str(string(onboarding.StateVerifying)),
			":now":       num(now.UnixMilli()),
			":owner":     str(owner),
			":until":     num(lockUntil.UnixMilli()),
			":one":       num(1),
			":stamp":     str(stamp(now)),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	switch {
	case !errors.Is(err, onboarding.ErrConditionFailed):
		return rec, err
	case rec != nil && rec.ClaimedBy(owner, lockUntil):
		return rec, nil
	default:
		return nil, err
	}
}

// updated runs a conditional update of the table and returns the record it
// left. A lost condition is ErrConditionFailed, with the item as it stands
// when in asks for ALL_OLD (nil otherwise: NONE unless in says).
func (s *Store) updated(ctx context.Context, in *dynamodb.UpdateItemInput) (*onboarding.Record, error) {
	in.TableName = aws.String(s.Table)
	in.ReturnValues = types.ReturnValueAllNew
	if in.ReturnValuesOnConditionCheckFailure == "" {
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureNone
	}
	out, err := s.Client.UpdateItem(ctx, in)
	if err != nil {
		return conditionLost(err)
	}
	return decode(out.Attributes)
}

// StampSubscribed implements onboarding.Store with one conditional
// UpdateItem of subscribed_at alone: updated_at stays, so the stream's
// lifecycle publisher sees no change to publish (shared/lifecycle).
func (s *Store) StampSubscribed(ctx context.Context, wabaID string, at time.Time) error {
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table),
		Key:       wabaKey(wabaID),
		ConditionExpression: aws.String("attribute_exists(waba_id) AND #state IN (:onboarded, :restricted) AND " +
			"(attribute_not_exists(subscribed_at) OR subscribed_at < :at)"),
		UpdateExpression:         aws.String("SET subscribed_at = :at"),
		ExpressionAttributeNames: map[string]string{"#state": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":onboarded":  str(string(onboarding.StateOnboarded)),
			":restricted": str(string(onboarding.StateRestricted)),
			":at":         str(orderedStamp(at)),
		},
	})
	if _, lost := lostCondition(err); lost {
		return onboarding.ErrConditionFailed
	}
	return err
}

// Get implements onboarding.Store with a strongly consistent read.
func (s *Store) Get(ctx context.Context, wabaID string) (*onboarding.Record, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            map[string]types.AttributeValue{KeyAttribute: str(wabaID)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, onboarding.ErrNotFound
	}
	return decode(out.Item)
}

// Due implements onboarding.Store by querying the sparse retry index, so a
// resume run reads only records that wait for Plivo.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]onboarding.Record, error) {
	return s.dueIn(ctx, pendingShard, now, limit)
}

// ExpiredRestrictions implements onboarding.Store from the same index's
// shard of restricted records with an end.
func (s *Store) ExpiredRestrictions(ctx context.Context, now time.Time, limit int) ([]onboarding.Record, error) {
	recs, err := s.dueIn(ctx, restrictionShard, now, limit)
	for i := range recs {
		recs[i].State = onboarding.StateRestricted // the shard holds no other
	}
	return recs, err
}

// dueIn lists the records of one shard of the retry index whose time has
// come, oldest first. The index holds keys only: the records carry their
// WABA ID and due time, nothing else.
func (s *Store) dueIn(ctx context.Context, shard string, now time.Time, limit int) ([]onboarding.Record, error) {
	var recs []onboarding.Record
	var start map[string]types.AttributeValue
	for len(recs) < limit {
		out, err := s.Client.Query(ctx, &dynamodb.QueryInput{
			TableName:              aws.String(s.Table),
			IndexName:              aws.String(RetryIndex),
			KeyConditionExpression: aws.String("retry_shard = :shard AND next_retry_at <= :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":shard": str(shard),
				":now":   num(now.UnixMilli()),
			},
			Limit:             aws.Int32(int32(limit - len(recs))),
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, err
		}
		for _, av := range out.Items {
			rec, err := decode(av)
			if err != nil {
				return nil, err
			}
			recs = append(recs, *rec)
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		start = out.LastEvaluatedKey
	}
	return recs, nil
}
