package browser

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
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

// TestCancelAtEachStep: leaving Meta's window at any step Meta documents
// for a CANCEL's current_step writes nothing and names the step in words,
// never Meta's enum.
func TestCancelAtEachStep(t *testing.T) {
	steps := map[string]string{
		"BUSINESS_ACCOUNT_SELECTION":      "business portfolio",
		"WABA_PHONE_PROFILE_PICKER":       "WhatsApp Business Account",
		"WHATSAPP_BUSINESS_PROFILE_SETUP": "business profile",
		"PHONE_NUMBER_SETUP":              "phone number",
		"PHONE_NUMBER_VERIFICATION":       "phone number verification",
		"PERMISSIONS":                     "permissions",
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
	// Closed before any screen with a current_step: no message says
	// where, and the page says so without a step.
	t.Run("window closed", func(t *testing.T) {
		tb := open(t)
		tb.expectCopy("idle")
		tb.connect()
		tb.do(chromedp.Click("#sbx-close"))
		tb.waitState("cancelled")
		tb.expectCopy("cancelled")
	})
}

// metaErrorTimestamp is the end of the reference: the sandbox stamps the
// error with the Unix time it was reported, as Meta does.
var metaErrorTimestamp = regexp.MustCompile(`, timestamp \d{10}$`)

// TestMetaErrorEvent: an error in Meta's window ends the attempt with the
// page's own text and the reference Meta's support asks for (error code,
// session ID, timestamp); nothing is written. Meta documents a
// user-reported error as a CANCEL with error_message, error_code,
// session_id and timestamp; the ERROR event carries the same fields.
func TestMetaErrorEvent(t *testing.T) {
	for _, event := range []string{"CANCEL", "ERROR"} {
		t.Run(event, func(t *testing.T) {
			tb := open(t)
			tb.connect()
			waba := tb.value("#sbx-waba-id")
			tb.do(chromedp.Click("#sbx-outcome-error"), chromedp.SetValue("#sbx-error-event", event))
			code, session := tb.value("#sbx-error-code"), tb.value("#sbx-session-id")
			tb.do(chromedp.Click("#sbx-continue"))
			tb.waitState("failed")
			tb.expectCopy("Meta error")
			ref := tb.text("#reference")
			if want := "Reference: Meta error " + code + ", session " + session; !strings.HasPrefix(ref, want) || !metaErrorTimestamp.MatchString(ref) {
				t.Errorf("reference %q, want %q and the timestamp", ref, want+", timestamp <unix time>")
			}
			if label := tb.text("#connect-label"); label != "Start again" {
				t.Errorf("button %q, want Start again: Meta's code is gone", label)
			}
			if item := record(t, waba); item != nil {
				t.Errorf("an error wrote a record: %v", item)
			}
		})
	}
}

// TestBusinessAppNumberRefused: a FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING
// (a number already used with the WhatsApp Business app) is refused by
// the page, whichever of the code and the message comes first: its code
// never reaches the backend, so Meta never sees it exchanged, nothing is
// written and Plivo is never called.
func TestBusinessAppNumberRefused(t *testing.T) {
	for _, order := range []string{"ids-first", "code-first"} {
		t.Run(order, func(t *testing.T) {
			tb := open(t)
			tb.connect()
			waba := tb.value("#sbx-waba-id")
			tb.do(chromedp.SetValue("#sbx-event", "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"), chromedp.SetValue("#sbx-order", order),
				chromedp.Click("#sbx-continue"))
			tb.waitState("failed")
			tb.expectCopy("WhatsApp Business app number")
			if label := tb.text("#connect-label"); label != "Start again" {
				t.Errorf("button %q, want Start again", label)
			}
			// Past the page's wait for session info, after which a code
			// alone would be posted.
			tb.advanceClock(time.Minute)
			time.Sleep(time.Second)
			if state := tb.statusText(); !strings.HasPrefix(state, "failed:") {
				t.Errorf("page moved on to %s", state)
			}
			if n := sandbox.Meta.Calls(metasim.EndpointOAuth); n != 0 {
				t.Errorf("the code was exchanged %d times", n)
			}
			if item := record(t, waba); item != nil {
				t.Errorf("a WhatsApp Business app number wrote a record: %v", item)
			}
			if n := sandbox.Plivo.SignupCalls(); n != 0 {
				t.Errorf("Plivo was called %d times", n)
			}
			if order == "ids-first" {
				tb.screenshot("failed-business-app-number")
			}
		})
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
