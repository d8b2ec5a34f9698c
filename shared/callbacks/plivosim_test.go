package callbacks_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sim/apigatewaysim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/logging"
)

// TestReceiverTakesPlivoStatusCallbacks: the status callbacks Plivo sends
// to a sent message's url, with every attribute of its status callbacks
// page, reach the bus once each, by POST and by GET, and a delivered that
// arrives after read is published too, with the Sequence consumers order
// them by.
func TestReceiverTakesPlivoStatusCallbacks(t *testing.T) {
	t.Parallel()
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			f := newFixture(onboardedRec)
			rcv := &apigw.PlivoCallbacks{Service: f.svc, Token: (&tokens{cached: "t1", fresh: "t1"}).get,
				Logger: logging.New(io.Discard, "DEBUG"), Metrics: f.met, Nonces: &nonces{used: map[string]string{}}}
			var answers []int
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ev, err := apigatewaysim.Event(r, method+" /webhooks/plivo/whatsapp", nil)
				if err != nil {
					t.Error(err)
					return
				}
				resp, _ := rcv.Handle(context.Background(), ev)
				answers = append(answers, resp.StatusCode)
				w.WriteHeader(resp.StatusCode)
			}))
			defer srv.Close()
			rcv.URL = srv.URL + "/webhooks/plivo/whatsapp"

			sim := plivosim.New(plivosim.Config{AuthID: "MAXXXXXXXXXXXXXXXXXX", AuthToken: "t1"})
			sim.RegisterNumber(onboardedRec.DisplayPhoneNumber)
			api := httptest.NewServer(sim.Handler())
			defer api.Close()
			body := `{"type":"whatsapp","src":"15550100001","dst":"14155550100","text":"hi","url":"` + rcv.URL + `","method":"` + method + `"}`
			req, _ := http.NewRequest(http.MethodPost, api.URL+"/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/", strings.NewReader(body))
			req.SetBasicAuth("MAXXXXXXXXXXXXXXXXXX", "t1")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusAccepted {
				t.Fatalf("send: %v %v", resp, err)
			}
			resp.Body.Close()
			uuid := sim.Messages()[0].UUID

			for _, st := range []string{"sent", "read", "delivered"} {
				if code, err := sim.SendStatus(context.Background(), plivosim.StatusUpdate{MessageUUID: uuid, Status: st}); err != nil || code != http.StatusOK {
					t.Fatalf("%s: %d %v (answers %v)", st, code, err, answers)
				}
			}
			evs := f.pub.published()
			if len(evs) != 3 {
				t.Fatalf("%d events, want 3", len(evs))
			}
			for i, want := range []struct{ status, seq string }{{"sent", "1"}, {"read", "2"}, {"delivered", "3"}} {
				var d callbacks.Detail
				if err := json.Unmarshal(evs[i].Detail, &d); err != nil {
					t.Fatal(err)
				}
				if d.Kind != callbacks.KindStatus || d.ClientRef != "customer-1" || d.Status != want.status ||
					d.DedupeKey != "callback#"+uuid+"#"+want.status || d.Callback["Sequence"] != want.seq || d.Callback["Type"] != "whatsapp" {
					t.Errorf("event %d: %+v", i, d)
				}
			}
		})
	}
}
