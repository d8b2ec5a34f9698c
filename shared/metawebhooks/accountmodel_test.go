package metawebhooks_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/callbacks/callbackstest"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestAccountModelShapes: Meta is splitting the WABA into a WhatsApp
// Account, which holds the number, and a Messaging Account per partner,
// which keeps the WABA's ID and its webhook subscriptions. Our
// notifications stay whatsapp_business_account ones whose entry ID is that
// ID; the WhatsApp Account's ID comes later, as keys we do not know yet and
// as a topic of its own. A known change carrying such keys still changes
// the record, the keys are kept for an operator, and a change of the new
// topic changes no record even when its entry ID is one of our WABAs'.
func TestAccountModelShapes(t *testing.T) {
	t.Parallel()
	const (
		waba = "102000000000031"
		waac = "301000000000031"
	)
	tests := []struct {
		name    string
		body    string
		from    onboarding.State
		want    onboarding.State
		quality string   // the record's quality event afterwards, if any
		unknown []string // keys stored as unknown
	}{
		{
			name: "partner removed, naming the WhatsApp Account too",
			body: accountUpdate(waba, `{"event":"PARTNER_REMOVED","waac_id":"`+waac+`","waba_info":{"waba_id":"`+waba+
				`","owner_business_id":"101","waac_id":"`+waac+`"}}`),
			from: onboarding.StateOnboarded, want: onboarding.StateDisconnected, unknown: []string{"waac_id"},
		},
		{
			name: "quality of a number other partners share",
			body: `{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","time":1739321024,"changes":[{"field":"phone_number_quality_update",` +
				`"value":{"display_phone_number":"15550100031","event":"FLAGGED","current_limit":"TIER_1K","waac_id":"` + waac + `"}}]}]}`,
			from: onboarding.StateOnboarded, want: onboarding.StateOnboarded, quality: "FLAGGED", unknown: []string{"waac_id"},
		},
		{
			name: "the WhatsApp Account topic",
			body: strings.Replace(accountUpdate(waba, `{"event":"PARTNER_REMOVED","waac_id":"`+waac+`"}`),
				`"object":"whatsapp_business_account"`, `"object":"whatsapp_account"`, 1),
			from: onboarding.StateOnboarded, want: onboarding.StateOnboarded, unknown: []string{"waac_id"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recs, led := newRecords(), callbackstest.NewLedger()
			recs.state[waba] = tt.from
			resp, _ := newReceiver(recs, led).Handle(context.Background(), post(tt.body, metawebhooks.Sign(appSecret, []byte(tt.body))))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if recs.state[waba] != tt.want {
				t.Errorf("record %s, want %s", recs.state[waba], tt.want)
			}
			if h := recs.health[waba]; h.QualityEvent != tt.quality {
				t.Errorf("quality event %q, want %q", h.QualityEvent, tt.quality)
			}
			es := led.Entries()
			if len(es) != 1 || es[0].Fields.Get("value") == "" {
				t.Fatalf("ledger %+v, want the change stored with its value", es)
			}
			if got := es[0].Fields["unknown_keys"]; !slices.Equal(got, tt.unknown) {
				t.Errorf("unknown keys %q, want %q", got, tt.unknown)
			}
		})
	}
}
