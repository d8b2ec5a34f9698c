package dynamo_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestHealthChangesApplyInMetaOrder: Meta's deliveries of the health
// webhooks arrive out of order as its state changes do (a delivery that
// failed comes back with decreasing frequency, for up to 7 days, and a
// later change lands first). Each health field keeps what Meta's latest
// change of that field said; a change of another field, or one without
// Meta's time, still applies.
func TestHealthChangesApplyInMetaOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const waba = "109876543219002"
	store := storeWithOnboarded(t, waba)
	clock := t0
	svc := &metawebhooks.Service{Records: store, Ledger: newCallbackLedger(t),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock }}
	deliver := func(sent time.Time, field, value string) {
		t.Helper()
		body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":%q,"time":%d,"changes":[{"field":%q,"value":%s}]}]}`,
			waba, sent.Unix(), field, value)
		if sent.IsZero() {
			body = fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":%q,"changes":[{"field":%q,"value":%s}]}]}`,
				waba, field, value)
		}
		n, err := metawebhooks.ParseNotification([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Minute)
		if _, err := svc.Handle(ctx, n, fmt.Sprintf("delivery-%d", clock.Unix())); err != nil {
			t.Fatal(err)
		}
	}
	quality := func(event, limit string) string {
		return fmt.Sprintf(`{"display_phone_number":"15550100","event":%q,"current_limit":%q}`, event, limit)
	}
	steps := []struct {
		name         string
		sent         time.Time
		field, value string
		want         onboarding.Health // UpdatedAt not compared
	}{
		{"the number is flagged", metaSent(30), metawebhooks.FieldQualityUpdate, quality("FLAGGED", "TIER_1K"),
			onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_1K"}},
		{"a quality change Meta sent before it, delivered late, changes nothing", metaSent(10), metawebhooks.FieldQualityUpdate,
			quality("UNFLAGGED", "TIER_250"), onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_1K"}},
		{"a name decision sent before it applies: another field", metaSent(5), metawebhooks.FieldNameUpdate,
			`{"display_phone_number":"15550100","decision":"APPROVED","requested_verified_name":"Acme"}`,
			onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_1K", NameStatus: "APPROVED", RequestedName: "Acme"}},
		{"a portfolio limit sent before the quality change's limit changes nothing", metaSent(20), metawebhooks.FieldCapabilityUpdate,
			`{"max_daily_conversations_per_business":250}`,
			onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_1K", NameStatus: "APPROVED", RequestedName: "Acme"}},
		{"a later one applies", metaSent(40), metawebhooks.FieldCapabilityUpdate, `{"max_daily_conversations_per_business":10000}`,
			onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_10K", NameStatus: "APPROVED", RequestedName: "Acme"}},
		{"a quality change between the two keeps its event, not its older limit", metaSent(35), metawebhooks.FieldQualityUpdate,
			quality("UNFLAGGED", "TIER_1K"),
			onboarding.Health{QualityEvent: "UNFLAGGED", MessagingLimit: "TIER_10K", NameStatus: "APPROVED", RequestedName: "Acme"}},
		// Meta's time is in whole seconds: a change of the same second
		// as the record's is not older than it.
		{"another quality change of that same second keeps its event too", metaSent(35), metawebhooks.FieldQualityUpdate,
			quality("FLAGGED", "TIER_1K"),
			onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_10K", NameStatus: "APPROVED", RequestedName: "Acme"}},
		{"a change without Meta's time is not ordered", time.Time{}, metawebhooks.FieldQualityUpdate, quality("FLAGGED", "TIER_250"),
			onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_250", NameStatus: "APPROVED", RequestedName: "Acme"}},
	}
	// Meta's times are t0 and on, which the service orders only within
	// its window around its clock.
	clock = t0
	for _, st := range steps {
		deliver(st.sent, st.field, st.value)
		got := healthOf(t, store, waba)
		if got != st.want {
			t.Errorf("%s: health %+v, want %+v", st.name, got, st.want)
		}
	}
}

// TestLockDropsTheOrderOfANumbersHealth: Meta's times order the changes of
// one number's health. Taking the lock for a signup drops what Meta said of
// a number (TestLockKeepsWhatMetaSaidOfTheWABA), and with it the times that
// ordered it: a change of the signup's number that Meta sent before the
// dropped one, and that arrives after the lock, is the only word the record
// has of that number. What was said of the WABA stays ordered.
func TestLockDropsTheOrderOfANumbersHealth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const waba = "109876543219003"
	s := newStore(t)
	if ok, err := s.PutUnclaimed(ctx, waba, "198765432109876", "partner_app_installed", t0, time.Time{}); !ok || err != nil {
		t.Fatalf("unclaimed: %t, %v", ok, err)
	}
	// The WABA's other number, reported while the record had none.
	if ok, err := s.SetHealth(ctx, waba, "15550100", onboarding.Health{QualityEvent: "FLAGGED", NameStatus: "REJECTED",
		ReviewDecision: "APPROVED", UpdatedAt: t0}, metaSent(30)); !ok || err != nil {
		t.Fatalf("health of the other number: %t, %v", ok, err)
	}
	rec := verifying(waba, owner("signup"), t0.Add(time.Minute))
	rec.DisplayPhoneNumber = "+1 555 0199"
	if _, err := s.Acquire(ctx, rec, t0); err != nil {
		t.Fatalf("lock: %v", err)
	}
	ok, err := s.SetHealth(ctx, waba, "15550199", onboarding.Health{QualityEvent: "GREEN", NameStatus: "APPROVED",
		RequestedName: "Acme", UpdatedAt: t0}, metaSent(20))
	if !ok || err != nil {
		t.Errorf("the signup's number's health, sent before the dropped one: applied %t, %v; want applied", ok, err)
	}
	if ok, err := s.SetHealth(ctx, waba, "", onboarding.Health{ReviewDecision: "REJECTED", UpdatedAt: t0}, metaSent(20)); ok || err != nil {
		t.Errorf("a WABA review sent before the kept one: applied %t, %v; want refused", ok, err)
	}
	got, err := s.Get(ctx, waba)
	if err != nil {
		t.Fatal(err)
	}
	if h := got.Health; h.QualityEvent != "GREEN" || h.NameStatus != "APPROVED" || h.ReviewDecision != "APPROVED" {
		t.Errorf("health %+v: want the signup's number GREEN and APPROVED, and the WABA's review APPROVED", h)
	}
}
