package onboarding

import (
	"context"
	"errors"
	"log/slog"
)

// A WABA ID is no secret, so a signup request naming one proves nothing
// until Meta has: its code, exchanged with our app, yields a token that
// debug_token vouches for and with which the WABA's phone_numbers and
// owner_business edges answer (verifyConcurrently). Until then the request
// may not write the WABA's record, take it over from another customer, or
// hold its lock. Otherwise a customer with any genuine link, posting bogus
// codes that name someone else's WABA, would hold the owner's lock during
// each of Meta's refusals and stamp the record failed under their own
// client_ref.
//
// So a signup that names its WABA:
//  1. spends its session token on its own (spendSession), before the code
//     exchange: a token is single use whether or not Meta accepts the code,
//     and a refused token sends nothing upstream;
//  2. reads the WABA's record (answerKnown): a replay, a signup in progress
//     or a conflict is answered without spending the code, and without a
//     write;
//  3. exchanges and verifies the code holding no lock (rec.LockOwner is
//     empty, so metaFailed and awaitCustomer write nothing for it);
//  4. takes the lock only once Meta has proven control (takeProvenLock).

// deferredLockKey carries the lock owner a signup will write once Meta has
// proven control of its WABA.
type deferredLockKey struct{}

// deferLock clears rec's lock owner until Meta's proof, and returns a
// context that remembers it for takeProvenLock.
func deferLock(ctx context.Context, rec *Record) context.Context {
	owner := rec.LockOwner
	rec.LockOwner = ""
	return context.WithValue(ctx, deferredLockKey{}, owner)
}

// takeProvenLock writes rec's deferred lock, now that Meta has proven the
// request controls rec.WABAID. When the lock is not deferred (the signup
// named no WABA and locked once Meta named it) it does nothing. Like
// acquire, it returns (nil, nil) once rec is locked; an answer or an error
// when the WABA's record decides instead (someone proved control first: a
// replay, a signup in progress or a conflict).
//
// toPlivo says the signup is verified and on its way to Plivo: the lock
// then joins the retry index, due when it expires, so that the resume
// function finds the signup if every later save fails while Plivo is
// called (resumePlivo). That is what makes calling Plivo on an unrecorded
// verification safe (onboard). A lock that only records a wait for the
// customer must never reach Plivo, and stays out of the index.
func (s *Service) takeProvenLock(ctx context.Context, rec *Record, id Identity, toPlivo bool, log *slog.Logger) (*SignupResult, error) {
	owner, _ := ctx.Value(deferredLockKey{}).(string)
	if rec.LockOwner != "" || owner == "" || rec.WABAID == "" {
		return nil, nil
	}
	if toPlivo {
		rec.NextRetryAt = rec.LockExpiresAt
	}
	// rec.LockExpiresAt stays as Signup set it from the invocation's
	// deadline: ctx here is the upstream context, whose deadline is earlier
	// by the reserve the final saves need.
	rec.LockOwner = owner
	return s.acquire(ctx, rec, id, log)
}

// answerKnown answers a signup for a WABA whose record already decides the
// outcome (onboarded, restricted, verified, or locked by a proven
// request), before the code is spent; (nil, nil) when the signup must go
// on: no record, a failed one, a disconnected one, or an abandoned lock.
// It writes nothing.
func (s *Service) answerKnown(ctx context.Context, id Identity, log *slog.Logger) (*SignupResult, error) {
	existing, err := s.readKnown(ctx, id.WABAID, log)
	if err != nil || existing == nil {
		return nil, err
	}
	return s.answerKnownRecord(existing, id, log)
}

// readKnown reads the WABA's record for answerKnown: (nil, nil) when there
// is none, upstream_unavailable when the store cannot say.
func (s *Service) readKnown(ctx context.Context, wabaID string, log *slog.Logger) (*Record, error) {
	existing, err := s.Store.Get(ctx, wabaID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		s.metrics().Count(MetricStoreError, Dims{"Operation": "read"})
		log.Error("store unavailable before verification", "error", err)
		return nil, Wrap(CodeUpstreamUnavailable, err, "The service is temporarily unavailable. Please try again.")
	}
	return existing, nil
}

// answerKnownRecord is answerKnown's decision on the record read.
func (s *Service) answerKnownRecord(existing *Record, id Identity, log *slog.Logger) (*SignupResult, error) {
	switch {
	case existing.Abandoned(s.now()):
		// One in the retry index (a verified signup on its way to Plivo) is
		// the resume function's: it answers below.
		return nil, nil
	case !existing.State.OnboardedAtPlivo() && existing.State != StateVerified && existing.State != StateVerifying:
		// failed, waiting for the customer, disconnected...: the proven
		// lock (Store.Acquire's condition) decides.
		return nil, nil
	}
	return s.answerFromRecord(existing, id, log)
}

// MaxSessionReuses caps the retries one spent session token serves (see
// SessionUse.Reuse): enough for a customer whose attempts met an outage or
// a rejected code, too few to make a leaked or hoarded link a way to keep
// trying codes against a WABA.
const MaxSessionReuses = 5

// SessionReuseCounter counts the retries served by spent session tokens.
type SessionReuseCounter interface {
	// CountReuse records one more retry of u.ID's spent token when fewer
	// than max were recorded before, in one conditional write, which also
	// records u.Attempt and u.UsedAt as the use of u.CodeHash unless one
	// was recorded before (SessionLedger.Spend returns it). Otherwise it
	// writes nothing and returns ErrSessionUsed.
	CountReuse(ctx context.Context, u SessionUse, max int) error
}

// countReuse admits one more retry of use's spent token, or refuses it
// with session_used once MaxSessionReuses retries were served. A ledger
// that cannot count refuses every retry: an uncapped retry is what the
// cap exists to prevent.
func (s *Service) countReuse(ctx context.Context, use SessionUse, log *slog.Logger) error {
	counter, ok := s.Sessions.(SessionReuseCounter)
	if !ok {
		return SessionFailure(CodeSessionUsed, errors.New("token already spent; the ledger counts no retries"))
	}
	err := counter.CountReuse(ctx, use, MaxSessionReuses)
	switch {
	case err == nil:
		log.Info("session reused for a retry of the same signup", "session_id", use.ID, "max_reuses", MaxSessionReuses)
		return nil
	case errors.Is(err, ErrSessionUsed):
		log.Info("signup refused: session reused too often", "session_id", use.ID, "max_reuses", MaxSessionReuses)
		return SessionFailure(CodeSessionUsed, errors.New("token retried too often"))
	default:
		s.metrics().Count(MetricStoreError, Dims{"Operation": "count_session_reuse"})
		log.Error("session ledger unavailable", "error", err)
		return Wrap(CodeUpstreamUnavailable, err, "The service is temporarily unavailable. Please try again.")
	}
}
