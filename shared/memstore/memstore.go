// Package memstore is an in-memory onboarding.Store with the same
// conditional semantics as the DynamoDB store, for unit tests and
// benchmarks of the service without a database.
package memstore

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Store is an in-memory onboarding.Store. Hooks let tests inject faults.
type Store struct {
	mu    sync.Mutex
	items map[string]onboarding.Record
	// Fail, when set, is consulted before every operation; a non-nil error
	// is returned instead of performing it.
	Fail func(op string, rec *onboarding.Record) error
	// Writes counts successful writes.
	Writes int
}

var _ onboarding.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store { return &Store{items: map[string]onboarding.Record{}} }

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
	if old, ok := s.items[rec.WABAID]; ok {
		free := old.State == onboarding.StateFailed || (old.State == onboarding.StateVerifying && old.LockExpiresAt.Before(now))
		if !free {
			return &old, onboarding.ErrConditionFailed
		}
	}
	s.items[rec.WABAID] = *rec
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
	s.items[rec.WABAID] = *rec
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
	if !ok || old.State != onboarding.StateVerified || old.NextRetryAt.After(now) || !old.LockExpiresAt.Before(now) {
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
	if err := s.fail("due", nil); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []onboarding.Record
	for _, r := range s.items {
		if r.State == onboarding.StateVerified && !r.NextRetryAt.After(now) {
			due = append(due, r)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].NextRetryAt.Before(due[j].NextRetryAt) })
	if len(due) > limit {
		due = due[:limit]
	}
	return due, nil
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
