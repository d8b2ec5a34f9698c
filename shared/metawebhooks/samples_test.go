package metawebhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
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
		// The same reference lists the portfolio's limit in tier names,
		// and -1 (unlimited) for the per-phone key it retired.
		{"business_capability_update, a tier name", "524126980791429",
			`{"entry":[{"id":"524126980791429","time":1739321024,"changes":[{"value":{"max_daily_conversations_per_business":"TIER_UNLIMITED",` +
				`"max_phone_numbers_per_waba":25},"field":"business_capability_update"}]}],"object":"whatsapp_business_account"}`,
			onboarding.Health{MessagingLimit: "TIER_UNLIMITED"}},
		{"business_capability_update, the retired per-phone key", "524126980791429",
			`{"entry":[{"id":"524126980791429","time":1739321024,"changes":[{"value":{"max_daily_conversation_per_phone":-1,` +
				`"max_phone_numbers_per_waba":25},"field":"business_capability_update"}]}],"object":"whatsapp_business_account"}`,
			onboarding.Health{MessagingLimit: "TIER_UNLIMITED"}},
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

// TestEveryAccountUpdateEventOfMetasReference delivers each account_update
// event of Meta's current reference (account_update webhook reference,
// April 2026, and its "Reconnect offboarded coexistence clients" and
// "Partner-led business verification" pages) with every key the reference
// gives it: none may be counted as unknown, and each moves the record as
// a Tech Provider's operator expects, or leaves it as it is.
func TestEveryAccountUpdateEventOfMetasReference(t *testing.T) {
	t.Parallel()
	const waba, customer, ourApp = "102290129340398", "2729063490586005", "1234567890123456"
	onboarded, restricted := onboarding.StateOnboarded, onboarding.StateRestricted
	mps := `"waba_info":{"waba_id":"` + waba + `","owner_business_id":"` + customer + `","partner_app_id":"` + ourApp + `",` +
		`"solution_id":"1322545439218045","solution_partner_business_ids":["` + partnerBusiness + `","506914307656634"]}`
	cases := []struct {
		name, entryID, value string
		from                 onboarding.State // "" : no record
		fromReason           string
		want                 onboarding.State
		wantReason           string
	}{
		{"deleted", waba, `{"event":"ACCOUNT_DELETED"}`, onboarded, "", onboarding.StateDisconnected, "account_deleted"},
		{"restricted", waba, `{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":1767225600}]}`,
			onboarded, "", restricted, "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING"},
		{"violation", waba, `{"event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"SCAM"}}`,
			onboarded, "", restricted, "account_violation:SCAM"},
		{"disabled", waba, `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"DISABLE","waba_ban_date":"December 7, 2026"}}`,
			onboarded, "", restricted, "disabled_update:DISABLE (December 7, 2026)"},
		{"reinstated", waba, `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"REINSTATE","waba_ban_date":"December 8, 2026"}}`,
			restricted, "disabled_update:DISABLE", onboarded, "reinstated"},
		{"offboarded", waba, `{"event":"ACCOUNT_OFFBOARDED"}`, onboarded, "", restricted, "account_offboarded"},
		{"reconnected", waba, `{"event":"ACCOUNT_RECONNECTED"}`, restricted, "account_offboarded", onboarded, "account_reconnected"},
		{"app installed through a Multi-Partner Solution", partnerBusiness, `{"event":"PARTNER_APP_INSTALLED",` + mps + `}`,
			"", "", onboarding.StateUnclaimed, "partner_app_installed"},
		{"added through a Multi-Partner Solution", partnerBusiness, `{"event":"PARTNER_ADDED",` + strings.Replace(mps, `"partner_app_id":"`+ourApp+`",`, "", 1) + `}`,
			"", "", onboarding.StateUnclaimed, "partner_added"},
		{"app uninstalled", partnerBusiness, `{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":"` + waba + `","owner_business_id":"` + customer +
			`","partner_app_id":"` + ourApp + `"}}`, onboarded, "", onboarding.StateDisconnected, "partner_app_uninstalled"},
		{"removed, with why", partnerBusiness, `{"event":"PARTNER_REMOVED","waba_info":{"waba_id":"` + waba + `","owner_business_id":"` + customer +
			`"},"disconnection_info":{"reason":"PRIMARY_INACTIVITY","initiated_by":"SYSTEM"}}`, onboarded, "", onboarding.StateDisconnected, "partner_removed"},
		{"authentication-international rates", waba, `{"event":"AUTH_INTL_PRICE_ELIGIBILITY_UPDATE","auth_international_rate_eligibility":` +
			`{"exception_countries":[{"country_code":"ID","start_time":1767225600}],"start_time":1767225600}}`, onboarded, "", onboarded, ""},
		{"primary business location", waba, `{"event":"BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE","country":"IN"}`, onboarded, "", onboarded, ""},
		{"ad account linked", waba, `{"event":"AD_ACCOUNT_LINKED","waba_info":{"waba_id":"` + waba + `","ad_account_linked":"act_1234",` +
			`"owner_business_id":"` + customer + `"}}`, onboarded, "", onboarded, ""},
		{"MM API terms signed", waba, `{"event":"MM_LITE_TERMS_SIGNED","waba_info":{"waba_id":"` + waba + `","owner_business_id":"` + customer + `"}}`,
			onboarded, "", onboarded, ""},
		{"volume-based pricing tier", waba, `{"event":"VOLUME_BASED_PRICING_TIER_UPDATE","volume_tier_info":{"tier_update_time":1764547200,` +
			`"pricing_category":"UTILITY","tier":"25000001:50000000","effective_month":"2026-12","region":"INDIA"}}`, onboarded, "", onboarded, ""},
		{"partner-led business verification", waba, `{"event":"PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE","partner_client_certification_info":` +
			`{"client_business_id":"` + customer + `","status":"APPROVED","rejection_reasons":["NONE"]}}`, onboarded, "", onboarded, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			recs, led := newRecords(), callbackstest.NewLedger()
			if c.from != "" {
				recs.state[waba], recs.reason[waba] = c.from, c.fromReason
			}
			body := accountUpdate(c.entryID, c.value)
			resp, _ := newReceiver(recs, led).Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if recs.state[waba] != c.want || recs.reason[waba] != c.wantReason && c.wantReason != "" {
				t.Errorf("record %s (%q), want %s (%q)", recs.state[waba], recs.reason[waba], c.want, c.wantReason)
			}
			for _, e := range led.Entries() {
				if e.Fields.Get("value") != "" || e.Reason == string(metawebhooks.OpUnknown) {
					t.Errorf("Meta's documented shape was kept as not fully known: %v", e.Fields)
				}
			}
		})
	}
}

