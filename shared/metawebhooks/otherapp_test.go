package metawebhooks_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks/callbackstest"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// counts records every metric counted, by name and dimensions.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) Count(name string, dims onboarding.Dims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name]++
	for k, v := range dims {
		c.n[name+"/"+k+"="+v]++
	}
}
func (c *counts) Latency(string, time.Duration, onboarding.Dims)                  {}
func (c *counts) CountWithLatency(string, string, time.Duration, onboarding.Dims) {}

func (c *counts) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// onboardedRecords reports its onboarded WABAs as onboarded at a time, so
// that a share sent later pages the operator (checkSharedAgain).
type onboardedRecords struct {
	*records
	at time.Time
}

func (r onboardedRecords) Get(ctx context.Context, waba string) (*onboarding.Record, error) {
	rec, err := r.records.Get(ctx, waba)
	if err == nil {
		rec.OnboardedAt = r.at
	}
	return rec, err
}

// TestOtherAppsPartnerEventsChangeNothing: a WABA is shared with several
// partners (a Multi-Partner Solution shares it with the Solution
// Partner's app too), and Meta's partner events name the app they are
// about in waba_info.partner_app_id. One about another app must neither
// disconnect our record, nor create one, nor page the operator, and must
// store nothing in the dedup table; it is answered 200 and counted. One
// naming our app, in either JSON form, or none, is applied as before, and
// so is every one when our app ID is not configured.
func TestOtherAppsPartnerEventsChangeNothing(t *testing.T) {
	t.Parallel()
	const (
		waba  = "102000000000031"
		ours  = "1234567890123456"
		other = "987654321098765"
		owner = "2329417887457253"
	)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	info := func(app string) string {
		s := `"waba_info":{"waba_id":"` + waba + `","owner_business_id":"` + owner + `"`
		if app != "" {
			s += `,"partner_app_id":` + app
		}
		return s + `}`
	}
	cases := []struct {
		name   string
		appID  string // the Service's
		from   onboarding.State
		value  string
		want   onboarding.State
		other  bool // counted as another app's
		paged  bool // MetricWebhookSubscribeFailed
		ledger int
	}{
		{"other app uninstalled", ours, onboarding.StateOnboarded,
			`{"event":"PARTNER_APP_UNINSTALLED",` + info(`"`+other+`"`) + `}`, onboarding.StateOnboarded, true, false, 0},
		{"other app uninstalled, its ID a number", ours, onboarding.StateOnboarded,
			`{"event":"PARTNER_APP_UNINSTALLED",` + info(other) + `}`, onboarding.StateOnboarded, true, false, 0},
		{"other app installed on an onboarded WABA", ours, onboarding.StateOnboarded,
			`{"event":"PARTNER_APP_INSTALLED",` + info(`"`+other+`"`) + `}`, onboarding.StateOnboarded, true, false, 0},
		{"other app installed on a WABA we do not know", ours, "",
			`{"event":"PARTNER_APP_INSTALLED",` + info(`"`+other+`"`) + `}`, "", true, false, 0},
		// Meta's reference names the app on app installs and uninstalls
		// only: a partner's removal or addition is the business's, and an
		// app ID on one says nothing Meta documents. Dropped as another
		// app's, our removal would leave the record onboarded, silently.
		{"partner removed, an app named", ours, onboarding.StateOnboarded,
			`{"event":"PARTNER_REMOVED",` + info(`"`+other+`"`) + `}`, onboarding.StateDisconnected, false, false, 1},
		{"partner added, an app named", ours, "",
			`{"event":"PARTNER_ADDED",` + info(other) + `}`, onboarding.StateUnclaimed, false, false, 1},
		{"our app uninstalled", ours, onboarding.StateOnboarded,
			`{"event":"PARTNER_APP_UNINSTALLED",` + info(`"`+ours+`"`) + `}`, onboarding.StateDisconnected, false, false, 1},
		{"our app uninstalled, our ID a number", ours, onboarding.StateOnboarded,
			`{"event":"PARTNER_APP_UNINSTALLED",` + info(ours) + `}`, onboarding.StateDisconnected, false, false, 1},
		{"our app installed on a WABA we do not know", ours, "",
			`{"event":"PARTNER_APP_INSTALLED",` + info(ours) + `}`, onboarding.StateUnclaimed, false, false, 1},
		{"our app installed again after the onboarding", ours, onboarding.StateOnboarded,
			`{"event":"PARTNER_APP_INSTALLED",` + info(ours) + `}`, onboarding.StateOnboarded, false, true, 1},
		{"no app named: removed", ours, onboarding.StateOnboarded,
			`{"event":"PARTNER_REMOVED",` + info("") + `}`, onboarding.StateDisconnected, false, false, 1},
		{"no app named: uninstalled", ours, onboarding.StateOnboarded,
			`{"event":"PARTNER_APP_UNINSTALLED",` + info("") + `}`, onboarding.StateDisconnected, false, false, 1},
		// Our ID in a form no Meta ID takes: it may be ours, so it is
		// applied, as one naming no app is.
		{"an app ID in another form", ours, onboarding.StateOnboarded,
			`{"event":"PARTNER_APP_UNINSTALLED",` + info("1.234567890123456e15") + `}`, onboarding.StateDisconnected, false, false, 1},
		{"our app ID not configured", "", onboarding.StateOnboarded,
			`{"event":"PARTNER_APP_UNINSTALLED",` + info(`"`+other+`"`) + `}`, onboarding.StateDisconnected, false, false, 1},
		// A deleted WABA is gone for every partner, whatever app is named.
		{"deleted, an app named", ours, onboarding.StateOnboarded,
			`{"event":"ACCOUNT_DELETED",` + info(`"`+other+`"`) + `}`, onboarding.StateDisconnected, false, false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			recs, led, met := newRecords(), callbackstest.NewLedger(), &counts{}
			if c.from != "" {
				recs.state[waba] = c.from
			}
			log := slog.New(slog.NewJSONHandler(io.Discard, nil))
			r := &apigw.MetaWebhooks{
				Service: &metawebhooks.Service{Records: onboardedRecords{recs, now.Add(-24 * time.Hour)}, Ledger: led, Logger: log,
					Metrics: met, AppID: c.appID, Now: func() time.Time { return now }},
				AppSecret: func(context.Context, bool) (string, error) { return appSecret, nil },
				Logger:    log,
			}
			// Sent two hours ago: a share that would page then pages at
			// once, where a fresh one first waits for its signup run
			// (dynamo's TestFreshShareWaitsForItsSignup).
			body := `{"object":"whatsapp_business_account","entry":[{"id":"` + partnerBusiness + `","time":` +
				itoa(now.Add(-2*time.Hour).Unix()) + `,"changes":[{"field":"account_update","value":` + c.value + `}]}]}`
			resp, _ := r.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if got := recs.state[waba]; got != c.want {
				t.Errorf("record %q, want %q", got, c.want)
			}
			if c.want == c.from && recs.writes != 0 {
				t.Errorf("%d record writes, want none", recs.writes)
			}
			if got := led.Len(); got != c.ledger {
				t.Errorf("%d dedup entries, want %d", got, c.ledger)
			}
			if got := met.get(metawebhooks.MetricOtherApp); (got == 1) != c.other {
				t.Errorf("%s counted %d times, want other app %t", metawebhooks.MetricOtherApp, got, c.other)
			}
			if got := met.get(onboarding.MetricWebhookSubscribeFailed); (got == 1) != c.paged {
				t.Errorf("%s counted %d times, want paged %t", onboarding.MetricWebhookSubscribeFailed, got, c.paged)
			}
		})
	}
}

