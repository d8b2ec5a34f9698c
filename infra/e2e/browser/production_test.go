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
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/techprovider/wa-onboarding/infra/sim/apigatewaysim"
	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/page"
)

// fakeMetaSDK stands in for connect.facebook.net/en_US/sdk.js, answered by
// the test through Chromium's request interception. FB.login keeps its
// arguments, frames a page of staticxx.facebook.com (a Meta host the page
// must not listen to) and one of www.facebook.com, which post
// WA_EMBEDDED_SIGNUP messages from those real origins, then returns the
// code the Meta simulator issued.
const fakeMetaSDK = `(function(){
  window.FB = {
    init: function (o) { window.__fbInit = JSON.parse(JSON.stringify(o)); },
    login: function (cb, o) {
      window.__fbLogin = JSON.parse(JSON.stringify(o));
      var frame = function (src) { var f = document.createElement('iframe'); f.src = src; f.style.display = 'none'; document.body.appendChild(f); return f; };
      frame('https://staticxx.facebook.com/es-decoy');
      frame('https://www.facebook.com/es-finish').onload = function () {
        setTimeout(function () { cb({ authResponse: { code: '__CODE__' }, status: 'connected' }); }, 300);
      };
    }
  };
  setTimeout(function () { window.fbAsyncInit(); }, 0);
})();`

// finishPage posts a WA_EMBEDDED_SIGNUP FINISH to the page that framed it.
func finishPage(ids map[string]string) string {
	msg, _ := json.Marshal(map[string]any{"type": "WA_EMBEDDED_SIGNUP", "event": "FINISH", "version": "3", "data": ids})
	return `<!doctype html><script>parent.postMessage(` + strconvQuote(string(msg)) + `, '*');</script>`
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestProductionPage loads the page as deployed (sandbox off) with Meta's
// SDK URL answered by the test, checks that FB.init and FB.login receive
// the v4 form with the solution ID, and that the FINISH posted from
// https://www.facebook.com ends in an onboarded record while the one from
// another origin is ignored.
func TestProductionPage(t *testing.T) {
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
			w.Header().Set(k, v)
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.WriteString(w, resp.Body)
	}))
	defer srv.Close()

	sandbox.Meta.Reset()
	sandbox.Plivo.Reset()
	waba, phone, business, decoy := "731000000000001", "732000000000001", "733000000000001", "739000000000009"
	code := sandbox.Meta.IssueCode(metasim.Grant{WABAID: waba, BusinessID: business,
		PhoneNumbers: []metasim.PhoneNumber{{ID: phone, DisplayPhoneNumber: "+1 555-010-7310"}}})
	link, err := sandbox.NewSession(context.Background(), "customer-prod")
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	defer cancel()
	ctx, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()
	answers := map[string]string{
		page.SDKURL:                              strings.Replace(fakeMetaSDK, "__CODE__", code, 1),
		"https://www.facebook.com/es-finish":     finishPage(map[string]string{"waba_id": waba, "phone_number_id": phone, "business_id": business}),
		"https://staticxx.facebook.com/es-decoy": finishPage(map[string]string{"waba_id": decoy, "phone_number_id": phone, "business_id": business}),
	}
	// Enable interception first, then answer every paused https request
	// from answers (anything else is refused: no test needs the internet).
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "https://*"}}}); err != nil {
		t.Fatal(err)
	}
	paused := chromedp.Events(ctx, fetch.RequestPaused)
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
	token := strings.TrimPrefix(link.URL, sandbox.URL+"/?session=")
	tb := &tab{t: t, ctx: ctx}
	tb.do(chromedp.Navigate(srv.URL + "/?session=" + url.QueryEscape(token)))
	tb.waitState("idle")
	// A message from the page's own origin is not Meta's: ignored.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.postMessage(JSON.stringify({type:'WA_EMBEDDED_SIGNUP',event:'FINISH',data:{waba_id:'`+decoy+`'}}), '*')`)); err != nil {
		t.Fatal(err)
	}
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
	if init["appId"] != stack.SandboxMetaAppID || init["version"] != config.DefaultGraphVersion {
		t.Errorf("FB.init got %v", init)
	}
	extras, _ := json.Marshal(login["extras"])
	if login["config_id"] != stack.SandboxConfigID || login["response_type"] != "code" || login["override_default_response_type"] != true ||
		string(extras) != `{"setup":{"solutionID":"`+config.SandboxSolutionID+`"}}` {
		t.Errorf("FB.login got %v (extras %s), want the v4 form with the solution ID", login, extras)
	}
	if item := record(t, waba); attr(item, "state") != "onboarded" || attr(item, "client_ref") != "customer-prod" {
		t.Errorf("record %v, want onboarded for customer-prod", item)
	}
	if item := record(t, decoy); item != nil {
		t.Errorf("a message from another origin reached the backend: %v", item)
	}
}
