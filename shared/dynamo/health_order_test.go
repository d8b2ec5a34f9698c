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
		{"a change without Meta's time is not ordered", time.Time{}, metawebhooks.FieldQualityUpdate, quality("FLAGGED", "TIER_250"),
			onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_250", NameStatus: "APPROVED", RequestedName: "Acme"}},
	}
	// Meta's times are t0 and on, which the service orders only within
	// its window around its clock.
	clock = t0
	for _, st := range steps {
		deliver(st.sent, st.field, st.value)
		rec, err := store.Get(ctx, waba)
		if err != nil {
			t.Fatal(err)
		}
		got := rec.Health
		got.UpdatedAt = time.Time{}
		if got != st.want {
			t.Errorf("%s: health %+v, want %+v", st.name, got, st.want)
		}
	}
}
