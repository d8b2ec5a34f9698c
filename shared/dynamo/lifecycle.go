package dynamo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// The signup table's index of records by the Tech Provider's customer
// (client_ref), which the per-customer view queries. It projects every
// attribute: a customer has a handful of WABAs.
const (
	ClientIndex = "by-client"
	ClientAttr  = "client_ref"
	// maxClientRecords bounds one customer's listing.
	maxClientRecords = 200
)

// lifecycleItem is the stored shape of onboarding.Lifecycle, embedded in
// item; the names are what the stream publisher (shared/lifecycle) reads.
type lifecycleItem struct {
	PreviousState   string `dynamodbav:"previous_state,omitempty"`
	StateReason     string `dynamodbav:"state_reason,omitempty"`
	StateChangedAt  string `dynamodbav:"state_changed_at,omitempty"`
	RestrictedUntil string `dynamodbav:"restricted_until,omitempty"`
	Reconnect       bool   `dynamodbav:"reconnect,omitempty"`
	QualityEvent    string `dynamodbav:"quality_event,omitempty"`
	MessagingLimit  string `dynamodbav:"messaging_limit,omitempty"`
	NameStatus      string `dynamodbav:"name_status,omitempty"`
	RequestedName   string `dynamodbav:"requested_name,omitempty"`
	ReviewDecision  string `dynamodbav:"review_decision,omitempty"`
	HealthUpdatedAt string `dynamodbav:"health_updated_at,omitempty"`
}

func toLifecycleItem(l onboarding.Lifecycle) lifecycleItem {
	return lifecycleItem{
		PreviousState: string(l.PreviousState), StateReason: l.StateReason, StateChangedAt: stamp(l.StateChangedAt),
		RestrictedUntil: stamp(l.RestrictedUntil), Reconnect: l.Reconnect, QualityEvent: l.Health.QualityEvent,
		MessagingLimit: l.Health.MessagingLimit, NameStatus: l.Health.NameStatus, RequestedName: l.Health.RequestedName,
		ReviewDecision:  l.Health.ReviewDecision,
		HealthUpdatedAt: stamp(l.Health.UpdatedAt),
	}
}

func (l lifecycleItem) lifecycle() onboarding.Lifecycle {
	return onboarding.Lifecycle{
		PreviousState: onboarding.State(l.PreviousState), StateReason: l.StateReason,
		StateChangedAt: parseStamp(l.StateChangedAt), RestrictedUntil: parseStamp(l.RestrictedUntil), Reconnect: l.Reconnect,
		Health: onboarding.Health{
			QualityEvent: l.QualityEvent, MessagingLimit: l.MessagingLimit, NameStatus: l.NameStatus,
			RequestedName: l.RequestedName, ReviewDecision: l.ReviewDecision, UpdatedAt: parseStamp(l.HealthUpdatedAt),
		},
	}
}

// lockCondition is when a signup may take a record's lock: the WABA is new,
// Meta told us of it (unclaimed) before the signup did, or no signup is
// working on it (settledCondition). A reconnect that stopped half-way
// (abandoned, failed or waiting) is left to a reconnect (takeoverCondition):
// taken by a plain signup, it would lose its mark, and Plivo's "already
// registered" would then pass for someone else's.
const lockCondition = "attribute_not_exists(waba_id) OR #state = :unclaimed OR " +
	"((" + settledCondition + ") AND attribute_not_exists(reconnect))"

// settledCondition is a record no signup is working on: its lock was
// abandoned (and is not in the retry index, where a verified signup that
// may have reached Plivo waits for the resume function), or its signup
// failed or waits for the customer.
const settledCondition = "(#state = :verifying AND lock_expires_at < :now AND attribute_not_exists(next_retry_at)) OR " +
	"#state IN (:failed, :phone_unverified, :awaiting_number)"

// takeoverCondition widens lockCondition for a reconnect: the service asks
// for it only after it saw the record disconnected, or a reconnect that
// stopped half-way, so a plain signup never mistakes our earlier
// onboarding for someone else's.
func takeoverCondition(rec *onboarding.Record) string {
	if rec.Reconnect {
		return " OR #state = :disconnected OR " + settledCondition
	}
	return ""
}

