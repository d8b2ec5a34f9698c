package browser

import (
	"slices"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
)

// TestFinishWithAccountModelKeys: under Meta's new account model the FINISH
// message keeps waba_id (now the Messaging Account Meta made for us) and
// phone_number_id, and gains the WhatsApp Account's waac_id beside them.
// The page reads the keys it knows, posts only those, and the signup
// onboards the number the message named, whether or not the number is
// already on Cloud API through another partner.
func TestFinishWithAccountModelKeys(t *testing.T) {
	tests := []struct {
		name   string
		status string // the number's Cloud API status at Meta
		extra  map[string]string
	}{
		{name: "waac_id beside today's keys", extra: map[string]string{"waac_id": "301000000000991"}},
		{name: "number another partner already registered", status: "CONNECTED", extra: map[string]string{"waac_id": "301000000000992"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sandbox.Meta.Reset()
			sandbox.Plivo.Reset()
			waba, business, phones := testIDs("77", 2)
			for i := range phones {
				phones[i].Status = tt.status
			}
			code := sandbox.Meta.IssueCode(metasim.Grant{WABAID: waba, BusinessID: business, PhoneNumbers: phones})
			named := phones[1].ID
			data := map[string]string{"waba_id": waba, "phone_number_id": named, "business_id": business}
			for k, v := range tt.extra {
				data[k] = v
			}

			tb := signupTab(t, "customer-account-model")
			tb.metaMessage("FINISH", data)
			tb.loginCallback(code)
			if state := tb.settled(); state != "onboarded" {
				t.Fatalf("page shows %s, want onboarded; posted %v", tb.statusText(), tb.posts())
			}
			posts := tb.posts()
			if len(posts) != 1 {
				t.Fatalf("the page posted %d times (%v), want once", len(posts), posts)
			}
			for k := range posts[0] {
				if !slices.Contains([]string{"code", "session", "waba_id", "phone_number_id", "business_id"}, k) {
					t.Errorf("the page posted %q (%v); it must post only the keys the API knows", k, posts[0])
				}
			}
			if posts[0]["waba_id"] != waba || posts[0]["phone_number_id"] != named || posts[0]["business_id"] != business {
				t.Errorf("the page posted %v, want the message's IDs", posts[0])
			}
			if item := record(t, waba); attr(item, "state") != "onboarded" || attr(item, "phone_number_id") != named {
				t.Errorf("record %v, want onboarded with %s", item, named)
			}
		})
	}
}
