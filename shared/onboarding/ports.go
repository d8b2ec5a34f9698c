package onboarding

import (
	"context"
	"errors"
	"time"
)

// ErrConditionFailed is returned by a Store when a conditional write lost:
// the record is not in the state the writer expected.
var ErrConditionFailed = errors.New("conditional write failed")

// ErrNotFound is returned by Store.Get when no record exists.
var ErrNotFound = errors.New("record not found")

// ErrSignupUnderway is returned by a restriction, or a restriction's end,
// for a record whose signup has not ended (a live or indexed lock, or
// verified and waiting for Plivo): it cannot be applied yet, and the
// signup would overwrite it. Meta's redelivery applies it once the signup
// has ended.
var ErrSignupUnderway = errors.New("a signup for the WABA is under way")

// Store keeps one Record per WABA with conditional writes.
type Store interface {
	// Acquire writes rec as a new lock holder when no record exists, the
	// existing one is verifying with an expired lock, or it failed. On a lost
	// condition it returns the existing record and ErrConditionFailed.
	Acquire(ctx context.Context, rec *Record, now time.Time) (*Record, error)
	// Save replaces the record if rec.LockOwner still owns it. A lost
	// condition returns the current record and ErrConditionFailed.
	Save(ctx context.Context, rec *Record) (*Record, error)
	// Claim takes the lock of a verified record whose retry time has come
	// and whose lock is free, counting one more Plivo attempt, and returns
	// the claimed record. When the record already holds this very claim
	// (Record.ClaimedBy: the store resent a write it had applied), that
	// record is returned as claimed. Otherwise a lost condition is
	// ErrConditionFailed, with no record.
	Claim(ctx context.Context, wabaID, owner string, now, lockUntil time.Time) (*Record, error)
	// Get reads one record.
	Get(ctx context.Context, wabaID string) (*Record, error)
	// Due lists verified records whose next retry time is at or before now,
	// oldest first, at most limit of them.
	Due(ctx context.Context, now time.Time, limit int) ([]Record, error)
	// ExpiredRestrictions lists restricted records whose restriction's end
	// (RestrictedUntil) is at or before now, oldest first, at most limit.
	ExpiredRestrictions(ctx context.Context, now time.Time, limit int) ([]Record, error)
	// LiftRestriction moves a restricted record whose restriction's end has
	// come back to onboarded (ReasonRestrictionExpired); ErrConditionFailed
	// when it is not, or no longer, such a record.
	LiftRestriction(ctx context.Context, wabaID string, now time.Time) (*Record, error)
	// StampSubscribed records at as the time our app was last subscribed
	// to the WABA's webhooks (Record.SubscribedAt), on an existing record
	// onboarded at Plivo (State.OnboardedAtPlivo) whose stamp, if any, is
	// earlier, and changes nothing else: ErrConditionFailed otherwise. It
	// never creates a record.
	StampSubscribed(ctx context.Context, wabaID string, at time.Time) error
}

// TokenInfo is what Meta's debug_token says about a business token.
type TokenInfo struct {
	AppID     string
	Valid     bool
	ExpiresAt time.Time // zero when the token does not expire
	// Scopes maps each granted scope to the target IDs it is limited to.
	Scopes map[string][]string
}

// PhoneNumber is one number of a WABA as Meta lists it.
type PhoneNumber struct {
	ID                 string
	DisplayPhoneNumber string
	VerifiedName       string
	// CodeVerificationStatus is Graph's code_verification_status:
	// VERIFIED, NOT_VERIFIED or EXPIRED.
	CodeVerificationStatus string
	// Status is Graph's status of the number, e.g. PENDING (not yet
	// registered for Cloud API) or CONNECTED.
	Status string
}

// Meta is the part of the Graph API the signup needs. Token values pass
// through it and are never kept.
type Meta interface {
	ExchangeCode(ctx context.Context, code string) (token string, err error)
	DebugToken(ctx context.Context, token string) (TokenInfo, error)
	PhoneNumbers(ctx context.Context, token, wabaID string) ([]PhoneNumber, error)
	OwnerBusinessID(ctx context.Context, token, wabaID string) (string, error)
	// SubscribeApp subscribes our app to the WABA's webhooks; doing it
	// again changes nothing.
	SubscribeApp(ctx context.Context, token, wabaID string) error
}

// PlivoSignup is the body of Plivo's Embedded Signup call.
type PlivoSignup struct {
	WABAID        string `json:"waba_id"`
	BusinessID    string `json:"business_id"`
	PhoneNumberID string `json:"phone_number_id"`
	ClientRef     string `json:"client_ref,omitempty"`
}

// PlivoResult is Plivo's answer to a successful Embedded Signup call.
type PlivoResult struct {
	APIID   string
	Message string
}

// Plivo onboards a WABA at Plivo.
type Plivo interface {
	EmbeddedSignup(ctx context.Context, req PlivoSignup) (PlivoResult, error)
}