func takeoverValues(rec *onboarding.Record, v map[string]types.AttributeValue) map[string]types.AttributeValue {
	if rec.Reconnect {
		v[":disconnected"] = str(string(onboarding.StateDisconnected))
	}
	return v
}

// raiseMark runs a conditional update of one of Meta's time marks: a lost
// condition means a mark as late is already there (or the record is
// gone), which is no error.
func (s *Store) raiseMark(ctx context.Context, in *dynamodb.UpdateItemInput) error {
	in.TableName = aws.String(s.Table)
	if _, err := s.Client.UpdateItem(ctx, in); err != nil {
		if _, lost := lostCondition(err); !lost {
			return err
		}
	}
	return nil
}

func wabaKey(wabaID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{KeyAttribute: str(wabaID)}
}

// Disconnect moves a WABA's record to disconnected (Meta says our access
// is gone). It also drops any signup lock and pending retry: a signup or
// resume run in flight then loses its conditional save instead of
// overwriting the disconnect. False when there is no record, it is
// already disconnected or failed, Meta sent a later change (metaChange),
// or the customer shared the WABA again after Meta sent the removal and
// the record is not one that removal left behind (sharedAgainCondition).
func (s *Store) Disconnect(ctx context.Context, wabaID, reason string, at, sent time.Time) (bool, error) {
	condition := "attribute_exists(waba_id) AND #state <> :disconnected AND #state <> :failed"
	values := map[string]types.AttributeValue{
		":disconnected": str(string(onboarding.StateDisconnected)),
		":failed":       str(string(onboarding.StateFailed)),
		":reason":       str(reason),
		":at":           str(stamp(at)),
		":zero":         num(0),
	}
	if !sent.IsZero() {
		// metaChange binds :sent.
		condition += " AND " + sharedAgainCondition + " AND " + resubscribedCondition
		values[":onboarded"] = str(string(onboarding.StateOnboarded))
		values[":restricted"] = str(string(onboarding.StateRestricted))
		// Meta's time is whole seconds and ours is not: a subscription
		// within the removal's second may have come before it, so it
		// counts as before (the removal applies), as a share of the
		// removal's second does (sharedAgainCondition).
		values[":sent_stamp"] = str(orderedStamp(sent.Truncate(time.Second).Add(time.Second)))
	}
	return s.metaChange(ctx, &dynamodb.UpdateItemInput{
		Key:                 wabaKey(wabaID),
		ConditionExpression: aws.String(condition),
		UpdateExpression: aws.String("SET previous_state = #state, #state = :disconnected, state_reason = :reason, " +
			"state_changed_at = :at, updated_at = :at, lock_expires_at = :zero " +
			"REMOVE lock_owner, retry_shard, next_retry_at, restricted_until, reconnect"),
		ExpressionAttributeNames:  map[string]string{"#state": "state"},
		ExpressionAttributeValues: values,
	}, at, sent, false, "#state = :disconnected")
}

// sharedAgainCondition holds when a removal Meta sent at :sent still
// applies although the WABA may have been shared again since
// (metaSharedAttr): no share came after it, or the record is onboarded (or
// restricted) with no removal of Meta's taken since :sent. Such a record
// is the onboarding from before the removal, which the removal ended,
// unless a signup after the share subscribed our app again
// (resubscribedCondition): refusing the removal would leave it onboarded
// for good while Meta no longer sends us its webhooks. Onboarded after a
// removal we took (meta_sent_at at or after :sent), the record is the reconnect's, and a
// late redelivery of that removal, or of another of the same second, is
// over; in any other state a signup after the share takes the record over
// and onboards the WABA anew, so the removal is over too.
const sharedAgainCondition = "(attribute_not_exists(" + metaSharedAttr + ") OR " + metaSharedAttr + " <= :sent OR " +
	"(#state IN (:onboarded, :restricted) AND (attribute_not_exists(" + metaSentAttr + ") OR " + metaSentAttr + " < :sent)))"

