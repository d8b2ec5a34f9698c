package browser

import (
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// contrastJS defines contrast(fg, bg), the WCAG contrast ratio of two
// computed colours (rgb() or rgba() strings, alpha ignored).
const contrastJS = `function contrast(a, b) {
	var lum = function (c) {
		var v = c.match(/[\d.]+/g).slice(0, 3).map(function (x) {
			x = x / 255;
			return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
		});
		return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
	};
	var l1 = lum(a), l2 = lum(b);
	return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
}`

// focused is the id of the element with the keyboard focus ("" for the
// page's body).
func (tb *tab) focused() string {
	tb.t.Helper()
	id, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.activeElement && document.activeElement !== document.body ? document.activeElement.id : ''`))
	if err != nil {
		tb.t.Fatal(err)
	}
	return id
}

// tabTo presses Tab until #id has the focus, as a keyboard user reaches it.
func (tb *tab) tabTo(id string) {
	tb.t.Helper()
	for range 10 {
		if tb.focused() == id {
			return
		}
		tb.do(chromedp.KeyEvent("\t"))
	}
	tb.t.Fatalf("Tab never reached #%s (focus on %q)", id, tb.focused())
}

// TestKeyboardFocusKept: a keyboard user keeps their place (WCAG 2.4.3).
// The button stays focusable while the page waits, refusing clicks
// instead of being disabled, and once it is hidden the focus moves to the
// status title rather than falling to the page's start.
func TestKeyboardFocusKept(t *testing.T) {
	tb := readyTab(t, "customer-focus")
	rec := `{"waba_id":"109000000000444","state":"onboarded","phone_number_id":"112000000000444","display_phone_number":"+1 555-010-0444"}`
	evalJS(tb, `(function (fetch) {
		window.fetch = function (u, o) {
			if (o && o.method === 'POST') {
				return Promise.resolve(new Response(JSON.stringify({status: 'onboarded', record: `+rec+`, request_id: 'r'}),
					{status: 200, headers: {'Content-Type': 'application/json'}}));
			}
			return fetch.apply(this, arguments);
		};
	})(window.fetch); true`)
	tb.tabTo("connect")
	tb.do(chromedp.KeyEvent("\r"))
	tb.waitState("connecting")
	if id := tb.focused(); id != "connect" {
		t.Errorf("while the page waits on Meta the focus is on %q, want the button", id)
	}
	evalJS(tb, `window.__firstLogin = window.__fbLoginCallback; true`)
	tb.do(chromedp.KeyEvent("\r"))
	time.Sleep(200 * time.Millisecond)
	if again, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`window.__fbLoginCallback !== window.__firstLogin`)); again {
		t.Error("the button opened Meta's window again while the page waits on it")
	}
	tb.metaMessage("FINISH", map[string]string{"waba_id": "109000000000444", "phone_number_id": "112000000000444", "business_id": "198000000000444"})
	tb.loginCallback("code-focus")
	tb.waitState("onboarded")
	if id := tb.focused(); id != "status-title" {
		t.Errorf("with the button hidden the focus is on %q, want the status title", id)
	}
}

// TestNarrowScreen: at 320 CSS pixels the page does not scroll sideways
// (WCAG 1.4.10, reflow).
func TestNarrowScreen(t *testing.T) {
	tb := open(t)
	tb.do(chromedp.EmulateViewport(320, 800))
	tb.poll(`window.innerWidth === 320`, "the viewport did not narrow")
	if w, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > 320 {
		t.Errorf("the page is %d px wide at 320 px (%v)", w, err)
	}
	tb.screenshot("narrow")
}

// TestContrast: the support reference on a failure reaches 4.5:1 against
// the failed panel, and the button's focus ring 3:1 against the card
// (WCAG 1.4.3, 1.4.11), with a gap that keeps it apart from the button.
func TestContrast(t *testing.T) {
	tb := open(t)
	// Without its transition the panel has the failed colour at once.
	evalJS(tb, `(function () {
		document.getElementById('status').style.transition = 'none';
		document.getElementById('status').setAttribute('data-state', 'failed');
		var r = document.getElementById('reference');
		r.hidden = false;
		r.textContent = 'Reference: WhatsApp Business Account 109000000000111';
	})(); true`)
	ref, err := chromedp.Run(tb.ctx, chromedp.Evaluate[float64](`(function () { `+contrastJS+`
		return contrast(getComputedStyle(document.getElementById('reference')).color, getComputedStyle(document.getElementById('status')).backgroundColor);
	})()`))
	if err != nil || ref < 4.5 {
		t.Errorf("the reference's contrast on the failed panel is %.2f:1 (%v), want 4.5:1", ref, err)
	}
	tb.tabTo("connect")
	type ring struct {
		Contrast float64
		Offset   string
		Style    string
	}
	r, err := chromedp.Run(tb.ctx, chromedp.Evaluate[ring](`(function () { `+contrastJS+`
		var b = getComputedStyle(document.getElementById('connect'));
		return {contrast: contrast(b.outlineColor, getComputedStyle(document.querySelector('.card')).backgroundColor),
			offset: b.outlineOffset, style: b.outlineStyle};
	})()`))
	if err != nil || r.Style == "none" || r.Contrast < 3 || r.Offset == "0px" {
		t.Errorf("the focus ring is %+v (%v), want 3:1 against the card with an offset", r, err)
	}
}

// TestReducedMotion: with prefers-reduced-motion nothing on the page
// spins, the button's spinner included.
func TestReducedMotion(t *testing.T) {
	tb := open(t)
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatal(err)
	}
	tb.poll(`matchMedia('(prefers-reduced-motion: reduce)').matches`, "reduced motion was not emulated")
	spinning, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.status-icon, .btn-spinner'))
		.filter(function (e) { return getComputedStyle(e).animationName !== 'none'; }).map(function (e) { return e.className; })`))
	if err != nil || len(spinning) != 0 {
		t.Errorf("with reduced motion these still spin: %v (%v)", spinning, err)
	}
}
