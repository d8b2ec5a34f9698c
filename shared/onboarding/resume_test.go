package onboarding_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// resentClaims is a store whose every claim is applied, its answer lost,
// and the same write sent again, as the SDK does after a dropped
// connection: the caller sees only the resend's answer.
type resentClaims struct{ *memstore.Store }

func (s resentClaims) Claim(ctx context.Context, wabaID, owner string, now, lockUntil time.Time) (*onboarding.Record, error) {
	if _, err := s.Store.Claim(ctx, wabaID, owner, now, lockUntil); err != nil {
		return nil, err
	}
	return s.Store.Claim(ctx, wabaID, owner, now, lockUntil)
}

// A claim whose answer was lost is still the run's: it calls Plivo in the
// same run, on the one attempt the claim counted.
func TestResumeClaimWhoseAnswerWasLost(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.plivo.Script = []error{plivoErr(onboarding.KindTransient, 500, ""), plivoErr(onboarding.KindTransient, 500, "")}
	if res, err := f.svc.Signup(context.Background(), request("lost")); err != nil || res.Outcome != onboarding.OutcomePending {
		t.Fatalf("signup: %v %v", res.Outcome, err)
	}
	f.clock.Advance(11 * time.Minute)
	f.svc.Store = resentClaims{f.store}
	rep, err := f.svc.Resume(context.Background(), 10, "run")
	if err != nil || rep != (onboarding.ResumeReport{Due: 1, Claimed: 1, Onboarded: 1}) {
		t.Fatalf("resume: %+v, %v; want the record claimed and onboarded", rep, err)
	}
	if rec := f.record(t); rec.State != onboarding.StateOnboarded || rec.PlivoAttempts != 3 {
		t.Fatalf("record %s after %d attempts, want onboarded after 3", rec.State, rec.PlivoAttempts)
	}
	if calls, ok := f.plivo.Counts(); calls != 3 || ok != 1 {
		t.Fatalf("Plivo called %d times, %d onboarded; want 3, 1", calls, ok)
	}
}

// logLines is a slog destination that keeps each JSON line decoded.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *logLines) Write(p []byte) (int, error) {
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(p), &line); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	return len(p), nil
}

// reasons returns the reason attribute of every line that has one.
func (l *logLines) reasons() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if r, ok := line["reason"].(string); ok {
			out = append(out, r)
		}
	}
	return out
}

// A record the run leaves due is counted and logged with why: a late
// retry is then explained by the run's log rather than guessed at.
func TestResumeSkipsAreLoggedAndCountedWithTheirReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup leaves one due record in f's store.
		setup   func(f *fixture)
		timeout time.Duration // of the run's context; none when zero
		reason  string
	}{
		{name: "held by another", setup: func(f *fixture) {
			now := f.clock.Now()
			f.store.Put(onboarding.Record{WABAID: waba, State: onboarding.StateVerified, NextRetryAt: now.Add(-time.Minute),
				LockOwner: "another-run/1", LockExpiresAt: now.Add(time.Minute), PlivoAttempts: 2})
		}, reason: "not_claimable"},
		{name: "store error", setup: func(f *fixture) {
			f.store.Put(onboarding.Record{WABAID: waba, State: onboarding.StateVerified, NextRetryAt: f.clock.Now().Add(-time.Minute), PlivoAttempts: 2})
			f.store.Fail = func(op string, _ *onboarding.Record) error {
				if op == "claim" {
					return errors.New("throttled")
				}
				return nil
			}
		}, reason: "store_error"},
		{name: "out of time", setup: func(f *fixture) {
			f.store.Put(onboarding.Record{WABAID: waba, State: onboarding.StateVerified, NextRetryAt: f.clock.Now().Add(-time.Minute), PlivoAttempts: 2})
		}, timeout: time.Second, reason: "out_of_time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			tt.setup(f)
			logs, metrics := &logLines{}, &reasons{metric: onboarding.MetricResumeSkipped}
			f.svc.Logger, f.svc.Metrics = slog.New(slog.NewJSONHandler(logs, nil)), metrics
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			rep, err := f.svc.Resume(ctx, 10, "run")
			if err != nil || rep != (onboarding.ResumeReport{Due: 1, Skipped: 1}) {
				t.Fatalf("resume: %+v, %v; want one due and skipped", rep, err)
			}
			if want := []string{tt.reason}; !slices.Equal(metrics.reasons, want) || !slices.Equal(logs.reasons(), want) {
				t.Errorf("skips counted %v and logged %v, want %v", metrics.reasons, logs.reasons(), want)
			}
			if calls, _ := f.plivo.Counts(); calls != 0 {
				t.Errorf("Plivo called %d times for a skipped record", calls)
			}
		})
	}
}
