package browser

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/shared/page"
)

// Meta delivers the login callback and its WA_EMBEDDED_SIGNUP messages
// without saying in which order or how far apart. These tests play Meta
// themselves on the page as deployed: the SDK's FB.login only keeps its
// callback, which the test calls, and the test dispatches Meta's messages
// from https://www.facebook.com when it chooses.

// metaOrigin is the origin the tests' Meta messages come from.
const metaOrigin = "https://www.facebook.com"

// signupTab opens the deployed page on an onboarding link of clientRef,
// records the body of every POST the page sends (posts), clicks Connect
// and waits until the page waits on Meta's window.
func signupTab(t *testing.T, clientRef string) *tab {
	t.Helper()
	tb := readyTab(t, clientRef)
	tb.do(chromedp.Click("#connect"))
	tb.waitState("connecting")
	return tb
}

// readyTab is signupTab before the click.
func readyTab(t *testing.T, clientRef string) *tab {
	t.Helper()
	tb := openProduction(t, "/?session="+url.QueryEscape(linkToken(t, clientRef)), "idle", map[string]string{page.SDKURL: fakeMetaSDK("", nil)})
	evalJS(tb, `window.__posted = []; (function (fetch) {
		window.fetch = function (u, o) {
			if (o && o.method === 'POST') window.__posted.push(JSON.parse(o.body));
			return fetch.apply(this, arguments);
		};
	})(window.fetch); true`)
	return tb
}

// metaMessage dispatches Meta's WA_EMBEDDED_SIGNUP event with data to the
// page, as Meta's window posts it.
func (tb *tab) metaMessage(event string, data map[string]string) {
	tb.t.Helper()
	msg, _ := json.Marshal(map[string]any{"type": "WA_EMBEDDED_SIGNUP", "event": event, "version": "3", "data": data})
	evalJS(tb, `window.dispatchEvent(new MessageEvent('message', {origin: `+strconvQuote(metaOrigin)+`, data: `+strconvQuote(string(msg))+`})); true`)
}

// loginCallback calls the callback the page gave the latest FB.login, with
// code, or as Meta does when the window closed without one when code is "".
func (tb *tab) loginCallback(code string) {
	tb.t.Helper()
	evalJS(tb, `window.__fbLoginCallback(`+loginResponse(code)+`); true`)
}

func loginResponse(code string) string {
	if code == "" {
		return `{authResponse: null, status: 'unknown'}`
	}
	return `{authResponse: {code: ` + strconvQuote(code) + `}, status: 'connected'}`
}

// posts are the bodies of the page's POSTs so far, the session token
// left out of failure messages.
func (tb *tab) posts() []map[string]string {
	tb.t.Helper()
	p, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]map[string]string](`window.__posted`))
	if err != nil {
		tb.t.Fatal(err)
	}
	for _, body := range p {
		if body["session"] != "" {
			body["session"] = "(token)"
		}
	}
	return p
}

// settled waits until the page has an outcome and returns its state.
func (tb *tab) settled() string {
	tb.t.Helper()
	tb.poll(`['onboarded', 'pending', 'failed', 'cancelled'].indexOf(document.getElementById('status').getAttribute('data-state')) >= 0`,
		"the page never showed an outcome; it shows "+tb.statusText())
	return strings.SplitN(tb.statusText(), ":", 2)[0]
}

// waitStateWithin is waitState for a state the page must reach within d.
func (tb *tab) waitStateWithin(state string, d time.Duration) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](`document.getElementById('status').getAttribute('data-state') === `+strconv.Quote(state),
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(d))); err != nil {
		tb.t.Fatalf("the page did not show %q within %s: it shows %s", state, d, tb.statusText())
	}
}

// testIDs returns a WABA, business and count phone number IDs no other
// test uses, starting with prefix.
func testIDs(prefix string, count int) (waba, business string, phones []metasim.PhoneNumber) {
	n := time.Now().UnixNano() % 1e9
	waba, business = fmt.Sprintf("%s1%011d", prefix, n), fmt.Sprintf("%s3%011d", prefix, n)
	for i := range count {
		phones = append(phones, metasim.PhoneNumber{ID: fmt.Sprintf("%s%d%011d", prefix, 4+i, n), DisplayPhoneNumber: fmt.Sprintf("+1 555-010-%s%d0", prefix[:2], i)})
	}
	return waba, business, phones
}

