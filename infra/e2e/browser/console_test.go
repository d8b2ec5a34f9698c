package browser

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleOffersOnboardedWABAs onboards a WABA through the page, then
// opens the operator console: its WABA select lists the WABA with its
// number, and the WABA field holds the newest one, ready for the demos.
func TestConsoleOffersOnboardedWABAs(t *testing.T) {
	tb := open(t)
	tb.connect()
	waba, display := tb.value("#sbx-waba-id"), tb.value("#sbx-display-phone")
	tb.do(chromedp.Click("#sbx-continue"))
	tb.waitState("onboarded")

	ctx, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()
	ctx, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()
	js := strconv.Quote(waba)
	// The console remembers the operator's last WABA in localStorage; the
	// browser profile outlives one test (-count), so start without it.
	if err := chromedp.Do(ctx, chromedp.Navigate(sandbox.URL+"/console")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`localStorage.clear()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`Array.from(document.querySelectorAll('#waba-pick option')).some(o => o.value === `+js+`)`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(waitFor))); err != nil {
		t.Fatalf("the console's WABA select never listed %s: %v", waba, err)
	}
	label, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll('#waba-pick option')).find(o => o.value === `+js+`).textContent`))
	if err != nil || !strings.Contains(label, display) {
		t.Errorf("option for %s reads %q (%v), want the number %s", waba, label, err, display)
	}
	// The field holds the newest onboarded WABA, the select's first: ours,
	// unless the resume schedule finished another test's pending signup
	// since.
	newest, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelectorAll('#waba-pick option')[1].value`))
	if err != nil {
		t.Fatal(err)
	}
	picked, err := chromedp.Run(ctx, chromedp.Value("#waba"))
	if err != nil || picked != newest || picked == "" {
		t.Errorf("WABA field %q (%v), want the newest onboarded WABA %s (this test onboarded %s)", picked, err, newest, waba)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(shots, "console.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
