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
		{"after expiry, before TTL deletion", "111", "body-b", exp.Add(time.Second), exp.Add(time.Hour), false},
		{"then bound to the new body", "111", "body-a", exp.Add(2 * time.Second), exp.Add(time.Hour), true},
	}
	for _, st := range steps {
		err := l.Spend(ctx, st.nonce, st.hash, st.exp, st.now)
		if got := errors.Is(err, callbacks.ErrNonceReused); got != st.reused || (err != nil && !got) {
			t.Errorf("%s: Spend = %v, want reused %v", st.name, err, st.reused)
		}
	}
}
