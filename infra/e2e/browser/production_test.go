package browser

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/techprovider/wa-onboarding/infra/sim/apigatewaysim"
	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/page"
)

// fakeMetaSDK stands in for connect.facebook.net/en_US/sdk.js, answered by
// the test through Chromium's request interception. FB.login keeps its
// arguments and its callback (window.__fbLoginCallback), then frames the
// pages of frames one after another, each once the one before has posted
// its WA_EMBEDDED_SIGNUP message (window.__esOrigins lists their
// origins), and calls back with code (none when empty). Without frames
// the test calls back itself. The page loses the focus to Meta's pop-up,
// unless window.__popupBlocked.
func fakeMetaSDK(code string, frames []string) string {
	js, _ := json.Marshal(frames)
	return `(function(){
  var frames = ` + string(js) + `, code = ` + strconvQuote(code) + `;
  window.__esOrigins = [];
  window.FB = {
    init: function (o) { window.__fbInit = JSON.parse(JSON.stringify(o)); },
    login: function (cb, o) {
      window.__fbLogin = JSON.parse(JSON.stringify(o));
      window.__fbLoginCallback = cb;
      // Meta's pop-up takes the focus as it opens, unless the browser
      // blocked it.
      if (!window.__popupBlocked) window.dispatchEvent(new Event('blur'));
      if (!frames.length) return;
      var next = 0;
      var step = function () {
        if (next === frames.length) {
          window.removeEventListener('message', onMessage);
          cb(code ? { authResponse: { code: code }, status: 'connected' } : { authResponse: null, status: 'unknown' });
          return;
        }
        var f = document.createElement('iframe');
        f.src = frames[next++];
        f.style.display = 'none';
        document.body.appendChild(f);
      };
      var onMessage = function (e) {
        try { if (JSON.parse(e.data).type !== 'WA_EMBEDDED_SIGNUP') return; } catch (_) { return; }
        window.__esOrigins.push(e.origin);
        setTimeout(step, 0);
      };
      window.addEventListener('message', onMessage);
      step();
    }
  };
  setTimeout(function () { window.fbAsyncInit(); }, 0);
})();`
}

// finishPage posts a WA_EMBEDDED_SIGNUP FINISH to the page that framed it.
func finishPage(ids map[string]string) string {
	msg, _ := json.Marshal(map[string]any{"type": "WA_EMBEDDED_SIGNUP", "event": "FINISH", "version": "3", "data": ids})
	return `<!doctype html><script>parent.postMessage(` + strconvQuote(string(msg)) + `, '*');</script>`
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// openProduction serves the page as deployed (sandbox off) from a test
// server whose /api/ is the sandbox stack's, and opens it in a new tab at
// path (e.g. "/?session=...") once it shows state. Chromium's https
// requests are answered from
// answers, by URL without query, and refused otherwise: no test needs the
// internet.
//
// frameAlso widens the policy's frame-src. Meta's window is a popup, which
// frame-src does not bind, so any site can post to the page from there; a
// test frames its sites instead (a popup would escape the tab's
// interception), and names here the ones the policy would keep out, so
// that the page's script is what refuses their messages.
func openProduction(t *testing.T, path, state string, answers map[string]string, frameAlso ...string) *tab {
	t.Helper()
	cfg := config.Page{
		MetaAppID: stack.SandboxMetaAppID, MetaConfigID: stack.SandboxConfigID, GraphVersion: config.DefaultGraphVersion,
		PlivoSolutionID: config.SandboxSolutionID, ESVersion: "v4",
	}
	handler := page.Handler(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	stackURL, _ := url.Parse(sandbox.URL)
	api := httputil.NewSingleHostReverseProxy(stackURL)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			api.ServeHTTP(w, r)
			return
		}
		ev, err := apigatewaysim.Event(r, "GET /{proxy+}", nil)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		resp, _ := handler(r.Context(), ev)
		for k, v := range resp.Headers {
			if k == "Content-Security-Policy" && len(frameAlso) > 0 {
				v = strings.Replace(v, "frame-src https://*.facebook.com", "frame-src https://*.facebook.com "+strings.Join(frameAlso, " "), 1)
			}
			w.Header().Set(k, v)
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.WriteString(w, resp.Body)
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(func() { cancelTab(); cancel() })
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "https://*"}}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for e, err := range paused {
			if err != nil {
				return
			}
			body, known := answers[strings.SplitN(e.Request.URL, "?", 2)[0]]
			if !known {
				_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
				continue
			}
			ct := "text/html"
			if strings.HasSuffix(e.Request.URL, ".js") {
				ct = "text/javascript"
			}
			_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: e.RequestID, ResponseCode: 200,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: ct}, {Name: "Access-Control-Allow-Origin", Value: "*"}},
				Body:            []byte(body)})
		}
	}()
	tb := &tab{t: t, ctx: ctx}
	tb.do(chromedp.Navigate(srv.URL + path))
	tb.waitState(state)
	return tb
}

