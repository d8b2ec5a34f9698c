package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// contractStore is what the unit tests rely on memstore to do as the
// DynamoDB store and session ledger do.
type contractStore interface {
	onboarding.Store
	onboarding.SessionLedger
	onboarding.SessionReuseCounter
}

type dynamoStoreAndLedger struct {
	*dynamo.Store
	*dynamo.SessionLedger
}

// outcome is what one call answered, in terms both stores can give.
type outcome struct {
	errs     string // which sentinel errors matched: "cond", "used", "notfound", joined
	state    onboarding.State
	owner    string
	attempts int
	prevUse  string // the earlier session use returned, if any (useOf)
	due      string // the WABA IDs Due listed, in order
	change   string // what a lift left on the record (changeOf)
}

func outcomeOf(rec *onboarding.Record, prev *onboarding.SessionUse, err error) outcome {
	var o outcome
	for _, s := range []struct {
		err  error
		name string
	}{{onboarding.ErrConditionFailed, "cond "}, {onboarding.ErrSessionUsed, "used "}, {onboarding.ErrNotFound, "notfound "}} {
		if errors.Is(err, s.err) {
			o.errs += s.name
		}
	}
	if err != nil && o.errs == "" {
		o.errs = "other: " + err.Error()
	}
	if rec != nil {
		o.state, o.owner, o.attempts = rec.State, rec.LockOwner, rec.PlivoAttempts
	}
	if prev != nil {
		o.prevUse = useOf(prev)
	}
	return o
}

