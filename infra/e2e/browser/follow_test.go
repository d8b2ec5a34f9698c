package browser

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/techprovider/wa-onboarding/shared/page"
)

// holdSignup answers the tab's signup POST with post, or, when post is "",
// keeps it unanswered, as a signup still waiting on Meta is. It answers
// the page's status requests from window.__answer() (a status and a
// body), counting them in window.__gets, and its link check from
// window.__check() once that is set. post, answer and check are
// JavaScript expressions, evaluated at each request; check "" leaves the
// link check to the backend. It applies to the document open now and to
// every one the tab loads after it: a reload keeps the backend as the
// test made it.
func (tb *tab) holdSignup(post, answer, check string) {
	tb.t.Helper()
	src := `(function (fetch) {
		window.__gets = [];
		window.__answer = function () { return ` + answer + `; };
		if (` + strconvQuote(check) + `) window.__check = function () { return ` + orNull(check) + `; };
		var post = ` + strconvQuote(post) + ` ? function () { return ` + orNull(post) + `; } : null;
		var reply = function (a) {
			var headers = {'Content-Type': 'application/json'};
			// The server's clock (serverClock), as API Gateway tells it.
			if (typeof window.__serverAhead === 'number') headers['Date'] = new Date(Date.now() + window.__serverAhead).toUTCString();
			return Promise.resolve(new Response(JSON.stringify(a.body), {status: a.status, headers: headers}));
		};
		window.fetch = function (u, o) {
			if (o && o.method === 'POST') return post ? reply(post()) : new Promise(function () {});
			if (String(u).indexOf('/api/whatsapp/embedded-signup/') >= 0) {
				window.__gets.push(Date.now());
				return reply(window.__answer());
			}
			if (window.__check && String(u).indexOf('/api/onboarding-sessions/check') >= 0) return reply(window.__check());
			return fetch.apply(this, arguments);
		};
	})(window.fetch)`
	if _, err := chromedp.Call(tb.ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		tb.t.Fatal(err)
	}
	evalJS(tb, src+`; true`)
}

// serverClock sets the server's clock ahead of the page's by ahead
// (behind, when negative), in this document and every one the tab loads
// after it: holdSignup's answers then carry it in their Date header, as
// API Gateway's do, and serverNow reads it.
func (tb *tab) serverClock(ahead time.Duration) {
	tb.t.Helper()
	src := fmt.Sprintf(`window.__serverAhead = %d`, ahead.Milliseconds())
	if _, err := chromedp.Call(tb.ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		tb.t.Fatal(err)
	}
	evalJS(tb, src+`; true`)
}

// serverNow is the server's clock (serverClock) as a JavaScript time
// expression, in ms since the epoch.
const serverNow = `(Date.now() + (window.__serverAhead || 0))`

func orNull(js string) string {
	if js == "" {
		return "null"
	}
	return js
}

// followedRecord is a status answer for a record of waba in state, last
// updated at the JavaScript time expression at (ms since the epoch).
func followedRecord(waba, phone, state, reason, at string) string {
	return `{status: 200, body: {record: {waba_id: '` + waba + `', state: '` + state + `', failure_reason: '` + reason +
		`', phone_number_id: '` + phone + `', display_phone_number: '+1 555-010-0830', client_ref: 'customer-follow',
		updated_at: new Date(` + at + `).toISOString()}, request_id: 'r'}}`
}

// Times for followedRecord: an earlier attempt's, an hour before the page's
// clock, and the page's clock at the answer.
const (
	anHourAgo = `Date.now() - 3600e3`
	justNow   = `Date.now()`
)

// noRecordYet is the status route's answer for a WABA without a record.
const noRecordYet = `{status: 404, body: {error: {code: 'not_found', message: 'm'}, request_id: 'r'}}`

