package metawebhooks_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/callbacks/callbackstest"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// errThrottled is DynamoDB refusing a call, as under throttling.
var errThrottled = errors.New("ProvisionedThroughputExceededException")

// faultyRecords is records whose health writes and reads fail as
// DynamoDB's may: setErr gives the error of the n-th SetHealth call (nil:
// the call goes through), getErr that of every Get; the signup's lock
// writes the record right after the lockAfter-th health write (0: never).
type faultyRecords struct {
	*records
	setErr    func(call int) error
	getErr    error
	lockAfter int
	mu        sync.Mutex
	calls     int
}

func (f *faultyRecords) SetHealth(ctx context.Context, waba, digits string, h onboarding.Health, sent time.Time) (bool, error) {
	f.mu.Lock()
	f.calls++
	call := f.calls
	f.mu.Unlock()
	var err error
	if f.setErr != nil {
		err = f.setErr(call)
	}
	changed := false
	if err == nil {
		changed, err = f.records.SetHealth(ctx, waba, digits, h, sent)
	}
	if call == f.lockAfter {
		f.records.mu.Lock()
		f.records.state[waba] = onboarding.StateVerifying
		f.records.mu.Unlock()
	}
	return changed, err
}

func (f *faultyRecords) Get(ctx context.Context, waba string) (*onboarding.Record, error) {
	if f.getErr != nil {
		return nil, f.getErr
	}
	return f.records.Get(ctx, waba)
}

// healthReceiver is a receiver over recs whose clock stands at now.
func healthReceiver(recs metawebhooks.Records, led *callbackstest.Ledger, met onboarding.Metrics, now time.Time) *apigw.MetaWebhooks {
	return clockedReceiver(recs, led, met, func() time.Time { return now })
}

// clockedReceiver is a receiver over recs and led that reads its time
// from now.
func clockedReceiver(recs metawebhooks.Records, led callbacks.Ledger, met onboarding.Metrics, now func() time.Time) *apigw.MetaWebhooks {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return &apigw.MetaWebhooks{
		Service:   &metawebhooks.Service{Records: recs, Ledger: led, Logger: log, Metrics: met, Now: now},
		AppSecret: func(context.Context, bool) (string, error) { return appSecret, nil },
		Logger:    log,
	}
}

// healthChange is a delivery of one change of field to waba, sent by Meta
// at sent.
func healthChange(waba string, sent time.Time, field, value string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","time":` + strconv.FormatInt(sent.Unix(), 10) +
		`,"changes":[{"field":"` + field + `","value":` + value + `}]}]}`
}

// TestHealthChangeTheStoreFailsIsDeliveredAgain: a health change whose
// write DynamoDB refuses is answered 503, and counted as a store error,
// so that Meta delivers it again and the change reaches the record then.
// Nothing else may pass for it: not the portfolio's limit alone, written
// for another number, nor the read deciding whether to wait for a
// signup, nor the write once more after the signup's lock landed. Only
// that read is advice: its failure alone acknowledges a change that found
// no record.
func TestHealthChangeTheStoreFailsIsDeliveredAgain(t *testing.T) {
	t.Parallel()
	const ours = "15550783881"
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	quality := `{"display_phone_number":"` + ours + `","event":"FLAGGED","max_daily_conversations_per_business":"TIER_2K"}`
	capability := `{"max_daily_conversations_per_business":2000}`
	always := func(int) error { return errThrottled }
	cases := []struct {
		name       string
		record     bool // the WABA has its record, of our number
		field      string
		value      string
		setErr     func(call int) error
		getErr     error
		lockAfter  int
		want       []int // the status of each delivery
		wantHealth onboarding.Health
	}{
		{"the write of the record's own number fails once", true, "phone_number_quality_update", quality,
			func(call int) error { return map[int]error{1: errThrottled}[call] }, nil, 0,
			[]int{http.StatusServiceUnavailable, http.StatusOK}, onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_2K"}},
		{"DynamoDB down: every write and read fails", true, "phone_number_quality_update", quality,
			always, errThrottled, 0,
			[]int{http.StatusServiceUnavailable}, onboarding.Health{}},
		{"the write once more, after the signup's lock landed, fails", false, "business_capability_update", capability,
			func(call int) error { return map[int]error{2: errThrottled}[call] }, nil, 1,
			[]int{http.StatusServiceUnavailable, http.StatusOK}, onboarding.Health{MessagingLimit: "TIER_2K"}},
		{"no record, and the read deciding the wait fails: acknowledged", false, "business_capability_update", capability,
			nil, errThrottled, 0,
			[]int{http.StatusOK}, onboarding.Health{}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			waba := "10200000000010" + strconv.Itoa(i)
			recs := &faultyRecords{records: newRecords(), setErr: c.setErr, getErr: c.getErr, lockAfter: c.lockAfter}
			if c.record {
				recs.state[waba], recs.phone[waba] = onboarding.StateOnboarded, ours
			}
			met := &counts{}
			h := healthReceiver(recs, callbackstest.NewLedger(), met, now)
			body := healthChange(waba, now, c.field, c.value)
			for n, want := range c.want {
				resp, _ := h.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
				if resp.StatusCode != want {
					t.Fatalf("delivery %d: status %d, want %d", n+1, resp.StatusCode, want)
				}
			}
			if c.want[0] == http.StatusServiceUnavailable && met.get(onboarding.MetricStoreError) == 0 {
				t.Errorf("the store's failure was not counted")
			}
			recs.records.mu.Lock()
			got := recs.health[waba]
			recs.records.mu.Unlock()
			got.UpdatedAt = time.Time{}
			if got != c.wantHealth {
				t.Errorf("health %+v, want %+v", got, c.wantHealth)
			}
		})
	}
}

