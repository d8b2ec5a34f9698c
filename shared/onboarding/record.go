package onboarding

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// State is where a signup stands.
type State string

// The states of a signup record. verifying holds a lock while Meta is
// consulted; verified means Meta confirmed the WABA and Plivo still has to
// onboard it; onboarded and failed are terminal.
const (
	StateVerifying State = "verifying"
	StateVerified  State = "verified"
	StateOnboarded State = "onboarded"
	StateFailed    State = "failed"
	// StatePhoneUnverified: Meta confirmed the WABA but the phone number
	// the customer shared has not passed its verification code. Nothing
	// went to Plivo; a later signup of the same WABA with a verified
	// number takes the record over.
	StatePhoneUnverified State = "phone_unverified"
	// StateAwaitingNumber: the customer shared a WABA without a phone
	// number (FINISH_ONLY_WABA, or v4's "no phone number" finish). The
	// WABA is known and waits for a number; a later signup with one
	// onboards it.
	StateAwaitingNumber State = "awaiting_number"
)

// OnboardedAtPlivo reports whether Plivo has onboarded the record's WABA:
// onboarded, or restricted since (Meta holds it back; Plivo keeps it).
func (s State) OnboardedAtPlivo() bool {
	return s == StateOnboarded || s == StateRestricted
}

// WaitsForCustomer reports whether the record waits for the customer to
// finish something in Meta's flow; a new signup of the WABA may take it
// over, as it may a failed one.
func (s State) WaitsForCustomer() bool {
	return s == StatePhoneUnverified || s == StateAwaitingNumber
}

// Failure reasons stored on failed records and reported as metric dimensions.
const (
	ReasonMetaRejected      = "meta_rejected"
	ReasonMetaUnavailable   = "meta_unavailable"
	ReasonPlivoRejected     = "plivo_rejected"
	ReasonAlreadyRegistered = "waba_already_registered"
	ReasonPhoneNumberTaken  = "phone_number_registered_elsewhere"
	ReasonGaveUp            = "gave_up"
	ReasonPlivoUnauthorized = "plivo_unauthorized"
	ReasonPlivoForbidden    = "plivo_forbidden"
	ReasonSolutionInactive  = "multi_partner_solution_inactive"
	ReasonPlivoServerError  = "plivo_server_error"
	ReasonPlivoThrottled    = "plivo_throttled"
	ReasonPlivoUnreachable  = "plivo_unreachable"
	ReasonInterrupted       = "interrupted"
	// ReasonMetaConfig: Meta refused our app's configuration (a wrong app
	// secret: Graph error code 1 "Error validating client secret"; an app
	// token it does not accept). The customer is told the provider is
	// fixing it; MetaConfigAlarm pages the operator.
	ReasonMetaConfig = "meta_config"
	// ReasonPlivoUndocumented: Plivo answered a 4xx its guide does not
	// list. The record stays verified and is retried at the longest
	// backoff; PlivoUndocumentedAlarm pages the operator.
	ReasonPlivoUndocumented = "plivo_undocumented"
)

// Record is the one DynamoDB item kept per WABA. It never holds the
// authorization code or any access token.
type Record struct {
	WABAID             string
	State              State
	PhoneNumberID      string
	BusinessID         string
	ClientRef          string
	DisplayPhoneNumber string
	PayloadHash        string
	RequestID          string
	LockOwner          string
	LockExpiresAt      time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
	VerifiedAt         time.Time
	OnboardedAt        time.Time
	// SubscribedAt is when a signup run again for the onboarded WABA last
	// subscribed our app to its webhooks (Store.StampSubscribed); zero
	// until then, when OnboardedAt is the first signup's subscription.
	SubscribedAt     time.Time
	PlivoAttempts    int
	PlivoPayloadHash string
	PlivoAPIID       string
	NextRetryAt      time.Time
	LastError        string
	LastErrorMessage string
	FailureReason    string
	Reconciled       bool
	// Lifecycle holds what Meta's webhooks changed after the signup.
	Lifecycle
}

// Abandoned reports whether r is a signup's lock that nobody holds at now
// and that is not in the retry index, where a verified signup that may
// have reached Plivo waits for the resume function: its signup died before
// Plivo, and the next one may take the record over.
func (r *Record) Abandoned(now time.Time) bool {
	return r.State == StateVerifying && !r.LockHeld(now) && r.NextRetryAt.IsZero()
}

// LockHeld reports whether someone holds the record's lock at now.
func (r *Record) LockHeld(now time.Time) bool {
	return r.LockOwner != "" && now.Before(r.LockExpiresAt)
}

// ClaimedBy reports whether r is what a resume run's claim by owner, with
// its lock until lockUntil, left behind. A store reads it when a claim
// loses its condition: the SDK resends a write whose answer was lost after
// the database applied it, and the resend then finds the lock the first
// one took. Owners are unique to a claim, and stores keep lock ends to
// the millisecond.
func (r *Record) ClaimedBy(owner string, lockUntil time.Time) bool {
	return owner != "" && r.LockOwner == owner && r.LockExpiresAt.UnixMilli() == lockUntil.UnixMilli() &&
		(r.State == StateVerified || r.State == StateVerifying)
}

// Identity is the set of IDs that make a signup what it is.
type Identity struct {
	WABAID        string
	PhoneNumberID string
	BusinessID    string
	ClientRef     string
}

// Hash is a stable digest of the identity, used to tell a replay from a
// conflicting request.
func (id Identity) Hash() string {
	sum := sha256.Sum256([]byte(id.WABAID + "\x00" + id.PhoneNumberID + "\x00" + id.BusinessID + "\x00" + id.ClientRef))
	return hex.EncodeToString(sum[:])
}

// Identity returns the IDs stored on the record.
func (r *Record) Identity() Identity {
	return Identity{WABAID: r.WABAID, PhoneNumberID: r.PhoneNumberID, BusinessID: r.BusinessID, ClientRef: r.ClientRef}
}

// Matches reports whether a request naming id refers to the same signup as
// the record. Fields the request left empty match anything, because the
// browser may not know them and the backend recovered them from Meta.
func (r *Record) Matches(id Identity) bool {
	same := func(asked, stored string) bool { return asked == "" || asked == stored }
	return id.WABAID == r.WABAID && same(id.PhoneNumberID, r.PhoneNumberID) &&
		same(id.BusinessID, r.BusinessID) && same(id.ClientRef, r.ClientRef)
}

// PhoneDigits normalises a phone number to its digits, the form Plivo uses
// in callbacks ("+1 555-0100" and "15550100" are the same number).
func PhoneDigits(number string) string {
	b := make([]byte, 0, len(number))
	for i := 0; i < len(number); i++ {
		if number[i] >= '0' && number[i] <= '9' {
			b = append(b, number[i])
		}
	}
	return string(b)
}
