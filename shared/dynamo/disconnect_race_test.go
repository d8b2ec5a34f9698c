package dynamo_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

// disconnectBeforeSave is the store with Meta's disconnect webhook landing
// just before the signup's save number n (1: verified, 2: the outcome).
type disconnectBeforeSave struct {
	*dynamo.Store
	n     int32
	saves atomic.Int32
}

func (s *disconnectBeforeSave) Save(ctx context.Context, rec *onboarding.Record) (*onboarding.Record, error) {
	if s.saves.Add(1) == s.n {
		if ok, err := s.Store.Disconnect(ctx, rec.WABAID, "partner_removed", time.Now(), time.Time{}); err != nil || !ok {
			panic(fmt.Sprintf("disconnect: changed %t, %v", ok, err))
		}
	}
	return s.Store.Save(ctx, rec)
}

// TestDisconnectDuringSignup: Meta's disconnect webhook drops the signup's
// lock, so the signup's next save loses its condition. Nothing else holds
// the WABA, and the customer must share it again: the answer says so,
// rather than "in progress" (the page would poll a disconnected record for
// ever), and nothing goes to Plivo once the disconnect is recorded.
func TestDisconnectDuringSignup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		before   int32 // the save the disconnect lands before
		previous onboarding.State
		plivo    int
	}{
		{"before the verified save", 1, onboarding.StateVerifying, 0},
		{"before the outcome save, after Plivo onboarded it", 2, onboarding.StateVerified, 1},
	}
	const waba = "6200"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &disconnectBeforeSave{Store: newStore(t), n: tt.before}
			plivo := &onboardingtest.Plivo{}
			svc := &onboarding.Service{Store: store, Meta: &onboardingtest.Meta{AppID: "app"}, Plivo: plivo,
				AppID: func(context.Context) (string, error) { return "app", nil }}
			_, err := svc.Signup(context.Background(), onboarding.SignupRequest{Code: "c", RequestID: "r",
				Identity: onboarding.Identity{WABAID: waba, PhoneNumberID: "112233445566778", BusinessID: "198765432109876"}})
			if code := onboarding.ErrorCode(err); code != onboarding.CodeAccessRemoved {
				t.Errorf("answer %v, want %s", err, onboarding.CodeAccessRemoved)
			}
			rec, gerr := store.Get(context.Background(), waba)
			if gerr != nil || rec.State != onboarding.StateDisconnected || rec.PreviousState != tt.previous {
				t.Errorf("record %+v (%v), want disconnected from %s", rec, gerr, tt.previous)
			}
			if calls, _ := plivo.Counts(); calls != tt.plivo {
				t.Errorf("plivo calls = %d, want %d", calls, tt.plivo)
			}
		})
	}
}