// linkToken mints an onboarding link's session token for clientRef, as
// the Tech Provider's backend does.
func linkToken(t *testing.T, clientRef string) string {
	t.Helper()
	link, err := sandbox.NewSession(context.Background(), clientRef, 0)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(link.URL, sandbox.URL+"/?session=")
}

// TestProductionPageWithoutLink: a deployed page opened without the
// onboarding link says so as it loads, and offers no Connect: the signup
// would refuse the customer only after Meta's whole flow had shared the
// account with the app.
func TestProductionPageWithoutLink(t *testing.T) {
	tb := openProduction(t, "/", "failed", map[string]string{page.SDKURL: fakeMetaSDK("", nil)})
	tb.apiErrors = true
	tb.expectCopy("no onboarding link")
	if !tb.connectDisabled() {
		t.Error("Connect is offered on a page opened without its link")
	}
	if called, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`!!window.__fbLogin`)); called {
		t.Error("Meta's dialog was opened")
	}
}

// TestProductionPageReloaded: the page takes the link's token out of the
// address bar; a reload (which the page itself advises when Meta's SDK did
// not load) keeps the link: the reloaded page checks it with its token,
// and stays usable.
func TestProductionPageReloaded(t *testing.T) {
	tb := openProduction(t, "/?session="+url.QueryEscape(linkToken(t, "customer-reload")), "idle", map[string]string{page.SDKURL: fakeMetaSDK("", nil)})
	if loc, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`window.location.search`)); strings.Contains(loc, "session") {
		t.Errorf("the token stays in the address bar: %q", loc)
	}
	// The reloaded page's link checks, as it sends them.
	if _, err := chromedp.Call(tb.ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__checks = [];
			(function (fetch) {
				window.fetch = function (u, o) {
					var p = fetch.apply(this, arguments);
					if (String(u).indexOf('/api/onboarding-sessions/check') < 0) return p;
					var c = { token: !!(o && o.headers && o.headers['X-Onboarding-Session']) };
					window.__checks.push(c);
					return p.then(function (r) { c.status = r.status; return r; });
				};
			})(window.fetch);`}); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Reload())
	tb.waitState("idle")
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](`window.__checks.length > 0 && !!window.__checks[0].status`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(waitFor))); err != nil {
		t.Fatalf("the reloaded page did not check its link: %v", err)
	}
	// The page's verdict follows the answer within its promise chain.
	tb.do(chromedp.Sleep(200 * time.Millisecond))
	checks, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[[]map[string]any](`window.__checks`))
	if len(checks) != 1 || checks[0]["token"] != true || checks[0]["status"] != float64(200) || tb.connectDisabled() {
		t.Errorf("after a reload the page checked %v and shows %s (Connect disabled %t); want its link, usable", checks, tb.statusText(), tb.connectDisabled())
	}
	// A new visit in the same tab, without a link, is someone else's:
	// the earlier customer's link must not come with it.
	origin, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`window.location.origin`))
	tb.do(chromedp.Navigate("about:blank"))
	tb.do(chromedp.Navigate(origin + "/"))
	tb.waitState("failed")
	tb.apiErrors = true
	tb.expectCopy("no onboarding link")
}

// TestProductionPage loads the page as deployed (sandbox off) with Meta's
// SDK URL answered by the test, checks that FB.init and FB.login receive
// the v4 form with the solution ID, and that the signup onboards the WABA
// of the FINISH posted from https://business.facebook.com, a Meta host
// other than www. A FINISH that https://evilfacebook.com posts after it,
// naming another WABA, is ignored: the attack a suffix test on the origin
// (Meta's sample) lets through.
func TestProductionPage(t *testing.T) {
	sandbox.Meta.Reset()
	sandbox.Plivo.Reset()
	waba, phone, business, decoy := "731000000000001", "732000000000001", "733000000000001", "739000000000009"
	code := sandbox.Meta.IssueCode(metasim.Grant{WABAID: waba, BusinessID: business,
		PhoneNumbers: []metasim.PhoneNumber{{ID: phone, DisplayPhoneNumber: "+1 555-010-7310"}}})
	const meta, evil = "https://business.facebook.com", "https://evilfacebook.com"
	answers := map[string]string{
		page.SDKURL:         fakeMetaSDK(code, []string{meta + "/es-finish", evil + "/es-finish"}),
		meta + "/es-finish": finishPage(map[string]string{"waba_id": waba, "phone_number_id": phone, "business_id": business}),
		evil + "/es-finish": finishPage(map[string]string{"waba_id": decoy, "phone_number_id": phone, "business_id": business}),
	}
	tb := openProduction(t, "/?session="+url.QueryEscape(linkToken(t, "customer-prod")), "idle", answers, evil)
	ctx := tb.ctx
	// A message from the page's own origin is not Meta's: ignored.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.postMessage(JSON.stringify({type:'WA_EMBEDDED_SIGNUP',event:'FINISH',data:{waba_id:'`+decoy+`'}}), '*')`)); err != nil {
		t.Fatal(err)
	}
	// The WABAs the page posts, read off its requests.
	evalJS(tb, `window.__posted = []; (function (fetch) {
		window.fetch = function (u, o) {
			if (o && o.method === 'POST') window.__posted.push(JSON.parse(o.body).waba_id || '(none)');
			return fetch.apply(this, arguments);
		};
	})(window.fetch); true`)
	tb.do(chromedp.Click("#connect"))
	tb.waitState("onboarded")

	init, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`window.__fbInit`))
	if err != nil {
		t.Fatal(err)
	}
	login, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`window.__fbLogin`))
	if err != nil {
		t.Fatal(err)
	}
	// Meta's Implementation page initialises the SDK with exactly these
	// four settings; only the app ID and the Graph version are ours.
	wantInit := map[string]any{"appId": stack.SandboxMetaAppID, "autoLogAppEvents": true, "xfbml": true, "version": config.DefaultGraphVersion}
	if !reflect.DeepEqual(init, wantInit) {
		t.Errorf("FB.init got %v, want Meta's documented %v", init, wantInit)
	}
	extras, _ := json.Marshal(login["extras"])
	if login["config_id"] != stack.SandboxConfigID || login["response_type"] != "code" || login["override_default_response_type"] != true ||
		string(extras) != `{"setup":{"solutionID":"`+config.SandboxSolutionID+`"}}` {
		t.Errorf("FB.login got %v (extras %s), want the v4 form with the solution ID", login, extras)
	}
	// Both frames' messages reached the page; it acted on Meta's alone.
	if origins, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__esOrigins`)); err != nil || strings.Join(origins, " ") != meta+" "+evil {
		t.Errorf("messages came from %v (%v), want %s then %s", origins, err, meta, evil)
	}
	if posted, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__posted`)); err != nil || len(posted) != 1 || posted[0] != waba {
		t.Errorf("the page posted WABAs %v (%v), want %s from the message of %s", posted, err, waba, meta)
	}
	if item := record(t, waba); attr(item, "state") != "onboarded" || attr(item, "client_ref") != "customer-prod" {
		t.Errorf("record %v, want onboarded for customer-prod", item)
	}
	if item := record(t, decoy); item != nil {
		t.Errorf("a message from another origin reached the backend: %v", item)
	}
}

