package binaries

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// squatFor is how long the second customer hammers the owner's WABA.
const squatFor = 60 * time.Second

// TestWABASquatting: a second customer, with genuine onboarding links of
// their own, keeps posting bogus codes that name the owner's WABA through
// one signup function, while the owner signs up once through another. The
// squatter never proves control of the WABA (Meta refuses every code), so
// it may not write the WABA's record, take it over, or hold its lock: the
// owner onboards on the first try, and the owner's record is never
// rewritten afterwards.
func TestWABASquatting(t *testing.T) {
	squatter, owner := signupFunction(t), signupFunction(t)
	const waba, phone, ownerRef = "102000000000921", "103000000000921", "owner-921"
	store := &dynamo.Store{Client: stack.Dynamo, Table: stack.Table}
	ctx, stop := context.WithTimeout(context.Background(), squatFor)
	defer stop()

	// Bogus codes under the squatter's own genuine sessions, prepared here
	// (t.Fatal belongs to this goroutine).
	squatPayloads := make([][]byte, 16)
	for i := range squatPayloads {
		squatPayloads[i] = signupEvent(t, map[string]string{"code": "AQbogus" + randomHex(16), "waba_id": waba,
			"phone_number_id": phone, "business_id": BusinessID, "client_ref": "squatter", "session": SessionPlaceholder})
	}
	type written struct {
		state, ref, requestID string
		updated               time.Time
	}
	var (
		attempts     int
		squatAnswers = map[int]int{}
		seen         []written
		started      = make(chan struct{})
		done         = make(chan struct{})
	)
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			attempts++
			if attempts == len(squatPayloads) {
				close(started)
			}
			out, err := squatter.Invoke(context.Background(), squatPayloads[attempts%len(squatPayloads)])
			var resp events.APIGatewayV2HTTPResponse
			if err != nil || json.Unmarshal(out, &resp) != nil {
				squatAnswers[-1]++
				continue
			}
			squatAnswers[resp.StatusCode]++
			if rec, err := store.Get(context.Background(), waba); err == nil {
				seen = append(seen, written{string(rec.State), rec.ClientRef, rec.RequestID, rec.UpdatedAt})
			}
		}
	}()

	// The owner starts once the squatter has used each of its payloads.
	select {
	case <-started:
	case <-done:
		t.Fatalf("the squatter stopped after %d attempts", attempts)
	}
	payload := signupEvent(t, map[string]string{"code": CodePlaceholder, "waba_id": waba, "phone_number_id": phone,
		"business_id": BusinessID, "client_ref": ownerRef, "session": SessionPlaceholder})
	start := time.Now()
	resp := invokeHTTP(t, owner, payload)
	took := time.Since(start)
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"state":"onboarded"`) {
		t.Errorf("the owner's first try answered %d %s, want 200 onboarded", resp.StatusCode, resp.Body)
	}
	onboarded, err := store.Get(context.Background(), waba)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	final, err := store.Get(context.Background(), waba)
	if err != nil {
		t.Fatal(err)
	}
	if final.ClientRef != ownerRef || final.State != "onboarded" || final.RequestID != onboarded.RequestID || !final.UpdatedAt.Equal(onboarded.UpdatedAt) {
		t.Errorf("the owner's record was rewritten: %s %s %s %s, onboarded as %s %s", final.State, final.ClientRef, final.RequestID, final.UpdatedAt, onboarded.RequestID, onboarded.UpdatedAt)
	}
	for _, w := range seen {
		if w.ref != ownerRef {
			t.Errorf("the squatter wrote the WABA's record: %+v", w)
			break
		}
	}
	if su, ok := stack.Plivo.Onboarded(waba); !ok || su.ClientRef != ownerRef {
		t.Errorf("Plivo has %+v, %v; want the owner's signup", su, ok)
	}
	t.Logf("%d squatting attempts in %s (answers %v); the owner's signup took %s", attempts, squatFor, squatAnswers, took)
}

// noRecord fails the test when waba has a record: a signup Meta refused
// proved no control of the WABA, so may not write one.
func noRecord(t *testing.T, waba string) {
	t.Helper()
	store := &dynamo.Store{Client: stack.Dynamo, Table: stack.Table}
	if rec, err := store.Get(context.Background(), waba); !errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("record %s written by a refused signup: %+v (%v)", waba, rec, err)
	}
}

func randomHex(n int) string { return simkit.RandomString("0123456789abcdef", 2*n) }
