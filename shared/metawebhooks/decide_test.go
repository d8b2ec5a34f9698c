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
			metawebhooks.Action{Op: metawebhooks.OpUnclaimed, WABAID: waba, BusinessID: "2329417887457253", Event: "PARTNER_APP_INSTALLED", Reason: "partner_app_installed", PartnerAppID: "1"}},
		{"reconnected lifts only an offboarding", waba, metawebhooks.FieldAccountUpdate, `{"event":"ACCOUNT_RECONNECTED"}`,
			metawebhooks.Action{Op: metawebhooks.OpReinstate, WABAID: waba, Event: "ACCOUNT_RECONNECTED", Reason: "account_reconnected", LiftsOnly: "account_offboarded"}},
		{"quality: the portfolio limit wins", waba, metawebhooks.FieldQualityUpdate,
			`{"display_phone_number":"15550783881","event":"THROUGHPUT_UPGRADE","current_limit":"TIER_1K","max_daily_conversations_per_business":"TIER_10K"}`,
			metawebhooks.Action{Op: metawebhooks.OpHealth, WABAID: waba, Event: "THROUGHPUT_UPGRADE", PhoneDigits: "15550783881",
				Health: onboarding.Health{QualityEvent: "THROUGHPUT_UPGRADE", MessagingLimit: "TIER_10K", UpdatedAt: now}, PortfolioLimit: "TIER_10K"}},
		{"quality: the portfolio limit as a number", waba, metawebhooks.FieldQualityUpdate,
			`{"display_phone_number":"15550783881","event":"ONBOARDING","max_daily_conversations_per_business":2000}`,
			metawebhooks.Action{Op: metawebhooks.OpHealth, WABAID: waba, Event: "ONBOARDING", PhoneDigits: "15550783881",
				Health: onboarding.Health{QualityEvent: "ONBOARDING", MessagingLimit: "TIER_2K", UpdatedAt: now}, PortfolioLimit: "TIER_2K"}},
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

