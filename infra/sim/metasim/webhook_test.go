package metasim_test

import (
	"encoding/json"
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
		var body struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						WABAInfo map[string]any `json:"waba_info"`
					} `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(w.Body, &body); err != nil {
			t.Fatal(err)
		}
		if got := body.Entry[0].Changes[0].Value.WABAInfo["partner_app_id"]; got != c.want {
			t.Errorf("%s (extra %v): partner_app_id %v, want %v", c.event, c.extra, got, c.want)
		}
	}
}