// TestOtherAppsEventDoesNotHoldBackOurs: another app's uninstall, and
// then ours in the same delivery and again in a later one, with the same
// entry time: ours still disconnects the record.
func TestOtherAppsEventDoesNotHoldBackOurs(t *testing.T) {
	t.Parallel()
	const waba, ours, other = "102000000000032", "1234567890123456", "987654321098765"
	recs, led := newRecords(), callbackstest.NewLedger()
	recs.state[waba] = onboarding.StateOnboarded
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	r := &apigw.MetaWebhooks{
		Service:   &metawebhooks.Service{Records: recs, Ledger: led, Logger: log, AppID: ours},
		AppSecret: func(context.Context, bool) (string, error) { return appSecret, nil },
		Logger:    log,
	}
	event := func(app string) string {
		return `{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":"` + waba + `","owner_business_id":"1","partner_app_id":"` + app + `"}}`
	}
	body := accountUpdate(partnerBusiness, event(other))
	if resp, _ := r.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body)))); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	if recs.state[waba] != onboarding.StateOnboarded {
		t.Fatalf("record %s after another app's uninstall", recs.state[waba])
	}
	body = accountUpdate(partnerBusiness, event(ours))
	if resp, _ := r.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body)))); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	if recs.state[waba] != onboarding.StateDisconnected {
		t.Errorf("record %s after our app's uninstall, want disconnected", recs.state[waba])
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