// TestDecideReadsValuesLeniently: only the event (or decision) of a value
// is read strictly. Every other scalar is read as a string or a number, a
// single object where Meta documents a list and a list of one where it
// documents an object, and keys this package never reads do not matter:
// a change Meta sends in another shape than its reference must still
// disconnect, restrict or update the record, not be stored as unknown and
// acknowledged.
func TestDecideReadsValuesLeniently(t *testing.T) {
	t.Parallel()
	const waba, partner, owner = "102290129340398", "2949482758682047", "2329417887457253"
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	account, quality, name, capability, review := metawebhooks.FieldAccountUpdate, metawebhooks.FieldQualityUpdate,
		metawebhooks.FieldNameUpdate, metawebhooks.FieldCapabilityUpdate, metawebhooks.FieldReviewUpdate
	disconnected := metawebhooks.Action{Op: metawebhooks.OpDisconnect, WABAID: waba, Event: "PARTNER_APP_UNINSTALLED", Reason: "partner_app_uninstalled"}
	uninstalledBy := func(app string) metawebhooks.Action {
		a := disconnected
		a.PartnerAppID = app
		return a
	}
	restricted := func(reason string, until time.Time) metawebhooks.Action {
		return metawebhooks.Action{Op: metawebhooks.OpRestrict, WABAID: waba, Event: "ACCOUNT_RESTRICTION", Reason: reason, Until: until}
	}
	disabled := func(reason string) metawebhooks.Action {
		return metawebhooks.Action{Op: metawebhooks.OpRestrict, WABAID: waba, Event: "DISABLED_UPDATE", Reason: reason}
	}
	health := func(event, digits string, h onboarding.Health) metawebhooks.Action {
		h.UpdatedAt = now
		return metawebhooks.Action{Op: metawebhooks.OpHealth, WABAID: waba, Event: event, PhoneDigits: digits, Health: h}
	}
	withPortfolio := func(a metawebhooks.Action, limit string) metawebhooks.Action {
		a.PortfolioLimit = limit
		return a
	}
	unknown := metawebhooks.Action{Op: metawebhooks.OpUnknown, WABAID: waba}
	cases := []struct {
		name, entryID, field, value string
		want                        metawebhooks.Action
	}{
		// account_update
		{"uninstall, partner_app_id a number", partner, account,
			`{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":"` + waba + `","owner_business_id":"` + owner + `","partner_app_id":1234567890}}`, uninstalledBy("1234567890")},
		{"uninstall, waba_id a number", partner, account,
			`{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":` + waba + `,"owner_business_id":` + owner + `}}`, disconnected},
		{"uninstall, waba_info a list of one", partner, account,
			`{"event":"PARTNER_APP_UNINSTALLED","waba_info":[{"waba_id":"` + waba + `"}]}`, disconnected},
		{"uninstall, waba_info not an object: the entry's WABA", waba, account,
			`{"event":"PARTNER_APP_UNINSTALLED","waba_info":"` + partner + `"}`, disconnected},
		{"uninstall, unread keys of any shape", waba, account,
			`{"event":"PARTNER_APP_UNINSTALLED","disconnection_info":"x","lock_status":{"a":[1]},"phone_number":15550783881,"country":null}`, disconnected},
		{"installed, owner_business_id a number", partner, account,
			`{"event":"PARTNER_APP_INSTALLED","waba_info":{"waba_id":"` + waba + `","owner_business_id":` + owner + `,"partner_app_id":1}}`,
			metawebhooks.Action{Op: metawebhooks.OpUnclaimed, WABAID: waba, BusinessID: owner, Event: "PARTNER_APP_INSTALLED", Reason: "partner_app_installed", PartnerAppID: "1"}},
		{"uninstall, partner_app_id a string", partner, account,
			`{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":"` + waba + `","partner_app_id":"1234567890"}}`, uninstalledBy("1234567890")},
		{"uninstall, partner_app_id of another type: none", partner, account,
			`{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":"` + waba + `","partner_app_id":{"id":1}}}`, disconnected},
		// Only an ID in Meta's form can be told apart from ours: one in
		// another (an exponent, a fraction, text) might be ours, and an
		// uninstall of ours taken for another app's would be lost.
		{"uninstall, partner_app_id with an exponent: none", partner, account,
			`{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":"` + waba + `","partner_app_id":1.23456789e9}}`, disconnected},
		{"uninstall, partner_app_id not digits: none", partner, account,
			`{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":"` + waba + `","partner_app_id":" 1234567890"}}`, disconnected},
		{"restriction, restriction_info a single object", waba, account,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":{"restriction_type":"RESTRICTED_ADD_PHONE_NUMBER_ACTION","expiration":1641330498}}`,
			restricted("account_restriction:RESTRICTED_ADD_PHONE_NUMBER_ACTION", time.Unix(1641330498, 0).UTC())},
		{"restriction, expiration a numeric string", waba, account,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":"1641330498"}]}`,
			restricted("account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING", time.Unix(1641330498, 0).UTC())},
		{"restriction, an element that is not a restriction", waba, account,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":["RESTRICTED_X",{"restriction_type":"A","expiration":1641330498}]}`,
			restricted("account_restriction:A", time.Unix(1641330498, 0).UTC())},
		// An expiration of 0 (or below) is no end, not 1970: a restriction
		// ended then would be lifted at once.
		{"restriction, expiration 0: no end", waba, account,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"A","expiration":0}]}`,
			restricted("account_restriction:A", time.Time{})},
		{"restriction, expiration negative: no end", waba, account,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"A","expiration":"-1"}]}`,
			restricted("account_restriction:A", time.Time{})},
		// Meta documents seconds; other Meta webhooks stamp milliseconds.
		// Read as seconds, 1796666400000 is the year 58904: a restriction
		// that never lifts, with an end no RFC 3339 reader accepts.
		{"restriction, expiration in milliseconds", waba, account,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"A","expiration":1796666400000}]}`,
			restricted("account_restriction:A", time.Unix(1796666400, 0).UTC())},
		{"restriction, expiration in milliseconds as a string", waba, account,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"A","expiration":"1796666400250"}]}`,
			restricted("account_restriction:A", time.UnixMilli(1796666400250).UTC())},
		{"restriction, expiration past the year 9999: no end", waba, account,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"A","expiration":999999999999999999}]}`,
			restricted("account_restriction:A", time.Time{})},
		{"restriction, restriction_info not a list: no end", waba, account,
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":"RESTRICTED_X"}`, restricted("account_restriction", time.Time{})},
		{"violation, violation_info a list of one with a number", waba, account,
			`{"event":"ACCOUNT_VIOLATION","violation_info":[{"violation_type":42}]}`,
			metawebhooks.Action{Op: metawebhooks.OpRestrict, WABAID: waba, Event: "ACCOUNT_VIOLATION", Reason: "account_violation:42"}},
		{"disabled, waba_ban_date a number", waba, account,
			`{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":["DISABLE"],"waba_ban_date":1696809600}}`,
			disabled("disabled_update:DISABLE (1696809600)")},
		{"disabled, ban_info a list of one", waba, account,
			`{"event":"DISABLED_UPDATE","ban_info":[{"waba_ban_state":"SCHEDULE_FOR_DISABLE","waba_ban_date":"October 9, 2023"}]}`,
			disabled("disabled_update:SCHEDULE_FOR_DISABLE (October 9, 2023)")},
		{"disabled, ban_info not an object", waba, account, `{"event":"DISABLED_UPDATE","ban_info":"DISABLE"}`, disabled("disabled_update")},
		{"reinstated, waba_ban_date a number", waba, account,
			`{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"REINSTATE","waba_ban_date":0}}`,
			metawebhooks.Action{Op: metawebhooks.OpReinstate, WABAID: waba, Event: "DISABLED_UPDATE", Reason: "reinstated"}},
		{"event a number: unknown", waba, account, `{"event":5,"waba_info":{"waba_id":"` + waba + `"}}`, unknown},
		{"event missing: unknown", waba, account, `{"waba_info":{"waba_id":"` + waba + `"}}`, unknown},
		{"value not an object: unknown", waba, account, `["PARTNER_APP_UNINSTALLED"]`, unknown},

		// phone_number_quality_update
		{"quality, current_limit a number", waba, quality,
			`{"display_phone_number":"15550783881","event":"UPGRADE","current_limit":10000,"old_limit":2000}`,
			health("UPGRADE", "15550783881", onboarding.Health{QualityEvent: "UPGRADE", MessagingLimit: "TIER_10K"})},
		{"quality, the portfolio limit a numeric string", waba, quality,
			`{"display_phone_number":"15550783881","event":"UPGRADE","current_limit":"TIER_1K","max_daily_conversations_per_business":"100000"}`,
			withPortfolio(health("UPGRADE", "15550783881", onboarding.Health{QualityEvent: "UPGRADE", MessagingLimit: "TIER_100K"}), "TIER_100K")},
		{"quality, display_phone_number a number", waba, quality,
			`{"display_phone_number":15550783881,"event":"FLAGGED","current_limit":"TIER_250","old_limit":{"x":1}}`,
			health("FLAGGED", "15550783881", onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_250"})},
		{"quality, event a number: unknown", waba, quality, `{"display_phone_number":"15550783881","event":1,"current_limit":"TIER_250"}`, unknown},

		// phone_number_name_update
		{"name, display_phone_number and requested name numbers", waba, name,
			`{"display_phone_number":15550783881,"decision":"APPROVED","requested_verified_name":2024,"rejection_reason":{"code":1}}`,
			health("APPROVED", "15550783881", onboarding.Health{NameStatus: "APPROVED", RequestedName: "2024"})},
		{"name, decision a number: unknown", waba, name, `{"display_phone_number":"15550783881","decision":1}`, unknown},
		{"name, no display_phone_number: unknown", waba, name, `{"decision":"APPROVED","requested_verified_name":"Acme"}`, unknown},
		{"name, no decision: unknown", waba, name, `{"display_phone_number":"15550783881","requested_verified_name":"Acme"}`, unknown},

		// business_capability_update
		{"capability, limits as numeric strings", waba, capability,
			`{"max_daily_conversation_per_phone":"250","max_daily_conversations_per_business":"2000","max_phone_numbers_per_business":"2"}`,
			metawebhooks.Action{Op: metawebhooks.OpHealth, WABAID: waba, Event: capability, Health: onboarding.Health{MessagingLimit: "TIER_2K", UpdatedAt: now}}},
		{"capability, the portfolio limit not a scalar: the retired one", waba, capability,
			`{"max_daily_conversation_per_phone":250,"max_daily_conversations_per_business":{"limit":2000}}`,
			metawebhooks.Action{Op: metawebhooks.OpHealth, WABAID: waba, Event: capability, Health: onboarding.Health{MessagingLimit: "TIER_250", UpdatedAt: now}}},

		// account_review_update
		{"review, unread keys of any shape", waba, review, `{"decision":"APPROVED","reason":{"x":1}}`,
			health("APPROVED", "", onboarding.Health{ReviewDecision: "APPROVED"})},
		{"review, decision a number: unknown", waba, review, `{"decision":1}`, unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := metawebhooks.Decide(metawebhooks.Entry{ID: c.entryID, Time: 1739321024},
				metawebhooks.Change{Field: c.field, Value: json.RawMessage(c.value)}, now)
			if c.want.Op == metawebhooks.OpUnknown {
				c.want.WABAID = c.entryID
			}
			if got != c.want {
				t.Errorf("Decide =\n %+v\nwant\n %+v", got, c.want)
			}
		})
	}
}

