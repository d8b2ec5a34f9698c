// Package memstore is an in-memory onboarding.Store and
// onboarding.SessionLedger with the same conditional semantics as the
// DynamoDB store and session ledger, for unit tests and benchmarks of the
// service without a database. shared/dynamo's TestMemstoreAgreesWithDynamo
// runs every conditional write against both and holds them to one answer.
package memstore

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Store is an in-memory onboarding.Store and onboarding.SessionLedger: one
// value plays the signup table and the dedup table, as Service.Store and
// Service.Sessions. Hooks let tests inject faults.
type Store struct {
	mu    sync.Mutex
	items map[string]onboarding.Record
	uses  map[string]onboarding.SessionUse
	// reuses counts the retries each spent token served (CountReuse).
	reuses map[string]int
	// codeUses holds, by token and code fingerprint, the counted retry
	// that first spent each code the token's first use did not
	// (CountReuse), as the DynamoDB ledger's retry_attempt_ attributes.
	codeUses map[string]map[string]onboarding.SessionUse
	// Fail, when set, is consulted before every operation; a non-nil error
	// is returned instead of performing it. op is "acquire", "spend",
	// "save", "claim", "get", "due", "expired",
	// "lift" or "stamp"; rec is nil for "spend", "due" and "expired".
	Fail func(op string, rec *onboarding.Record) error
	// Writes counts successful write calls, as DynamoDB would bill round
	// trips.
	Writes int
}

var (
	_ onboarding.Store         = (*Store)(nil)
	_ onboarding.SessionLedger = (*Store)(nil)
)

// New returns an empty store.
func New() *Store {
	return &Store{items: map[string]onboarding.Record{}, uses: map[string]onboarding.SessionUse{}}
}

func (s *Store) fail(op string, rec *onboarding.Record) error {
	if s.Fail != nil {
		return s.Fail(op, rec)
	}
	return nil
}

// Acquire implements onboarding.Store.
func (s *Store) Acquire(_ context.Context, rec *onboarding.Record, now time.Time) (*onboarding.Record, error) {
	if err := s.fail("acquire", rec); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, held := s.held(rec, now); held {
		return old, onboarding.ErrConditionFailed
	}
	s.items[rec.WABAID] = s.locked(rec)
	s.Writes++
	return nil, nil
}

// locked is rec as the lock writes it: it keeps what Meta said of the WABA
// itself (review, messaging limit), and for a reconnect what Meta said of
// its number too; only Meta's webhooks write health. The caller holds
// s.mu.
func (s *Store) locked(rec *onboarding.Record) onboarding.Record {
	out := *rec
	out.Health = onboarding.Health{}
	if old, ok := s.items[rec.WABAID]; ok {
		out.Health = onboarding.Health{ReviewDecision: old.Health.ReviewDecision, MessagingLimit: old.Health.MessagingLimit,
			UpdatedAt: old.Health.UpdatedAt}
		if rec.Reconnect {
			out.Health = old.Health
		}
	}
	return out
}

// held returns the record of wabaID when its lock cannot be taken at now.
// The caller holds s.mu.
func (s *Store) held(rec *onboarding.Record, now time.Time) (*onboarding.Record, bool) {
	old, ok := s.items[rec.WABAID]
	settled := old.State == onboarding.StateFailed || old.State.WaitsForCustomer() ||
		(old.State == onboarding.StateVerifying && old.LockExpiresAt.Before(now) && old.NextRetryAt.IsZero())
	if !ok || old.State == onboarding.StateUnclaimed || (settled && (!old.Reconnect || rec.Reconnect)) ||
		(old.State == onboarding.StateDisconnected && rec.Reconnect) {
		return nil, false
	}
	return &old, true
}

// Spend implements onboarding.SessionLedger.
func (s *Store) Spend(_ context.Context, u onboarding.SessionUse) (*onboarding.SessionUse, error) {
	if err := s.fail("spend", nil); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.uses[u.ID]; ok {
		if r, spent := s.codeUses[u.ID][u.CodeHash]; spent && u.CodeHash != "" && u.CodeHash != old.CodeHash {
			old.Attempt, old.UsedAt, old.CodeHash = r.Attempt, r.UsedAt, r.CodeHash
		}
		return &old, onboarding.ErrSessionUsed
	}
	s.uses[u.ID] = u
	s.Writes++
	return nil, nil
}

// Save implements onboarding.Store.
func (s *Store) Save(_ context.Context, rec *onboarding.Record) (*onboarding.Record, error) {
	if err := s.fail("save", rec); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.items[rec.WABAID]
	if !ok || old.LockOwner != rec.LockOwner {
		if !ok {
			return nil, onboarding.ErrConditionFailed
		}
		return &old, onboarding.ErrConditionFailed
	}
	saved := *rec
	saved.Health = old.Health // only Meta's webhooks write health
	s.items[rec.WABAID] = saved
	s.Writes++
	return rec, nil
}

