package metasim_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
)

// TestPartnerEventsNameTheApp: Meta's account_update reference includes
// waba_info.partner_app_id in PARTNER_APP_INSTALLED and
// PARTNER_APP_UNINSTALLED only; the simulator names its own app there
// unless the caller names another.
func TestPartnerEventsNameTheApp(t *testing.T) {
	t.Parallel()
	sim := metasim.New(metasim.Config{AppID: "1234", AppSecret: "app-secret"})
	cases := []struct {
		event string
		extra map[string]any
		want  any
	}{
		{"PARTNER_APP_UNINSTALLED", nil, "1234"},
		{"PARTNER_APP_INSTALLED", nil, "1234"},
		{"PARTNER_APP_UNINSTALLED", map[string]any{"waba_info": map[string]any{"partner_app_id": 987.0}}, 987.0},
		{"PARTNER_REMOVED", nil, nil},
		{"PARTNER_ADDED", nil, nil},
	}
	for _, c := range cases {
		w := sim.AccountUpdate("102000000000001", c.event, c.extra, time.Now())
		info := wabaInfo(t, w.Body)
		if got := info["partner_app_id"]; got != c.want {
			t.Errorf("%s (extra %v): partner_app_id %v, want %v", c.event, c.extra, got, c.want)
		}
	}
}

// TestWebhookChangeBuildsMetasSamples: the simulator's deliveries of the
// health fields are the example payloads of Meta's current webhook
// reference pages, given the same WABA, time and value.
func TestWebhookChangeBuildsMetasSamples(t *testing.T) {
	t.Parallel()
	sim := metasim.New(metasim.Config{AppID: "1234", AppSecret: "app-secret"})
	cases := []struct {
		field, waba string
		time        int64
		value       map[string]any
		sample      string
	}{
		{"phone_number_quality_update", "102290129340398", 1748454394,
			map[string]any{"display_phone_number": "15550783881", "event": "THROUGHPUT_UPGRADE", "current_limit": "TIER_UNLIMITED"},
			`{"entry":[{"id":"102290129340398","time":1748454394,"changes":[{"value":{"display_phone_number":"15550783881",` +
				`"event":"THROUGHPUT_UPGRADE","current_limit":"TIER_UNLIMITED"},"field":"phone_number_quality_update"}]}],` +
				`"object":"whatsapp_business_account"}`},
		{"phone_number_name_update", "102290129340398", 1739321024,
			map[string]any{"display_phone_number": "15550783881", "decision": "APPROVED", "requested_verified_name": "Lucky Shrub", "rejection_reason": nil},
			`{"entry":[{"id":"102290129340398","time":1739321024,"changes":[{"value":{"display_phone_number":"15550783881",` +
				`"decision":"APPROVED","requested_verified_name":"Lucky Shrub","rejection_reason":null},"field":"phone_number_name_update"}]}],` +
				`"object":"whatsapp_business_account"}`},
		{"account_review_update", "102290129340398", 1739321024, map[string]any{"decision": "APPROVED"},
			`{"entry":[{"id":"102290129340398","time":1739321024,"changes":[{"value":{"decision":"APPROVED"},` +
				`"field":"account_review_update"}]}],"object":"whatsapp_business_account"}`},
		{"business_capability_update", "524126980791429", 1739321024,
			map[string]any{"max_daily_conversations_per_business": 2000, "max_phone_numbers_per_waba": 25},
			`{"entry":[{"id":"524126980791429","time":1739321024,"changes":[{"value":{"max_daily_conversations_per_business":2000,` +
				`"max_phone_numbers_per_waba":25},"field":"business_capability_update"}]}],"object":"whatsapp_business_account"}`},
	}
	for _, c := range cases {
		w := sim.WebhookChange(c.waba, c.field, c.value, time.Unix(c.time, 0))
		var got, want any
		if err := json.Unmarshal(w.Body, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(c.sample), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the simulator sends\n %s\nMeta's sample is\n %s", c.field, w.Body, c.sample)
		}
		if w.Signature != metasim.SignWebhook("app-secret", w.Body) {
			t.Errorf("%s: not signed with the app secret", c.field)
		}
	}
}

// TestPartnerEventsCarryTheCustomersBusiness: Meta's account_update
// reference shows waba_info.owner_business_id, the customer's business
// portfolio, in every PARTNER_* event, and, for a customer onboarded
// through a Multi-Partner Solution, solution_id and
// solution_partner_business_ids, except in PARTNER_APP_UNINSTALLED. The
// simulator takes them from the grant the customer gave; a value the
// caller names wins.
func TestPartnerEventsCarryTheCustomersBusiness(t *testing.T) {
	t.Parallel()
	const waba, business, solution = "102000000000002", "300000000000002", "777000000000002"
	sim := metasim.New(metasim.Config{AppID: "1234", AppSecret: "app-secret", SolutionID: solution})
	sim.IssueCode(metasim.Grant{WABAID: waba, BusinessID: business})
	mps := map[string]any{"waba_id": waba, "owner_business_id": business, "partner_app_id": "1234",
		"solution_id": solution, "solution_partner_business_ids": []any{metasim.PartnerBusinessID}}
	cases := []struct {
		event string
		extra map[string]any
		want  map[string]any
	}{
		{"PARTNER_APP_INSTALLED", nil, mps},
		{"PARTNER_APP_UNINSTALLED", nil, map[string]any{"waba_id": waba, "owner_business_id": business, "partner_app_id": "1234"}},
		{"PARTNER_ADDED", nil, map[string]any{"waba_id": waba, "owner_business_id": business,
			"solution_id": solution, "solution_partner_business_ids": []any{metasim.PartnerBusinessID}}},
		{"PARTNER_REMOVED", map[string]any{"waba_info": map[string]any{"owner_business_id": "300000000000009"}},
			map[string]any{"waba_id": waba, "owner_business_id": "300000000000009",
				"solution_id": solution, "solution_partner_business_ids": []any{metasim.PartnerBusinessID}}},
	}
	for _, c := range cases {
		w := sim.AccountUpdate(waba, c.event, c.extra, time.Now())
		if got := wabaInfo(t, w.Body); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: waba_info %v, want %v", c.event, got, c.want)
		}
	}
	// A WABA no grant names: nothing is made up.
	w := sim.AccountUpdate("102000000000003", "PARTNER_REMOVED", nil, time.Now())
	if strings.Contains(string(w.Body), "owner_business_id") || strings.Contains(string(w.Body), "solution_id") {
		t.Errorf("a WABA the simulator knows nothing of got a business or solution: %s", w.Body)
	}
}

// wabaInfo is the waba_info of a notification's first change.
func wabaInfo(t *testing.T, notification []byte) map[string]any {
	t.Helper()
	var body struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					WABAInfo map[string]any `json:"waba_info"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(notification, &body); err != nil || len(body.Entry) == 0 || len(body.Entry[0].Changes) == 0 {
		t.Fatalf("notification %s: %v", notification, err)
	}
	return body.Entry[0].Changes[0].Value.WABAInfo
}