// resubscribedCondition holds when our app was not subscribed to the WABA
// again after the second in which Meta sent the removal (:sent_stamp is
// the next second's start). Only a signup run again for an onboarded WABA
// writes subscribed_at, and a reconnect drops it. A subscription made with
// the customer's token after the removal proves the WABA shared with our
// app again, whether or not the share's webhook has reached us: the
// removal is over.
const resubscribedCondition = "(attribute_not_exists(subscribed_at) OR subscribed_at < :sent_stamp)"

// metaSentAttr holds Meta's time (its webhook entry's, in Unix seconds) of
// the latest state change Meta's webhooks made, or found already in force,
// on a record. Meta's deliveries can arrive out of order: a change
// deferred while a signup runs is redelivered minutes later, and two
// deliveries may be handled at once. A change Meta sent before that time is refused, so the
// record keeps the state Meta's latest change gave it. Only the webhook
// writes read or write it: a signup's saves leave it as it is.
const metaSentAttr = "meta_sent_at"

// metaChange applies a state change of Meta's (in) in Meta's order: its
// condition also requires that Meta sent no later change, and it records
// sent. A change that finds the record already as it would leave it
// (inForce, a condition on the record) still records sent, so that an
// earlier change delivered after it does not apply; a change refused for
// any other reason (a weaker restriction, a shorter one, a record in
// another state) records nothing, or it would refuse an earlier change
// that still holds. With deferDuringSignup, a change the condition
// refuses while a signup is under way is onboarding.ErrSignupUnderway. A
// zero sent (an entry without a time) is not ordered.
func (s *Store) metaChange(ctx context.Context, in *dynamodb.UpdateItemInput, at, sent time.Time, deferDuringSignup bool, inForce string) (bool, error) {
	if !sent.IsZero() {
		in.ConditionExpression = aws.String("(" + aws.ToString(in.ConditionExpression) + ") AND " + notLaterSent)
		set, remove, found := strings.Cut(aws.ToString(in.UpdateExpression), " REMOVE ")
		update := set + ", " + metaSentAttr + " = :sent"
		if found {
			update += " REMOVE " + remove
		}
		in.UpdateExpression = aws.String(update)
		in.ExpressionAttributeValues[":sent"] = num(sent.Unix())
	}
	in.TableName = aws.String(s.Table)
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	_, err := s.Client.UpdateItem(ctx, in)
	old, lost := lostCondition(err)
	switch {
	case err == nil:
		return true, nil
	case !lost:
		return false, err
	case deferDuringSignup && signupUnderway(old, at):
		return false, onboarding.ErrSignupUnderway
	case len(old) == 0 || sent.IsZero():
		return false, nil
	}
	values := map[string]types.AttributeValue{":sent": num(sent.Unix())}
	for _, ref := range valueRef.FindAllString(inForce, -1) {
		values[ref] = in.ExpressionAttributeValues[ref]
	}
	err = s.raiseMark(ctx, &dynamodb.UpdateItemInput{
		Key:                       in.Key,
		ConditionExpression:       aws.String("(" + inForce + ") AND (attribute_not_exists(" + metaSentAttr + ") OR " + metaSentAttr + " < :sent)"),
		UpdateExpression:          aws.String("SET " + metaSentAttr + " = :sent"),
		ExpressionAttributeNames:  map[string]string{"#state": "state"},
		ExpressionAttributeValues: values,
	})
	return false, err
}

// valueRef finds the value placeholders of a condition expression:
// metaChange's second write takes from the first only the values its
// inForce condition names, as DynamoDB refuses unused ones.
var valueRef = regexp.MustCompile(`:[a-z_]+`)

// notLaterSent holds when Meta sent no later change than :sent. Changes
// sent in the same second are applied in the order they arrive.
const notLaterSent = "(attribute_not_exists(" + metaSentAttr + ") OR " + metaSentAttr + " <= :sent)"

// violationReason begins the state_reason of a restriction for Meta's
// ACCOUNT_VIOLATION, as metawebhooks names it (the event in lower case).
const violationReason = "account_violation"

