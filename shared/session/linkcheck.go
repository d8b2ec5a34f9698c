package session

import (
	"context"
	"errors"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// SpentLookup reads a token's spent record, without writing.
type SpentLookup interface {
	// Spent returns the use recorded for the token id, or nil when the
	// token was never spent.
	Spent(ctx context.Context, id string) (*onboarding.SessionUse, error)
}

// LinkCheck tells the onboarding page, as it loads, whether its link can
// still start a signup, so a customer with a dead link is told before
// spending minutes in Meta's dialog. It verifies the token (signature,
// expiry) and reads whether it was spent; it never spends it. Its answers
// are the signup's own session codes, so it reveals nothing the signup
// would not: session_missing, session_invalid, session_expired or
// session_used, or upstream_unavailable. With session_used it names the
// WABA the spending signup named, if any, and when the token was spent:
// only to the token's holder (the token verified), who may already read
// that WABA's record with the same token (the status route), so a page
// opened afresh on a used link can show the signup's outcome instead of a
// dead link. The time is the holder's own post; the page needs it because
// the WABA's record is written only once Meta has proven control, and
// until then still shows an earlier attempt, or nothing.
type LinkCheck struct {
	Verifier *Verifier
	Spent    SpentLookup
}

// Check returns nil when token can start a signup. With a session_used
// error it also returns the token's use when that signup named a WABA
// (nil otherwise): the page follows it.
func (c *LinkCheck) Check(ctx context.Context, token string) (*onboarding.SessionUse, error) {
	claims, err := c.Verifier.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	prev, err := c.Spent.Spent(ctx, claims.ID)
	switch {
	case err != nil:
		return nil, onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The service is temporarily unavailable. Please try again.")
	case prev == nil:
		return nil, nil
	case !prev.ExpiresAt.IsZero() && !c.Verifier.now().Before(prev.ExpiresAt):
		return nil, Failure(onboarding.CodeSessionExpired, errors.New("spent token past its record's expiry"))
	}
	// A spent token still admits retries of its own signup, but only from
	// the page that made it; a page loaded afresh follows the signup's
	// outcome instead. Without a WABA there is nothing to follow.
	used := Failure(onboarding.CodeSessionUsed, errors.New("token already spent"))
	if prev.WABAID == "" {
		return nil, used
	}
	return prev, used
}