// TestEnvelopeReadsLeniently: an entry's time and ID, and a change's
// field, are read as a string or a number. A time Meta documents as an
// integer but sends quoted must not refuse the whole delivery (every
// other WABA's changes in it with it), and keys the same change as the
// documented form, so that either form's redelivery is a duplicate.
func TestEnvelopeReadsLeniently(t *testing.T) {
	t.Parallel()
	const value = `{"event":"PARTNER_APP_UNINSTALLED"}`
	body := func(id, time, field string) string {
		return `{"object":"whatsapp_business_account","entry":[{"id":` + id + `,"time":` + time +
			`,"changes":[{"field":` + field + `,"value":` + value + `}]}]}`
	}
	documented, err := metawebhooks.ParseNotification([]byte(body(`"102290129340398"`, `1739321024`, `"account_update"`)))
	if err != nil {
		t.Fatal(err)
	}
	wantKey := metawebhooks.Key(documented.Entry[0], documented.Entry[0].Changes[0])
	for _, tc := range []struct {
		name, id, time, field string
		wantTime              int64
		wantField             string
	}{
		{"time a numeric string", `"102290129340398"`, `"1739321024"`, `"account_update"`, 1739321024, "account_update"},
		{"id a number", `102290129340398`, `1739321024`, `"account_update"`, 1739321024, "account_update"},
		{"time not a number", `"102290129340398"`, `"soon"`, `"account_update"`, 0, "account_update"},
		{"time too large", `"102290129340398"`, `1e99`, `"account_update"`, 0, "account_update"},
		{"time an object", `"102290129340398"`, `{"s":1}`, `"account_update"`, 0, "account_update"},
		{"field a number", `"102290129340398"`, `1739321024`, `5`, 1739321024, "5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, err := metawebhooks.ParseNotification([]byte(body(tc.id, tc.time, tc.field)))
			if err != nil {
				t.Fatalf("ParseNotification: %v", err)
			}
			e := n.Entry[0]
			if e.ID != "102290129340398" || e.Time != tc.wantTime || e.Changes[0].Field != tc.wantField || string(e.Changes[0].Value) != value {
				t.Fatalf("entry %+v", e)
			}
			if key := metawebhooks.Key(e, e.Changes[0]); (key == wantKey) != (tc.wantTime != 0 && tc.wantField == "account_update") {
				t.Errorf("key %s, documented form's %s", key, wantKey)
			}
		})
	}
	for _, bad := range []string{`{"entry":[5]}`, `{"entry":[{"changes":{"field":"account_update"}}]}`, `{"entry":{}}`} {
		if _, err := metawebhooks.ParseNotification([]byte(bad)); err == nil {
			t.Errorf("ParseNotification(%s) read a notification", bad)
		}
	}
}