// Restrict moves an onboarded (or differently restricted) record to
// restricted, with Meta's reason and the end date when Meta gives one.
// False when the change would not be one, Meta sent a later change
// (metaChange), or it would shorten a restriction:
//
//   - one without an end (disabled, offboarded) is replaced by any other
//     without an end but a violation, and by one with an end only when
//     both come from the same event (a newer ACCOUNT_RESTRICTION restates
//     the account's restrictions): otherwise the lapse would lift the
//     other;
//   - a violation is Meta's warning, and the weakest: it takes the place
//     of no other restriction, and any restriction takes its place. The
//     blocks repeated violations bring come as restrictions with an end,
//     and Meta sends nothing when they lapse, so the block's end must be
//     the one that lifts the record;
//   - one with an end is replaced only by one ending later (Meta extended
//     it, or restricted something else for longer) or by one without an
//     end but a violation: a late redelivery of an earlier restriction
//     cannot bring the lift forward. A record restricted before ends were indexed (an end,
//     no shard) takes any restriction with an end, and so joins the shard.
//
// A restriction with an end joins the retry index's restricted shard,
// where the resume run finds it when the end has come.
func (s *Store) Restrict(ctx context.Context, wabaID, reason string, until, at, sent time.Time) (bool, error) {
	update := "SET previous_state = #state, #state = :restricted, state_reason = :reason, state_changed_at = :at, updated_at = :at"
	values := map[string]types.AttributeValue{
		":restricted": str(string(onboarding.StateRestricted)),
		":onboarded":  str(string(onboarding.StateOnboarded)),
		":reason":     str(reason),
		":at":         str(stamp(at)),
	}
	event, _, _ := strings.Cut(reason, ":")
	// Already in force: the same restriction, with the same end or none.
	inForce := "#state = :restricted AND state_reason = :reason AND attribute_not_exists(restricted_until)"
	if !until.IsZero() {
		inForce = "#state = :restricted AND state_reason = :reason AND restricted_until = :until"
	}
	var replaces string
	switch {
	case event == violationReason:
		update += " REMOVE restricted_until, retry_shard, next_retry_at, reconnect"
		replaces = "begins_with(state_reason, :violation) AND state_reason <> :reason"
		values[":violation"] = str(violationReason)
	case until.IsZero():
		update += " REMOVE restricted_until, retry_shard, next_retry_at, reconnect"
		replaces = "NOT (state_reason = :reason AND attribute_not_exists(restricted_until))"
	default:
		update += ", restricted_until = :until, retry_shard = :shard, next_retry_at = :due REMOVE reconnect"
		replaces = "(attribute_exists(restricted_until) AND (next_retry_at < :due OR attribute_not_exists(retry_shard))) OR " +
			"(attribute_not_exists(restricted_until) AND (begins_with(state_reason, :event) OR begins_with(state_reason, :violation)))"
		values[":until"], values[":shard"], values[":due"] = str(stamp(until)), str(restrictionShard), num(until.UnixMilli())
		values[":event"], values[":violation"] = str(event), str(violationReason)
	}
	return s.metaChange(ctx, &dynamodb.UpdateItemInput{
		Key:                       wabaKey(wabaID),
		ConditionExpression:       aws.String("#state = :onboarded OR (#state = :restricted AND " + replaces + ")"),
		UpdateExpression:          aws.String(update),
		ExpressionAttributeNames:  map[string]string{"#state": "state"},
		ExpressionAttributeValues: values,
	}, at, sent, true, inForce)
}

// signupUnderway reports whether the item old is between a signup's lock
// and its outcome at at: verified and waiting for Plivo, or verifying with
// a live lock or in the retry index. An abandoned lock is not: a change
// deferred for it would be refused until Meta gives up.
func signupUnderway(old map[string]types.AttributeValue, at time.Time) bool {
	var it item
	if len(old) == 0 || attributevalue.UnmarshalMap(old, &it) != nil {
		return false
	}
	switch onboarding.State(it.State) {
	case onboarding.StateVerified:
		return true
	case onboarding.StateVerifying:
		return it.LockExpiresAt > at.UnixMilli() || it.RetryShard != ""
	}
	return false
}

