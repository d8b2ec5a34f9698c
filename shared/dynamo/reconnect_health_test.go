package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

// healthBetween reports a number's quality from Meta's webhook right after
// the signup's first lock attempt, which a reconnect makes before it takes
// the disconnected record over, and right before its first save.
type healthBetween struct {
	*dynamo.Store
	t        *testing.T
	acquires int
	saves    int
	quality  map[string]string // "acquire"/"save" → the quality reported there
}

func (s *healthBetween) report(ctx context.Context, waba, where string, at time.Time) {
	if q := s.quality[where]; q != "" {
		if _, err := s.Store.SetHealth(ctx, waba, "15550100100", onboarding.Health{QualityEvent: q, UpdatedAt: at}, time.Time{}); err != nil {
			s.t.Errorf("set health: %v", err)
		}
	}
}

func (s *healthBetween) Acquire(ctx context.Context, rec *onboarding.Record, now time.Time) (*onboarding.Record, error) {
	existing, err := s.Store.Acquire(ctx, rec, now)
	if s.acquires++; s.acquires == 1 {
		s.report(ctx, rec.WABAID, "acquire", now.Add(time.Millisecond))
	}
	return existing, err
}

func (s *healthBetween) Save(ctx context.Context, rec *onboarding.Record) (*onboarding.Record, error) {
	if s.saves++; s.saves == 1 {
		s.report(ctx, rec.WABAID, "save", time.Now())
	}
	return s.Store.Save(ctx, rec)
}

// TestSignupKeepsMetasLatestHealth: only Meta's webhooks write a number's
// health. A reconnect's takeover and a signup's saves write a copy of the
// record read earlier (the reconnect read it in its first lock attempt); a
// quality report landing in between must survive.
func TestSignupKeepsMetasLatestHealth(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, where string }{
		{"reported between the reconnect's two lock writes", "acquire"},
		{"reported while the reconnect is verified", "save"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := &healthBetween{Store: newStore(t), t: t, quality: map[string]string{c.where: "FLAGGED"}}
			const waba = "109876543219006"
			old := &onboarding.Record{WABAID: waba, State: onboarding.StateOnboarded, PhoneNumberID: "112233445566778", BusinessID: "198765432109876",
				ClientRef: "customer-1", DisplayPhoneNumber: "+1 555-010-0100", CreatedAt: t0, UpdatedAt: t0}
			if _, err := s.Store.Acquire(ctx, old, t0); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Store.SetHealth(ctx, waba, "15550100100", onboarding.Health{QualityEvent: "GREEN", UpdatedAt: t0}, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Store.Disconnect(ctx, waba, "partner_removed", t0, time.Time{}); err != nil {
				t.Fatal(err)
			}
			meta := &onboardingtest.Meta{AppID: "app", Numbers: func(string) ([]onboarding.PhoneNumber, error) {
				return []onboarding.PhoneNumber{{ID: "112233445566778", DisplayPhoneNumber: "+1 555-010-0100", CodeVerificationStatus: "VERIFIED"}}, nil
			}}
			plivo := &onboardingtest.Plivo{Err: &onboarding.UpstreamError{Service: onboarding.ServicePlivo, Kind: onboarding.KindAlreadyRegistered, Status: 400}}
			svc := &onboarding.Service{Store: s, Meta: meta, Plivo: plivo, AppID: func(context.Context) (string, error) { return "app", nil }}
			res, err := svc.Signup(ctx, onboarding.SignupRequest{Code: "c", RequestID: "r",
				Identity: onboarding.Identity{WABAID: waba, PhoneNumberID: "112233445566778", BusinessID: "198765432109876", ClientRef: "customer-1"}})
			if err != nil || res.Outcome != onboarding.OutcomeOnboarded {
				t.Fatalf("reconnect: %s, %v", res.Outcome, err)
			}
			rec, err := s.Get(ctx, waba)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Health.QualityEvent != "FLAGGED" {
				t.Errorf("Meta's latest quality (FLAGGED) became %q", rec.Health.QualityEvent)
			}
		})
	}
}
