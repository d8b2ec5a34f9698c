package browser

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/shared/page"
)

// pauseSignups holds each POST the page sends to the signup API until the
// test answers it (failSignup, passSignup): the fault is injected at the
// address the page is pointed at, and the request the test lets through
// reaches the real backend.
func (tb *tab) pauseSignups() <-chan fetch.EventRequestPaused {
	tb.t.Helper()
	events := chromedp.Events(tb.ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(tb.ctx, fetch.Enable, fetch.EnableParams{
		Patterns: []*fetch.RequestPattern{{URLPattern: "*" + page.SignupPath}},
	}); err != nil {
		tb.t.Fatal(err)
	}
	paused := make(chan fetch.EventRequestPaused, 8)
	go func() {
		defer close(paused)
		for e, err := range events {
			if err != nil {
				return
			}
			paused <- e
		}
	}()
	return paused
}

// nextSignup waits for the page's next signup POST.
// openHeldSignup opens the sandbox page with its API errors shown, runs
// Meta's sandbox dialog in order, and returns the first signup it posted,
// held until the test answers it, the channel of the ones after it, and
// the WABA the dialog shared.
func openHeldSignup(t *testing.T, order string) (tb *tab, signups <-chan fetch.EventRequestPaused, first fetch.EventRequestPaused, waba string) {
	t.Helper()
	tb = open(t)
	tb.apiErrors = true
	signups = tb.pauseSignups()
	tb.connect()
	waba = tb.value("#sbx-waba-id")
	tb.do(chromedp.SetValue("#sbx-order", order), chromedp.Click("#sbx-continue"))
	return tb, signups, tb.nextSignup(signups), waba
}

func (tb *tab) nextSignup(paused <-chan fetch.EventRequestPaused) fetch.EventRequestPaused {
	tb.t.Helper()
	select {
	case e, ok := <-paused:
		if !ok {
			tb.t.Fatal("the tab stopped before the page posted a signup")
		}
		return e
	case <-time.After(waitFor):
		tb.t.Fatalf("the page posted no signup; it shows %s", tb.statusText())
	}
	return fetch.EventRequestPaused{}
}

// failSignup answers a paused signup with the backend's error answer for
// code, or, with status 0, drops the connection.
func (tb *tab) failSignup(e fetch.EventRequestPaused, status int, code string) {
	tb.t.Helper()
	var err error
	if status == 0 {
		_, err = chromedp.Call(tb.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonConnectionReset})
	} else {
		body, _ := json.Marshal(map[string]any{
			"error":      map[string]string{"code": code, "message": "Injected by the browser test."},
			"request_id": "browser-test",
		})
		if code == "" {
			// API Gateway's own answer, before any function ran.
			body = []byte(`{"message":"` + http.StatusText(status) + `"}`)
		}
		_, err = chromedp.Call(tb.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: e.RequestID, ResponseCode: int64(status),
			ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}}, Body: body})
	}
	if err != nil {
		tb.t.Fatal(err)
	}
}

// passSignup lets a paused signup through to the backend.
func (tb *tab) passSignup(e fetch.EventRequestPaused) {
	tb.t.Helper()
	if _, err := chromedp.Call(tb.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID}); err != nil {
		tb.t.Fatal(err)
	}
}

// signupCode is Meta's code in a paused signup's body.
func signupCode(t *testing.T, e fetch.EventRequestPaused) string {
	t.Helper()
	var raw []byte
	for _, entry := range e.Request.PostDataEntries {
		raw = append(raw, entry.Bytes...)
	}
	var body struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.Code == "" {
		t.Fatalf("signup body %q: no code (%v)", raw, err)
	}
	return body.Code
}

// advanceClock moves the page's clock (Date.now, by which the page ages
// Meta's code) d forward, so that the test need not wait for the code to
// grow old.
func (tb *tab) advanceClock(d time.Duration) {
	tb.t.Helper()
	evalJS(tb, fmt.Sprintf(`(function (ms) {
		if (!window.__realNow) {
			window.__realNow = Date.now;
			window.__skew = 0;
			Date.now = function () { return window.__realNow.call(Date) + window.__skew; };
		}
		window.__skew += ms;
		return true;
	})(%d)`, d.Milliseconds()))
}