// Reinstate moves a restricted record back to onboarded (Meta lifted the
// restriction or reinstated a disabled account). A non-empty lifts limits
// it to a record restricted for that reason: the end of one kind of pause
// must not lift a restriction of another. False when the record is not so
// restricted, or Meta sent a later change (metaChange).
func (s *Store) Reinstate(ctx context.Context, wabaID, reason, lifts string, at, sent time.Time) (bool, error) {
	condition := "#state = :restricted"
	values := map[string]types.AttributeValue{
		":restricted": str(string(onboarding.StateRestricted)),
		":onboarded":  str(string(onboarding.StateOnboarded)),
		":reason":     str(reason),
		":at":         str(stamp(at)),
	}
	if lifts != "" {
		condition += " AND state_reason = :lifts"
		values[":lifts"] = str(lifts)
	}
	return s.metaChange(ctx, &dynamodb.UpdateItemInput{
		Key:                       wabaKey(wabaID),
		ConditionExpression:       aws.String(condition),
		UpdateExpression:          aws.String(reinstateUpdate),
		ExpressionAttributeNames:  map[string]string{"#state": "state"},
		ExpressionAttributeValues: values,
	}, at, sent, true, "#state = :onboarded")
}

// reinstateUpdate moves a restricted record back to onboarded and out of
// the retry index. Restrict already dropped the reconnect mark of the
// signup that reconnected it, so this is published as onboarded.
const reinstateUpdate = "SET previous_state = #state, #state = :onboarded, state_reason = :reason, state_changed_at = :at, updated_at = :at " +
	"REMOVE restricted_until, retry_shard, next_retry_at, reconnect"

// LiftRestriction implements onboarding.Store: Meta sends nothing when a
// restriction's end passes, so the resume run lifts it. The condition
// holds only while the record is still restricted until a time that has
// come: a later restriction without an end, or a reinstatement, wins.
func (s *Store) LiftRestriction(ctx context.Context, wabaID string, now time.Time) (*onboarding.Record, error) {
	return s.updated(ctx, &dynamodb.UpdateItemInput{
		Key:                      wabaKey(wabaID),
		ConditionExpression:      aws.String("#state = :restricted AND retry_shard = :shard AND next_retry_at <= :now"),
		UpdateExpression:         aws.String(reinstateUpdate),
		ExpressionAttributeNames: map[string]string{"#state": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":restricted": str(string(onboarding.StateRestricted)),
			":onboarded":  str(string(onboarding.StateOnboarded)),
			":shard":      str(restrictionShard),
			":now":        num(now.UnixMilli()),
			":reason":     str(onboarding.ReasonRestrictionExpired),
			":at":         str(stamp(now)),
		},
	})
}

// metaSharedAttr holds Meta's time (its webhook entry's, in Unix seconds)
// of the latest PARTNER_ADDED or PARTNER_APP_INSTALLED for the WABA: the
// moment the customer shared it with us again. A removal Meta sent before
// then is over once the record was taken over after it
// (sharedAgainCondition). Meta redelivers a removal we failed to take for
// up to seven days, and by then the customer may have reconnected: without
// this mark the late removal would disconnect the WABA the reconnect
// onboarded.
// It is kept apart from metaSentAttr because sharing ends no restriction:
// a restriction Meta sent before the share must still apply.
const metaSharedAttr = "meta_shared_at"

