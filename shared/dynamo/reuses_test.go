package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestSessionLedgerCountReuse: a spent token's retries are counted up to
// the cap, atomically in DynamoDB Local; an unspent token has none.
func TestSessionLedgerCountReuse(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	ctx := context.Background()
	u := onboarding.SessionUse{ID: "RRRRRRRRRRRRRRRRRRRRRR", ClientRef: "c", WABAID: "1", ExpiresAt: ttlSafe.Add(time.Hour)}
	if err := l.CountReuse(ctx, u, 2); !errors.Is(err, onboarding.ErrSessionUsed) {
		t.Fatalf("retry of an unspent token: %v, want ErrSessionUsed", err)
	}
	if _, err := l.Spend(ctx, u); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := l.CountReuse(ctx, u, 2); err != nil {
			t.Fatalf("retry %d: %v", i+1, err)
		}
	}
	if err := l.CountReuse(ctx, u, 2); !errors.Is(err, onboarding.ErrSessionUsed) {
		t.Fatalf("retry past the cap: %v, want ErrSessionUsed", err)
	}
	// The spent use itself is untouched by the counting.
	if prev, err := l.Spend(ctx, u); !errors.Is(err, onboarding.ErrSessionUsed) || prev == nil || prev.WABAID != "1" || prev.ClientRef != "c" {
		t.Fatalf("spent use after counting: %+v, %v", prev, err)
	}
}

// TestSessionLedgerSpentIsTheLatestRun: the link check reads when the link
// was last spent, so that a page loaded afresh after the customer's second
// run on the same link does not take the record the first run left as the
// second run's outcome: the latest counted retry that spent a code of its
// own, not the link's first use.
func TestSessionLedgerSpentIsTheLatestRun(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	ctx := context.Background()
	first := ttlSafe.Add(-time.Hour)
	u := onboarding.SessionUse{ID: "SSSSSSSSSSSSSSSSSSSSSS", ClientRef: "c", WABAID: "1", UsedAt: first, ExpiresAt: ttlSafe.Add(time.Hour),
		Attempt: "attempt-1", CodeHash: onboarding.CodeHash("code-1")}
	if _, err := l.Spend(ctx, u); err != nil {
		t.Fatal(err)
	}
	spentAt := func() time.Time {
		t.Helper()
		prev, err := l.Spent(ctx, u.ID)
		if err != nil || prev == nil {
			t.Fatalf("Spent = %+v, %v", prev, err)
		}
		return prev.UsedAt
	}
	if got := spentAt(); !got.Equal(first) {
		t.Fatalf("spent at %v, want the first use %v", got, first)
	}
	for _, retry := range []struct {
		code string
		at   time.Time
		want time.Time
	}{
		{"code-2", first.Add(10 * time.Minute), first.Add(10 * time.Minute)},
		{"code-3", first.Add(20 * time.Minute), first.Add(20 * time.Minute)},
		// The resend of the second run, after the third, moves nothing.
		{"code-2", first.Add(21 * time.Minute), first.Add(20 * time.Minute)},
		// Nor does a resend of the first run's code, recorded as a retry
		// of that code: it is no run of its own.
		{"code-1", first.Add(22 * time.Minute), first.Add(20 * time.Minute)},
	} {
		r := u
		r.UsedAt, r.Attempt, r.CodeHash = retry.at, "attempt-"+retry.code, onboarding.CodeHash(retry.code)
		if err := l.CountReuse(ctx, r, onboarding.MaxSessionReuses); err != nil {
			t.Fatal(err)
		}
		if got := spentAt(); !got.Equal(retry.want) {
			t.Errorf("after a retry with %s: spent at %v, want %v", retry.code, got, retry.want)
		}
	}
}
