package metawebhooks_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/callbacks/callbackstest"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestHealthBeforeTheRecordWaitsForTheSignup: Meta's
// business_capability_update reference lists a WhatsApp Business Account
// being created among its triggers. Embedded Signup creates the WABA, and
// Meta may report its first limit before the page has posted the code that
// makes our record: written then, it changed nothing, and Meta reports the
// limit again only when it changes. Such a change, fresh, is answered 503
// for Meta to deliver again, and applies once the signup has its record. A
// WABA that gets no record within the wait, or a change Meta sent long
// before, is acknowledged and changes nothing, so that nothing is retried
// for days.
func TestHealthBeforeTheRecordWaitsForTheSignup(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	capability := func(waba string, sent time.Time) string {
		return `{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","time":` + strconv.FormatInt(sent.Unix(), 10) +
			`,"changes":[{"value":{"max_daily_conversations_per_business":2000,"max_phone_numbers_per_waba":25},` +
			`"field":"business_capability_update"}]}]}`
	}
	type delivery struct {
		after   time.Duration // on our clock, from start
		record  bool          // the signup's lock has written the record by then
		want    int
		wantLim string
	}
	cases := []struct {
		name       string
		sentBefore time.Duration // Meta's entry time, before start
		deliveries []delivery
		// restamped: Meta stamps each redelivery's entry.time anew (its
		// reference does not say it keeps the first one's).
		restamped bool
	}{
		{"the signup's record comes, and the redelivery applies", 5 * time.Second, []delivery{
			{0, false, http.StatusServiceUnavailable, ""},
			{40 * time.Second, true, http.StatusOK, "TIER_2K"},
		}, false},
		{"no record within the wait: acknowledged, nothing changed", 5 * time.Second, []delivery{
			{0, false, http.StatusServiceUnavailable, ""},
			{time.Minute, false, http.StatusServiceUnavailable, ""},
			{3 * time.Minute, false, http.StatusOK, ""},
		}, false},
		// Else a WABA no signup of ours makes a record for would be
		// refused for as long as Meta redelivers, seven days.
		{"no record, each redelivery stamped anew: acknowledged after the wait", 5 * time.Second, []delivery{
			{0, false, http.StatusServiceUnavailable, ""},
			{time.Minute, false, http.StatusServiceUnavailable, ""},
			{3 * time.Minute, false, http.StatusOK, ""},
		}, true},
		{"sent long before: no signup still posting its code", 20 * time.Minute, []delivery{
			{0, false, http.StatusOK, ""},
		}, false},
		// Meta's clock so far ahead of ours cannot tell a signup's
		// change from any other.
		{"sent long after our clock: no wait either", -20 * time.Minute, []delivery{
			{0, false, http.StatusOK, ""},
		}, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			waba := "10200000000009" + strconv.Itoa(i)
			recs, led := newRecords(), callbackstest.NewLedger()
			clock := start
			h := clockedReceiver(recs, led, nil, func() time.Time { return clock })
			body := capability(waba, start.Add(-c.sentBefore))
			for _, d := range c.deliveries {
				clock = start.Add(d.after)
				if c.restamped {
					body = capability(waba, clock.Add(-c.sentBefore))
				}
				if d.record {
					recs.mu.Lock()
					recs.state[waba] = onboarding.StateVerifying
					recs.mu.Unlock()
				}
				resp, _ := h.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
				recs.mu.Lock()
				got := recs.health[waba].MessagingLimit
				recs.mu.Unlock()
				if resp.StatusCode != d.want || got != d.wantLim {
					t.Fatalf("delivery at +%s: status %d, limit %q; want %d, %q", d.after, resp.StatusCode, got, d.want, d.wantLim)
				}
			}
		})
	}
}

// lockLandsAfterWrite is records where the signup's lock writes the WABA's
// record just after the first health write found none, before the
// service reads the record to learn whether to wait for it.
type lockLandsAfterWrite struct {
	*records
	once sync.Once
}

func (l *lockLandsAfterWrite) SetHealth(ctx context.Context, waba, digits string, h onboarding.Health, sent time.Time) (bool, error) {
	changed, err := l.records.SetHealth(ctx, waba, digits, h, sent)
	l.once.Do(func() {
		l.records.mu.Lock()
		l.records.state[waba] = onboarding.StateVerifying
		l.records.mu.Unlock()
	})
	return changed, err
}

