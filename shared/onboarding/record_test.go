package onboarding_test

import (
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

func TestPhoneDigits(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+1 555-010-0001":  "15550100001",
		"15550100001":      "15550100001",
		"(0) 20 7946 0958": "02079460958",
		"+":                "",
		"":                 "",
		"١٢٣ 4":            "4", // ASCII digits only: the form Plivo and Meta send
	} {
		if got := onboarding.PhoneDigits(in); got != want {
			t.Errorf("PhoneDigits(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestClaimedBy: a store that lost a claim's condition takes the record
// for its own claim only when owner, lock end (to the millisecond) and a
// claimable state all say so; otherwise it would go on under another
// run's lock.
func TestClaimedBy(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 12, 6, 10, 0, 0, 123_000_000, time.UTC)
	claimed := onboarding.Record{WABAID: "1", State: onboarding.StateVerified, LockOwner: "run-1", LockExpiresAt: until}
	with := func(f func(*onboarding.Record)) onboarding.Record { r := claimed; f(&r); return r }
	tests := []struct {
		name  string
		rec   onboarding.Record
		owner string
		until time.Time
		want  bool
	}{
		{"its claim", claimed, "run-1", until, true},
		{"its claim, verifying", with(func(r *onboarding.Record) { r.State = onboarding.StateVerifying }), "run-1", until, true},
		{"same millisecond", claimed, "run-1", until.Add(999 * time.Microsecond), true},
		{"another owner", claimed, "run-2", until, false},
		{"no owner asks", with(func(r *onboarding.Record) { r.LockOwner = "" }), "", until, false},
		{"another lock end", claimed, "run-1", until.Add(time.Millisecond), false},
		{"onboarded since", with(func(r *onboarding.Record) { r.State = onboarding.StateOnboarded }), "run-1", until, false},
		{"failed since", with(func(r *onboarding.Record) { r.State = onboarding.StateFailed }), "run-1", until, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.rec.ClaimedBy(tt.owner, tt.until); got != tt.want {
				t.Errorf("ClaimedBy = %v, want %v", got, tt.want)
			}
		})
	}
}
