package metawebhooks_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/callbacks/callbackstest"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	emf "github.com/techprovider/wa-onboarding/shared/metrics"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestEndUsersStayOutOfWhatMetaWebhooksKeep feeds changes that carry an
// end user's number, name and words (Meta sends them to an app subscribed
// to messages, or to another object's fields) through the receiver, and
// looks for them in the logs, the metrics, the answer and the dedup table:
// the onboarding needs none of them, so none may be there.
func TestEndUsersStayOutOfWhatMetaWebhooksKeep(t *testing.T) {
	t.Parallel()
	const (
		waba   = "102290129340398"
		phone  = "447700900462"
		middle = "7700900"
		name   = "Quillon Canarybrook"
		text   = "canary-words-m4 is the shop open"
	)
	canaries := []string{phone, middle, name, "Quillon", text, "canary-words-m4"}
	inbound := `{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},` +
		`"contacts":[{"profile":{"name":"` + name + `"},"wa_id":"` + phone + `"}],` +
		`"messages":[{"from":"` + phone + `","id":"wamid.HBgLNDQ3NzAwOTAwNDYyFQIAEhgUM0E=","timestamp":"1749416383","type":"text",` +
		`"text":{"body":"` + text + `"}}]}`
	status := `{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},` +
		`"statuses":[{"id":"wamid.HBgLNDQ3NzAwOTAwNDYyFQIAERgS","status":"read","timestamp":"1750263773","recipient_id":"` + phone + `"}]}`
	delivery := func(object, field, value string) string {
		return `{"object":"` + object + `","entry":[{"id":"` + waba + `","time":1749416384,"changes":[{"field":"` + field + `","value":` + value + `}]}]}`
	}
	tests := []struct{ name, body string }{
		{"messages: an inbound text", delivery("whatsapp_business_account", "messages", inbound)},
		{"messages: a status", delivery("whatsapp_business_account", "messages", status)},
		{"messages: a body naming no object", delivery("", "messages", inbound)},
		{"an echo", delivery("whatsapp_business_account", "smb_message_echoes", inbound)},
		{"a field Meta adds later", delivery("whatsapp_business_account", "user_preferences_v9", inbound)},
		{"messages, not an object", delivery("whatsapp_business_account", "messages", `"`+text+` from `+name+`"`)},
		{"another object's messages", delivery("instagram", "messages", inbound)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs, lines bytes.Buffer
			recs, led := newRecords(), callbackstest.NewLedger()
			recs.state[waba] = onboarding.StateOnboarded
			r := newReceiver(recs, led)
			log, met := logging.New(&logs, "DEBUG"), &emf.EMF{W: &lines, Namespace: "test", Function: "metawebhooks"}
			r.Logger, r.Metrics, r.Service.Logger, r.Service.Metrics = log, met, log, met
			var answers []string
			for range 2 { // the second is Meta's redelivery
				resp, _ := r.Handle(context.Background(), post(tt.body, metawebhooks.Sign(appSecret, []byte(tt.body))))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
				}
				answers = append(answers, resp.Body)
			}
			if led.Len() != 1 {
				t.Errorf("%d dedup entries, want the change kept once for the operator", led.Len())
			}
			sinks := map[string]string{"logs": logs.String(), "metrics": lines.String(), "answers": strings.Join(answers, "\n")}
			for _, e := range led.Entries() {
				sinks["dedup entry "+e.Key] = fmt.Sprintf("%+v", e)
			}
			for sink, s := range sinks {
				for _, c := range canaries {
					if strings.Contains(s, c) {
						t.Errorf("the %s hold the end user's %q:\n%s", sink, c, s)
					}
				}
			}
		})
	}
}