// TestMemstoreAgreesWithDynamo runs every conditional write, on each side
// of its condition, against memstore and against dynamo.Store on DynamoDB
// Local, and asserts that both answer the same, and what they answer. The
// service's unit tests use memstore; this is what makes them evidence about
// the DynamoDB store.
func TestMemstoreAgreesWithDynamo(t *testing.T) {
	t.Parallel()
	now := ttlSafe
	const waba = "109876543210987"
	seed := func(state onboarding.State, owner string, lockUntil, nextRetry time.Time) *onboarding.Record {
		return &onboarding.Record{WABAID: waba, State: state, LockOwner: owner, LockExpiresAt: lockUntil, NextRetryAt: nextRetry,
			PhoneNumberID: "112233445566778", BusinessID: "198765432109876", ClientRef: "customer-1", CreatedAt: now, UpdatedAt: now}
	}
	holder := func(owner string) *onboarding.Record {
		return seed(onboarding.StateVerifying, owner, now.Add(time.Minute), time.Time{})
	}
	restricted := func(until time.Time) *onboarding.Record {
		rec := seed(onboarding.StateRestricted, "old", time.Time{}, time.Time{})
		// Restricted an hour ago: a lift's stamps are then its own.
		rec.RestrictedUntil, rec.UpdatedAt, rec.StateChangedAt = until, now.Add(-time.Hour), now.Add(-time.Hour)
		return rec
	}
	lift := func(s contractStore) outcome {
		rec, err := s.LiftRestriction(context.Background(), waba, now)
		o := recOutcome(rec, err)
		if rec != nil {
			o.change = changeOf(rec)
		}
		return o
	}
	lifted := changeOf(&onboarding.Record{UpdatedAt: now, Lifecycle: onboarding.Lifecycle{
		PreviousState: onboarding.StateRestricted, StateReason: onboarding.ReasonRestrictionExpired, StateChangedAt: now}})
	// use is a token spent by one attempt of a signup: a resend of its
	// post finds that attempt by the owner and the code's fingerprint the
	// earlier use returns.
	use := func(id string) onboarding.SessionUse {
		u := sessionUse(id, waba, now.Add(time.Hour))
		u.Attempt, u.CodeHash = "req-first/0123456789abcdef", onboarding.CodeHash("code-1")
		return u
	}
	resend := func(id string) onboarding.SessionUse {
		u := use(id)
		u.UsedAt, u.Attempt = now.Add(time.Second), "req-resend/fedcba9876543210"
		return u
	}
	countReuses := func(id string, n int) func(s contractStore) outcome {
		return func(s contractStore) outcome {
			var err error
			for range n {
				if err = s.CountReuse(context.Background(), resend(id), 2); err != nil {
					break
				}
			}
			return outcomeOf(nil, nil, err)
		}
	}
	// stamp stamps the record's subscription at at, and reads back what
	// the record holds then: its state, its stamp and its updated_at.
	stamp := func(at time.Time) func(s contractStore) outcome {
		return func(s contractStore) outcome {
			o := outcomeOf(nil, nil, s.StampSubscribed(context.Background(), waba, at))
			rec, err := s.Get(context.Background(), waba)
			if err != nil {
				o.change = outcomeOf(nil, nil, err).errs
				return o
			}
			o.state, o.change = rec.State, stampsOf(rec)
			return o
		}
	}
	subscribed := func(state onboarding.State, at time.Time) *onboarding.Record {
		rec := seed(state, "old", time.Time{}, time.Time{})
		rec.SubscribedAt = at
		return rec
	}
	stamped := func(at time.Time) string { return stampsOf(&onboarding.Record{SubscribedAt: at, UpdatedAt: now}) }
	acquire := func(s contractStore) outcome {
		rec, err := s.Acquire(context.Background(), holder("new"), now)
		return outcomeOf(rec, nil, err)
	}
	tests := []struct {
		name  string
		seed  *onboarding.Record // written through Acquire then Save, as the service would
		spent string             // a session token already spent
		call  func(s contractStore) outcome
		want  outcome
	}{
		{name: "acquire, no record", call: acquire, want: outcome{}},
		{name: "acquire, lock held", seed: holder("old"), call: acquire,
			want: outcome{errs: "cond ", state: onboarding.StateVerifying, owner: "old"}},
		{name: "acquire, lock expired", seed: seed(onboarding.StateVerifying, "old", now.Add(-time.Second), time.Time{}), call: acquire},
		{name: "acquire, lock ends exactly now", seed: seed(onboarding.StateVerifying, "old", now, time.Time{}), call: acquire,
			want: outcome{errs: "cond ", state: onboarding.StateVerifying, owner: "old"}},
		{name: "acquire, proven lock expired: the resume function's", seed: seed(onboarding.StateVerifying, "old", now.Add(-time.Second), now.Add(-time.Second)), call: acquire,
			want: outcome{errs: "cond ", state: onboarding.StateVerifying, owner: "old"}},
		{name: "acquire, failed", seed: seed(onboarding.StateFailed, "old", time.Time{}, time.Time{}), call: acquire},
		{name: "acquire, unclaimed", seed: seed(onboarding.StateUnclaimed, "old", time.Time{}, time.Time{}), call: acquire},
		{name: "acquire, waits for a verified number", seed: seed(onboarding.StatePhoneUnverified, "old", time.Time{}, time.Time{}), call: acquire},
		{name: "acquire, waits for a number", seed: seed(onboarding.StateAwaitingNumber, "old", time.Time{}, time.Time{}), call: acquire},
		{name: "acquire, onboarded", seed: seed(onboarding.StateOnboarded, "old", time.Time{}, time.Time{}), call: acquire,
			want: outcome{errs: "cond ", state: onboarding.StateOnboarded, owner: "old"}},
		{name: "acquire, verified and waiting for a retry", seed: seed(onboarding.StateVerified, "old", time.Time{}, now.Add(time.Minute)), call: acquire,
			want: outcome{errs: "cond ", state: onboarding.StateVerified, owner: "old"}},
		{name: "acquire, disconnected", seed: seed(onboarding.StateDisconnected, "old", time.Time{}, time.Time{}), call: acquire,
			want: outcome{errs: "cond ", state: onboarding.StateDisconnected, owner: "old"}},
		{name: "acquire, disconnected, reconnecting", seed: seed(onboarding.StateDisconnected, "old", time.Time{}, time.Time{}),
			call: func(s contractStore) outcome {
				rec := holder("new")
				rec.Reconnect = true
				got, err := s.Acquire(context.Background(), rec, now)
				return outcomeOf(got, nil, err)
			}},
		{name: "acquire, a reconnect that failed: a plain signup", seed: reconnectSeed(seed(onboarding.StateFailed, "old", time.Time{}, time.Time{})), call: acquire,
			want: outcome{errs: "cond ", state: onboarding.StateFailed, owner: "old"}},
		{name: "acquire, a reconnect that waits for a number: a plain signup", seed: reconnectSeed(seed(onboarding.StateAwaitingNumber, "old", time.Time{}, time.Time{})), call: acquire,
			want: outcome{errs: "cond ", state: onboarding.StateAwaitingNumber, owner: "old"}},
		{name: "acquire, a reconnect that failed, reconnecting", seed: reconnectSeed(seed(onboarding.StateFailed, "old", time.Time{}, time.Time{})),
			call: func(s contractStore) outcome {
				rec := holder("new")
				rec.Reconnect = true
				got, err := s.Acquire(context.Background(), rec, now)
				return outcomeOf(got, nil, err)
			}},
		{name: "acquire, a reconnect's abandoned lock: a plain signup", seed: reconnectSeed(seed(onboarding.StateVerifying, "old", now.Add(-time.Second), time.Time{})), call: acquire,
			want: outcome{errs: "cond ", state: onboarding.StateVerifying, owner: "old"}},
		{name: "acquire, a reconnect's abandoned lock, reconnecting", seed: reconnectSeed(seed(onboarding.StateVerifying, "old", now.Add(-time.Second), time.Time{})),
			call: func(s contractStore) outcome {
				rec := holder("new")
				rec.Reconnect = true
				got, err := s.Acquire(context.Background(), rec, now)
				return outcomeOf(got, nil, err)
			}},
		{name: "spend, fresh token", call: func(s contractStore) outcome {
			return outcomeOf(nil, nil, errOnly(s.Spend(context.Background(), use("tok-d"))))
		}},
		{name: "spend, spent token", spent: "tok-e", call: func(s contractStore) outcome {
			prev, err := s.Spend(context.Background(), resend("tok-e"))
			return outcomeOf(nil, prev, err)
		}, want: outcome{errs: "used ", prevUse: useOf(&onboarding.SessionUse{ID: "tok-e", ClientRef: "customer-1", WABAID: waba, UsedAt: now,
			Attempt: "req-first/0123456789abcdef", CodeHash: onboarding.CodeHash("code-1")})}},
		// A later run on the same link spends a new code through a counted
		// retry: its resend must find that run's attempt, and a resend of
		// the first run still the first use's.
		{name: "spend, a code a counted retry spent", spent: "tok-j", call: func(s contractStore) outcome {
			run := resend("tok-j")
			run.CodeHash = onboarding.CodeHash("code-2")
			if err := s.CountReuse(context.Background(), run, 5); err != nil {
				return outcomeOf(nil, nil, err)
			}
			again := resend("tok-j")
			again.CodeHash, again.Attempt, again.UsedAt = run.CodeHash, "req-again/00112233445566ff", now.Add(2*time.Second)
			if err := s.CountReuse(context.Background(), again, 5); err != nil {
				return outcomeOf(nil, nil, err)
			}
			prev, err := s.Spend(context.Background(), again)
			return outcomeOf(nil, prev, err)
		}, want: outcome{errs: "used ", prevUse: useOf(&onboarding.SessionUse{ID: "tok-j", ClientRef: "customer-1", WABAID: waba, UsedAt: now.Add(time.Second),
			Attempt: "req-resend/fedcba9876543210", CodeHash: onboarding.CodeHash("code-2")})}},
		{name: "spend, the first use's code after a counted retry of it", spent: "tok-k", call: func(s contractStore) outcome {
			if err := s.CountReuse(context.Background(), resend("tok-k"), 5); err != nil {
				return outcomeOf(nil, nil, err)
			}
			prev, err := s.Spend(context.Background(), resend("tok-k"))
			return outcomeOf(nil, prev, err)
		}, want: outcome{errs: "used ", prevUse: useOf(&onboarding.SessionUse{ID: "tok-k", ClientRef: "customer-1", WABAID: waba, UsedAt: now,
			Attempt: "req-first/0123456789abcdef", CodeHash: onboarding.CodeHash("code-1")})}},
		{name: "spend, a code no use spent", spent: "tok-l", call: func(s contractStore) outcome {
			other := resend("tok-l")
			other.CodeHash = onboarding.CodeHash("code-3")
			prev, err := s.Spend(context.Background(), other)
			return outcomeOf(nil, prev, err)
		}, want: outcome{errs: "used ", prevUse: useOf(&onboarding.SessionUse{ID: "tok-l", ClientRef: "customer-1", WABAID: waba, UsedAt: now,
			Attempt: "req-first/0123456789abcdef", CodeHash: onboarding.CodeHash("code-1")})}},
		// A retry refused past the cap records no attempt for its code: the
		// item holds at most as many pairs as the retries it served, and a
		// resend of the refused code finds only the first use.
		{name: "spend, a code whose counted retry was refused past the cap", spent: "tok-m", call: func(s contractStore) outcome {
			for i := range 3 {
				run := resend("tok-m")
				run.CodeHash = onboarding.CodeHash(fmt.Sprintf("code-cap-%d", i))
				if err := s.CountReuse(context.Background(), run, 2); err != nil && i < 2 {
					return outcomeOf(nil, nil, err)
				}
			}
			refused := resend("tok-m")
			refused.CodeHash = onboarding.CodeHash("code-cap-2")
			prev, err := s.Spend(context.Background(), refused)
			return outcomeOf(nil, prev, err)
		}, want: outcome{errs: "used ", prevUse: useOf(&onboarding.SessionUse{ID: "tok-m", ClientRef: "customer-1", WABAID: waba, UsedAt: now,
			Attempt: "req-first/0123456789abcdef", CodeHash: onboarding.CodeHash("code-1")})}},
		{name: "count reuse, spent token", spent: "tok-f", call: countReuses("tok-f", 1)},
		{name: "count reuse, up to the cap", spent: "tok-g", call: countReuses("tok-g", 2)},
		{name: "count reuse, past the cap", spent: "tok-h", call: countReuses("tok-h", 3), want: outcome{errs: "used "}},
		{name: "count reuse, token never spent", call: countReuses("tok-i", 1), want: outcome{errs: "used "}},
		{name: "save, lock owner", seed: holder("old"), call: func(s contractStore) outcome {
			rec := holder("old")
			rec.State = onboarding.StateOnboarded
			return recOutcome(s.Save(context.Background(), rec))
		}, want: outcome{state: onboarding.StateOnboarded, owner: "old"}},
		{name: "save, lost the lock", seed: holder("old"), call: func(s contractStore) outcome {
			return recOutcome(s.Save(context.Background(), holder("thief")))
		}, want: outcome{errs: "cond ", state: onboarding.StateVerifying, owner: "old"}},
		{name: "save, no record", call: func(s contractStore) outcome {
			return recOutcome(s.Save(context.Background(), holder("old")))
		}, want: outcome{errs: "cond "}},
		{name: "claim, due and free", seed: seed(onboarding.StateVerified, "old", now.Add(-time.Second), now.Add(-time.Second)), call: claim(now),
			want: outcome{state: onboarding.StateVerified, owner: "worker", attempts: 1}},
		{name: "claim, resent after its answer was lost", seed: seed(onboarding.StateVerified, "old", now.Add(-time.Second), now.Add(-time.Second)),
			call: func(s contractStore) outcome {
				if o := claim(now)(s); o.errs != "" {
					return o
				}
				return claim(now)(s)
			},
			want: outcome{state: onboarding.StateVerified, owner: "worker", attempts: 1}},
		{name: "claim, held by another claimant", seed: seed(onboarding.StateVerified, "old", now.Add(-time.Second), now.Add(-time.Second)),
			call: func(s contractStore) outcome {
				if _, err := s.Claim(context.Background(), waba, "other", now, now.Add(time.Minute)); err != nil {
					return recOutcome(nil, err)
				}
				return claim(now)(s)
			},
			want: outcome{errs: "cond "}},
		{name: "claim, not due", seed: seed(onboarding.StateVerified, "old", now.Add(-time.Second), now.Add(time.Second)), call: claim(now),
			want: outcome{errs: "cond "}},
		{name: "claim, lock held", seed: seed(onboarding.StateVerified, "old", now.Add(time.Second), now.Add(-time.Second)), call: claim(now),
			want: outcome{errs: "cond "}},
		{name: "claim, not verified", seed: seed(onboarding.StateOnboarded, "old", now.Add(-time.Second), now.Add(-time.Second)), call: claim(now),
			want: outcome{errs: "cond "}},
		{name: "claim, no record", call: claim(now), want: outcome{errs: "cond "}},
		{name: "claim, proven lock expired", seed: seed(onboarding.StateVerifying, "old", now.Add(-time.Second), now.Add(-time.Second)), call: claim(now),
			want: outcome{state: onboarding.StateVerifying, owner: "worker", attempts: 1}},
		{name: "claim, proven lock held", seed: seed(onboarding.StateVerifying, "old", now.Add(time.Second), now.Add(-time.Second)), call: claim(now),
			want: outcome{errs: "cond "}},
		// The boundaries: a retry is due at its time, as Due lists it, so
		// the run that listed it can claim it; a lock holds until the end
		// of its last millisecond, as Acquire reads it.
		{name: "claim, due exactly now", seed: seed(onboarding.StateVerified, "old", now.Add(-time.Second), now), call: claim(now),
			want: outcome{state: onboarding.StateVerified, owner: "worker", attempts: 1}},
		{name: "claim, lock ends exactly now", seed: seed(onboarding.StateVerified, "old", now, now.Add(-time.Second)), call: claim(now),
			want: outcome{errs: "cond "}},
		{name: "claim, lock taken before Meta's proof", seed: seed(onboarding.StateVerifying, "old", now.Add(-time.Second), time.Time{}), call: claim(now),
			want: outcome{errs: "cond "}},
		{name: "due lists expired proven locks only", call: func(s contractStore) outcome {
			for i, rec := range []*onboarding.Record{
				seed(onboarding.StateVerifying, "old", now.Add(-time.Minute), now.Add(-time.Minute)),
				seed(onboarding.StateVerifying, "old", now.Add(time.Minute), now.Add(time.Minute)),
				seed(onboarding.StateVerifying, "old", now.Add(-time.Minute), time.Time{}),
			} {
				rec.WABAID = fmt.Sprint(100000000000000 + i)
				put(t, s, rec, now)
			}
			return listed(s.Due(context.Background(), now, 10))
		}, want: outcome{due: "100000000000000 "}},
		{name: "get, no record", call: func(s contractStore) outcome {
			return recOutcome(s.Get(context.Background(), waba))
		}, want: outcome{errs: "notfound "}},
		{name: "due, oldest first, limited", call: func(s contractStore) outcome {
			for i, d := range []time.Duration{-time.Minute, -time.Hour, time.Minute, -2 * time.Hour} {
				rec := seed(onboarding.StateVerified, "old", time.Time{}, now.Add(d))
				rec.WABAID = fmt.Sprint(100000000000000 + i)
				put(t, s, rec, now)
			}
			return listed(s.Due(context.Background(), now, 2))
		}, want: outcome{due: "100000000000003 100000000000001 "}},
		{name: "lift, restriction ended", seed: restricted(now.Add(-time.Second)), call: lift,
			want: outcome{state: onboarding.StateOnboarded, owner: "old", change: lifted}},
		{name: "lift, restriction ends exactly now", seed: restricted(now), call: lift,
			want: outcome{state: onboarding.StateOnboarded, owner: "old", change: lifted}},
		{name: "lift, restriction ends later", seed: restricted(now.Add(time.Second)), call: lift, want: outcome{errs: "cond "}},
		{name: "lift, restricted without an end", seed: restricted(time.Time{}), call: lift, want: outcome{errs: "cond "}},
		{name: "lift, onboarded", seed: seed(onboarding.StateOnboarded, "old", time.Time{}, time.Time{}), call: lift,
			want: outcome{errs: "cond "}},
		{name: "lift, no record", call: lift, want: outcome{errs: "cond "}},
		{name: "expired restrictions, oldest first, limited", call: func(s contractStore) outcome {
			for i, rec := range []*onboarding.Record{
				restricted(now.Add(-time.Minute)), restricted(now.Add(-time.Hour)), restricted(now.Add(time.Minute)),
				restricted(now.Add(-2 * time.Hour)), restricted(time.Time{}),
				seed(onboarding.StateVerified, "old", time.Time{}, now.Add(-3*time.Hour)),
			} {
				rec.WABAID = fmt.Sprint(100000000000000 + i)
				put(t, s, rec, now)
			}
			return listed(s.ExpiredRestrictions(context.Background(), now, 2))
		}, want: outcome{due: "100000000000003 100000000000001 "}},
		{name: "stamp subscription, onboarded", seed: subscribed(onboarding.StateOnboarded, time.Time{}), call: stamp(now.Add(time.Minute)),
			want: outcome{state: onboarding.StateOnboarded, change: stamped(now.Add(time.Minute))}},
		{name: "stamp subscription, restricted", seed: subscribed(onboarding.StateRestricted, time.Time{}), call: stamp(now.Add(time.Minute)),
			want: outcome{state: onboarding.StateRestricted, change: stamped(now.Add(time.Minute))}},
		{name: "stamp subscription, an earlier stamp", seed: subscribed(onboarding.StateOnboarded, now), call: stamp(now.Add(500 * time.Millisecond)),
			want: outcome{state: onboarding.StateOnboarded, change: stamped(now.Add(500 * time.Millisecond))}},
		// Under RFC3339Nano, which drops a zero fraction, "…01.5Z" sorts
		// before "…01Z": the stored form must order as the times do.
		{name: "stamp subscription, a whole second after a fraction", seed: subscribed(onboarding.StateOnboarded, now.Add(500*time.Millisecond)),
			call: stamp(now.Add(time.Second)), want: outcome{state: onboarding.StateOnboarded, change: stamped(now.Add(time.Second))}},
		{name: "stamp subscription, a fraction after a whole second", seed: subscribed(onboarding.StateOnboarded, now.Add(time.Second)),
			call: stamp(now.Add(1500 * time.Millisecond)), want: outcome{state: onboarding.StateOnboarded, change: stamped(now.Add(1500 * time.Millisecond))}},
		{name: "stamp subscription, a later stamp", seed: subscribed(onboarding.StateOnboarded, now.Add(time.Second)), call: stamp(now.Add(500 * time.Millisecond)),
			want: outcome{errs: "cond ", state: onboarding.StateOnboarded, change: stamped(now.Add(time.Second))}},
		{name: "stamp subscription, the same stamp", seed: subscribed(onboarding.StateOnboarded, now), call: stamp(now),
			want: outcome{errs: "cond ", state: onboarding.StateOnboarded, change: stamped(now)}},
		{name: "stamp subscription, verified", seed: seed(onboarding.StateVerified, "old", time.Time{}, now.Add(time.Minute)), call: stamp(now),
			want: outcome{errs: "cond ", state: onboarding.StateVerified, change: stamped(time.Time{})}},
		{name: "stamp subscription, disconnected", seed: subscribed(onboarding.StateDisconnected, time.Time{}), call: stamp(now),
			want: outcome{errs: "cond ", state: onboarding.StateDisconnected, change: stamped(time.Time{})}},
		// A reconnect writes its own record: the stamp of a re-run before
		// the removal is dropped, so it can never overrule a later removal
		// (resubscribedCondition) or hide a share from the check.
		{name: "stamp subscription, dropped by a reconnect", seed: subscribed(onboarding.StateDisconnected, now.Add(-time.Hour)),
			call: func(s contractStore) outcome {
				rec := holder("new")
				rec.Reconnect = true
				if _, err := s.Acquire(context.Background(), rec, now); err != nil {
					return outcomeOf(nil, nil, err)
				}
				got, err := s.Get(context.Background(), waba)
				if err != nil {
					return outcomeOf(nil, nil, err)
				}
				return outcome{state: got.State, change: got.SubscribedAt.UTC().Format(time.RFC3339Nano)}
			}, want: outcome{state: onboarding.StateVerifying, change: time.Time{}.Format(time.RFC3339Nano)}},
		{name: "stamp subscription, no record: none created", call: stamp(now), want: outcome{errs: "cond ", change: "notfound "}},
		{name: "due lists no restriction", call: func(s contractStore) outcome {
			put(t, s, restricted(now.Add(-time.Hour)), now)
			due, err := s.Due(context.Background(), now, 10)
			return outcome{errs: outcomeOf(nil, nil, err).errs, due: fmt.Sprint(len(due))}
		}, want: outcome{due: "0"}},
	}
	client := testenv.DynamoClient("")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dedup := testenv.MustCreateTable(t, client, "DedupTable")
			stores := map[string]contractStore{
				"memstore": memstore.New(),
				"dynamo": dynamoStoreAndLedger{
					&dynamo.Store{Client: client, Table: testenv.MustCreateTable(t, client, "SignupTable")},
					&dynamo.SessionLedger{Client: client, Table: dedup},
				},
			}
			for name, s := range stores {
				if tt.seed != nil {
					put(t, s, tt.seed, now)
				}
				if tt.spent != "" {
					if _, err := s.Spend(context.Background(), use(tt.spent)); err != nil {
						t.Fatalf("%s: spend %s: %v", name, tt.spent, err)
					}
				}
				if got := tt.call(s); got != tt.want {
					t.Errorf("%s answered %+v, want %+v", name, got, tt.want)
				}
			}
		})
	}
}

