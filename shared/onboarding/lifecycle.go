package onboarding

import "time"

// States a record reaches after the signup, from Meta's webhooks
// (shared/metawebhooks). They are not terminal: a new signup for a
// disconnected or unclaimed WABA takes the record over (Store.Acquire), and
// a reinstated account goes back to onboarded.
const (
	// StateDisconnected: the customer removed our app or partner access,
	// or deleted the WABA. StateReason says which.
	StateDisconnected State = "disconnected"
	// StateRestricted: Meta restricted, flagged or disabled the account;
	// StateReason names it and RestrictedUntil is the end Meta gave.
	StateRestricted State = "restricted"
	// StateUnclaimed: Meta says the WABA was shared with our app, but no
	// signup for it reached us (the browser closed before it could post).
	StateUnclaimed State = "unclaimed"
)

// ReasonRestrictionExpired is the StateReason of a record the resume run
// moved back to onboarded because its restriction's end had come: Meta
// sends no webhook when a restriction lapses.
const ReasonRestrictionExpired = "restriction_expired"

// LimitNotSet is the messaging limit Meta's quality webhook gives a number
// that has not sent a message yet. Limits belong to the business portfolio
// and every number shares its limit, so this says nothing about the
// portfolio's: it fills a record that knows no limit, and never replaces
// or outranks one (Store.SetHealth).
const LimitNotSet = "TIER_NOT_SET"

// Health is what Meta's phone_number_quality_update and
// phone_number_name_update webhooks say about the record's number.
type Health struct {
	// QualityEvent is Meta's last phone_number_quality_update event for
	// the number: ONBOARDING or THROUGHPUT_UPGRADE in Meta's current
	// reference; the FLAGGED, UNFLAGGED, UPGRADE and DOWNGRADE of earlier
	// versions are kept as sent.
	QualityEvent string
	// MessagingLimit is the business portfolio's messaging limit, in
	// Meta's tier names (TIER_250, TIER_2K, TIER_10K, TIER_100K,
	// TIER_UNLIMITED), whichever webhook reported it last; LimitNotSet
	// only while no webhook has reported one.
	MessagingLimit string
	// NameStatus is the decision on the display name (APPROVED, DEFERRED,
	// PENDING, REJECTED), and RequestedName the name it is about.
	NameStatus    string
	RequestedName string
	// ReviewDecision is Meta's review of the WABA (account_review_update):
	// APPROVED, REJECTED, PENDING or DEFERRED; only an approved WABA can
	// be used with Meta's APIs.
	ReviewDecision string
	UpdatedAt      time.Time
}

// HealthView is the public shape of Health.
type HealthView struct {
	QualityEvent   string    `json:"quality_event,omitempty"`
	MessagingLimit string    `json:"messaging_limit,omitempty"`
	NameStatus     string    `json:"name_status,omitempty"`
	RequestedName  string    `json:"requested_name,omitempty"`
	ReviewDecision string    `json:"review_decision,omitempty"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// view is h's public shape, nil while Meta has reported nothing.
func (h Health) view() *HealthView {
	if h.UpdatedAt.IsZero() {
		return nil
	}
	return &HealthView{QualityEvent: h.QualityEvent, MessagingLimit: h.MessagingLimit, NameStatus: h.NameStatus,
		RequestedName: h.RequestedName, ReviewDecision: h.ReviewDecision, UpdatedAt: h.UpdatedAt}
}

// Lifecycle is what the record keeps of its life after the signup.
type Lifecycle struct {
	// PreviousState is the state the last webhook-driven change left.
	PreviousState State
	// StateReason says why the record is disconnected or restricted, in
	// Meta's words (partner_app_uninstalled, account_restriction:...).
	StateReason string
	// StateChangedAt is when the last webhook-driven change committed.
	StateChangedAt  time.Time
	RestrictedUntil time.Time
	// Reconnect marks a signup that took over a disconnected record: its
	// onboarding is published as reconnected, and Plivo's "already
	// registered" for it is our own earlier onboarding.
	Reconnect bool
	Health    Health
}

// reconnects reports whether a signup whose lock write lost to existing
// at now is a reconnect: the record is disconnected, or a reconnect that
// stopped half-way, names the same signup, and this attempt has not asked
// for the takeover yet.
func reconnects(rec, existing *Record, id Identity, now time.Time) bool {
	return !rec.Reconnect && (existing.State == StateDisconnected || interruptedReconnect(existing, now)) && existing.Matches(id)
}

// interruptedReconnect reports whether existing is a reconnect no signup is
// working on at now: it failed, waits for the customer, or its lock was
// abandoned.
func interruptedReconnect(existing *Record, now time.Time) bool {
	return existing.Reconnect && (existing.State == StateFailed || existing.State.WaitsForCustomer() || existing.Abandoned(now))
}

// secondNumber reports whether id asks to onboard another number of a WABA
// already onboarded (or restricted) for the same business and customer.
func secondNumber(existing *Record, id Identity) bool {
	return existing.State.OnboardedAtPlivo() && otherNumber(existing, id)
}

// otherNumber reports whether id names another number than existing's,
// for the same business and customer.
func otherNumber(existing *Record, id Identity) bool {
	same := func(asked, stored string) bool { return asked == "" || asked == stored }
	return id.PhoneNumberID != "" && id.PhoneNumberID != existing.PhoneNumberID &&
		same(id.BusinessID, existing.BusinessID) && same(id.ClientRef, existing.ClientRef)
}

// ValidClientRef reports whether s is a client_ref a signup could carry.
func ValidClientRef(s string) bool { return s != "" && clientRefProblem(s) == "" }

// CustomerRecord is one WABA and number of a Tech Provider customer, as
// the per-customer view shows it: state, health, last change, last error.
type CustomerRecord struct {
	WABAID             string      `json:"waba_id"`
	PhoneNumberID      string      `json:"phone_number_id,omitempty"`
	DisplayPhoneNumber string      `json:"display_phone_number,omitempty"`
	BusinessID         string      `json:"business_id,omitempty"`
	State              State       `json:"state"`
	PreviousState      State       `json:"previous_state,omitempty"`
	StateReason        string      `json:"state_reason,omitempty"`
	RestrictedUntil    *time.Time  `json:"restricted_until,omitempty"`
	Health             *HealthView `json:"health,omitempty"`
	LastChange         time.Time   `json:"last_change"`
	LastError          string      `json:"last_error,omitempty"`
	LastErrorMessage   string      `json:"last_error_message,omitempty"`
}

// CustomerView returns the record as the per-customer view shows it.
func (r *Record) CustomerView() CustomerRecord {
	c := CustomerRecord{
		WABAID: r.WABAID, PhoneNumberID: r.PhoneNumberID, DisplayPhoneNumber: r.DisplayPhoneNumber, BusinessID: r.BusinessID,
		State: r.State, PreviousState: r.PreviousState, StateReason: r.StateReason, LastChange: r.UpdatedAt,
		LastError: r.LastError, LastErrorMessage: r.LastErrorMessage, Health: r.Health.view(),
	}
	if r.State == StateFailed && r.FailureReason != "" {
		c.LastError = r.FailureReason
	}
	if !r.RestrictedUntil.IsZero() {
		t := r.RestrictedUntil
		c.RestrictedUntil = &t
	}
	return c
}
