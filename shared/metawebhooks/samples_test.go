package metawebhooks_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/callbacks/callbackstest"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestMetasReferenceSamples delivers the example payloads of Meta's
// current webhook reference pages (developers.facebook.com/documentation/
// business-messaging/whatsapp/webhooks/reference/<field>), byte for byte
// as Meta shows them, and the throughput page's THROUGHPUT_UPGRADE: each
// must reach the record's health, and none may be kept as unknown.
func TestMetasReferenceSamples(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, waba, body string
		want             onboarding.Health
	}{
		{"phone_number_quality_update", "102290129340398",
			`{"entry":[{"id":"102290129340398","time":1748454394,"changes":[{"value":{"display_phone_number":"15550783881",` +
				`"event":"THROUGHPUT_UPGRADE","current_limit":"TIER_UNLIMITED"},"field":"phone_number_quality_update"}]}],` +
				`"object":"whatsapp_business_account"}`,
			onboarding.Health{QualityEvent: "THROUGHPUT_UPGRADE", MessagingLimit: "TIER_UNLIMITED"}},
		// The throughput page: "a phone_number_quality_update webhook will
		// be triggered with event set to THROUGHPUT_UPGRADE and
		// max_daily_conversations_per_business set to TIER_UNLIMITED".
		{"phone_number_quality_update, throughput upgrade", "102290129340398",
			`{"entry":[{"id":"102290129340398","time":1748454394,"changes":[{"value":{"display_phone_number":"15550783881",` +
				`"event":"THROUGHPUT_UPGRADE","max_daily_conversations_per_business":"TIER_UNLIMITED"},"field":"phone_number_quality_update"}]}],` +
				`"object":"whatsapp_business_account"}`,
			onboarding.Health{QualityEvent: "THROUGHPUT_UPGRADE", MessagingLimit: "TIER_UNLIMITED"}},
		{"phone_number_quality_update, every documented key", "102290129340398",
			`{"entry":[{"id":"102290129340398","time":1739321024,"changes":[{"value":{"display_phone_number":"15550783881",` +
				`"event":"ONBOARDING","old_limit":"TIER_250","current_limit":"TIER_2K","max_daily_conversations_per_business":"TIER_2K"},` +
				`"field":"phone_number_quality_update"}]}],"object":"whatsapp_business_account"}`,
			onboarding.Health{QualityEvent: "ONBOARDING", MessagingLimit: "TIER_2K"}},
		{"phone_number_name_update", "102290129340398",
			`{"entry":[{"id":"102290129340398","time":1739321024,"changes":[{"value":{"display_phone_number":"15550783881",` +
				`"decision":"APPROVED","requested_verified_name":"Lucky Shrub","rejection_reason":null},"field":"phone_number_name_update"}]}],` +
				`"object":"whatsapp_business_account"}`,
			onboarding.Health{NameStatus: "APPROVED", RequestedName: "Lucky Shrub"}},
		{"account_review_update", "102290129340398",
			`{"entry":[{"id":"102290129340398","time":1739321024,"changes":[{"value":{"decision":"APPROVED"},` +
				`"field":"account_review_update"}]}],"object":"whatsapp_business_account"}`,
			onboarding.Health{ReviewDecision: "APPROVED"}},
		{"business_capability_update", "524126980791429",
			`{"entry":[{"id":"524126980791429","time":1739321024,"changes":[{"value":{"max_daily_conversations_per_business":2000,` +
				`"max_phone_numbers_per_waba":25},"field":"business_capability_update"}]}],"object":"whatsapp_business_account"}`,
			onboarding.Health{MessagingLimit: "TIER_2K"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			recs, led := newRecords(), callbackstest.NewLedger()
			recs.state[c.waba] = onboarding.StateOnboarded
			resp, _ := newReceiver(recs, led).Handle(context.Background(), post(c.body, metawebhooks.Sign(appSecret, []byte(c.body))))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			for _, e := range led.Entries() {
				if e.Fields.Get("value") != "" {
					t.Errorf("Meta's sample was kept as not fully known: %v", e.Fields)
				}
			}
			got := recs.health[c.waba]
			got.UpdatedAt = c.want.UpdatedAt
			if got != c.want {
				t.Errorf("health %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestPortfolioLimitOfAnotherNumberReachesTheRecord: a record keeps one of
// its WABA's numbers, and a phone_number_quality_update about another one
// (added later, in Plivo's console) still carries the business portfolio's
// messaging limit, which Meta's messaging-limits page says "all business
// phone numbers within a portfolio" share. The limit reaches the record;
// the other number's event, and its retired per-number current_limit, do
// not.
func TestPortfolioLimitOfAnotherNumberReachesTheRecord(t *testing.T) {
	t.Parallel()
	const waba, ours, other = "102290129340398", "15550783881", "15550783882"
	quality := func(number, value string) string {
		return `{"entry":[{"id":"` + waba + `","time":1739321024,"changes":[{"value":{"display_phone_number":"` + number + `",` + value +
			`},"field":"phone_number_quality_update"}]}],"object":"whatsapp_business_account"}`
	}
	cases := []struct {
		name, body string
		want       onboarding.Health
	}{
		{"the throughput page's upgrade of another number", quality(other, `"event":"THROUGHPUT_UPGRADE","max_daily_conversations_per_business":"TIER_UNLIMITED"`),
			onboarding.Health{MessagingLimit: "TIER_UNLIMITED"}},
		{"another number's change with both limits", quality(other, `"event":"ONBOARDING","current_limit":"TIER_250","max_daily_conversations_per_business":"TIER_10K"`),
			onboarding.Health{MessagingLimit: "TIER_10K"}},
		// TIER_NOT_SET says the number "has not been used to send a
		// message yet": the number's state, not the portfolio's limit.
		{"another new number's TIER_NOT_SET", quality(other, `"event":"ONBOARDING","max_daily_conversations_per_business":"TIER_NOT_SET"`),
			onboarding.Health{}},
		{"another number's retired per-number limit alone", quality(other, `"event":"THROUGHPUT_UPGRADE","current_limit":"TIER_UNLIMITED"`),
			onboarding.Health{}},
		{"the record's own number", quality(ours, `"event":"THROUGHPUT_UPGRADE","max_daily_conversations_per_business":"TIER_UNLIMITED"`),
			onboarding.Health{QualityEvent: "THROUGHPUT_UPGRADE", MessagingLimit: "TIER_UNLIMITED"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			recs, led := newRecords(), callbackstest.NewLedger()
			recs.state[waba], recs.phone[waba] = onboarding.StateOnboarded, ours
			resp, _ := newReceiver(recs, led).Handle(context.Background(), post(c.body, metawebhooks.Sign(appSecret, []byte(c.body))))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			got := recs.health[waba]
			got.UpdatedAt = time.Time{}
			if got != c.want {
				t.Errorf("health %+v, want %+v", got, c.want)
			}
		})
	}
}