// TestRetryAfterTransientFailure: after a failure the backend answers
// before spending Meta's code, Try again sends the same code only while
// it is fresh (Meta's code lives 30 seconds; the page allows 20), and
// after a lost connection only when the request named the WABA, whose
// record lets the backend answer a repeat. Otherwise the page offers
// Start again, which runs Meta's flow for a new code, and says so.
func TestRetryAfterTransientFailure(t *testing.T) {
	// stale is past the page's 20 s window and inside the code's 30 s.
	const stale = 25 * time.Second
	tests := []struct {
		name  string
		order string // the sandbox's arrival order
		// status and code answer the first request; status 0 drops the
		// connection instead.
		status int
		code   string
		age    time.Duration // how old the code is when the failure arrives
		lapse  bool          // the code grows stale while the failure is shown
		copy   string        // pageCopy scenario first shown
		resend bool          // whether the button sends the same code
	}{
		{name: "busy, code fresh", order: "ids-first", status: 503, code: "upstream_unavailable", copy: "service busy, code fresh", resend: true},
		{name: "too many attempts, code fresh", order: "ids-first", status: 429, code: "too_many_requests", copy: "too many attempts, code fresh", resend: true},
		// The route's throttle refused it before the function ran.
		{name: "API Gateway's 429", order: "ids-first", status: 429, copy: "too many attempts, code fresh", resend: true},
		{name: "busy, code stale", order: "ids-first", status: 503, code: "upstream_unavailable", age: stale, copy: "service busy, code stale"},
		{name: "busy, code goes stale on screen", order: "ids-first", status: 503, code: "upstream_unavailable", lapse: true, copy: "service busy, code fresh"},
		{name: "connection lost, WABA named, code fresh", order: "ids-first", copy: "connection lost, resend", resend: true},
		{name: "connection lost, code alone", order: "code-only", copy: "connection lost, start again"},
		{name: "connection lost, code stale", order: "ids-first", age: stale, copy: "connection lost, start again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, signups, first, waba := openHeldSignup(t, tt.order)
			if tt.age > 0 {
				tb.advanceClock(tt.age)
			}
			tb.failSignup(first, tt.status, tt.code)
			tb.waitState("failed")
			tb.expectCopy(tt.copy)
			if tt.lapse {
				if label := tb.text("#connect-label"); label != "Try again" {
					t.Fatalf("button %q while the code is fresh, want Try again", label)
				}
				tb.advanceClock(stale)
				tb.poll(`document.getElementById('connect-label').textContent === 'Start again'`,
					"the page still offers Try again once the code is stale")
				tb.expectCopy("service busy, code stale")
			}
			want := "Start again"
			if tt.resend {
				want = "Try again"
			}
			if label := tb.text("#connect-label"); label != want {
				t.Fatalf("button %q, want %s", label, want)
			}

			tb.do(chromedp.Click("#connect"))
			if !tt.resend {
				// Meta's flow again, for a new code: the old one was
				// never sent a second time.
				tb.do(chromedp.WaitVisible("#sbx-dialog"))
				select {
				case e := <-signups:
					t.Fatalf("Start again posted code %s", signupCode(t, e))
				default:
				}
				waba = tb.value("#sbx-waba-id")
				tb.do(chromedp.SetValue("#sbx-order", "ids-first"), chromedp.Click("#sbx-continue"))
			}
			again := tb.nextSignup(signups)
			if same := signupCode(t, again) == signupCode(t, first); same != tt.resend {
				t.Errorf("the second request sent the first code: %v, want %v", same, tt.resend)
			}
			tb.passSignup(again)
			tb.waitState("onboarded")
			if state := attr(record(t, waba), "state"); state != "onboarded" {
				t.Errorf("record state %q, want onboarded", state)
			}
			if n := sandbox.Meta.Calls(metasim.EndpointOAuth); n != 1 {
				t.Errorf("Meta exchanged %d codes, want 1: the failed request never reached the backend", n)
			}
		})
	}
}

// TestAnswersWithoutRetry: answers that Try again cannot help. A
// signup_in_progress for a request that named no WABA has none to follow:
// the page says another signup is running and offers Start again. A
// conflict (the WABA was connected with other details) is for support
// alone: the page offers no button that contradicts its text.
func TestAnswersWithoutRetry(t *testing.T) {
	tests := []struct {
		name, order, code string
		status            int
		copy, button      string // button "" for none
	}{
		{name: "signup in progress, code alone", order: "code-only", status: 409, code: "signup_in_progress", copy: "another signup running", button: "Start again"},
		{name: "conflict", order: "ids-first", status: 409, code: "conflict", copy: "already connected with other details"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, _, first, _ := openHeldSignup(t, tt.order)
			tb.failSignup(first, tt.status, tt.code)
			tb.waitState("failed")
			tb.expectCopy(tt.copy)
			hidden, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`document.getElementById('connect').hidden`))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.button == "" && !hidden:
				t.Errorf("the page offers %q", tb.text("#connect-label"))
			case tt.button != "" && (hidden || tb.text("#connect-label") != tt.button || tb.connectDisabled()):
				t.Errorf("button %q (hidden %t, disabled %t), want %s", tb.text("#connect-label"), hidden, tb.connectDisabled(), tt.button)
			}
		})
	}
}
