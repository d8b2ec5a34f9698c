package onboarding

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy decides when Plivo is tried again for a verified record and
// when the system gives up on it.
type RetryPolicy struct {
	BaseDelay   time.Duration // first backoff ceiling
	MaxDelay    time.Duration // backoff ceiling, also used for account-level failures
	MaxAttempts int           // Plivo attempts before giving up
	MaxAge      time.Duration // time since verification before giving up
	// InRequestAttempts bounds the Plivo calls made inside one signup
	// request before the record is left to the resume function.
	InRequestAttempts int
	// InRequestDelay is the first pause between in-request Plivo attempts.
	InRequestDelay time.Duration
	// Reserve is the time kept back from the invocation deadline to persist
	// the outcome after the last upstream call.
	Reserve time.Duration
	// SubscribeGrace is how long the answer waits for the webhook
	// subscription once Plivo's outcome is saved, before giving it up.
	SubscribeGrace time.Duration
}

// DefaultRetryPolicy is used when configuration leaves the policy empty.
var DefaultRetryPolicy = RetryPolicy{
	BaseDelay:         30 * time.Second,
	MaxDelay:          15 * time.Minute,
	MaxAttempts:       12,
	MaxAge:            24 * time.Hour,
	InRequestAttempts: 2,
	InRequestDelay:    250 * time.Millisecond,
	Reserve:           2 * time.Second,
	SubscribeGrace:    3 * time.Second,
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.MaxAge <= 0 {
		p.MaxAge = d.MaxAge
	}
	if p.InRequestAttempts <= 0 {
		p.InRequestAttempts = d.InRequestAttempts
	}
	if p.InRequestDelay <= 0 {
		p.InRequestDelay = d.InRequestDelay
	}
	if p.Reserve <= 0 {
		p.Reserve = d.Reserve
	}
	if p.SubscribeGrace <= 0 {
		p.SubscribeGrace = d.SubscribeGrace
	}
	return p
}

// Backoff is the full-jitter delay before attempt number attempt+1: a
// uniform draw below min(MaxDelay, BaseDelay*2^(attempt-1)). Full jitter
// spreads retries of many records failed by one outage.
func (p RetryPolicy) Backoff(attempt int, random func() float64) time.Duration {
	ceiling := p.BaseDelay
	for i := 1; i < attempt && ceiling < p.MaxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, p.MaxDelay)
	if random == nil {
		random = rand.Float64
	}
	return time.Duration(random() * float64(ceiling))
}