func claim(now time.Time) func(s contractStore) outcome {
	return func(s contractStore) outcome {
		return recOutcome(s.Claim(context.Background(), "109876543210987", "worker", now, now.Add(time.Minute)))
	}
}

func errOnly(_ *onboarding.SessionUse, err error) error { return err }

// put writes rec through the store's own calls: Acquire as rec's lock
// owner, then Save with its fields.
func put(t *testing.T, s contractStore, rec *onboarding.Record, now time.Time) {
	t.Helper()
	lock := *rec
	lock.State, lock.LockExpiresAt, lock.NextRetryAt = onboarding.StateVerifying, now.Add(time.Minute), time.Time{}
	if _, err := s.Acquire(context.Background(), &lock, now); err != nil {
		t.Fatalf("seed acquire %s: %v", rec.WABAID, err)
	}
	if _, err := s.Save(context.Background(), rec); err != nil {
		t.Fatalf("seed save %s: %v", rec.WABAID, err)
	}
}

func recOutcome(rec *onboarding.Record, err error) outcome { return outcomeOf(rec, nil, err) }

// useOf is what an earlier session use tells a retry: the WABA and
// client_ref it was spent for, when, by which attempt, and its code's
// fingerprint, by which the service tells a resend of a post from a new
// run of Meta's flow (answerOtherAttempt). Its expiry is left out: the
// DynamoDB ledger rounds it up to the TTL's whole second.
func useOf(u *onboarding.SessionUse) string {
	return fmt.Sprintf("%s for %s of %s at %s by %s, code %s", u.ID, u.WABAID, u.ClientRef, u.UsedAt.UTC().Format(time.RFC3339Nano), u.Attempt, u.CodeHash)
}

