package meta_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/shared/meta"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

// TestSubscribeAppAgainstMetasim runs SubscribeApp over HTTP against the
// Graph simulator, with a business token the client itself exchanged, so
// that the request shape (POST, Bearer header, appsecret_proof) and the
// reading of Meta's refusals are checked against the same simulator the
// end-to-end tests use.
func TestSubscribeAppAgainstMetasim(t *testing.T) {
	t.Parallel()
	const extraWABA = "209876543210987"
	tests := []struct {
		name string
		// grant changes the customer's grant before the code is issued.
		grant func(g *metasim.Grant)
		// token replaces the exchanged business token when set.
		token string
		waba  string
		// arm injects failures or moves the clock before the call.
		arm            func(sim *metasim.Server, clock *onboardingtest.Clock)
		twice          bool
		wantKind       onboarding.Kind // "" for success
		wantCode       int
		wantSubcode    int
		wantCalls      int
		wantSubscribed bool
	}{
		{name: "subscribes", wantCalls: 1, wantSubscribed: true},
		{name: "twice is idempotent", twice: true, wantCalls: 2, wantSubscribed: true},
		{name: "another WABA of the grant", waba: extraWABA, wantCalls: 1, wantSubscribed: true},
		{name: "WABA outside the grant", waba: "300000000000003", wantKind: onboarding.KindRejected, wantCode: 100, wantSubcode: 33, wantCalls: 1},
		{
			name:     "management scope left out",
			grant:    func(g *metasim.Grant) { g.OmitScopes = []string{metasim.ScopeManagement} },
			wantKind: onboarding.KindConfig, wantCode: 200, wantCalls: 1,
		},
		{name: "unknown token", token: "EAAunknownbusinesstoken0000", wantKind: onboarding.KindRejected, wantCode: 190, wantCalls: 1},
		{
			name:     "expired token",
			arm:      func(_ *metasim.Server, clock *onboardingtest.Clock) { clock.Advance(2 * time.Hour) },
			wantKind: onboarding.KindRejected, wantCode: 190, wantSubcode: 463, wantCalls: 1,
		},
		{
			// Meta subscribed the app but the answer was lost: the retry
			// meets an existing subscription and succeeds.
			name: "answer lost after subscribing",
			arm: func(sim *metasim.Server, _ *onboardingtest.Clock) {
				sim.FailNext(metasim.EndpointSubscribedApps, 1, metasim.KindTransientAfterCommit)
			},
			wantCalls: 2, wantSubscribed: true,
		},
		{
			name: "throttled once",
			arm: func(sim *metasim.Server, _ *onboardingtest.Clock) {
				sim.FailNext(metasim.EndpointSubscribedApps, 1, metasim.KindThrottled)
			},
			wantCalls: 2, wantSubscribed: true,
		},
		{
			// Meta says when a business-use-case limit lifts: minutes away,
			// so the call is not retried.
			name: "WABA rate limit reached",
			arm: func(sim *metasim.Server, _ *onboardingtest.Clock) {
				sim.FailNext(metasim.EndpointSubscribedApps, 1, metasim.KindWABAThrottled)
			},
			wantKind: onboarding.KindThrottled, wantCode: 80008, wantCalls: 1,
		},
		{
			name: "token revoked",
			arm: func(sim *metasim.Server, _ *onboardingtest.Clock) {
				sim.FailNext(metasim.EndpointSubscribedApps, 1, metasim.KindInvalidToken)
			},
			wantKind: onboarding.KindRejected, wantCode: 190, wantSubcode: 460, wantCalls: 1,
		},
		{
			name: "Meta down",
			arm: func(sim *metasim.Server, _ *onboardingtest.Clock) {
				sim.FailNext(metasim.EndpointSubscribedApps, -1, metasim.KindDown)
			},
			wantKind: onboarding.KindTransient, wantCalls: meta.DefaultMaxAttempts,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := onboardingtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			sim := metasim.New(metasim.Config{AppID: appID, AppSecret: appSecret, TokenTTL: time.Hour, Now: clock.Now})
			srv := httptest.NewServer(sim.Handler())
			t.Cleanup(srv.Close)
			c := newClient(srv.URL, &sleeps{})

			g := metasim.Grant{WABAID: wabaID, BusinessID: "198765432109876", ExtraWABAIDs: []string{extraWABA}}
			if tt.grant != nil {
				tt.grant(&g)
			}
			tok, err := c.ExchangeCode(t.Context(), sim.IssueCode(g))
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				tok = tt.token
			}
			waba := wabaID
			if tt.waba != "" {
				waba = tt.waba
			}
			if tt.arm != nil {
				tt.arm(sim, clock)
			}

			err = c.SubscribeApp(t.Context(), tok, waba)
			if tt.twice && err == nil {
				err = c.SubscribeApp(t.Context(), tok, waba)
			}
			if tt.wantKind == "" {
				if err != nil {
					t.Fatalf("SubscribeApp = %v", err)
				}
			} else {
				ue, ok := onboarding.AsUpstream(err)
				if !ok || ue.Op != meta.OpSubscribeApp || ue.Kind != tt.wantKind || ue.Code != tt.wantCode || ue.Subcode != tt.wantSubcode {
					t.Fatalf("err = %v; want %s code %d/%d", err, tt.wantKind, tt.wantCode, tt.wantSubcode)
				}
			}
			if got := sim.Calls(metasim.EndpointSubscribedApps); got != tt.wantCalls {
				t.Errorf("%d subscribed_apps calls, want %d", got, tt.wantCalls)
			}
			if got := sim.Subscribed(waba); got != tt.wantSubscribed {
				t.Errorf("Subscribed(%s) = %v, want %v", waba, got, tt.wantSubscribed)
			}
			for _, r := range sim.Requests() {
				if r.Endpoint == metasim.EndpointSubscribedApps && (r.Method != http.MethodPost || r.TokenIn != "header" || !r.HasQueryKey("appsecret_proof")) {
					t.Errorf("subscribed_apps request %+v; want a POST with the token in the header and appsecret_proof", r)
				}
			}
		})
	}
}
