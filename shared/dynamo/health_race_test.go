package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestSaveKeepsHealthWrittenDuringSignup: Meta may send a number's quality
// or name update while a signup of its WABA still holds the lock (the number
// is live at Meta before Plivo answers). The signup's later saves carry the
// record as the signup knew it, without that health; they must not erase it.
// They still clear what the signup itself cleared: the last error and the
// retry index of a record that is no longer verified.
func TestSaveKeepsHealthWrittenDuringSignup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	const waba = "6100"
	rec := verifying(waba, "signup-a", t0.Add(time.Minute))
	if _, err := s.Acquire(ctx, rec, t0); err != nil {
		t.Fatal(err)
	}
	verified := *rec
	verified.State, verified.DisplayPhoneNumber, verified.VerifiedAt = onboarding.StateVerified, "+1 555 0100", t0
	verified.LastError, verified.LastErrorMessage, verified.NextRetryAt = "plivo_unavailable", "Plivo answered 503", t0.Add(time.Second)
	if _, err := s.Save(ctx, &verified); err != nil {
		t.Fatal(err)
	}
	due, err := s.Due(ctx, t0.Add(time.Minute), 10)
	if err != nil || !hasRecord(due, waba) {
		t.Fatalf("verified record not due for a retry: %v %v", due, err)
	}

	quality := onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_1K", UpdatedAt: t0.Add(2 * time.Second)}
	if ok, err := s.SetHealth(ctx, waba, "15550100", quality, time.Time{}); err != nil || !ok {
		t.Fatalf("quality update: %t %v", ok, err)
	}
	name := onboarding.Health{NameStatus: "APPROVED", RequestedName: "Acme Shoes", UpdatedAt: t0.Add(3 * time.Second)}
	if ok, err := s.SetHealth(ctx, waba, "15550100", name, time.Time{}); err != nil || !ok {
		t.Fatalf("name update: %t %v", ok, err)
	}

	onboarded := verified
	onboarded.State, onboarded.OnboardedAt, onboarded.UpdatedAt = onboarding.StateOnboarded, t0.Add(4*time.Second), t0.Add(4*time.Second)
	onboarded.LastError, onboarded.LastErrorMessage, onboarded.NextRetryAt = "", "", time.Time{}
	onboarded.LockOwner, onboarded.LockExpiresAt = "signup-a", time.Time{}
	if _, err := s.Save(ctx, &onboarded); err != nil {
		t.Fatal(err)
	}

	got, err := s.Get(ctx, waba)
	if err != nil {
		t.Fatal(err)
	}
	want := onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_1K", NameStatus: "APPROVED", RequestedName: "Acme Shoes", UpdatedAt: name.UpdatedAt}
	if got.Health != want {
		t.Errorf("health after the signup's final save: %+v, want %+v", got.Health, want)
	}
	if got.State != onboarding.StateOnboarded || got.LastError != "" || got.LastErrorMessage != "" || !got.NextRetryAt.IsZero() {
		t.Errorf("record after the final save: state %s, last error %q %q, next retry %v", got.State, got.LastError, got.LastErrorMessage, got.NextRetryAt)
	}
	due, err = s.Due(ctx, t0.Add(time.Hour), 10)
	if err != nil || hasRecord(due, waba) {
		t.Errorf("onboarded record still in the retry index: %v %v", due, err)
	}

	// The lock still decides: a save by a writer that lost it changes nothing.
	stale := onboarded
	stale.LockOwner, stale.State = "signup-b", onboarding.StateFailed
	if _, err := s.Save(ctx, &stale); err == nil {
		t.Error("a save without the lock succeeded")
	}
	if got, _ := s.Get(ctx, waba); got.State != onboarding.StateOnboarded {
		t.Errorf("state %s after a refused save", got.State)
	}
}

func hasRecord(recs []onboarding.Record, waba string) bool {
	for _, r := range recs {
		if r.WABAID == waba {
			return true
		}
	}
	return false
}
