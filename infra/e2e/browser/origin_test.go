package browser

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestSandboxSDKFromAnotherOrigin: as Meta serves its SDK from
// connect.facebook.net and posts Embedded Signup messages from
// www.facebook.com, the sandbox SDK and its message relay come from the
// local stack's second port. The page accepts messages from that origin
// only: a WA_EMBEDDED_SIGNUP FINISH posted from the page's own origin (what
// any script injected into the page could do) naming another WABA is
// ignored, and the signup onboards the WABA the simulated Meta granted,
// whose FINISH message arrived from the SDK's origin.
func TestSandboxSDKFromAnotherOrigin(t *testing.T) {
	tb := open(t)
	type pageConfig struct {
		Page, Origins, SDK string
		Scripts            []string
	}
	cfg, err := chromedp.Run(tb.ctx, chromedp.Evaluate[pageConfig](`({
		page: location.origin, origins: document.body.dataset.origins, sdk: document.body.dataset.sdkUrl,
		scripts: Array.from(document.scripts).map(s => s.src).filter(Boolean)})`))
	if err != nil {
		t.Fatal(err)
	}
	sdk, err := url.Parse(cfg.SDK)
	if err != nil || sdk.Host == "" {
		t.Fatalf("sandbox SDK URL %q is not absolute (%v)", cfg.SDK, err)
	}
	sdkOrigin := sdk.Scheme + "://" + sdk.Host
	if sdkOrigin == cfg.Page {
		t.Fatalf("the sandbox SDK is served from the page's own origin %s", cfg.Page)
	}
	if cfg.Origins != sdkOrigin {
		t.Errorf("page accepts messages from %q, want exactly the SDK's origin %q", cfg.Origins, sdkOrigin)
	}
	loaded := false
	for _, s := range cfg.Scripts {
		loaded = loaded || strings.HasPrefix(s, sdkOrigin+"/")
	}
	if !loaded {
		t.Errorf("no script of the page comes from %s: %v", sdkOrigin, cfg.Scripts)
	}

	// Record the origin of every message the page receives.
	evalJS(tb, `window.__origins = []; window.addEventListener('message', function (e) {
		try { if (JSON.parse(e.data).type === 'WA_EMBEDDED_SIGNUP') window.__origins.push(e.origin); } catch (_) {}
	}); true`)
	tb.connect()
	waba := tb.value("#sbx-waba-id")
	const forged = "109999999999901"
	evalJS(tb, `window.postMessage(JSON.stringify({type: 'WA_EMBEDDED_SIGNUP', event: 'FINISH', version: '3',
		data: {waba_id: `+strconv.Quote(forged)+`, phone_number_id: '109999999999902', business_id: '109999999999903'}}), location.origin); true`)
	// Code only: the IDs the page sends are those of a message it accepted.
	tb.do(chromedp.SetValue("#sbx-order", "code-only"), chromedp.Click("#sbx-continue"))
	tb.waitState("onboarded")
	if got := tb.text("#waba-id"); got != waba {
		t.Errorf("page shows WABA %q, want the granted %s", got, waba)
	}
	if item := record(t, waba); attr(item, "state") != "onboarded" {
		t.Errorf("granted WABA's record %v, want onboarded", item)
	}
	if item := record(t, forged); len(item) != 0 {
		t.Errorf("the forged message's WABA has a record: %v", item)
	}

	// With the IDs first, the FINISH message the page uses comes from the
	// SDK's origin.
	tb2 := open(t)
	evalJS(tb2, `window.__origins = []; window.addEventListener('message', function (e) {
		try { if (JSON.parse(e.data).type === 'WA_EMBEDDED_SIGNUP') window.__origins.push(e.origin); } catch (_) {}
	}); true`)
	tb2.connect()
	tb2.do(chromedp.SetValue("#sbx-order", "ids-first"), chromedp.Click("#sbx-continue"))
	tb2.waitState("onboarded")
	origins, err := chromedp.Run(tb2.ctx, chromedp.Evaluate[[]string](`window.__origins`))
	if err != nil {
		t.Fatal(err)
	}
	if len(origins) != 1 || origins[0] != sdkOrigin {
		t.Errorf("WA_EMBEDDED_SIGNUP messages came from %v, want one from %s", origins, sdkOrigin)
	}
}

// evalJS runs script in the tab, failing the test if it throws.
func evalJS(tb *tab, script string) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](script)); err != nil {
		tb.t.Fatalf("script: %v", err)
	}
}