// TestFollowDuringSignup: the backend writes the WABA's record only once
// Meta has proven control, a second or so into the signup, and the
// function may take up to its timeout. Until then a tab that follows the
// signup (reloaded, or a second tab on the used link) finds no record, or
// an earlier attempt's outcome: neither is the signup's, and the page
// goes on following until the signup's own record shows, and stops only
// once the signup must have ended. A record written after the signup
// was posted is its outcome at once, and so is what a tab finds once its
// signup has answered.
func TestFollowDuringSignup(t *testing.T) {
	waba, business, phones := testIDs("83", 1)
	phone := phones[0].ID
	onboarded := followedRecord(waba, phone, "onboarded", "", justNow)
	tests := []struct {
		name   string
		post   string // the signup's answer, "" while it runs
		answer string // the status route's answer while the signup runs
		second bool   // a second tab on the link, rather than a reload
		// then is the status answer once the signup has written its
		// record ("" for none: the answer stands); past moves the page's
		// clock past the signup's timeout first.
		then string
		past bool
		page string // the page's final state, with copy its pageCopy scenario
		copy string
		// ahead sets the server's clock ahead of the page's (behind, when
		// negative): the record's updated_at and the link's used_at are
		// the server's times, and a customer's computer can be off by
		// minutes, or by hours when it keeps local time as UTC.
		ahead time.Duration
	}{
		{name: "reload, earlier attempt's record disconnected", answer: followedRecord(waba, phone, "disconnected", "", anHourAgo),
			then: onboarded, page: "onboarded", copy: "onboarded"},
		{name: "reload, no record yet", answer: noRecordYet, then: onboarded, page: "onboarded", copy: "onboarded"},
		{name: "reload, earlier attempt's record failed", answer: followedRecord(waba, phone, "failed", "meta_rejected", anHourAgo),
			then: onboarded, page: "onboarded", copy: "onboarded"},
		{name: "second tab, earlier attempt's record disconnected", answer: followedRecord(waba, phone, "disconnected", "", anHourAgo),
			second: true, then: onboarded, page: "onboarded", copy: "onboarded"},
		{name: "second tab, no record yet", answer: noRecordYet, second: true, then: onboarded, page: "onboarded", copy: "onboarded"},
		{name: "reload, failure after the post", answer: followedRecord(waba, phone, "failed", "business_mismatch", justNow),
			page: "failed", copy: "business not confirmed"},
		{name: "reload after the signup's failure", post: `{status: 400, body: {error: {code: 'meta_rejected', message: 'm'}, request_id: 'r'}}`,
			answer: noRecordYet, page: "idle", copy: "idle"},
		{name: "reload, earlier attempt's record past the signup's timeout", answer: followedRecord(waba, phone, "disconnected", "", anHourAgo),
			past: true, page: "failed", copy: "access removed"},
		// The earlier attempt failed ten minutes ago by the server's clock,
		// which the page's is fifteen minutes behind: still not this
		// signup's outcome.
		{name: "reload, earlier attempt's record failed, the page's clock 15 min slow",
			answer: followedRecord(waba, phone, "failed", "meta_rejected", serverNow+` - 600e3`), ahead: 15 * time.Minute,
			then: onboarded, page: "onboarded", copy: "onboarded"},
		// The link was spent a second ago by the server's clock, an hour
		// behind the page's: the signup is still running.
		{name: "second tab, no record yet, the page's clock an hour fast", answer: noRecordYet, second: true, ahead: -time.Hour,
			then: onboarded, page: "onboarded", copy: "onboarded"},
		// The signup left no record (Meta refused its code): once it must
		// have ended, by the page's own clock two hours behind the
		// server's, the link is used up.
		{name: "second tab, no record past the signup's timeout, the page's clock 2 h slow", answer: noRecordYet, second: true,
			ahead: 2 * time.Hour, past: true, page: "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := linkToken(t, "customer-follow")
			tb := openProduction(t, "/?session="+url.QueryEscape(token), "idle", map[string]string{page.SDKURL: fakeMetaSDK("", nil)})
			if tt.ahead != 0 {
				tb.serverClock(tt.ahead)
			}
			tb.holdSignup(tt.post, tt.answer, "")
			tb.do(chromedp.Click("#connect"))
			tb.waitState("connecting")
			tb.metaMessage("FINISH", map[string]string{"waba_id": waba, "phone_number_id": phone, "business_id": business})
			tb.loginCallback("code-follow")
			if tt.post != "" {
				tb.waitState("failed")
			} else {
				tb.waitState("verifying")
			}

			follower := tb
			if tt.second {
				// The held POST spent nothing: the link check is the
				// test's, naming the signup's WABA and when the link was
				// spent, to the second.
				follower = openProduction(t, "/?session="+url.QueryEscape(token), "idle", map[string]string{page.SDKURL: fakeMetaSDK("", nil)})
				if tt.ahead != 0 {
					follower.serverClock(tt.ahead)
				}
				follower.holdSignup("", tt.answer, `{status: 401, body: {error: {code: 'session_used', message: 'm'}, waba_id: '`+waba+
					`', used_at: new Date(`+serverNow+` - 1000).toISOString().replace(/\.\d+Z$/, 'Z'), request_id: 'r'}}`)
			}
			follower.do(chromedp.Reload())

			if tt.then == "" && !tt.past {
				// A record written after the post, or a signup that
				// answered, is the outcome: no waiting for the signup's
				// timeout. Here the held signup never spent the link, so
				// the link check finds it usable.
				follower.waitStateWithin(tt.page, 4*time.Second)
				follower.expectCopy(tt.copy)
				return
			}
			time.Sleep(4 * time.Second)
			if state := follower.statusText(); !strings.HasPrefix(state, "verifying:") {
				t.Fatalf("4 s into the follow the page shows %s (status GETs %d), want it verifying", state, follower.gets())
			}
			// Following, without hammering the status route.
			if n := follower.gets(); n < 2 || n > 5 {
				t.Errorf("the page asked for the status %d times in 4 s, want 2 to 5", n)
			}
			if tt.second {
				if posted, _ := chromedp.Run(follower.ctx, chromedp.Evaluate[bool](`typeof history.state.onboardingFollow.postedAt === 'number'`)); !posted {
					t.Error("the second tab did not remember when the link was spent")
				}
			}
			if tt.past {
				follower.advanceClock(31 * time.Second)
			} else {
				evalJS(follower, `window.__answer = function () { return `+tt.then+`; }; true`)
			}
			follower.waitStateWithin(tt.page, 12*time.Second)
			switch {
			case tt.page == "onboarded":
				follower.expectCopy(tt.copy, "+1 555-010-0830")
			case tt.copy != "":
				follower.expectCopy(tt.copy)
			default:
				// The link's own failure: used up by the signup.
				if got, want := follower.text("#status-title"), "Your onboarding link cannot be used"; got != want {
					t.Errorf("title %q, want %q", got, want)
				}
			}
		})
	}
}

// gets is how many status requests the page sent (holdSignup).
func (tb *tab) gets() int {
	n, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`window.__gets ? window.__gets.length : -1`))
	return n
}