// TestDecideOrdersOnlyLiveDeliveries: Meta's entry time orders state
// changes only when a live delivery could carry it (Meta redelivers for 7
// days); a sample body's or a wrong clock's time orders nothing, so it can
// neither refuse later changes nor be refused.
func TestDecideOrdersOnlyLiveDeliveries(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	value := json.RawMessage(`{"event":"PARTNER_REMOVED"}`)
	for _, c := range []struct {
		name string
		time int64
		want time.Time
	}{
		{"a delivery of now", now.Unix(), now},
		{"a redelivery a week on", now.Add(-7 * 24 * time.Hour).Unix(), now.Add(-7 * 24 * time.Hour)},
		{"a clock a few minutes ahead", now.Add(5 * time.Minute).Unix(), now.Add(5 * time.Minute)},
		// The window's edges: 8 days back (past Meta's 7 of redeliveries),
		// an hour ahead.
		{"the window's oldest second", now.Add(-8 * 24 * time.Hour).Unix(), now.Add(-8 * 24 * time.Hour)},
		{"a second older than the window", now.Add(-8*24*time.Hour - time.Second).Unix(), time.Time{}},
		{"a clock an hour ahead", now.Add(time.Hour).Unix(), now.Add(time.Hour)},
		{"a clock an hour and a second ahead", now.Add(time.Hour + time.Second).Unix(), time.Time{}},
		{"no time", 0, time.Time{}},
		{"a sample body from the reference", 1739321024, time.Time{}},
		{"a time far ahead", now.Add(48 * time.Hour).Unix(), time.Time{}},
		// Meta documents seconds; a time in milliseconds (as other Meta
		// webhooks stamp theirs) still orders, read as such.
		{"a delivery of now in milliseconds", now.UnixMilli(), now},
		{"a redelivery a week on in milliseconds", now.Add(-7*24*time.Hour + 250*time.Millisecond).UnixMilli(),
			now.Add(-7*24*time.Hour + 250*time.Millisecond)},
		{"a sample body's time in milliseconds", 1739321024000, time.Time{}},
	} {
		a := metawebhooks.Decide(metawebhooks.Entry{ID: "102290129340398", Time: c.time},
			metawebhooks.Change{Field: metawebhooks.FieldAccountUpdate, Value: value}, now)
		if !a.Sent.Equal(c.want) {
			t.Errorf("%s: Sent = %v, want %v", c.name, a.Sent, c.want)
		}
	}
}