// TestMetasMessagingSamplesLeaveRecordsAlone delivers the examples of
// Meta's messages and template webhook references (an inbound text, a
// delivered status with pricing, a failed status with errors, a template
// approved, rejected, re-categorised and its quality changed), with our
// WABA and number in place of Meta's placeholders. Meta sends them to any
// app subscribed to those fields, and the messages examples carry no
// entry time. None is about onboarding: each is answered 200 and kept
// as unknown, and the record's state and health stay as they were.
func TestMetasMessagingSamplesLeaveRecordsAlone(t *testing.T) {
	t.Parallel()
	const waba, phoneID = "102290129340398", "106540352242922"
	metadata := `"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + phoneID + `"}`
	messages := func(value string) string {
		return `{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","changes":[{"value":{` + metadata + `,` + value +
			`},"field":"messages"}]}]}`
	}
	template := func(field, value string) string {
		return `{"entry":[{"id":"` + waba + `","time":1674864290,"changes":[{"value":` + value + `,"field":"` + field + `"}]}],` +
			`"object":"whatsapp_business_account"}`
	}
	cases := []struct{ name, body string }{
		{"messages, inbound text", messages(`"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],` +
			`"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",` +
			`"timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]`)},
		{"messages, delivered status", messages(`"statuses":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA",` +
			`"status":"delivered","timestamp":"1750263773","recipient_id":"16505551234",` +
			`"conversation":{"id":"6ceb9d929c1b2fb3d5a5ff3d3e4a1b2c","expiration_timestamp":"1750350173","origin":{"type":"marketing"}},` +
			`"pricing":{"billable":true,"pricing_model":"PMP","category":"marketing","type":"regular"}}]`)},
		{"messages, failed status", messages(`"statuses":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA",` +
			`"status":"failed","timestamp":"1750263773","recipient_id":"16505551234",` +
			`"errors":[{"code":131049,"title":"This message was not delivered to maintain healthy ecosystem engagement.",` +
			`"message":"This message was not delivered to maintain healthy ecosystem engagement.",` +
			`"error_data":{"details":"In order to maintain a healthy ecosystem engagement, the message failed to be delivered."},` +
			`"href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]}]`)},
		{"message_template_status_update, approved", template("message_template_status_update",
			`{"event":"APPROVED","message_template_id":806312974732579,"message_template_name":"welcome_template",`+
				`"message_template_language":"en-US","reason":"NONE","message_template_category":"UTILITY"}`)},
		{"message_template_status_update, rejected", template("message_template_status_update",
			`{"event":"REJECTED","message_template_id":806312974732579,"message_template_name":"welcome_template",`+
				`"message_template_language":"en-US","reason":"INCORRECT_CATEGORY",`+
				`"rejection_info":{"reason":"The template's content does not match its category.","recommendation":"Choose MARKETING."}}`)},
		{"template_category_update", template("template_category_update",
			`{"message_template_id":806312974732579,"message_template_name":"welcome_template","message_template_language":"en-US",`+
				`"previous_category":"UTILITY","new_category":"MARKETING","correct_category":"MARKETING"}`)},
		{"message_template_quality_update", template("message_template_quality_update",
			`{"previous_quality_score":"GREEN","new_quality_score":"YELLOW","message_template_id":806312974732579,`+
				`"message_template_name":"welcome_template","message_template_language":"en-US"}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			recs, led := newRecords(), callbackstest.NewLedger()
			recs.state[waba] = onboarding.StateOnboarded
			resp, _ := newReceiver(recs, led).Handle(context.Background(), post(c.body, metawebhooks.Sign(appSecret, []byte(c.body))))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if recs.state[waba] != onboarding.StateOnboarded || recs.health[waba] != (onboarding.Health{}) {
				t.Errorf("record %s, health %+v: a message or template webhook changed it", recs.state[waba], recs.health[waba])
			}
			if led.Len() != 1 || led.Entries()[0].Reason != string(metawebhooks.OpUnknown) {
				t.Fatalf("ledger %+v, want the change kept once as unknown", led.Entries())
			}
			// The messages field carries the customer's own customers:
			// their words, names and numbers are not ours to keep. What
			// arrived stays readable by its size, digest and keys.
			kept := led.Entries()[0].Fields
			personal := strings.HasPrefix(c.name, "messages")
			for _, words := range []string{"Does it come in another color?", "Sheena Nelson", "16505551234"} {
				if stored := strings.Contains(fmt.Sprint(kept), words); stored && personal {
					t.Errorf("the ledger keeps %q: %v", words, kept)
				}
			}
			if personal && (kept.Get("value_bytes") == "" || kept.Get("value_sha256") == "" || len(kept["unknown_keys"]) == 0) {
				t.Errorf("ledger fields %v, want the value's size, digest and keys", kept)
			}
			if !personal && !strings.Contains(kept.Get("value"), "806312974732579") {
				t.Errorf("ledger fields %v, want a template change kept whole for the operator", kept)
			}
		})
	}
}