// listed is a listing's answer: its error, and the WABA IDs in order.
func listed(recs []onboarding.Record, err error) outcome {
	o := outcomeOf(nil, nil, err)
	for _, r := range recs {
		o.due += r.WABAID + " "
	}
	return o
}

// changeOf is what a webhook-driven change or a lift left on rec: the
// state it came from, why, when (state_changed_at and updated_at), and
// whether it left a restriction end, a Plivo retry or a reconnect mark.
func changeOf(rec *onboarding.Record) string {
	return fmt.Sprintf("from %s for %s at %s and %s; until %v, retry %v, reconnect %t", rec.PreviousState, rec.StateReason,
		rec.StateChangedAt.UTC().Format(time.RFC3339Nano), rec.UpdatedAt.UTC().Format(time.RFC3339Nano),
		rec.RestrictedUntil.UTC().Format(time.RFC3339Nano), rec.NextRetryAt.UTC().Format(time.RFC3339Nano), rec.Reconnect)
}

// stampsOf is a record's subscription stamp and updated_at: a stamp moves
// the one and never the other.
func stampsOf(rec *onboarding.Record) string {
	return fmt.Sprintf("subscribed %s, updated %s", rec.SubscribedAt.UTC().Format(time.RFC3339Nano), rec.UpdatedAt.UTC().Format(time.RFC3339Nano))
}

// reconnectSeed marks rec as left by a reconnect that stopped half-way.
func reconnectSeed(rec *onboarding.Record) *onboarding.Record {
	rec.Reconnect, rec.PreviousState = true, onboarding.StateDisconnected
	return rec
}
