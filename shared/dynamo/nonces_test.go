package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
)

// TestNonceLedger holds the V2 nonce ledger to its contract on DynamoDB
// Local: a nonce belongs to the first body it came with until it expires.
func TestNonceLedger(t *testing.T) {
	t.Parallel()
	client := testenv.DynamoClient("")
	l := &dynamo.NonceLedger{Client: client, Table: testenv.MustCreateTable(t, client, "DedupTable")}
	ctx := context.Background()
	exp := t0.Add(time.Hour)
	steps := []struct {
		name        string
		nonce, hash string
		now, exp    time.Time
		reused      bool
	}{
		{"first use", "111", "body-a", t0, exp, false},
		{"Plivo's retry of the same body", "111", "body-a", t0.Add(time.Minute), exp, false},
		{"another body with the same nonce", "111", "body-b", t0.Add(2 * time.Minute), exp, true},
		{"another nonce", "222", "body-b", t0, exp, false},
		// A nonce is held up to its expiry, that second included.
		{"a third nonce", "333", "body-c", t0, exp, false},
		{"at its expiry, still bound", "333", "body-d", exp, exp.Add(time.Hour), true},
		{"after expiry, before TTL deletion", "111", "body-b", exp.Add(time.Second), exp.Add(time.Hour), false},
		{"then bound to the new body", "111", "body-a", exp.Add(2 * time.Second), exp.Add(time.Hour), true},
	}
	for _, st := range steps {
		err := l.Spend(ctx, callbacks.SchemeV2, st.nonce, st.hash, st.exp, st.now)
		if got := errors.Is(err, callbacks.ErrNonceReused); got != st.reused || (err != nil && !got) {
			t.Errorf("%s: Spend = %v, want reused %v", st.name, err, st.reused)
		}
	}
	// A V3 nonce lives apart from V2's: the same text from the other
	// scheme is another nonce.
	if err := l.Spend(ctx, callbacks.SchemeV3, "222", "body-c", exp, t0); err != nil {
		t.Errorf("V3 nonce equal to a spent V2 one: %v, want it new", err)
	}
	if err := l.Spend(ctx, callbacks.SchemeV3, "222", "body-d", exp, t0); !errors.Is(err, callbacks.ErrNonceReused) {
		t.Errorf("V3 nonce with another body: %v, want reused", err)
	}
}
