package onboarding

import (
	"testing"
	"time"
)

// TestAttemptEnded: a post whose code the attempt that spent it already
// ended gets that attempt's answer only from a record that attempt wrote
// (its owner, its client_ref), and only for an end the customer must act
// on: a wait for the customer, or a terminal failure at Plivo. Anything
// else leaves Meta's refusal standing.
func TestAttemptEnded(t *testing.T) {
	t.Parallel()
	const owner = "req-1/0123456789abcdef"
	id := Identity{WABAID: "109876543210987", ClientRef: "customer-1"}
	ended := func(state State, reason string) *Record {
		return &Record{WABAID: id.WABAID, State: state, FailureReason: reason, LockOwner: owner, ClientRef: id.ClientRef}
	}
	tests := []struct {
		name     string
		existing *Record
		owner    string
		want     Code // "" when the refusal stands
	}{
		{"phone_unverified", ended(StatePhoneUnverified, ""), owner, CodePhoneUnverified},
		{"awaiting_number", ended(StateAwaitingNumber, ""), owner, CodeNumberMissing},
		{"failed: registered elsewhere at Plivo", ended(StateFailed, ReasonAlreadyRegistered), owner, CodeAlreadyRegistered},
		{"failed: number under another WABA at Plivo", ended(StateFailed, ReasonPhoneNumberTaken), owner, CodePhoneNumberTaken},
		{"failed: Plivo refused", ended(StateFailed, ReasonPlivoRejected), owner, CodeUpstreamFailed},
		{"failed: retries given up within the request", ended(StateFailed, ReasonGaveUp), owner, CodeUpstreamFailed},
		{"failed: Meta refused", ended(StateFailed, ReasonMetaRejected), owner, ""},
		{"onboarded", ended(StateOnboarded, ""), owner, ""},
		{"written by another attempt", ended(StatePhoneUnverified, ""), "req-2/fedcba9876543210", ""},
		{"no owner known, a record with none", &Record{WABAID: id.WABAID, State: StatePhoneUnverified, ClientRef: id.ClientRef}, "", ""},
		{"another customer's record", &Record{WABAID: id.WABAID, State: StatePhoneUnverified, LockOwner: owner, ClientRef: "customer-2"},
			owner, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := attemptEnded(tt.existing, id, tt.owner)
			if got := ErrorCode(err); (err == nil) != (tt.want == "") || (err != nil && got != tt.want) {
				t.Fatalf("attemptEnded = %v (%s), want %q", err, got, tt.want)
			}
		})
	}
}

// TestRecentOtherAttempt: only a first use of the session by another
// attempt, at or before this one and less than otherAttemptWindow before,
// is an attempt of the same signup that may still be running.
func TestRecentOtherAttempt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	use := &SessionUse{ID: "tok", Attempt: "req-2/b", UsedAt: now}
	first := func(attempt string, at time.Time) *SessionUse {
		return &SessionUse{ID: "tok", Attempt: attempt, UsedAt: at}
	}
	tests := []struct {
		name  string
		first *SessionUse
		want  bool
	}{
		{"another attempt a second before", first("req-1/a", now.Add(-time.Second)), true},
		{"another attempt at the same instant", first("req-1/a", now), true},
		{"another attempt just inside the window", first("req-1/a", now.Add(-otherAttemptWindow+time.Nanosecond)), true},
		{"another attempt the window before", first("req-1/a", now.Add(-otherAttemptWindow)), false},
		// Another function's clock ahead of ours: not evidence of an
		// attempt still running.
		{"another attempt after this one", first("req-1/a", now.Add(time.Second)), false},
		{"this attempt's own use", first("req-2/b", now.Add(-time.Second)), false},
		{"no first use", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := recentOtherAttempt(use, tt.first); got != tt.want {
				t.Errorf("recentOtherAttempt = %t, want %t", got, tt.want)
			}
		})
	}
}