// PutUnclaimed records a WABA Meta shared with our app (at Meta's time
// sent, zero when unknown) and no signup named: false when the WABA
// already has a record. An existing record keeps the time of the share
// (metaSharedAttr), which is no change anyone sees.
func (s *Store) PutUnclaimed(ctx context.Context, wabaID, businessID, reason string, at, sent time.Time) (bool, error) {
	rec := &onboarding.Record{
		WABAID: wabaID, State: onboarding.StateUnclaimed, BusinessID: businessID, CreatedAt: at, UpdatedAt: at,
		Lifecycle: onboarding.Lifecycle{StateReason: reason, StateChangedAt: at},
	}
	av, err := attributevalue.MarshalMap(toItem(rec))
	if err != nil {
		return false, fmt.Errorf("encode record: %w", err)
	}
	if !sent.IsZero() {
		av[metaSharedAttr] = num(sent.Unix())
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.Table),
		Item:                av,
		ConditionExpression: aws.String("attribute_not_exists(waba_id)"),
	})
	_, lost := lostCondition(err)
	switch {
	case err == nil:
		return true, nil
	case !lost:
		return false, err
	case sent.IsZero():
		return false, nil
	}
	err = s.raiseMark(ctx, &dynamodb.UpdateItemInput{
		Key: wabaKey(wabaID),
		ConditionExpression: aws.String("attribute_exists(waba_id) AND (attribute_not_exists(" + metaSharedAttr + ") OR " +
			metaSharedAttr + " < :sent)"),
		UpdateExpression:          aws.String("SET " + metaSharedAttr + " = :sent"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":sent": num(sent.Unix())},
	})
	return false, err
}

// SetHealth writes the health fields h sets on the record of wabaID whose
// number has these digits (any number when the record has none yet, or
// when digits is empty: a change for the whole WABA), in the order Meta
// sent them (sent, zero when the entry has none): each field keeps Meta's
// time of the change that wrote it (healthFields), and a field Meta
// changed later than sent is left as it is while the others are written.
// A messaging limit of onboarding.LimitNotSet is no portfolio's limit: it
// is written only where the record has none, and orders nothing. False
// when there is no such record, or every field h sets has a later change.
func (s *Store) SetHealth(ctx context.Context, wabaID, digits string, h onboarding.Health, sent time.Time) (bool, error) {
	fields := healthFieldsOf(h)
	ok, old, err := s.setHealth(ctx, wabaID, digits, h.UpdatedAt, fields, sent)
	if err != nil || ok || sent.IsZero() || len(old) == 0 {
		return ok, err
	}
	// Refused: the record is another number's, or Meta changed some of
	// these fields later. The one write the change is allowed (its stream
	// record is one event) carries the fields Meta has not changed since.
	var kept []healthField
	for _, f := range fields {
		if !changedLater(old, f, sent) {
			kept = append(kept, f)
		}
	}
	if len(kept) == 0 || len(kept) == len(fields) {
		return false, nil
	}
	ok, _, err = s.setHealth(ctx, wabaID, digits, h.UpdatedAt, kept, sent)
	return ok, err
}

// changedLater reports whether the record old holds a change of f's
// that Meta sent later than sent, as setHealth's condition decides it.
func changedLater(old map[string]types.AttributeValue, f healthField, sent time.Time) bool {
	var mark int64
	if v, found := old[f.mark]; !found || attributevalue.Unmarshal(v, &mark) != nil || mark <= sent.Unix() {
		return false
	}
	if _, ok := f.values["messaging_limit"]; ok {
		var limit string
		if v, found := old["messaging_limit"]; found && attributevalue.Unmarshal(v, &limit) == nil && limit == onboarding.LimitNotSet {
			return false
		}
	}
	return true
}

// healthField is a group of health attributes one webhook field writes
// together, and the attribute keeping Meta's time (Unix seconds, as
// metaSentAttr) of the change that last wrote them. The messaging limit is
// its own group: the quality and the capability webhooks both carry it.
// A group without a mark only fills attributes the record does not have.
type healthField struct {
	mark   string
	values map[string]string
}

// The marks of the health fields about a number, not the whole WABA. A
// lock that drops what Meta said of a number (fieldsUpdate) drops these
// too: they ordered the dropped values, and a change of the signup's
// number sent before them would otherwise be refused though the record
// has no word of that number left.
const (
	qualitySentAttr = "quality_sent_at"
	nameSentAttr    = "name_sent_at"
)

