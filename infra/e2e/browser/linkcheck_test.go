package browser

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
)

// connectDisabled reports whether the page offers no way to start Meta's
// dialog: Connect is hidden, disabled, or refuses clicks while the page
// waits (aria-disabled).
func (tb *tab) connectDisabled() bool {
	tb.t.Helper()
	off, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`(function(b){return b.hidden || b.disabled || b.getAttribute('aria-disabled') === 'true'})(document.getElementById('connect'))`))
	if err != nil {
		tb.t.Fatal(err)
	}
	return off
}

// TestLinkCheckedOnLoad opens a good, a spent (by a signup that named no
// WABA), a forged and an expired onboarding link. A dead link must disable Connect as the page loads,
// before any Meta dialog, with the customer's copy (checkCopy: no internal
// names); a good link, checked the same way, stays usable and is not spent
// by the check.
func TestLinkCheckedOnLoad(t *testing.T) {
	const deadTitle = "Your onboarding link cannot be used"
	// Minted first: it expires (with the verifier's 30 s leeway) while
	// the other cases run.
	expiring, err := sandbox.NewSession(context.Background(), "customer-expiring", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	expiresAt, err := time.Parse(time.RFC3339, expiring.ExpiresAt)
	if err != nil {
		t.Fatalf("expires_at %q: %v", expiring.ExpiresAt, err)
	}

	good, err := sandbox.NewSession(context.Background(), "customer-link", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("good link: checked, usable, not spent", func(t *testing.T) {
		tb := openURL(t, good.URL)
		if tb.connectDisabled() {
			t.Fatal("Connect is disabled for a good link")
		}
		// Opened again: the check did not spend it. The code alone names
		// no WABA, so the spent link has no signup to follow (see
		// TestSignupOutcomeAfterReload) and is dead below.
		tb = openURL(t, good.URL)
		tb.connect()
		waba := tb.value("#sbx-waba-id")
		tb.do(chromedp.SetValue("#sbx-order", "code-only"), chromedp.Click("#sbx-continue"))
		tb.waitState("onboarded")
		if ref := attr(record(t, waba), "client_ref"); ref != "customer-link" {
			t.Errorf("record client_ref %q, want customer-link", ref)
		}
	})
	dead := []struct {
		name, url, text, shot string
	}{
		{name: "spent link", url: good.URL, text: "The link was already used for a signup. Ask your provider for a new link.", shot: "failed-link-used"},
		{name: "forged link", url: sandbox.URL + "/?session=v1.local.eyJjIjoiY3VzdG9tZXItNDIifQ.AAAA", text: "The link is not valid. Ask your provider for a new link.", shot: "failed-bad-link"},
		{name: "not a token", url: sandbox.URL + "/?session=not-a-token", text: "The link is not valid. Ask your provider for a new link."},
		{name: "expired link", url: expiring.URL, text: "The link has expired. Ask your provider for a new link."},
	}
	for _, tt := range dead {
		t.Run(tt.name, func(t *testing.T) {
			if tt.url == expiring.URL {
				if wait := time.Until(expiresAt.Add(31 * time.Second)); wait > 0 {
					time.Sleep(wait) // the link's own clock: nothing else to await
				}
			}
			tb := openURLIn(t, tt.url, "failed") // resets the simulators' counts
			tb.apiErrors = true
			if title := tb.text("#status-title"); title != deadTitle {
				t.Errorf("title %q, want %q", title, deadTitle)
			}
			if text := tb.text("#status-text"); text != tt.text {
				t.Errorf("text %q, want %q", text, tt.text)
			}
			tb.checkCopy()
			if !tb.connectDisabled() {
				t.Error("Connect is still offered for a dead link")
			}
			if visible, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`!!document.getElementById('sbx-dialog') && !document.getElementById('sbx-dialog').hidden`)); visible {
				t.Error("Meta's dialog opened")
			}
			if n := sandbox.Meta.Calls(metasim.EndpointOAuth); n != 0 {
				t.Errorf("a code was exchanged %d times for a dead link", n)
			}
			if tt.shot != "" {
				tb.screenshot(tt.shot)
			}
		})
	}
}