// TestProductionMessageOrigins: outside sandbox mode the page listens to
// https://facebook.com and its subdomains over https on the default port,
// and to no other origin, however alike. Each case delivers a CANCEL at
// the WhatsApp Business Account picker as a message event from origin
// (dispatched in the page, which a browser would do for a window there):
// the page names the step only if it listened.
func TestProductionMessageOrigins(t *testing.T) {
	pageTab := openProduction(t, "/?session="+url.QueryEscape(linkToken(t, "customer-origins")), "idle", map[string]string{page.SDKURL: fakeMetaSDK("", nil)})
	for _, tc := range []struct {
		origin   string
		listened bool
	}{
		{"https://www.facebook.com", true},
		{"https://web.facebook.com", true},
		{"https://business.facebook.com", true},
		{"https://facebook.com", true},
		{"https://evilfacebook.com", false},
		{"https://facebook.com.evil.example", false},
		{"https://www.facebook.com.evil.example", false},
		{"http://www.facebook.com", false},
		{"https://www.facebook.com:8443", false},
		{"https://facebook.co", false},
		{"null", false},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			tb := &tab{t: t, ctx: pageTab.ctx}
			tb.do(chromedp.Click("#connect"))
			tb.waitState("connecting")
			msg := `JSON.stringify({type: 'WA_EMBEDDED_SIGNUP', event: 'CANCEL', data: {current_step: 'WABA_PHONE_PROFILE_PICKER'}})`
			evalJS(tb, `window.dispatchEvent(new MessageEvent('message', {origin: `+strconvQuote(tc.origin)+`, data: `+msg+`}));
				window.__fbLoginCallback({authResponse: null, status: 'unknown'}); true`)
			tb.waitState("cancelled")
			if tc.listened {
				tb.expectCopy("cancelled at a step", "WhatsApp Business Account")
			} else {
				tb.expectCopy("cancelled")
			}
		})
	}
}

