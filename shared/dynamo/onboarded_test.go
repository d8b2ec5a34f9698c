package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

func TestOnboarded(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	put := func(waba string, state onboarding.State, onboardedAt time.Time) {
		t.Helper()
		if _, err := s.Acquire(ctx, verifying(waba, "seed", t0.Add(time.Minute)), t0); err != nil {
			t.Fatal(err)
		}
		rec := verifying(waba, "seed", time.Time{})
		rec.State, rec.OnboardedAt, rec.DisplayPhoneNumber = state, onboardedAt, "+1 555-010-"+waba[len(waba)-4:]
		if state == onboarding.StateVerified {
			rec.NextRetryAt = t0
		}
		if _, err := s.Save(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	put("100000000000001", onboarding.StateOnboarded, t0.Add(time.Minute))
	put("100000000000002", onboarding.StateVerified, time.Time{})
	put("100000000000003", onboarding.StateOnboarded, t0.Add(2*time.Minute))
	put("100000000000004", onboarding.StateFailed, time.Time{})
	put("100000000000005", onboarding.StateOnboarded, t0)

	recs, err := dynamo.Onboarded(ctx, s.Client.(dynamo.Scanner), s.Table, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.WABAID)
		if r.State != onboarding.StateOnboarded || r.DisplayPhoneNumber == "" || r.ClientRef != "customer-1" {
			t.Errorf("record %+v", r)
		}
	}
	want := []string{"100000000000003", "100000000000001", "100000000000005"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("Onboarded = %v, want %v (onboarded only, newest first)", got, want)
	}
	if recs, err := dynamo.Onboarded(ctx, s.Client.(dynamo.Scanner), s.Table, 2); err != nil || len(recs) != 2 {
		t.Fatalf("limit 2: %d records, %v", len(recs), err)
	}
}