// TestSessionInfoAfterCode: Meta's message may reach the page seconds
// after the code. It still decides the signup, and the page posts as soon
// as it arrives: a FINISH naming one of the WABA's two numbers onboards
// that number (the code alone cannot say which), as do the other finishes
// Meta lists with the same session info, a FINISH_ONLY_WABA waits
// for a number instead of onboarding one the WABA has, and a number used
// with the WhatsApp Business app is refused without its code ever being
// sent: Meta never exchanges it and Plivo never onboards the WABA.
func TestSessionInfoAfterCode(t *testing.T) {
	// Past a second and a half after the code, and inside the page's wait.
	const late = 2 * time.Second
	tests := []struct {
		name, event string
		numbers     int
		page        string // the page's state; copy is its pageCopy scenario
		copy        string
		record      string // the record's state; "" for no record
		exchanges   int    // codes Meta exchanged
		// plivo is whether Plivo onboarded the WABA. Plivo's call count
		// would not do: the resume function may be finishing an earlier
		// test's signup meanwhile.
		plivo bool
	}{
		{name: "FINISH, WABA with two numbers", event: "FINISH", numbers: 2, page: "onboarded", record: "onboarded", exchanges: 1, plivo: true},
		// Meta's Implementation page lists both as successful finishes
		// whose session info names the customer's assets, like FINISH.
		{name: "FINISH_OBO_MIGRATION, WABA with two numbers", event: "FINISH_OBO_MIGRATION", numbers: 2, page: "onboarded", record: "onboarded", exchanges: 1, plivo: true},
		{name: "FINISH_GRANT_ONLY_API_ACCESS, WABA with two numbers", event: "FINISH_GRANT_ONLY_API_ACCESS", numbers: 2, page: "onboarded", record: "onboarded", exchanges: 1, plivo: true},
		{name: "FINISH_ONLY_WABA", event: "FINISH_ONLY_WABA", numbers: 1, page: "failed", copy: "no number", record: "awaiting_number", exchanges: 1},
		{name: "WhatsApp Business app number", event: "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING", numbers: 1, page: "failed", copy: "WhatsApp Business app number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sandbox.Meta.Reset()
			sandbox.Plivo.Reset()
			waba, business, phones := testIDs("76", tt.numbers)
			code := sandbox.Meta.IssueCode(metasim.Grant{WABAID: waba, BusinessID: business, PhoneNumbers: phones})
			named := phones[len(phones)-1].ID
			data := map[string]string{"waba_id": waba, "business_id": business}
			if tt.event != "FINISH_ONLY_WABA" {
				data["phone_number_id"] = named
			}

			tb := signupTab(t, "customer-late-ids")
			tb.loginCallback(code)
			tb.waitState("verifying")
			time.Sleep(late)
			tb.metaMessage(tt.event, data)
			if state := tb.settled(); state != tt.page {
				t.Fatalf("page shows %s, want %s; posted %v", tb.statusText(), tt.page, tb.posts())
			}
			if tt.copy != "" {
				tb.expectCopy(tt.copy)
			}
			if tt.record == "" {
				// Nothing waits any longer to send the code.
				tb.advanceClock(time.Minute)
				time.Sleep(time.Second)
			}

			posts := tb.posts()
			switch {
			case tt.record == "" && len(posts) != 0:
				t.Errorf("the page posted %v, want nothing", posts)
			case tt.record != "" && len(posts) != 1:
				t.Errorf("the page posted %d times (%v), want once", len(posts), posts)
			case tt.record != "" && (posts[0]["waba_id"] != waba || posts[0]["phone_number_id"] != data["phone_number_id"] ||
				posts[0]["business_id"] != business || (tt.event == "FINISH_ONLY_WABA") != (posts[0]["finish"] == "waba_only")):
				t.Errorf("the page posted %v, want the message's IDs", posts[0])
			}
			item := record(t, waba)
			if attr(item, "state") != tt.record {
				t.Errorf("record %v, want state %q", item, tt.record)
			}
			if tt.record == "onboarded" && attr(item, "phone_number_id") != named {
				t.Errorf("record onboarded number %s, want %s, the one the message named", attr(item, "phone_number_id"), named)
			}
			if n := sandbox.Meta.Calls(metasim.EndpointOAuth); n != tt.exchanges {
				t.Errorf("Meta exchanged %d codes, want %d", n, tt.exchanges)
			}
			if _, onboarded := sandbox.Plivo.Onboarded(waba); onboarded != tt.plivo {
				t.Errorf("Plivo onboarded the WABA: %t, want %t", onboarded, tt.plivo)
			}
		})
	}
}