// TestSignupOutcomeAfterReload: once the link's signup has spent it, the
// link check can only say the link was used. A reload of the tab (or a
// mobile browser bringing back a discarded tab, or Back) shows the
// signup's outcome instead, from the WABA the tab remembers; so does a
// second tab opened from the same link, from the WABA the link check
// names to the link's holder.
func TestSignupOutcomeAfterReload(t *testing.T) {
	sandbox.Meta.Reset()
	sandbox.Plivo.Reset()
	waba, business, phones := testIDs("79", 1)
	code := sandbox.Meta.IssueCode(metasim.Grant{WABAID: waba, BusinessID: business, PhoneNumbers: phones})
	token := linkToken(t, "customer-reload-done")
	tb := openProduction(t, "/?session="+url.QueryEscape(token), "idle", map[string]string{page.SDKURL: fakeMetaSDK("", nil)})
	tb.do(chromedp.Click("#connect"))
	tb.waitState("connecting")
	tb.metaMessage("FINISH", map[string]string{"waba_id": waba, "phone_number_id": phones[0].ID, "business_id": business})
	tb.loginCallback(code)
	tb.waitState("onboarded")

	onboarded := func(tb *tab, how string) {
		tb.t.Helper()
		tb.waitStateWithin("onboarded", 10*time.Second)
		tb.expectCopy("onboarded", phones[0].DisplayPhoneNumber)
		if got := tb.text("#waba-id"); got != waba {
			tb.t.Errorf("%s: page shows WABA %q, want %s", how, got, waba)
		}
	}
	tb.do(chromedp.Reload())
	onboarded(tb, "after a reload")

	second := openProduction(t, "/?session="+url.QueryEscape(token), "onboarded", map[string]string{page.SDKURL: fakeMetaSDK("", nil)})
	onboarded(second, "in a second tab")
	// The link check named when the link was spent, which the second tab
	// keeps as its signup's post (TestFollowDuringSignup).
	if age, err := chromedp.Run(second.ctx, chromedp.Evaluate[float64](`Date.now() - history.state.onboardingFollow.postedAt`)); err != nil || age < 0 || age > float64(time.Minute.Milliseconds()) {
		t.Errorf("the second tab keeps its signup as posted %v ms ago (%v), want the link's spending, within the minute", age, err)
	}
	// The second tab remembers the WABA too.
	second.do(chromedp.Reload())
	onboarded(second, "in a second tab, reloaded")
}

// TestActivatingAfterReload: a reload while Plivo has not finished shows
// the signup activating, then onboarded, never Connect again.
func TestActivatingAfterReload(t *testing.T) {
	tb := open(t)
	tb.connect()
	waba := tb.value("#sbx-waba-id")
	tb.do(chromedp.SetValue("#sbx-plivo", "500"), chromedp.Click("#sbx-continue"))
	tb.waitState("pending")
	tb.do(chromedp.Reload())
	tb.poll(`document.getElementById('status').getAttribute('data-state') !== 'loading'`, "the reloaded page never left loading")
	// The resume function may have finished the signup by now.
	if state := strings.SplitN(tb.statusText(), ":", 2)[0]; state != "pending" && state != "onboarded" {
		t.Fatalf("after a reload while activating the page shows %s, want pending or onboarded", tb.statusText())
	}
	tb.waitState("onboarded")
	if got := tb.text("#waba-id"); got != waba {
		t.Errorf("page shows WABA %q, want %s", got, waba)
	}
}
