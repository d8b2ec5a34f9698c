package browser

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// poll waits until expr is true in the tab, or fails with what.
func (tb *tab) poll(expr, what string) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(waitFor))); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// TestConsoleCustomerViewAndDisconnect follows one customer's life in the
// sandbox as a Tech Provider trying `make run` would: sign up through the
// page, open the console, see the customer's WABA through the per-customer
// route and its lifecycle events from the bus, press Disconnect (Meta's
// simulator sends the signed account_update), and see the record become
// disconnected and the disconnected event appear.
func TestConsoleCustomerViewAndDisconnect(t *testing.T) {
	tb := open(t)
	tb.connect()
	waba := tb.value("#sbx-waba-id")
	tb.do(chromedp.Click("#sbx-continue"))
	tb.waitState("onboarded")
	clientRef := attr(record(t, waba), "client_ref")
	if clientRef == "" {
		t.Fatalf("record %s has no client_ref", waba)
	}
	w := strconv.Quote(waba)
	row := `document.querySelector('#customer-records tr[data-waba=' + JSON.stringify(` + w + `) + ']')`
	event := func(name string) string {
		return `!!document.querySelector('#lifecycle-events li[data-waba=' + JSON.stringify(` + w + `) + '][data-event="` + name + `"]')`
	}

	tb.do(chromedp.Navigate(sandbox.URL+"/console#lifecycle"), chromedp.WaitVisible("#customer-form"))
	tb.do(chromedp.SetValue("#customer-ref", clientRef), chromedp.Click("#customer-load"))
	tb.poll(row+` && `+row+`.querySelector('.state').textContent.startsWith('onboarded')`,
		"the customer view never showed "+waba+" onboarded")
	status := tb.text("#customer-status")
	if want := "/api/customers/" + clientRef + "/whatsapp → 200"; !strings.Contains(status, want) {
		t.Errorf("customer status %q, want the route's call %q", status, want)
	}
	tb.poll(event("verified")+` && `+event("onboarded"), "the console never listed the verified and onboarded events of "+waba)
	tb.screenshot("console-customer")

	tb.do(chromedp.Click(`#customer-records button[data-disconnect=` + w + `]`))
	tb.poll(row+` && `+row+`.querySelector('.state').textContent.startsWith('disconnected')`,
		"the customer view never showed "+waba+" disconnected")
	tb.poll(event("disconnected"), "the console never listed the disconnected event of "+waba)
	if got := attr(record(t, waba), "state"); got != "disconnected" {
		t.Errorf("record state %q after Disconnect, want disconnected", got)
	}
	if n, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](
		`document.querySelectorAll('#lifecycle-events li[data-waba=' + JSON.stringify(`+w+`) + '][data-event="disconnected"]').length`)); err != nil || n != 1 {
		t.Errorf("%d disconnected events listed (%v), want 1", n, err)
	}
	if btns, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](
		`document.querySelectorAll('#customer-records button[data-disconnect=' + JSON.stringify(`+w+`) + ']').length`)); err != nil || btns != 0 {
		t.Errorf("a disconnected record still offers Disconnect (%d, %v)", btns, err)
	}
	tb.screenshot("console-disconnected")
}