// TestCancelAfterCallback: Meta's CANCEL or ERROR message may reach the
// page after a login callback without code, once the page already says
// the signup was not finished. Its details still reach the customer: the
// step, or the reference Meta's support asks for. A later plain CANCEL
// does not take an error's reference away, and nothing is ever posted.
func TestCancelAfterCallback(t *testing.T) {
	type message struct {
		event string
		data  map[string]string
	}
	userError := message{"CANCEL", map[string]string{"error_message": "Your verified name violates WhatsApp guidelines.",
		"error_id": "524126", "session_id": "f34b51dab5e0498", "timestamp": "1746041036"}}
	tests := []struct {
		name     string
		messages []message
		page     string // the page's state; copy and args its pageCopy scenario
		copy     string
		args     []string
		ref      string // the reference shown, "" for none
	}{
		{name: "user-reported error", messages: []message{userError}, page: "failed", copy: "Meta error",
			ref: "Reference: Meta error 524126, session f34b51dab5e0498, timestamp 1746041036"},
		{name: "ERROR event", messages: []message{{"ERROR", map[string]string{"error_message": "Something went wrong.",
			"error_code": "524999", "session_id": "0a1b2c3d4e5f607", "timestamp": "1746041099"}}}, page: "failed", copy: "Meta error",
			ref: "Reference: Meta error 524999, session 0a1b2c3d4e5f607, timestamp 1746041099"},
		{name: "step", messages: []message{{"CANCEL", map[string]string{"current_step": "PHONE_NUMBER_VERIFICATION"}}},
			page: "cancelled", copy: "cancelled at a step", args: []string{"phone number verification"}},
		{name: "error, then a plain CANCEL", messages: []message{userError, {"CANCEL", map[string]string{"current_step": "PERMISSIONS"}}},
			page: "failed", copy: "Meta error", ref: "Reference: Meta error 524126, session f34b51dab5e0498, timestamp 1746041036"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := signupTab(t, "customer-late-cancel")
			tb.loginCallback("")
			// The page gave up waiting for the message.
			tb.waitState("cancelled")
			tb.expectCopy("cancelled")
			for _, m := range tt.messages {
				tb.metaMessage(m.event, m.data)
			}
			tb.waitStateWithin(tt.page, 3*time.Second)
			if tt.ref != "" {
				tb.poll(`document.getElementById('reference').textContent === `+strconvQuote(tt.ref),
					"the page shows reference "+strconvQuote(tb.text("#reference"))+", want "+strconvQuote(tt.ref))
			}
			// Once every message is in, the page says what they said.
			time.Sleep(300 * time.Millisecond)
			tb.expectCopy(tt.copy, tt.args...)
			if ref, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.getElementById('reference').hidden ? '' : document.getElementById('reference').textContent`)); ref != tt.ref {
				t.Errorf("reference %q, want %q", ref, tt.ref)
			}
			if label := tb.text("#connect-label"); label != "Start again" || tb.connectDisabled() {
				t.Errorf("button %q (disabled %t), want Start again", label, tb.connectDisabled())
			}
			if posts := tb.posts(); len(posts) != 0 {
				t.Errorf("the page posted %v", posts)
			}
		})
	}
}

// TestNoLoginCallback: Meta's login callback may never come (reported
// when its window is closed in some browsers). The page waits as long as
// Meta's flow may take, then offers Start again while still listening:
// the callback, if it comes before the click, finishes the signup. After
// the click the abandoned attempt's callback is ignored and its code never
// sent; the new attempt's code is sent once.
func TestNoLoginCallback(t *testing.T) {
	for _, tt := range []struct {
		name    string
		restart bool
	}{
		{name: "Start again", restart: true},
		{name: "the callback after the offer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sandbox.Meta.Reset()
			sandbox.Plivo.Reset()
			waba1, business1, phones1 := testIDs("77", 1)
			code1 := sandbox.Meta.IssueCode(metasim.Grant{WABAID: waba1, BusinessID: business1, PhoneNumbers: phones1})
			waba2, business2, phones2 := testIDs("78", 1)
			code2 := sandbox.Meta.IssueCode(metasim.Grant{WABAID: waba2, BusinessID: business2, PhoneNumbers: phones2})

			tb := signupTab(t, "customer-no-callback")
			evalJS(tb, `window.__firstLogin = window.__fbLoginCallback; true`)
			// Meta's flow may take this long: the page still only waits.
			tb.advanceClock(9 * time.Minute)
			time.Sleep(1500 * time.Millisecond)
			if state := tb.statusText(); !strings.HasPrefix(state, "connecting:") || !tb.connectDisabled() {
				t.Fatalf("9 minutes into Meta's flow the page shows %s (Connect disabled %t), want it still waiting", state, tb.connectDisabled())
			}
			tb.advanceClock(time.Minute + time.Second)
			tb.waitStateWithin("stalled", 3*time.Second)
			tb.expectCopy("no word from the Facebook window")
			if label := tb.text("#connect-label"); label != "Start again" || tb.connectDisabled() {
				t.Fatalf("button %q (disabled %t), want Start again", label, tb.connectDisabled())
			}
			if busy, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.getElementById('connect').getAttribute('aria-busy')`)); busy != "false" {
				t.Errorf("Start again is aria-busy %q", busy)
			}

			want, wantWABA := code1, waba1
			if tt.restart {
				tb.screenshot("stalled")
				tb.do(chromedp.Click("#connect"))
				tb.waitState("connecting")
				if again, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`window.__fbLoginCallback !== window.__firstLogin`)); !again {
					t.Fatal("Start again did not open Meta's window again")
				}
				// The abandoned attempt reports back after all.
				evalJS(tb, `window.__firstLogin(`+loginResponse(code1)+`); true`)
				time.Sleep(500 * time.Millisecond)
				if state := tb.statusText(); !strings.HasPrefix(state, "connecting:") {
					t.Errorf("after the abandoned attempt's callback the page shows %s", state)
				}
				tb.metaMessage("FINISH", map[string]string{"waba_id": waba2, "phone_number_id": phones2[0].ID, "business_id": business2})
				tb.loginCallback(code2)
				want, wantWABA = code2, waba2
			} else {
				tb.metaMessage("FINISH", map[string]string{"waba_id": waba1, "phone_number_id": phones1[0].ID, "business_id": business1})
				tb.loginCallback(code1)
			}
			tb.waitState("onboarded")
			// Nothing else is on its way.
			tb.advanceClock(time.Minute)
			time.Sleep(time.Second)
			if posts := tb.posts(); len(posts) != 1 || posts[0]["code"] != want || posts[0]["waba_id"] != wantWABA {
				t.Errorf("the page posted %v, want the code of the attempt that finished, once", posts)
			}
			if n := sandbox.Meta.Calls(metasim.EndpointOAuth); n != 1 {
				t.Errorf("Meta exchanged %d codes, want 1", n)
			}
			if state := attr(record(t, wantWABA), "state"); state != "onboarded" {
				t.Errorf("record of %s: %q, want onboarded", wantWABA, state)
			}
			if other := map[string]string{waba1: waba2, waba2: waba1}[wantWABA]; record(t, other) != nil {
				t.Errorf("the other attempt's WABA %s has a record", other)
			}
		})
	}
}

