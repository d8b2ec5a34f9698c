// Package callbackstest holds the one in-memory fake of callbacks.Ledger,
// for the tests of every feature that claims deliveries in the dedup table
// (Plivo's callbacks and Meta's webhooks). shared/dynamo tests the real
// ledger against DynamoDB Local under the same conditions.
package callbackstest

import (
	"context"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Ledger is an in-memory callbacks.Ledger with the DynamoDB one's
// conditions. Use it through NewLedger; it is safe for concurrent use.
type Ledger struct {
	mu      sync.Mutex
	entries map[string]callbacks.Entry
	// claimErr and markErr fail the next call of each.
	claimErr, markErr error
	releases          int
}

var _ callbacks.Ledger = (*Ledger)(nil)

// NewLedger returns an empty Ledger.
func NewLedger() *Ledger { return &Ledger{entries: map[string]callbacks.Entry{}} }

// FailNextClaim makes the next Claim fail with err, as a throttled or
// unreachable table does.
func (l *Ledger) FailNextClaim(err error) { l.mu.Lock(); l.claimErr = err; l.mu.Unlock() }

// FailNextMark makes the next MarkPublished fail with err.
func (l *Ledger) FailNextMark(err error) { l.mu.Lock(); l.markErr = err; l.mu.Unlock() }

// Claim implements callbacks.Ledger: a key is taken unless an unexpired
// entry holds it, and a claim whose lease ran out can be taken over.
func (l *Ledger) Claim(_ context.Context, e *callbacks.Entry, now time.Time) (*callbacks.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.claimErr; err != nil {
		l.claimErr = nil
		return nil, err
	}
	if old, ok := l.entries[e.Key]; ok && !old.ExpiresAt.Before(now) &&
		!(old.State == callbacks.EntryClaimed && old.ClaimExpiresAt.Before(now)) {
		return &old, onboarding.ErrConditionFailed
	}
	l.entries[e.Key] = *e
	return nil, nil
}

// MarkPublished implements callbacks.Ledger: only the claim's owner may.
func (l *Ledger) MarkPublished(_ context.Context, key, owner, eventID string, at time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.markErr; err != nil {
		l.markErr = nil
		return err
	}
	e, ok := l.entries[key]
	if !ok || e.State != callbacks.EntryClaimed || e.Owner != owner {
		return onboarding.ErrConditionFailed
	}
	e.State, e.EventID, e.PublishedAt, e.UpdatedAt = callbacks.EntryPublished, eventID, at, at
	l.entries[key] = e
	return nil
}

// Release implements callbacks.Ledger: the owner's claim ends at once, so
// the next delivery takes it over.
func (l *Ledger) Release(_ context.Context, key, owner string, at time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.releases++
	e, ok := l.entries[key]
	if !ok || e.State != callbacks.EntryClaimed || e.Owner != owner {
		return onboarding.ErrConditionFailed
	}
	e.ClaimExpiresAt, e.UpdatedAt = time.Time{}, at
	l.entries[key] = e
	return nil
}

// Get returns the entry of key.
func (l *Ledger) Get(key string) (callbacks.Entry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[key]
	return e, ok
}

// Entries returns a copy of every entry.
func (l *Ledger) Entries() []callbacks.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]callbacks.Entry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e)
	}
	return out
}

// Len is the number of entries.
func (l *Ledger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// Releases counts the Release calls.
func (l *Ledger) Releases() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.releases
}
