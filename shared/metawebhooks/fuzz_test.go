package metawebhooks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks/callbackstest"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
)

// FuzzNotification feeds arbitrary signed bodies through the parser and the
// whole receiver. Whatever Meta (or an attacker holding the secret) sends,
// the answer is 200, 400 or 413 and never a 5xx; every change gets a stable
// dedupe key; and redelivering the same body writes no record again.
func FuzzNotification(f *testing.F) {
	const waba = "102000000000009"
	for _, s := range []string{
		accountUpdate(waba, `{"event":"PARTNER_APP_UNINSTALLED"}`),
		accountUpdate(waba, `{"event":"PARTNER_ADDED","waba_info":{"waba_id":"`+waba+`","owner_business_id":"101"}}`),
		accountUpdate(waba, `{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_ADD_PHONE_NUMBER_ACTION","expiration":"2030-12-12T07:09:27.000Z"}]}`),
		accountUpdate(waba, `{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"X","expiration":"1700000000"}]}`),
		accountUpdate(waba, `{"event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"SCAM"}}`),
		accountUpdate(waba, `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":["DISABLE"],"waba_ban_date":"October 9, 2023"}}`),
		accountUpdate(waba, `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"REINSTATE"}}`),
		accountUpdate(waba, `{"event":"BUSINESS_VERIFICATION_STATUS_UPDATE","business_verification_status":"verified"}`),
		accountUpdate(waba, `"not an object"`),
		`{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","time":1739321024,"changes":[` +
			`{"field":"phone_number_quality_update","value":{"display_phone_number":"+1 555-010-0001","event":"DOWNGRADE","current_limit":"TIER_1K"}},` +
			`{"field":"phone_number_name_update","value":{"display_phone_number":"15550100001","decision":"APPROVED","requested_verified_name":"Acme"}},` +
			`{"field":"brand_new_field","value":{"x":1}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","time":1739321024,"changes":[` +
			`{"field":"business_capability_update","value":{"max_daily_conversations_per_business":-1,"max_phone_numbers_per_waba":2}},` +
			`{"field":"account_review_update","value":{"decision":"APPROVED"}}]}]}`,
		`{"object":"page","entry":[]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"not-digits","changes":[{"field":"account_update","value":{"event":"PARTNER_REMOVED"}}]}]}`,
		`{}`, `[]`, `null`, ``, `{"entry":[{"time":1e99}]}`, `{"entry":[{"changes":[{}]}]}`,
		// Shapes Meta's reference does not give, read leniently.
		accountUpdate(waba, `{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":`+waba+`,"partner_app_id":1234567890}}`),
		accountUpdate(waba, `{"event":"ACCOUNT_RESTRICTION","restriction_info":{"restriction_type":"X","expiration":1641330498}}`),
		accountUpdate(waba, `{"event":"DISABLED_UPDATE","ban_info":[{"waba_ban_state":["DISABLE"],"waba_ban_date":1696809600}]}`),
		accountUpdate(waba, `{"event":"ACCOUNT_VIOLATION","violation_info":[{"violation_type":42}]}`),
		`{"object":"whatsapp_business_account","entry":[{"id":` + waba + `,"time":"1739321024","changes":[` +
			`{"field":"phone_number_quality_update","value":{"display_phone_number":15550100001,"event":"UPGRADE","current_limit":10000}},` +
			`{"field":"phone_number_name_update","value":{"display_phone_number":15550100001,"decision":"APPROVED","requested_verified_name":7}},` +
			`{"field":"business_capability_update","value":{"max_daily_conversations_per_business":"2000"}},` +
			`{"field":5,"value":{"event":"PARTNER_REMOVED"}}]}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		n, parseErr := metawebhooks.ParseNotification([]byte(body))
		if parseErr == nil {
			for _, e := range n.Entry {
				for _, c := range e.Changes {
					key := metawebhooks.Key(e, c)
					if !strings.HasPrefix(key, "meta#") || len(key) != len("meta#")+40 || key != metawebhooks.Key(e, c) {
						t.Fatalf("key %q", key)
					}
					a := metawebhooks.Decide(e, c, time.Unix(1, 0))
					if a.Op == "" {
						t.Fatalf("no op for %+v", c)
					}
					if _, err := json.Marshal(a); err != nil {
						t.Fatalf("action does not encode: %v", err)
					}
				}
			}
		}

		recs, led := newRecords(), callbackstest.NewLedger()
		r := newReceiver(recs, led)
		signed := post(body, metawebhooks.Sign(appSecret, []byte(body)))
		resp, err := r.Handle(context.Background(), signed)
		if err != nil {
			t.Fatalf("error %v", err)
		}
		switch {
		case len(body) > metawebhooks.MaxBodyBytes:
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("oversize body answered %d", resp.StatusCode)
			}
			return
		case parseErr != nil:
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("unparsable body answered %d: %s", resp.StatusCode, resp.Body)
			}
			return
		case resp.StatusCode != http.StatusOK:
			t.Fatalf("parsed body answered %d: %s", resp.StatusCode, resp.Body)
		}
		writes := recs.writes
		again, _ := r.Handle(context.Background(), signed)
		if again.StatusCode != http.StatusOK || recs.writes != writes {
			t.Fatalf("redelivery: status %d, %d writes after %d", again.StatusCode, recs.writes, writes)
		}
		var answer apigw.WebhookAnswer
		if err := json.Unmarshal([]byte(again.Body), &answer); err != nil {
			t.Fatalf("answer %q: %v", again.Body, err)
		}
		for _, c := range answer.Changes {
			if c.Changed {
				t.Fatalf("redelivered change %+v changed a record", c)
			}
		}
	})
}

// FuzzAccountUpdateKeepsItsEvent: whatever else an account_update value
// carries, in whatever shape, the change is unknown only when its event
// alone would be: no key beside the event can lose a disconnect or a
// restriction.
func FuzzAccountUpdateKeepsItsEvent(f *testing.F) {
	for _, s := range []string{
		`{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":102290129340398,"owner_business_id":"1","partner_app_id":1}}`,
		`{"event":"PARTNER_APP_INSTALLED","waba_info":[{"waba_id":"102290129340398","owner_business_id":2}]}`,
		`{"event":"ACCOUNT_RESTRICTION","restriction_info":{"restriction_type":"X","expiration":"2030-12-12T07:09:27.000Z"}}`,
		`{"event":"ACCOUNT_RESTRICTION","restriction_info":[null,"X",{"restriction_type":1,"expiration":{"s":1}}]}`,
		`{"event":"ACCOUNT_VIOLATION","violation_info":"SCAM"}`,
		`{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":[1,"REINSTATE"],"waba_ban_date":1696809600}}`,
		`{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":{"x":true},"waba_ban_date":[1]}}`,
		`{"event":"BUSINESS_VERIFICATION_STATUS_UPDATE","lock_status":5,"country":[]}`,
		`{"event":"SOMETHING_NEW","waba_info":7}`,
	} {
		f.Add(s)
	}
	entry := metawebhooks.Entry{ID: "102290129340398", Time: 1739321024}
	decide := func(value []byte) metawebhooks.Action {
		return metawebhooks.Decide(entry, metawebhooks.Change{Field: metawebhooks.FieldAccountUpdate, Value: value}, time.Unix(1, 0))
	}
	f.Fuzz(func(t *testing.T, value string) {
		var keys map[string]json.RawMessage
		if json.Unmarshal([]byte(value), &keys) != nil {
			return
		}
		var event string
		if json.Unmarshal(keys["event"], &event) != nil {
			return
		}
		for k := range keys {
			// encoding/json matches keys without regard to case: "Event"
			// would be read as the event too, which is then ambiguous.
			if k != "event" && strings.EqualFold(k, "event") {
				return
			}
		}
		bare, err := json.Marshal(map[string]string{"event": event})
		if err != nil {
			t.Fatal(err)
		}
		got, alone := decide([]byte(value)), decide(bare)
		if (got.Op == metawebhooks.OpUnknown) != (alone.Op == metawebhooks.OpUnknown) {
			t.Fatalf("%s decides %s, its event alone %s", value, got.Op, alone.Op)
		}
	})
}