// TestRestrictedWhilePolling: a signup answered 202 (Plivo not finished)
// whose WABA Meta restricts before the page sees it onboarded ends on the
// connected screen: restricted is onboarded at Plivo, and the record no
// longer moves, so polling on would never end.
func TestRestrictedWhilePolling(t *testing.T) {
	t.Parallel()
	tb := signupTab(t, "customer-restricted-poll")
	record := func(state string) string {
		return `{"waba_id":"109000000000777","state":"` + state + `","phone_number_id":"112000000000777","client_ref":"customer-restricted-poll"}`
	}
	evalJS(tb, `(function (fetch) {
		window.fetch = function (u, o) {
			if (o && o.method === 'POST') {
				return Promise.resolve(new Response(JSON.stringify({status: 'pending', record: `+record("verified")+`, request_id: 'r'}),
					{status: 202, headers: {'Content-Type': 'application/json'}}));
			}
			if (String(u).indexOf('/api/whatsapp/embedded-signup/') >= 0) {
				return Promise.resolve(new Response(JSON.stringify({record: `+record("restricted")+`}),
					{status: 200, headers: {'Content-Type': 'application/json'}}));
			}
			return fetch.apply(this, arguments);
		};
	})(window.fetch); true`)
	tb.metaMessage("FINISH", map[string]string{"waba_id": "109000000000777", "phone_number_id": "112000000000777", "business_id": "198000000000777"})
	tb.loginCallback("code-restricted-poll")
	tb.waitStateWithin("onboarded", 10*time.Second)
}