// TestHealthChangeIsCountedAsItApplies: a health change that reached the
// record is counted as a change (the operator's dashboard of what Meta
// changed), stamped with our time of applying it (the lifecycle event's
// occurred_at), and written once: whether it reached the record
// directly, as the portfolio's limit on a record of another number, or
// on the write once more after the signup's lock made the record. A
// change of another number carrying no portfolio limit writes nothing:
// the record's health is its own number's.
func TestHealthChangeIsCountedAsItApplies(t *testing.T) {
	t.Parallel()
	const ours, other = "15550783881", "15550783882"
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	quality := func(number string) string {
		return `{"display_phone_number":"` + number + `","event":"FLAGGED","max_daily_conversations_per_business":"TIER_10K"}`
	}
	cases := []struct {
		name       string
		record     bool
		field      string
		value      string
		lockAfter  int
		wantHealth onboarding.Health
		applied    bool
	}{
		{"the record's own number", true, "phone_number_quality_update", quality(ours), 0,
			onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_10K"}, true},
		{"another number: the portfolio's limit", true, "phone_number_quality_update", quality(other), 0,
			onboarding.Health{MessagingLimit: "TIER_10K"}, true},
		{"the signup's lock lands after the first write", false, "business_capability_update", `{"max_daily_conversations_per_business":10000}`, 1,
			onboarding.Health{MessagingLimit: "TIER_10K"}, true},
		{"another number, with its retired per-number limit only", true, "phone_number_quality_update",
			`{"display_phone_number":"` + other + `","event":"FLAGGED","current_limit":"TIER_250"}`, 0,
			onboarding.Health{QualityEvent: "ONBOARDING", MessagingLimit: "TIER_1K", UpdatedAt: now.Add(-time.Hour)}, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			waba := "10200000000011" + strconv.Itoa(i)
			recs := &faultyRecords{records: newRecords(), lockAfter: c.lockAfter}
			if c.record {
				recs.state[waba], recs.phone[waba] = onboarding.StateOnboarded, ours
			}
			if !c.applied {
				recs.health[waba] = c.wantHealth
			}
			met := &counts{}
			body := healthChange(waba, now, c.field, c.value)
			resp, _ := healthReceiver(recs, callbackstest.NewLedger(), met, now).Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			recs.records.mu.Lock()
			got, writes := recs.health[waba], recs.writes
			recs.records.mu.Unlock()
			if got != c.wantHealth && !c.applied {
				t.Errorf("health %+v, want it left as %+v", got, c.wantHealth)
			}
			if !c.applied {
				if n := met.get(metawebhooks.MetricRecordChanged); n != 0 || writes != 0 {
					t.Errorf("%d changes counted and %d writes; want none", n, writes)
				}
				return
			}
			if !got.UpdatedAt.Equal(now) {
				t.Errorf("health stamped %s, want our time of applying it, %s", got.UpdatedAt, now)
			}
			got.UpdatedAt = time.Time{}
			if got != c.wantHealth {
				t.Errorf("health %+v, want %+v", got, c.wantHealth)
			}
			if n := met.get(metawebhooks.MetricRecordChanged); n != 1 || writes != 1 {
				t.Errorf("%d changes counted and %d writes; want one of each", n, writes)
			}
		})
	}
}

// orderedRecords is records keeping Meta's order of health changes, as
// the store does: a change Meta sent before the one the record holds is
// refused, and a change without Meta's time orders nothing.
type orderedRecords struct {
	*records
	mu   sync.Mutex
	sent map[string]time.Time
}

func (o *orderedRecords) SetHealth(ctx context.Context, waba, digits string, h onboarding.Health, sent time.Time) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !sent.IsZero() && sent.Before(o.sent[waba]) {
		return false, nil
	}
	changed, err := o.records.SetHealth(ctx, waba, digits, h, sent)
	if changed && sent.After(o.sent[waba]) {
		o.sent[waba] = sent
	}
	return changed, err
}

// TestOlderHealthChangeDeliveredLateLeavesTheNewer: Meta does not deliver
// webhooks in order. A quality change it sent a minute before the one
// already applied, delivered after it, must leave the newer limit: the
// store orders them by Meta's time, which every write must carry, the
// portfolio's limit on a record of another number as well.
func TestOlderHealthChangeDeliveredLateLeavesTheNewer(t *testing.T) {
	t.Parallel()
	const ours, other = "15550783881", "15550783882"
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	quality := func(number, limit string) string {
		return `{"display_phone_number":"` + number + `","event":"UPGRADE","max_daily_conversations_per_business":"` + limit + `"}`
	}
	for i, number := range []string{ours, other} {
		t.Run("quality change of number "+number, func(t *testing.T) {
			t.Parallel()
			waba := "10200000000012" + strconv.Itoa(i)
			recs := &orderedRecords{records: newRecords(), sent: map[string]time.Time{}}
			recs.state[waba], recs.phone[waba] = onboarding.StateOnboarded, ours
			h := healthReceiver(recs, callbackstest.NewLedger(), nil, now)
			for _, body := range []string{
				healthChange(waba, now.Add(-time.Minute), "phone_number_quality_update", quality(number, "TIER_10K")),
				healthChange(waba, now.Add(-2*time.Minute), "phone_number_quality_update", quality(number, "TIER_1K")),
			} {
				if resp, _ := h.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body)))); resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
				}
			}
			if got := recs.health[waba].MessagingLimit; got != "TIER_10K" {
				t.Errorf("limit %q after the older change came late; want the newer TIER_10K", got)
			}
		})
	}
}