func healthFieldsOf(h onboarding.Health) []healthField {
	limit := healthField{"limit_sent_at", map[string]string{"messaging_limit": h.MessagingLimit}}
	if h.MessagingLimit == onboarding.LimitNotSet {
		// Neither the limit Meta gave the portfolio, nor its time, is
		// replaced: a limit Meta sent before it still applies.
		limit.mark = ""
	}
	var out []healthField
	for _, f := range []healthField{
		{qualitySentAttr, map[string]string{"quality_event": h.QualityEvent}},
		limit,
		{nameSentAttr, map[string]string{"name_status": h.NameStatus, "requested_name": h.RequestedName}},
		{"review_sent_at", map[string]string{"review_decision": h.ReviewDecision}},
	} {
		set := false
		for _, v := range f.values {
			set = set || v != ""
		}
		if set {
			out = append(out, f)
		}
	}
	return out
}

// setHealth writes fields in one conditional update, each only if Meta
// sent no later change of it; a lost condition returns the item as it was
// (ALL_OLD).
func (s *Store) setHealth(ctx context.Context, wabaID, digits string, at time.Time, fields []healthField, sent time.Time) (bool, map[string]types.AttributeValue, error) {
	update := "SET health_updated_at = :at, updated_at = :at"
	values := map[string]types.AttributeValue{":at": str(stamp(at)), ":digits": str(digits)}
	condition := "attribute_exists(waba_id) AND (" + PhoneAttr + " = :digits OR attribute_not_exists(" + PhoneAttr + "))"
	if digits == "" {
		// A change for the whole WABA (the portfolio's messaging limit).
		condition = "attribute_exists(waba_id)"
		delete(values, ":digits")
	}
	for _, f := range fields {
		for attr, v := range f.values {
			switch {
			case v == "":
			case f.mark == "":
				update += ", " + attr + " = if_not_exists(" + attr + ", :" + attr + ")"
				values[":"+attr] = str(v)
			default:
				update += ", " + attr + " = :" + attr
				values[":"+attr] = str(v)
			}
		}
		if !sent.IsZero() && f.mark != "" {
			update += ", " + f.mark + " = :sent"
			later := f.mark + " > :sent"
			if _, ok := f.values["messaging_limit"]; ok {
				// Records written before TIER_NOT_SET stopped carrying
				// Meta's time may hold it with one; it outranks nothing.
				later = "(" + later + " AND messaging_limit <> :notset)"
				values[":notset"] = str(onboarding.LimitNotSet)
			}
			condition += " AND NOT " + later
			values[":sent"] = num(sent.Unix())
		}
	}
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.Table),
		Key:                                 wabaKey(wabaID),
		ConditionExpression:                 aws.String(condition),
		UpdateExpression:                    aws.String(update),
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return true, nil, nil
	}
	old, lost := lostCondition(err)
	if !lost {
		return false, nil, err
	}
	return false, old, nil
}

// ByClientRef lists the records of one Tech Provider customer from the
// by-client index (eventually consistent, so a change of the last second
// may not show yet), at most maxClientRecords of them.
func (s *Store) ByClientRef(ctx context.Context, clientRef string) ([]onboarding.Record, error) {
	if clientRef == "" {
		return nil, errors.New("dynamo: ByClientRef needs a client_ref")
	}
	var recs []onboarding.Record
	var start map[string]types.AttributeValue
	for {
		out, err := s.Client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.Table),
			IndexName:                 aws.String(ClientIndex),
			KeyConditionExpression:    aws.String(ClientAttr + " = :ref"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":ref": str(clientRef)},
			ExclusiveStartKey:         start,
			// Without a limit one page holds up to 1 MB of records.
			Limit: aws.Int32(int32(maxClientRecords - len(recs))),
		})
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", ClientIndex, err)
		}
		for _, av := range out.Items {
			rec, err := decode(av)
			if err != nil {
				return nil, err
			}
			recs = append(recs, *rec)
		}
		if len(out.LastEvaluatedKey) == 0 || len(recs) >= maxClientRecords {
			return recs, nil
		}
		start = out.LastEvaluatedKey
	}
}
