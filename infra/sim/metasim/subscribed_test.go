package metasim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// businessAuth is a business-token call as the product makes it: the token
// in the Authorization header and its appsecret_proof in the query.
func businessAuth(tok string) (url.Values, http.Header) {
	return url.Values{"appsecret_proof": {AppSecretProof(testAppSecret, tok)}}, http.Header{"Authorization": {"Bearer " + tok}}
}

func TestSubscribedApps(t *testing.T) {
	t.Parallel()
	const (
		extraWABA  = "200000000000002"
		otherWABA  = "300000000000003"
		subscribed = `{"data":[{"whatsapp_business_api_data":{"id":"` + testAppID + `","link":"https://www.facebook.com/games/?app_id=` + testAppID + `","name":"` + DefaultAppName + `"}}]}`
	)
	tests := []struct {
		name   string
		grant  func(g *Grant)
		before []string // methods called, successfully, before the one under test
		method string
		waba   string
		// auth builds the request's credentials from the business token.
		auth    func(tok string) (url.Values, http.Header)
		advance time.Duration // clock moved before the call
		// Either the exact body of a 200 or a Graph error.
		wantBody       string
		status         int
		typ            string
		code, sub      int
		msg            string
		wantSubscribed bool
	}{
		{name: "subscribe", method: http.MethodPost, wantBody: `{"success":true}`, wantSubscribed: true},
		{name: "subscribe again is no error", before: []string{http.MethodPost}, method: http.MethodPost, wantBody: `{"success":true}`, wantSubscribed: true},
		{name: "subscribe with the token in the query", method: http.MethodPost, wantBody: `{"success":true}`, wantSubscribed: true,
			auth: func(tok string) (url.Values, http.Header) {
				return url.Values{"access_token": {tok}, "appsecret_proof": {AppSecretProof(testAppSecret, tok)}}, nil
			}},
		{name: "subscribe to another WABA of the grant", method: http.MethodPost, waba: extraWABA, wantBody: `{"success":true}`, wantSubscribed: true},
		{name: "list before subscribing", method: http.MethodGet, wantBody: `{"data":[]}`},
		{name: "list after subscribing", before: []string{http.MethodPost}, method: http.MethodGet, wantBody: subscribed, wantSubscribed: true},
		{name: "unsubscribe", before: []string{http.MethodPost}, method: http.MethodDelete, wantBody: `{"success":true}`},
		{name: "list after unsubscribing", before: []string{http.MethodPost, http.MethodDelete}, method: http.MethodGet, wantBody: `{"data":[]}`},
		{
			name: "no token", method: http.MethodPost,
			auth:   func(string) (url.Values, http.Header) { return nil, nil },
			status: 400, typ: "OAuthException", code: codeNoToken, msg: msgNoToken,
		},
		{
			name: "unknown token", method: http.MethodPost,
			auth:   func(string) (url.Values, http.Header) { return businessAuth("EAAunknown") },
			status: 400, typ: "OAuthException", code: codeToken, msg: msgCannotParse,
		},
		{
			name: "app token", method: http.MethodPost,
			auth:   func(string) (url.Values, http.Header) { return businessAuth(testAppID + "|" + testAppSecret) },
			status: 400, typ: "OAuthException", code: codeToken, msg: msgCannotParse,
		},
		{
			name: "expired token", method: http.MethodPost, advance: 2 * time.Hour,
			status: 400, typ: "OAuthException", code: codeToken, sub: subcodeExpired,
		},
		{
			name: "missing appsecret_proof", method: http.MethodPost,
			auth: func(tok string) (url.Values, http.Header) {
				return nil, http.Header{"Authorization": {"Bearer " + tok}}
			},
			status: 400, typ: "GraphMethodException", code: codeParam, msg: msgProofMissing,
		},
		{
			name: "WABA outside the grant", method: http.MethodPost, waba: otherWABA,
			status: 400, typ: "GraphMethodException", code: codeParam, sub: subcodeUnsupported,
			msg: "Unsupported post request. Object with ID '" + otherWABA + "' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
		},
		{
			name: "list a WABA outside the grant", method: http.MethodGet, waba: otherWABA,
			status: 400, typ: "GraphMethodException", code: codeParam, sub: subcodeUnsupported,
		},
		{
			name: "management scope left out", method: http.MethodPost,
			grant:  func(g *Grant) { g.OmitScopes = []string{ScopeManagement} },
			status: 403, typ: "OAuthException", code: codePermission, msg: "(#200) Permissions error",
		},
		{
			name: "messaging scope alone is not needed", method: http.MethodPost,
			grant:    func(g *Grant) { g.OmitScopes = []string{ScopeMessaging} },
			wantBody: `{"success":true}`, wantSubscribed: true,
		},
		{
			name: "PUT is not served", method: http.MethodPut,
			status: 400, typ: "GraphMethodException", code: codeParam, sub: subcodeUnsupported,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) { c.TokenTTL = time.Hour })
			g := testGrant()
			g.ExtraWABAIDs = []string{extraWABA}
			if tt.grant != nil {
				tt.grant(&g)
			}
			tok := e.token(t, g)
			waba := testWABA
			if tt.waba != "" {
				waba = tt.waba
			}
			path := "/v25.0/" + waba + "/subscribed_apps"
			for _, m := range tt.before {
				q, h := businessAuth(tok)
				if r := e.do(t, m, path, q, h); r.status != http.StatusOK {
					t.Fatalf("%s before the test: %d %s", m, r.status, r.body)
				}
			}
			e.clock.Advance(tt.advance)
			auth := tt.auth
			if auth == nil {
				auth = businessAuth
			}
			q, h := auth(tok)
			r := e.do(t, tt.method, path, q, h)
			if tt.status != 0 {
				wantGraphError(t, r, tt.status, tt.typ, tt.code, tt.sub, tt.msg)
			} else if r.status != http.StatusOK || string(r.body) != tt.wantBody {
				t.Errorf("status %d body %s, want 200 %s", r.status, r.body, tt.wantBody)
			}
			if got := e.sim.Subscribed(waba); got != tt.wantSubscribed {
				t.Errorf("Subscribed(%s) = %v, want %v", waba, got, tt.wantSubscribed)
			}
			if got := e.sim.Calls(EndpointSubscribedApps); got != len(tt.before)+1 {
				t.Errorf("Calls = %d, want %d", got, len(tt.before)+1)
			}
		})
	}
}

