// Package lifecycle publishes every committed state change of a signup
// record to the Tech Provider's EventBridge bus, read from the signup
// table's DynamoDB Stream: the stream is the transactional outbox. A
// change that committed is on the stream even when the function that made
// it died right after; a change that did not commit never is.
//
// Each change becomes one event, detail-type whatsapp.onboarding.<name>,
// where name is the record's new state (verified, onboarded, failed,
// disconnected, restricted, unclaimed, and any state added later), with
// three exceptions: verifying (the signup's short-lived lock) is not
// published, an onboarding that reconnects a disconnected WABA is
// "reconnected", and a change of the number's health alone is
// "health_changed". The detail names the customer (client_ref), the IDs,
// the state, the previous state, the reason, when it happened, and a
// dedupe_key: Lambda's event source mapping and EventBridge both deliver
// at least once, so consumers dedupe on it.
package lifecycle

import (
	"cmp"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Source is the EventBridge source of every lifecycle event.
const Source = "wa-onboarding.lifecycle"

// DetailTypePrefix starts every detail-type.
const DetailTypePrefix = "whatsapp.onboarding."

// Names of events that are not a state.
const (
	NameReconnected   = "reconnected"
	NameHealthChanged = "health_changed"
)

// Detail is the detail of a lifecycle event.
type Detail struct {
	ClientRef     string `json:"client_ref"`
	WABAID        string `json:"waba_id"`
	PhoneNumberID string `json:"phone_number_id"`
	BusinessID    string `json:"business_id"`
	State         string `json:"state"`
	PreviousState string `json:"previous_state"`
	Reason        string `json:"reason"`
	OccurredAt    string `json:"occurred_at"`
	DedupeKey     string `json:"dedupe_key"`
	// RestrictedUntil is the end of a restriction, when Meta gave one.
	RestrictedUntil string  `json:"restricted_until,omitempty"`
	Health          *Health `json:"health,omitempty"`
}

// Health is the number's health as Meta last reported it.
type Health struct {
	QualityEvent   string `json:"quality_event,omitempty"`
	MessagingLimit string `json:"messaging_limit,omitempty"`
	NameStatus     string `json:"name_status,omitempty"`
	RequestedName  string `json:"requested_name,omitempty"`
	ReviewDecision string `json:"review_decision,omitempty"`
}

// Event is one lifecycle event to publish, for the stream record
// SequenceNumber.
type Event struct {
	Name           string
	Detail         Detail
	Time           time.Time
	SequenceNumber string
}

// DetailType is the event's detail-type.
func (e Event) DetailType() string { return DetailTypePrefix + e.Name }

// image is what the publisher reads of a record image; the attribute names
// are shared/dynamo's.
type image struct {
	WABAID, State, PhoneNumberID, BusinessID, ClientRef string
	PreviousState, StateReason, StateChangedAt          string
	FailureReason, LastError, UpdatedAt                 string
	RestrictedUntil                                     string
	Reconnect                                           bool
	Health                                              Health
}

func readImage(m map[string]events.DynamoDBAttributeValue) image {
	s := func(k string) string {
		if v, ok := m[k]; ok && v.DataType() == events.DataTypeString {
			return v.String()
		}
		return ""
	}
	b := func(k string) bool {
		v, ok := m[k]
		return ok && v.DataType() == events.DataTypeBoolean && v.Boolean()
	}
	return image{
		WABAID: s("waba_id"), State: s("state"), PhoneNumberID: s("phone_number_id"), BusinessID: s("business_id"),
		ClientRef: s("client_ref"), PreviousState: s("previous_state"), StateReason: s("state_reason"),
		StateChangedAt: s("state_changed_at"), FailureReason: s("failure_reason"), LastError: s("last_error"),
		UpdatedAt: s("updated_at"), RestrictedUntil: s("restricted_until"), Reconnect: b("reconnect"),
		Health: Health{QualityEvent: s("quality_event"), MessagingLimit: s("messaging_limit"),
			NameStatus: s("name_status"), RequestedName: s("requested_name"), ReviewDecision: s("review_decision")},
	}
}

// signupKey reports whether a stream record's keys are a signup record's:
// the WABA ID alone. Another table's items (the dedup table's also carry
// waba_id and state) are not signups, should its stream ever be wired
// here. A record without keys is taken as a signup's: AWS always sends
// them, and only hand-made events leave them out.
func signupKey(keys map[string]events.DynamoDBAttributeValue) bool {
	if len(keys) == 0 {
		return true
	}
	k, ok := keys["waba_id"]
	return ok && len(keys) == 1 && k.DataType() == events.DataTypeString
}

// FromRecord returns the lifecycle event of one stream record, or false
// when the change is not one (a removal, the verifying lock, a write that
// changed neither state, reason nor health).
func FromRecord(r events.DynamoDBEventRecord) (Event, bool) {
	if r.EventName == string(events.DynamoDBOperationTypeRemove) || r.Change.NewImage == nil || !signupKey(r.Change.Keys) {
		return Event{}, false
	}
	now, old := readImage(r.Change.NewImage), readImage(r.Change.OldImage)
	if now.WABAID == "" || now.State == "" {
		return Event{}, false
	}
	var name string
	switch {
	case now.State == "verifying":
		return Event{}, false
	case now.State != old.State:
		name = now.State
		if now.State == "onboarded" && now.Reconnect {
			name = NameReconnected
		}
	case now.StateChangedAt != old.StateChangedAt && (now.StateReason != old.StateReason || now.RestrictedUntil != old.RestrictedUntil):
		// Same state, new cause (another restriction) or a new end (Meta
		// extended it): published again.
		name = now.State
	case now.Health != old.Health:
		name = NameHealthChanged
	default:
		return Event{}, false
	}
	d := Detail{
		ClientRef: now.ClientRef, WABAID: now.WABAID, PhoneNumberID: now.PhoneNumberID, BusinessID: now.BusinessID,
		State: now.State, PreviousState: old.State, Reason: reason(now), OccurredAt: occurredAt(now, old),
		RestrictedUntil: now.RestrictedUntil,
	}
	switch {
	case name == NameReconnected && now.PreviousState != "":
		d.PreviousState = now.PreviousState
	case name == NameHealthChanged:
		// Only the health moved: the state's previous state and cause are
		// the record's as they stand, as the views show them, so that a
		// consumer keeping the latest event does not lose why a record is
		// restricted.
		d.PreviousState = cmp.Or(now.PreviousState, old.State)
		if now.State != "failed" {
			d.Reason = cmp.Or(now.StateReason, d.Reason)
		}
	}
	if now.Health != (Health{}) {
		h := now.Health
		d.Health = &h
	}
	// The same committed change always gets the same key, whichever
	// delivery of its stream record publishes it.
	d.DedupeKey = now.WABAID + "/" + name + "/" + now.UpdatedAt
	t, _ := time.Parse(time.RFC3339Nano, d.OccurredAt)
	return Event{Name: name, Detail: d, Time: t, SequenceNumber: r.Change.SequenceNumber}, true
}

// occurredAt is the change's updated_at, kept after the one before it.
// Each writer stamps its change before its write commits, so a webhook's
// health change stamped later can commit first: the signup's onboarded
// save then carries an earlier stamp than the change it follows, and a
// consumer ordering a WABA's events by occurred_at would keep the health
// change, with its older state, as the latest. The stream gives each
// item's changes in commit order, so the change after a later stamp is
// published a nanosecond after it.
func occurredAt(now, old image) string {
	at, err := time.Parse(time.RFC3339Nano, now.UpdatedAt)
	before, berr := time.Parse(time.RFC3339Nano, old.UpdatedAt)
	if err != nil || berr != nil || at.After(before) {
		return now.UpdatedAt
	}
	return before.Add(time.Nanosecond).UTC().Format(time.RFC3339Nano)
}

// reason is the cause the record gives for its state: the failure reason
// of a failed record, the webhook's reason when this write made the
// lifecycle change, or the last error (why a verified record waits).
func reason(im image) string {
	switch {
	case im.State == "failed" && im.FailureReason != "":
		return im.FailureReason
	case im.StateReason != "" && im.StateChangedAt == im.UpdatedAt:
		return im.StateReason
	}
	return im.LastError
}