// Claim implements onboarding.Store.
func (s *Store) Claim(_ context.Context, wabaID, owner string, now, lockUntil time.Time) (*onboarding.Record, error) {
	if err := s.fail("claim", &onboarding.Record{WABAID: wabaID}); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.items[wabaID]
	if !ok || !retried(old) || old.NextRetryAt.After(now) || !old.LockExpiresAt.Before(now) {
		if ok && old.ClaimedBy(owner, lockUntil) {
			// The DynamoDB store's answer to a claim resent after its
			// answer was lost (dynamo.Store.Claim).
			return &old, nil
		}
		return nil, onboarding.ErrConditionFailed
	}
	old.LockOwner = owner
	old.LockExpiresAt = lockUntil
	old.PlivoAttempts++
	old.UpdatedAt = now
	s.items[wabaID] = old
	s.Writes++
	return &old, nil
}

// Get implements onboarding.Store.
func (s *Store) Get(_ context.Context, wabaID string) (*onboarding.Record, error) {
	if err := s.fail("get", &onboarding.Record{WABAID: wabaID}); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.items[wabaID]
	if !ok {
		return nil, onboarding.ErrNotFound
	}
	return &rec, nil
}

// Due implements onboarding.Store.
func (s *Store) Due(_ context.Context, now time.Time, limit int) ([]onboarding.Record, error) {
	return s.dueBy("due", limit, func(r onboarding.Record) (time.Time, bool) {
		return r.NextRetryAt, retried(r) && !r.NextRetryAt.After(now)
	})
}

// retried reports whether r is in the retry index's pending shard, as the
// DynamoDB store's toItem puts it: verified, or a proven lock.
func retried(r onboarding.Record) bool {
	return r.State == onboarding.StateVerified || r.State == onboarding.StateVerifying && !r.NextRetryAt.IsZero()
}

// ExpiredRestrictions implements onboarding.Store.
func (s *Store) ExpiredRestrictions(_ context.Context, now time.Time, limit int) ([]onboarding.Record, error) {
	return s.dueBy("expired", limit, func(r onboarding.Record) (time.Time, bool) {
		return r.RestrictedUntil, restrictionEnded(r, now)
	})
}

// dueBy lists the records whose work is due (due says when, and whether),
// oldest first, at most limit, as the DynamoDB store's retry index does.
func (s *Store) dueBy(op string, limit int, due func(onboarding.Record) (time.Time, bool)) ([]onboarding.Record, error) {
	if err := s.fail(op, nil); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []onboarding.Record
	for _, r := range s.items {
		if _, ok := due(r); ok {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		ti, _ := due(out[i])
		tj, _ := due(out[j])
		return ti.Before(tj)
	})
	return out[:min(len(out), limit)], nil
}

// LiftRestriction implements onboarding.Store.
func (s *Store) LiftRestriction(_ context.Context, wabaID string, now time.Time) (*onboarding.Record, error) {
	if err := s.fail("lift", &onboarding.Record{WABAID: wabaID}); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.items[wabaID]
	if !ok || !restrictionEnded(old, now) {
		return nil, onboarding.ErrConditionFailed
	}
	old.PreviousState, old.State = old.State, onboarding.StateOnboarded
	old.StateReason, old.StateChangedAt, old.UpdatedAt = onboarding.ReasonRestrictionExpired, now, now
	old.RestrictedUntil, old.Reconnect = time.Time{}, false
	s.items[wabaID] = old
	s.Writes++
	return &old, nil
}

// StampSubscribed implements onboarding.Store.
func (s *Store) StampSubscribed(_ context.Context, wabaID string, at time.Time) error {
	if err := s.fail("stamp", &onboarding.Record{WABAID: wabaID}); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.items[wabaID]
	if !ok || !old.State.OnboardedAtPlivo() || !old.SubscribedAt.Before(at) {
		return onboarding.ErrConditionFailed
	}
	old.SubscribedAt = at
	s.items[wabaID] = old
	s.Writes++
	return nil
}

func restrictionEnded(r onboarding.Record, now time.Time) bool {
	return r.State == onboarding.StateRestricted && !r.RestrictedUntil.IsZero() && !r.RestrictedUntil.After(now)
}

// Put stores rec unconditionally (test setup).
func (s *Store) Put(rec onboarding.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[rec.WABAID] = rec
}

// All returns every record (test assertions).
func (s *Store) All() []onboarding.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]onboarding.Record, 0, len(s.items))
	for _, r := range s.items {
		out = append(out, r)
	}
	return out
}

// PutUse records a spent session token unconditionally (test setup).
func (s *Store) PutUse(u onboarding.SessionUse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.uses[u.ID] = u
}

// Use returns the recorded use of a session token (test assertions).
func (s *Store) Use(id string) (onboarding.SessionUse, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uses[id]
	return u, ok
}