// TestSubscribedAppsFaults: FailNext applies to subscribed_apps like to the
// other endpoints, and KindTransientAfterCommit keeps the subscription it
// made, as Meta would after an answer lost on the way back.
func TestSubscribedAppsFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind           Kind
		status         int
		wantSubscribed bool
	}{
		{KindTransient, 500, false},
		{KindUnexpected, 500, false},
		{KindThrottled, 403, false},
		{KindWABAThrottled, 400, false},
		{KindInvalidToken, 400, false},
		{KindDown, 503, false},
		{KindTransientAfterCommit, 500, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tok := e.token(t, testGrant())
			e.sim.FailNext(EndpointSubscribedApps, 1, tt.kind)
			q, h := businessAuth(tok)
			path := "/v25.0/" + testWABA + "/subscribed_apps"
			if r := e.do(t, http.MethodPost, path, q, h); r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if got := e.sim.Subscribed(testWABA); got != tt.wantSubscribed {
				t.Errorf("Subscribed after the fault = %v, want %v", got, tt.wantSubscribed)
			}
			reqs := e.sim.Requests()
			if last := reqs[len(reqs)-1]; last.Endpoint != EndpointSubscribedApps || last.Injected != tt.kind || last.Method != http.MethodPost || last.TokenIn != "header" {
				t.Errorf("log entry %+v", last)
			}
			if r := e.do(t, http.MethodPost, path, q, h); r.status != http.StatusOK || !e.sim.Subscribed(testWABA) {
				t.Errorf("retry: status %d, subscribed %v; the fault must be used up", r.status, e.sim.Subscribed(testWABA))
			}
		})
	}
}

// TestSubscribedAppsControl: the scenario route arms subscribed_apps
// faults, the request log route lists subscriptions for a stack that runs
// the simulator in another process, and Reset forgets them.
func TestSubscribedAppsControl(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(t, testGrant())
	q, h := businessAuth(tok)
	path := "/v25.0/" + testWABA + "/subscribed_apps"

	if r := postJSON(t, e, "/_sim/meta/scenario", `{"endpoint":"subscribed_apps","n":1,"kind":"throttled"}`); r.status != http.StatusNoContent {
		t.Fatalf("scenario: %d %s", r.status, r.body)
	}
	if r := e.do(t, http.MethodPost, path, q, h); r.status != http.StatusForbidden {
		t.Errorf("after scenario: %d", r.status)
	}
	if r := e.do(t, http.MethodPost, path, q, h); r.status != http.StatusOK {
		t.Fatalf("subscribe: %d %s", r.status, r.body)
	}

	var log struct {
		Calls           map[string]int `json:"calls"`
		SubscribedWABAs []string       `json:"subscribed_wabas"`
	}
	decode(t, e.do(t, http.MethodGet, "/_sim/meta/requests", nil, nil).body, &log)
	if !slices.Equal(log.SubscribedWABAs, []string{testWABA}) || log.Calls[EndpointSubscribedApps] != 2 {
		t.Errorf("requests route: %+v", log)
	}
	if got := e.sim.SubscribedWABAs(); !slices.Equal(got, []string{testWABA}) {
		t.Errorf("SubscribedWABAs = %v", got)
	}

	e.sim.Reset()
	if e.sim.Subscribed(testWABA) || len(e.sim.SubscribedWABAs()) != 0 {
		t.Error("Reset kept the subscription")
	}
}

func postJSON(t *testing.T, e *env, path, body string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return e.send(t, req)
}