// TestPopupBlocked: a blocked pop-up never calls back. A page that keeps
// the focus 3 s after Connect says the window did not open and offers
// Start again at once, not after the 10 minutes Meta's flow may take; a
// page whose pop-up opened goes on waiting. As when the callback is late
// (TestNoLoginCallback), a callback that comes after the offer still
// finishes the signup.
func TestPopupBlocked(t *testing.T) {
	sandbox.Meta.Reset()
	sandbox.Plivo.Reset()
	waba, business, phones := testIDs("81", 1)
	code := sandbox.Meta.IssueCode(metasim.Grant{WABAID: waba, BusinessID: business, PhoneNumbers: phones})

	opened := signupTab(t, "customer-popup-opened")
	time.Sleep(4 * time.Second)
	if state := opened.statusText(); !strings.HasPrefix(state, "connecting:") {
		t.Errorf("with Meta's pop-up open the page shows %s, want it waiting", state)
	}

	tb := readyTab(t, "customer-popup-blocked")
	evalJS(tb, `window.__popupBlocked = true; true`)
	tb.do(chromedp.Click("#connect"))
	tb.waitState("connecting")
	tb.waitStateWithin("stalled", 5*time.Second)
	tb.expectCopy("pop-up blocked")
	if label := tb.text("#connect-label"); label != "Start again" || tb.connectDisabled() {
		t.Fatalf("button %q (disabled %t), want Start again", label, tb.connectDisabled())
	}
	tb.screenshot("stalled-popup-blocked")
	tb.metaMessage("FINISH", map[string]string{"waba_id": waba, "phone_number_id": phones[0].ID, "business_id": business})
	tb.loginCallback(code)
	tb.waitState("onboarded")
	if posts := tb.posts(); len(posts) != 1 || posts[0]["code"] != code {
		t.Errorf("the page posted %v, want the late callback's code once", posts)
	}
}

// TestShownAgainWithoutCallback: a customer who comes back to the page
// (it is shown again) from a pop-up that has not called back 3 s later is
// offered Start again, while the page goes on listening.
func TestShownAgainWithoutCallback(t *testing.T) {
	for _, c := range []struct{ name, event string }{
		// A phone: the pop-up took the whole screen, and the page is shown
		// again.
		{"shown again", `document.dispatchEvent(new Event('visibilitychange'))`},
		// A desktop: the pop-up took the focus, and the page has it back
		// (the pop-up was closed, or the customer came back to the page).
		{"focused again", `window.dispatchEvent(new Event('focus'))`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb := signupTab(t, "customer-"+strings.ReplaceAll(c.name, " ", "-"))
			evalJS(tb, c.event+`; true`)
			tb.waitStateWithin("stalled", 5*time.Second)
			tb.expectCopy("no word from the Facebook window")
			if label := tb.text("#connect-label"); label != "Start again" || tb.connectDisabled() {
				t.Errorf("button %q (disabled %t), want Start again", label, tb.connectDisabled())
			}
		})
	}
}

// statusFetches makes the page's signup POST answer 202 with post and
// every status request answer with status, and counts the status requests
// (window.__gets, their times).
func (tb *tab) statusFetches(post, status string) {
	tb.t.Helper()
	evalJS(tb, `window.__gets = []; (function (fetch) {
		window.fetch = function (u, o) {
			if (o && o.method === 'POST') {
				return Promise.resolve(new Response(JSON.stringify(`+post+`), {status: 202, headers: {'Content-Type': 'application/json'}}));
			}
			if (String(u).indexOf('/api/whatsapp/embedded-signup/') >= 0) {
				window.__gets.push(Date.now());
				return Promise.resolve(new Response(JSON.stringify(`+status+`), {status: 200, headers: {'Content-Type': 'application/json'}}));
			}
			return fetch.apply(this, arguments);
		};
	})(window.fetch); true`)
}

