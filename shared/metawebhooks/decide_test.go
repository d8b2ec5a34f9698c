package metawebhooks_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestDecideReadsMetasDocumentedValues holds Decide to the shapes of Meta's
// webhook reference: expirations as integer Unix timestamps, the partner
// events' WABA in waba_info, the portfolio-wide messaging limit.
func TestDecideReadsMetasDocumentedValues(t *testing.T) {
	t.Parallel()
	const waba, partner = "102290129340398", "2949482758682047"
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		entryID string
		field   string
		value   string
		want    metawebhooks.Action
	}{
		{"restriction, integer expiration", waba, metawebhooks.FieldAccountUpdate,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_ADD_PHONE_NUMBER_ACTION","expiration":1641330498}]}`,
			metawebhooks.Action{Op: metawebhooks.OpRestrict, WABAID: waba, Event: "ACCOUNT_RESTRICTION",
				Reason: "account_restriction:RESTRICTED_ADD_PHONE_NUMBER_ACTION", Until: time.Unix(1641330498, 0).UTC()}},
		{"restriction, the latest of several expirations", waba, metawebhooks.FieldAccountUpdate,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"A","expiration":"2030-12-12T07:09:27.000Z"},{"restriction_type":"B","expiration":"1900000000"}]}`,
			metawebhooks.Action{Op: metawebhooks.OpRestrict, WABAID: waba, Event: "ACCOUNT_RESTRICTION",
				Reason: "account_restriction:A,B", Until: time.Date(2030, 12, 12, 7, 9, 27, 0, time.UTC)}},
		{"restriction, one of them without an end", waba, metawebhooks.FieldAccountUpdate,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"A","expiration":"2030-12-12T07:09:27.000Z"},{"restriction_type":"C","expiration":null}]}`,
			metawebhooks.Action{Op: metawebhooks.OpRestrict, WABAID: waba, Event: "ACCOUNT_RESTRICTION", Reason: "account_restriction:A,C"}},
		{"restriction, Graph's timestamp with a +0000 offset", waba, metawebhooks.FieldAccountUpdate,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":"2026-04-19T13:59:20+0000"}]}`,
			metawebhooks.Action{Op: metawebhooks.OpRestrict, WABAID: waba, Event: "ACCOUNT_RESTRICTION",
				Reason: "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING", Until: time.Date(2026, 4, 19, 13, 59, 20, 0, time.UTC)}},
		{"partner removed under the partner's business", partner, metawebhooks.FieldAccountUpdate,
			`{"event":"PARTNER_REMOVED","waba_info":{"waba_id":"` + waba + `","owner_business_id":"2329417887457253"}}`,
			metawebhooks.Action{Op: metawebhooks.OpDisconnect, WABAID: waba, Event: "PARTNER_REMOVED", Reason: "partner_removed"}},
		{"app installed under the partner's business", partner, metawebhooks.FieldAccountUpdate,
			`{"event":"PARTNER_APP_INSTALLED","waba_info":{"waba_id":"` + waba + `","owner_business_id":"2329417887457253","partner_app_id":"1"}}`,
			metawebhooks.Action{Op: metawebhooks.OpUnclaimed, WABAID: waba, BusinessID: "2329417887457253", Event: "PARTNER_APP_INSTALLED", Reason: "partner_app_installed"}},
		{"reconnected lifts only an offboarding", waba, metawebhooks.FieldAccountUpdate, `{"event":"ACCOUNT_RECONNECTED"}`,
			metawebhooks.Action{Op: metawebhooks.OpReinstate, WABAID: waba, Event: "ACCOUNT_RECONNECTED", Reason: "account_reconnected", LiftsOnly: "account_offboarded"}},
		{"quality: the portfolio limit wins", waba, metawebhooks.FieldQualityUpdate,
			`{"display_phone_number":"15550783881","event":"THROUGHPUT_UPGRADE","current_limit":"TIER_1K","max_daily_conversations_per_business":"TIER_10K"}`,
			metawebhooks.Action{Op: metawebhooks.OpHealth, WABAID: waba, Event: "THROUGHPUT_UPGRADE", PhoneDigits: "15550783881",
				Health: onboarding.Health{QualityEvent: "THROUGHPUT_UPGRADE", MessagingLimit: "TIER_10K", UpdatedAt: now}}},
		{"quality: the portfolio limit as a number", waba, metawebhooks.FieldQualityUpdate,
			`{"display_phone_number":"15550783881","event":"ONBOARDING","max_daily_conversations_per_business":2000}`,
			metawebhooks.Action{Op: metawebhooks.OpHealth, WABAID: waba, Event: "ONBOARDING", PhoneDigits: "15550783881",
				Health: onboarding.Health{QualityEvent: "ONBOARDING", MessagingLimit: "TIER_2K", UpdatedAt: now}}},
		// business_capability_update carries the portfolio's limit, shared
		// by every number of the WABA: no number is named.
		{"capability: the portfolio's messaging limit", waba, metawebhooks.FieldCapabilityUpdate,
			`{"max_daily_conversation_per_phone":2000,"max_daily_conversations_per_business":10000,"max_phone_numbers_per_business":2,"max_phone_numbers_per_waba":2}`,
			metawebhooks.Action{Op: metawebhooks.OpHealth, WABAID: waba, Event: metawebhooks.FieldCapabilityUpdate,
				Health: onboarding.Health{MessagingLimit: "TIER_10K", UpdatedAt: now}}},
		{"capability: -1 is unlimited, in Meta's tier names", waba, metawebhooks.FieldCapabilityUpdate,
			`{"max_daily_conversations_per_business":-1,"max_phone_numbers_per_business":25}`,
			metawebhooks.Action{Op: metawebhooks.OpHealth, WABAID: waba, Event: metawebhooks.FieldCapabilityUpdate,
				Health: onboarding.Health{MessagingLimit: "TIER_UNLIMITED", UpdatedAt: now}}},
		{"capability: only the retired per-phone limit", waba, metawebhooks.FieldCapabilityUpdate,
			`{"max_daily_conversation_per_phone":250,"max_phone_numbers_per_business":2}`,
			metawebhooks.Action{Op: metawebhooks.OpHealth, WABAID: waba, Event: metawebhooks.FieldCapabilityUpdate,
				Health: onboarding.Health{MessagingLimit: "TIER_250", UpdatedAt: now}}},
		{"review: the WABA's decision", waba, metawebhooks.FieldReviewUpdate, `{"decision":"REJECTED"}`,
			metawebhooks.Action{Op: metawebhooks.OpHealth, WABAID: waba, Event: "REJECTED",
				Health: onboarding.Health{ReviewDecision: "REJECTED", UpdatedAt: now}}},
		{"review: no decision", waba, metawebhooks.FieldReviewUpdate, `{}`,
			metawebhooks.Action{Op: metawebhooks.OpUnknown, WABAID: waba}},
		{"capability: number limits only", waba, metawebhooks.FieldCapabilityUpdate, `{"max_phone_numbers_per_waba":2}`,
			metawebhooks.Action{Op: metawebhooks.OpNone, WABAID: waba, Event: metawebhooks.FieldCapabilityUpdate}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := metawebhooks.Decide(metawebhooks.Entry{ID: c.entryID, Time: 1739321024},
				metawebhooks.Change{Field: c.field, Value: json.RawMessage(c.value)}, now)
			if got != c.want {
				t.Errorf("Decide =\n %+v\nwant\n %+v", got, c.want)
			}
		})
	}
}
