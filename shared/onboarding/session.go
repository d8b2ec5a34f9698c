package onboarding

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// ErrSessionUsed is returned by a SessionLedger when the session token was
// spent before.
var ErrSessionUsed = errors.New("session token already used")

// SessionUse is an onboarding-session token serving a signup: what is
// recorded when the token is spent. It holds the token's ID, never the
// token.
type SessionUse struct {
	ID        string
	ClientRef string
	// WABAID is the WABA the spending signup named; "" when it named none.
	WABAID string
	UsedAt time.Time
	// ExpiresAt is when the record may be forgotten: the token's expiry
	// plus the verifier's leeway, so a token the verifier still accepts
	// always finds its record (DynamoDB TTL never deletes it early).
	ExpiresAt time.Time
	// Attempt is unique to one signup attempt. A use that carries ours was
	// written by this attempt: the store's retry of a write whose answer
	// was lost finds it, and the attempt goes on.
	Attempt string
	// CodeHash fingerprints the signup's authorization code (CodeHash):
	// the page's resend of a post whose answer was lost carries the same
	// code, a new run of Meta's flow a new one. "" on uses recorded
	// before it was kept.
	CodeHash string
}

// CodeHash is the fingerprint of an authorization code a SessionUse keeps:
// the first 16 bytes of its SHA-256, never the code. The code is single use, lives minutes and is
// worth nothing without our app's secret; its hash tells a resend from a
// new run and nothing more.
func CodeHash(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:16])
}

// SessionLedger spends session tokens on their own. Every signup bound to
// a session spends its token here before the code is exchanged: the WABA's
// lock waits for Meta's proof of control (proof.go), so the token cannot
// share the lock's write.
type SessionLedger interface {
	// Spend records u when no use of u.ID exists, in one conditional
	// write. Otherwise it writes nothing and returns the earlier use (nil
	// when the store cannot say) and ErrSessionUsed: the token's first
	// use, with the attempt and time of the counted retry that spent
	// u.CodeHash instead when the first use did not spend it and a retry
	// did (SessionReuseCounter). A resend of a later run's post on the
	// same link then finds the attempt that spent its code.
	Spend(ctx context.Context, u SessionUse) (*SessionUse, error)
}

// Reuse decides whether u may go on although its token was spent first,
// by prev (nil when the store could not say), judged at u.UsedAt. It
// returns nil or a session_used or session_expired error.
//
// A spent token still admits a retry of the same signup: a later request
// with the same token, the same WABA ID and the same client_ref passes
// while the first use's record is unexpired. The customer whose first
// attempt met a Meta or Plivo outage (or who restarts Meta's dialog after a
// rejected code and picks the same WABA) can try again without a new link,
// and a leaked token cannot bind a different WABA to the customer. A signup
// that named no WABA spends the token for good: there is nothing to
// recognise a retry by.
func (u SessionUse) Reuse(prev *SessionUse) error {
	switch {
	case prev != nil && !prev.ExpiresAt.IsZero() && !u.UsedAt.Before(prev.ExpiresAt):
		// TTL deletion lags; the record's own time decides.
		return SessionFailure(CodeSessionExpired, errors.New("spent token past its record's expiry"))
	case prev != nil && prev.WABAID != "" && prev.WABAID == u.WABAID && prev.ClientRef == u.ClientRef:
		return nil
	}
	return SessionFailure(CodeSessionUsed, errors.New("token already spent"))
}
