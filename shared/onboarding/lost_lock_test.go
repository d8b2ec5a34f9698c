package onboarding_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// disconnected is rec as Meta's disconnect webhook leaves it: no lock, no
// retry (dynamo.Store.Disconnect).
func disconnected(rec onboarding.Record) onboarding.Record {
	rec.PreviousState, rec.State, rec.StateReason = rec.State, onboarding.StateDisconnected, "partner_removed"
	rec.LockOwner, rec.LockExpiresAt, rec.NextRetryAt = "", time.Time{}, time.Time{}
	return rec
}

// TestSignupAnswersFromTheRecordThatTookItsLock: a signup's save loses its
// condition only when something removed its lock: Meta's disconnect
// webhook, or another attempt that took the WABA over. The answer comes
// from the record that holds the WABA now, "in progress" only while
// another attempt really holds it, and no Plivo call follows a recorded
// disconnect.
func TestSignupAnswersFromTheRecordThatTookItsLock(t *testing.T) {
	t.Parallel()
	other := func(state onboarding.State, lockFor time.Duration) func(onboarding.Record, time.Time) onboarding.Record {
		return func(r onboarding.Record, now time.Time) onboarding.Record {
			r.State, r.LockOwner, r.LockExpiresAt = state, "other-attempt", time.Time{}
			if lockFor > 0 {
				r.LockExpiresAt = now.Add(lockFor)
			}
			return r
		}
	}
	tests := []struct {
		name string
		// before is the save the change lands before (1: verified, 2: the
		// outcome); 0 lands it in the pause between two Plivo attempts.
		before  int32
		change  func(onboarding.Record, time.Time) onboarding.Record
		plivo   []error
		want    onboarding.Code
		outcome onboarding.Outcome
		calls   int
	}{
		{name: "disconnected before the verified save", before: 1,
			change: func(r onboarding.Record, _ time.Time) onboarding.Record { return disconnected(r) }, want: onboarding.CodeAccessRemoved},
		{name: "another attempt holds the lock", before: 1, change: other(onboarding.StateVerifying, 20*time.Second), want: onboarding.CodeInProgress},
		{name: "another attempt onboarded the same signup", before: 1, change: other(onboarding.StateOnboarded, 0), outcome: onboarding.OutcomeReplayed},
		{name: "another attempt's signup failed", before: 1, change: other(onboarding.StateFailed, 0), want: onboarding.CodeNotRecorded},
		{name: "disconnected before the outcome save", before: 2,
			change: func(r onboarding.Record, _ time.Time) onboarding.Record { return disconnected(r) }, want: onboarding.CodeAccessRemoved, calls: 1},
		{name: "another attempt holds the lock before the outcome save: Plivo onboarded it", before: 2,
			change: other(onboarding.StateVerifying, 20*time.Second), outcome: onboarding.OutcomeOnboarded, calls: 1},
		{name: "disconnected between two Plivo attempts", before: 0, plivo: []error{plivoErr(onboarding.KindTransient, 503, "down")},
			change: func(r onboarding.Record, _ time.Time) onboarding.Record { return disconnected(r) }, want: onboarding.CodeAccessRemoved, calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.plivo.Script = tt.plivo
			land := func() { f.store.Put(tt.change(f.record(t), f.clock.Now())) }
			var saves atomic.Int32
			f.store.Fail = func(op string, _ *onboarding.Record) error {
				if op == "save" && saves.Add(1) == tt.before {
					land()
				}
				return nil
			}
			if tt.before == 0 {
				f.svc.Sleep = func(context.Context, time.Duration) error { land(); return nil }
			}
			res, err := f.svc.Signup(context.Background(), request("c1"))
			if codeOf(err) != tt.want || res.Outcome != tt.outcome {
				t.Fatalf("Signup = %s, %v; want %q, code %q", res.Outcome, err, tt.outcome, tt.want)
			}
			var e *onboarding.Error
			if tt.want == onboarding.CodeInProgress && (!errors.As(err, &e) || e.RetryAfter < time.Second) {
				t.Errorf("in progress without a Retry-After: %v", err)
			}
			if calls, _ := f.plivo.Counts(); calls != tt.calls {
				t.Errorf("plivo calls = %d, want %d", calls, tt.calls)
			}
			if tt.want == onboarding.CodeAccessRemoved {
				if rec := f.record(t); rec.State != onboarding.StateDisconnected {
					t.Errorf("record %+v, want it left disconnected", rec)
				}
			}
		})
	}
}