// TestHealthRacingTheSignupsLockIsNotLost: the lock that makes the record
// can land between the write that found no record and the read that
// decides whether to wait. Acknowledged then as a change the record
// refused, the portfolio's first limit would be lost, as before the wait
// existed: it must reach the record, now or on Meta's redelivery.
func TestHealthRacingTheSignupsLockIsNotLost(t *testing.T) {
	t.Parallel()
	const waba = "102000000000031"
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	body := `{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","time":` + strconv.FormatInt(now.Unix(), 10) +
		`,"changes":[{"value":{"max_daily_conversations_per_business":2000},"field":"business_capability_update"}]}]}`
	recs := &lockLandsAfterWrite{records: newRecords()}
	h := clockedReceiver(recs, callbackstest.NewLedger(), nil, func() time.Time { return now })
	for range 2 {
		resp, _ := h.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
		if resp.StatusCode == http.StatusOK {
			break
		}
	}
	recs.mu.Lock()
	got := recs.health[waba].MessagingLimit
	recs.mu.Unlock()
	if got != "TIER_2K" {
		t.Fatalf("limit %q after the lock landed mid-change; want TIER_2K", got)
	}
}

// TestEachWABAWaitsForItsOwnSignup: the wait for a record runs from the
// first sight of a change of that WABA. Two customers signing up minutes
// apart each get theirs: the second's first limit waits for its own
// signup, not cut short by the first customer's wait having run out.
func TestEachWABAWaitsForItsOwnSignup(t *testing.T) {
	t.Parallel()
	const first, second = "102000000000041", "102000000000042"
	start := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	recs, led := newRecords(), callbackstest.NewLedger()
	clock := start
	h := clockedReceiver(recs, led, nil, func() time.Time { return clock })
	for _, d := range []struct {
		after time.Duration
		waba  string
		want  int
	}{
		{0, first, http.StatusServiceUnavailable},
		{3 * time.Minute, second, http.StatusServiceUnavailable},
		{3 * time.Minute, first, http.StatusOK},
	} {
		clock = start.Add(d.after)
		body := `{"object":"whatsapp_business_account","entry":[{"id":"` + d.waba + `","time":` + strconv.FormatInt(clock.Add(-5*time.Second).Unix(), 10) +
			`,"changes":[{"value":{"max_daily_conversations_per_business":2000},"field":"business_capability_update"}]}]}`
		if resp, _ := h.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body)))); resp.StatusCode != d.want {
			t.Fatalf("WABA %s at +%s: status %d, want %d", d.waba, d.after, resp.StatusCode, d.want)
		}
	}
}

// waitUnread is a ledger that cannot keep the first sight of a wait (a
// throttled table): every claim but a change's own fails.
type waitUnread struct{ *callbackstest.Ledger }

func (l waitUnread) Claim(ctx context.Context, e *callbacks.Entry, now time.Time) (*callbacks.Entry, error) {
	if e.State != callbacks.EntryClaimed {
		return nil, errors.New("ProvisionedThroughputExceededException")
	}
	return l.Ledger.Claim(ctx, e, now)
}

// TestRecordWaitWithoutTheLedgerGoesByMetasTime: when the dedup table
// cannot say when the wait for a WABA's record began, Meta's time of the
// change alone decides: one sent seconds ago waits for its signup, one
// sent minutes before or after our clock is acknowledged at once.
func TestRecordWaitWithoutTheLedgerGoesByMetasTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		sent time.Duration // Meta's time, from our clock
		want int
	}{
		{"sent seconds ago: waits", -5 * time.Second, http.StatusServiceUnavailable},
		{"sent five minutes ago: acknowledged", -5 * time.Minute, http.StatusOK},
		{"sent five minutes ahead of our clock: acknowledged", 5 * time.Minute, http.StatusOK},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			waba := "10200000000005" + strconv.Itoa(i)
			h := clockedReceiver(newRecords(), waitUnread{callbackstest.NewLedger()}, nil, func() time.Time { return now })
			body := `{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","time":` + strconv.FormatInt(now.Add(c.sent).Unix(), 10) +
				`,"changes":[{"value":{"max_daily_conversations_per_business":2000},"field":"business_capability_update"}]}]}`
			if resp, _ := h.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body)))); resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
}
