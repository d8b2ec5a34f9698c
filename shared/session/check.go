package session

import (
	"context"
	"errors"
	"log/slog"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Checker is the signup's session check (apigw.SessionCheck): it verifies
// the token and matches the body's client_ref, in that order, and writes
// nothing. The signup spends the token afterwards, before anything goes
// upstream (see onboarding.Service.Signup), and a spent token still admits
// a few retries of the same signup (onboarding.SessionUse.Reuse,
// onboarding.MaxSessionReuses).
type Checker struct {
	Verifier *Verifier
	Logger   *slog.Logger
}

// Check returns the use of the token that the signup is to spend: the
// token's ID, the client_ref it binds the signup to, the body's WABA ID,
// the time of the check, and how long the record of the use must be kept
// (the token's expiry plus the verifier's leeway, so a token the verifier
// still accepts always finds its record). A client_ref in the body must
// equal the token's. Errors are session_* domain errors,
// client_ref_mismatch, or upstream_unavailable when the keys cannot be
// read; the only I/O is the (cached) key lookup.
func (c *Checker) Check(ctx context.Context, token string, id onboarding.Identity) (onboarding.SessionUse, error) {
	claims, err := c.Verifier.Verify(ctx, token)
	if err != nil {
		return onboarding.SessionUse{}, err
	}
	if id.ClientRef != "" && id.ClientRef != claims.ClientRef {
		// Before spending: a page bug must not cost the customer the link.
		return onboarding.SessionUse{}, Failure(onboarding.CodeClientRefMismatch, errors.New("body client_ref differs from the token's"))
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	log.DebugContext(ctx, "session verified", "session_id", claims.ID, "key_id", claims.KeyID, "client_ref", claims.ClientRef, "waba_id", id.WABAID)
	return onboarding.SessionUse{ID: claims.ID, ClientRef: claims.ClientRef, WABAID: id.WABAID, UsedAt: c.Verifier.now(),
		ExpiresAt: claims.ExpiresAt.Add(c.Verifier.leeway())}, nil
}
