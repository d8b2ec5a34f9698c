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
