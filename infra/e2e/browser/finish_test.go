package browser

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestFinishStates: every way a customer can finish Meta's flow ends in
// the right record and the right page text. Only a verified number reaches
// Plivo; the others wait for the customer, and a later signup of the same
// WABA with a verified number onboards it.
func TestFinishStates(t *testing.T) {
	for _, tc := range []struct {
		name, event, number string
		copy, state         string
	}{
		{name: "number not verified", event: "FINISH", number: "unverified", copy: "number not verified", state: "phone_unverified"},
		{name: "no number", event: "FINISH", number: "none", copy: "no number", state: "awaiting_number"},
		{name: "WABA only", event: "FINISH_ONLY_WABA", number: "verified", copy: "no number", state: "awaiting_number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := open(t)
			tb.apiErrors = true
			tb.connect()
			waba, phone := tb.value("#sbx-waba-id"), tb.value("#sbx-phone-number-id")
			tb.do(chromedp.SetValue("#sbx-event", tc.event), chromedp.SetValue("#sbx-number", tc.number), chromedp.Click("#sbx-continue"))
			tb.waitState("failed")
			tb.expectCopy(tc.copy)
			if label := tb.text("#connect-label"); label != "Start again" {
				t.Errorf("button %q, want Start again", label)
			}
			tb.screenshot("finish-" + strings.ReplaceAll(tc.name, " ", "-"))
			item := record(t, waba)
			if attr(item, "state") != tc.state || attr(item, "failure_reason") != "" {
				t.Fatalf("record %v, want state %s and no failure reason", item, tc.state)
			}
			if n := sandbox.Plivo.SignupCalls(); n != 0 {
				t.Fatalf("Plivo was called %d times for a signup it cannot onboard", n)
			}

			// The customer starts again and finishes with a verified number.
			tb.connect()
			tb.do(chromedp.SetValue("#sbx-waba-id", waba), chromedp.SetValue("#sbx-phone-number-id", phone),
				chromedp.SetValue("#sbx-event", "FINISH"), chromedp.SetValue("#sbx-number", "verified"), chromedp.Click("#sbx-continue"))
			tb.waitState("onboarded")
			tb.expectCopy("onboarded", tb.text("#phone-display"))
			if item := record(t, waba); attr(item, "state") != "onboarded" || attr(item, "phone_number_id") != phone {
				t.Errorf("after the second signup: %v", item)
			}
		})
	}
}

// TestCancelAtEachStep: leaving Meta's window at any step writes nothing
// and names the step in words, never Meta's enum.
func TestCancelAtEachStep(t *testing.T) {
	steps := map[string]string{
		"LOGIN":                      "sign-in",
		"BUSINESS_ACCOUNT_SELECTION": "business portfolio",
		"WABA_SELECTION":             "WhatsApp Business Account",
		"PHONE_NUMBER_SETUP":         "phone number",
		"PHONE_NUMBER_VERIFICATION":  "phone number verification",
		"PERMISSIONS":                "permissions",
	}
	for step, words := range steps {
		t.Run(step, func(t *testing.T) {
			tb := open(t)
			tb.connect()
			waba := tb.value("#sbx-waba-id")
			tb.do(chromedp.Click("#sbx-outcome-cancel"), chromedp.SetValue("#sbx-step", step), chromedp.Click("#sbx-continue"))
			tb.waitState("cancelled")
			tb.expectCopy("cancelled at a step", words)
			if label := tb.text("#connect-label"); label != "Start again" {
				t.Errorf("button %q, want Start again", label)
			}
			if step == "PHONE_NUMBER_VERIFICATION" {
				tb.screenshot("cancelled")
			}
			if item := record(t, waba); item != nil {
				t.Errorf("a cancelled signup wrote a record: %v", item)
			}
		})
	}
	t.Run("window closed", func(t *testing.T) {
		tb := open(t)
		tb.expectCopy("idle")
		tb.connect()
		tb.do(chromedp.Click("#sbx-close"))
		tb.waitState("cancelled")
		tb.expectCopy("cancelled at a step", "sign-in")
	})
}

// metaErrorReference is the line support reads back: the sandbox draws
// Meta's error code at random, so only its shape is fixed.
var metaErrorReference = regexp.MustCompile(`^Reference: Meta error \d+, session \d+$`)

// TestMetaErrorEvent: Meta's ERROR message (error_code, error_message,
// session_id) ends the attempt with its own text and a reference support
// can look up; nothing is written.
func TestMetaErrorEvent(t *testing.T) {
	tb := open(t)
	tb.connect()
	waba := tb.value("#sbx-waba-id")
	tb.do(chromedp.Click("#sbx-outcome-error"), chromedp.Click("#sbx-continue"))
	tb.waitState("failed")
	tb.expectCopy("Meta ERROR event")
	if ref := tb.text("#reference"); !metaErrorReference.MatchString(ref) {
		t.Errorf("reference %q, want Meta's error code and session", ref)
	}
	if label := tb.text("#connect-label"); label != "Start again" {
		t.Errorf("button %q, want Start again: Meta's code is gone", label)
	}
	if item := record(t, waba); item != nil {
		t.Errorf("an ERROR wrote a record: %v", item)
	}
}

// TestUndocumentedPlivoAnswerIsPending: a 4xx Plivo's guide does not list
// leaves the signup pending, never failed.
func TestUndocumentedPlivoAnswerIsPending(t *testing.T) {
	tb := open(t)
	tb.connect()
	waba := tb.value("#sbx-waba-id")
	tb.do(chromedp.SetValue("#sbx-plivo", "undocumented"), chromedp.Click("#sbx-continue"))
	tb.waitState("pending")
	tb.expectCopy("pending")
	if item := record(t, waba); attr(item, "state") != "verified" || attr(item, "last_error") != "plivo_undocumented" {
		t.Errorf("record %v, want verified with last_error plivo_undocumented", item)
	}
}
