package session

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// ErrUsed is returned by a Ledger when the token was spent before.
var ErrUsed = errors.New("session: token already used")

// Use is the record of a token serving a signup. It holds the token's ID,
// never the token.
type Use struct {
	ID        string
	ClientRef string
	// WABAID is the WABA the first signup named; "" when it named none.
	WABAID string
	UsedAt time.Time
	// ExpiresAt is when the record may be forgotten: the token's expiry
	// plus the verifier's leeway, so a token the verifier still accepts
	// always finds its record (DynamoDB TTL never deletes it early).
	ExpiresAt time.Time
}

// Ledger remembers spent tokens.
type Ledger interface {
	// Spend records u when no use of u.ID exists, in one conditional
	// write. Otherwise it writes nothing and returns the earlier use (nil
	// when the store cannot say) and ErrUsed.
	Spend(ctx context.Context, u Use) (*Use, error)
}

// Checker is the signup's session check (apigw.SessionCheck): it verifies
// the token, matches the body's client_ref, and spends the token, in that
// order, before the signup touches the signup table or Meta.
//
// A spent token still admits a retry of the same signup: a later request
// with the same token and the same WABA ID passes while the token is
// unexpired. The customer whose first attempt met a Meta or Plivo outage
// (or who restarts Meta's dialog after a rejected code and picks the same
// WABA) can try again without a new link, and a leaked token cannot bind a
// different WABA to the customer. A signup that named no WABA spends the
// token for good: there is nothing to recognise a retry by.
type Checker struct {
	Verifier *Verifier
	Ledger   Ledger
	Logger   *slog.Logger
}

// Check returns the client_ref the token binds the signup to. A client_ref
// in the body must equal it. Errors are session_* domain errors,
// client_ref_mismatch, or upstream_unavailable when the keys or the ledger
// cannot be reached.
func (c *Checker) Check(ctx context.Context, token string, id onboarding.Identity) (string, error) {
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	claims, err := c.Verifier.Verify(ctx, token)
	if err != nil {
		return "", err
	}
	log = log.With("session_id", claims.ID, "key_id", claims.KeyID, "client_ref", claims.ClientRef)
	if id.ClientRef != "" && id.ClientRef != claims.ClientRef {
		// Before spending: a page bug must not cost the customer the link.
		return "", Failure(onboarding.CodeClientRefMismatch, errors.New("body client_ref differs from the token's"))
	}
	now := c.Verifier.now()
	use := Use{ID: claims.ID, ClientRef: claims.ClientRef, WABAID: id.WABAID, UsedAt: now,
		ExpiresAt: claims.ExpiresAt.Add(c.Verifier.leeway())}
	prev, err := c.Ledger.Spend(ctx, use)
	switch {
	case err == nil:
		log.Info("session spent", "waba_id", id.WABAID)
		return claims.ClientRef, nil
	case !errors.Is(err, ErrUsed):
		return "", onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The service is temporarily unavailable. Please try again.")
	case prev != nil && !prev.ExpiresAt.IsZero() && !now.Before(prev.ExpiresAt):
		// TTL deletion lags; the record's own time decides.
		return "", Failure(onboarding.CodeSessionExpired, errors.New("spent token past its record's expiry"))
	case prev != nil && prev.WABAID != "" && prev.WABAID == id.WABAID && prev.ClientRef == claims.ClientRef:
		log.Info("session reused for a retry of the same signup", "waba_id", id.WABAID, "first_used_at", prev.UsedAt)
		return claims.ClientRef, nil
	}
	return "", Failure(onboarding.CodeSessionUsed, errors.New("token already spent"))
}