// TestQuietPolls: while the page polls a signup that is activating, the
// status panel (a live region) is written only when what it says changes,
// so a screen reader does not read it out again at every poll; and a page
// shown again polls at once instead of waiting out its timer.
func TestQuietPolls(t *testing.T) {
	tb := signupTab(t, "customer-quiet-polls")
	rec := `{"waba_id":"109000000000888","state":"verified","phone_number_id":"112000000000888","display_phone_number":"+1 555-010-0888","client_ref":"customer-quiet-polls"}`
	tb.statusFetches(`{status: 'pending', record: `+rec+`, request_id: 'r'}`, `{record: `+rec+`}`)
	tb.metaMessage("FINISH", map[string]string{"waba_id": "109000000000888", "phone_number_id": "112000000000888", "business_id": "198000000000888"})
	tb.loginCallback("code-quiet-polls")
	tb.waitStateWithin("pending", 10*time.Second)
	evalJS(tb, `window.__writes = 0; new MutationObserver(function (m) { window.__writes += m.length; })
		.observe(document.getElementById('status'), {childList: true, characterData: true, subtree: true}); true`)
	tb.poll(`window.__gets.length >= 2`, "the page did not poll twice")
	if n, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`window.__writes`)); n != 0 {
		t.Errorf("two polls with nothing new wrote the status panel %d times", n)
	}
	// The next poll is 3 s off; a page shown again polls now.
	evalJS(tb, `window.__shownAt = Date.now(); window.__before = window.__gets.length; document.dispatchEvent(new Event('visibilitychange')); true`)
	time.Sleep(700 * time.Millisecond)
	if n, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`window.__gets.length - window.__before`)); n != 1 {
		t.Errorf("a page shown again polled %d times within 0.7 s, want once", n)
	}
	if title, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.title`)); title != "Activating your number – Connect WhatsApp" {
		t.Errorf("document title %q", title)
	}
}

// TestFollowedAnswers: what the page says of records it follows rather
// than answers it shows. A followed record that Meta's webhook
// disconnected, or that failed with business_mismatch, says so in its own
// words.
func TestFollowedAnswers(t *testing.T) {
	t.Run("record disconnected while followed", func(t *testing.T) {
		// Meta's webhook removed our access while the page followed the
		// signup: the record will never move again, so the poll ends.
		tb := signupTab(t, "customer-disconnected")
		rec := func(state string) string {
			return `{"waba_id":"109000000000556","state":"` + state + `","phone_number_id":"112000000000556"}`
		}
		tb.statusFetches(`{status: 'pending', record: `+rec("verified")+`, request_id: 'r'}`, `{record: `+rec("disconnected")+`}`)
		tb.metaMessage("FINISH", map[string]string{"waba_id": "109000000000556", "phone_number_id": "112000000000556", "business_id": "198000000000556"})
		tb.loginCallback("code-disconnected")
		tb.waitStateWithin("failed", 10*time.Second)
		tb.expectCopy("access removed")
	})
	t.Run("record failed, business mismatch", func(t *testing.T) {
		tb := signupTab(t, "customer-mismatch")
		rec := func(state, reason string) string {
			return `{"waba_id":"109000000000555","state":"` + state + `","failure_reason":"` + reason + `","phone_number_id":"112000000000555"}`
		}
		tb.statusFetches(`{status: 'pending', record: `+rec("verified", "")+`, request_id: 'r'}`, `{record: `+rec("failed", "business_mismatch")+`}`)
		tb.metaMessage("FINISH", map[string]string{"waba_id": "109000000000555", "phone_number_id": "112000000000555", "business_id": "198000000000555"})
		tb.loginCallback("code-mismatch")
		tb.waitStateWithin("failed", 10*time.Second)
		tb.expectCopy("business not confirmed")
		if title, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.title`)); title != "Meta did not confirm your business – Connect WhatsApp" {
			t.Errorf("document title %q", title)
		}
	})
}
