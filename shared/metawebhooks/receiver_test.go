package metawebhooks_test

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/callbacks/callbackstest"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

const appSecret = "test-app-secret"

// records is an in-memory metawebhooks.Records keeping one state per WABA
// with the same conditions as the DynamoDB store.
type records struct {
	mu     sync.Mutex
	state  map[string]onboarding.State
	reason map[string]string
	health map[string]onboarding.Health
	// phone is a record's number (digits), where a test gives one: a
	// health change naming another number is refused, as the store's is.
	phone  map[string]string
	writes int
}

func newRecords() *records {
	return &records{state: map[string]onboarding.State{}, reason: map[string]string{}, health: map[string]onboarding.Health{},
		phone: map[string]string{}}
}

func (r *records) set(waba string, s onboarding.State, reason string) bool {
	r.state[waba], r.reason[waba] = s, reason
	r.writes++
	return true
}

func (r *records) Disconnect(_ context.Context, waba, reason string, _, _ time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.state[waba]
	if !ok || s == onboarding.StateDisconnected || s == onboarding.StateFailed {
		return false, nil
	}
	return r.set(waba, onboarding.StateDisconnected, reason), nil
}

func (r *records) Restrict(_ context.Context, waba, reason string, _, _, _ time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.state[waba]
	if s == onboarding.StateVerifying || s == onboarding.StateVerified {
		return false, onboarding.ErrSignupUnderway
	}
	if s != onboarding.StateOnboarded && (s != onboarding.StateRestricted || r.reason[waba] == reason) {
		return false, nil
	}
	return r.set(waba, onboarding.StateRestricted, reason), nil
}

func (r *records) Reinstate(_ context.Context, waba, reason, lifts string, _, _ time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.state[waba]; s == onboarding.StateVerifying || s == onboarding.StateVerified {
		return false, onboarding.ErrSignupUnderway
	}
	if r.state[waba] != onboarding.StateRestricted || (lifts != "" && r.reason[waba] != lifts) {
		return false, nil
	}
	return r.set(waba, onboarding.StateOnboarded, reason), nil
}

func (r *records) PutUnclaimed(_ context.Context, waba, _, reason string, _, _ time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.state[waba]; ok {
		return false, nil
	}
	return r.set(waba, onboarding.StateUnclaimed, reason), nil
}

func (r *records) Get(_ context.Context, waba string) (*onboarding.Record, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	state, ok := r.state[waba]
	if !ok {
		return nil, onboarding.ErrNotFound
	}
	return &onboarding.Record{WABAID: waba, State: state, Lifecycle: onboarding.Lifecycle{StateReason: r.reason[waba]}}, nil
}

func (r *records) SetHealth(_ context.Context, waba, digits string, h onboarding.Health, _ time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.state[waba]; !ok {
		return false, nil
	}
	if phone := r.phone[waba]; digits != "" && phone != "" && phone != digits {
		return false, nil
	}
	r.health[waba] = h
	r.writes++
	return true, nil
}

func newReceiver(recs *records, led *callbackstest.Ledger) *apigw.MetaWebhooks {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return &apigw.MetaWebhooks{
		Service:     &metawebhooks.Service{Records: recs, Ledger: led, Logger: log},
		AppSecret:   func(context.Context, bool) (string, error) { return appSecret, nil },
		VerifyToken: func(context.Context, bool) (string, error) { return "verify-me", nil },
		Logger:      log,
	}
}

func post(body, signature string) apigw.Request {
	req := events.APIGatewayV2HTTPRequest{Body: body, Headers: map[string]string{"content-type": "application/json"}}
	if signature != "" {
		req.Headers["x-hub-signature-256"] = signature
	}
	req.RequestContext.HTTP.Method = http.MethodPost
	req.RequestContext.RequestID = "req-1"
	return req
}

func accountUpdate(entryID, value string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"` + entryID + `","time":1739321024,"changes":[{"field":"account_update","value":` + value + `}]}]}`
}

// partnerBusiness is the Tech Provider's business portfolio: Meta delivers
// the partner events under its ID, and names the customer's WABA in
// waba_info.
const partnerBusiness = "2949482758682047"

func TestSignedWebhooksDriveRecords(t *testing.T) {
	t.Parallel()
	const waba = "102000000000009"
	cases := []struct {
		name    string
		entryID string // the entry's ID when it is not the WABA's
		from    onboarding.State
		from2   string // the record's state_reason
		value   string
		want    onboarding.State
		reason  string
	}{
		{"app uninstalled", "", onboarding.StateOnboarded, "", `{"event":"PARTNER_APP_UNINSTALLED"}`, onboarding.StateDisconnected, "partner_app_uninstalled"},
		// Meta's reference examples: the partner events come under the
		// partner's business, the WABA in waba_info.
		{"app uninstalled, as Meta documents it", partnerBusiness, onboarding.StateOnboarded, "",
			`{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":"` + waba + `","owner_business_id":"2329417887457253","partner_app_id":"1234567890"}}`,
			onboarding.StateDisconnected, "partner_app_uninstalled"},
		{"partner removed, as Meta documents it", partnerBusiness, onboarding.StateOnboarded, "",
			`{"event":"PARTNER_REMOVED","waba_info":{"waba_id":"` + waba + `","owner_business_id":"2329417887457253"},"disconnection_info":{"reason":"PARTNER_REMOVED"}}`,
			onboarding.StateDisconnected, "partner_removed"},
		{"restriction with Meta's integer expiration", "", onboarding.StateOnboarded, "",
			`{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":1641330498}]}`,
			onboarding.StateRestricted, "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING"},
		{"offboarded: paused", "", onboarding.StateOnboarded, "", `{"event":"ACCOUNT_OFFBOARDED"}`, onboarding.StateRestricted, "account_offboarded"},
		{"reconnected after offboarding", "", onboarding.StateRestricted, "account_offboarded", `{"event":"ACCOUNT_RECONNECTED"}`, onboarding.StateOnboarded, "account_reconnected"},
		{"reconnect does not lift a policy restriction", "", onboarding.StateRestricted, "account_violation:SCAM", `{"event":"ACCOUNT_RECONNECTED"}`,
			onboarding.StateRestricted, "account_violation:SCAM"},
		{"partner removed", "", onboarding.StateOnboarded, "", `{"event":"PARTNER_REMOVED","waba_info":{"waba_id":"` + waba + `","owner_business_id":"101"}}`, onboarding.StateDisconnected, "partner_removed"},
		{"restriction", "", onboarding.StateOnboarded, "", `{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_ADD_PHONE_NUMBER_ACTION","expiration":"2030-12-12T07:09:27.000Z"}]}`,
			onboarding.StateRestricted, "account_restriction:RESTRICTED_ADD_PHONE_NUMBER_ACTION"},
		{"violation", "", onboarding.StateOnboarded, "", `{"event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"SCAM"}}`, onboarding.StateRestricted, "account_violation:SCAM"},
		{"disabled", "", onboarding.StateOnboarded, "", `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":["DISABLE"],"waba_ban_date":"October 9, 2023"}}`,
			onboarding.StateRestricted, "disabled_update:DISABLE (October 9, 2023)"},
		{"reinstated", "", onboarding.StateRestricted, "", `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"REINSTATE"}}`, onboarding.StateOnboarded, "reinstated"},
		{"shared, no signup", partnerBusiness, "", "", `{"event":"PARTNER_APP_INSTALLED","waba_info":{"waba_id":"` + waba + `","owner_business_id":"101"}}`, onboarding.StateUnclaimed, "partner_app_installed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			recs, led := newRecords(), callbackstest.NewLedger()
			if c.from != "" {
				recs.state[waba], recs.reason[waba] = c.from, c.from2
			}
			r := newReceiver(recs, led)
			body := accountUpdate(cmp.Or(c.entryID, waba), c.value)
			resp, _ := r.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if recs.state[waba] != c.want || recs.reason[waba] != c.reason {
				t.Errorf("record %s (%q), want %s (%q)", recs.state[waba], recs.reason[waba], c.want, c.reason)
			}
			writes := recs.writes
			// Meta redelivers the same body: nothing changes twice.
			resp, _ = r.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
			if resp.StatusCode != http.StatusOK || recs.writes != writes {
				t.Errorf("replay: status %d, %d writes after %d", resp.StatusCode, recs.writes, writes)
			}
		})
	}
}

func TestForgedWebhooksChangeNothing(t *testing.T) {
	t.Parallel()
	const waba = "102000000000010"
	body := accountUpdate(waba, `{"event":"PARTNER_APP_UNINSTALLED"}`)
	cases := map[string]string{
		"unsigned":        "",
		"other secret":    metawebhooks.Sign("attacker-secret", []byte(body)),
		"other body":      metawebhooks.Sign(appSecret, []byte(accountUpdate(waba, `{"event":"PARTNER_REMOVED"}`))),
		"sha1 scheme":     "sha1=" + metawebhooks.Sign(appSecret, []byte(body))[len("sha256="):],
		"truncated":       metawebhooks.Sign(appSecret, []byte(body))[:40],
		"signature alone": "sha256=",
	}
	for name, sig := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			recs, led := newRecords(), callbackstest.NewLedger()
			recs.state[waba] = onboarding.StateOnboarded
			resp, _ := newReceiver(recs, led).Handle(context.Background(), post(body, sig))
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", resp.StatusCode)
			}
			if recs.state[waba] != onboarding.StateOnboarded || recs.writes != 0 || led.Len() != 0 {
				t.Errorf("forged webhook changed something: %s, %d writes, %d ledger entries", recs.state[waba], recs.writes, led.Len())
			}
		})
	}
}

func TestUnknownChangesAreStoredAndAnswered200(t *testing.T) {
	t.Parallel()
	recs, led := newRecords(), callbackstest.NewLedger()
	recs.state["1"] = onboarding.StateOnboarded
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","time":5,"changes":[` +
		`{"field":"brand_new_field","value":{"x":1}},` +
		`{"field":"account_update","value":{"event":"SOMETHING_NEW"}},` +
		`{"field":"phone_number_quality_update","value":{"display_phone_number":"15550100","event":"FLAGGED","current_limit":"TIER_1K","new_key":true}}]}]}`
	resp, _ := newReceiver(recs, led).Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	if led.Len() != 3 {
		t.Fatalf("%d ledger entries, want 3", led.Len())
	}
	// A field of the account's is stored whole; a field the receiver
	// does not know may be about end users, and is kept by its size,
	// digest and keys.
	for _, e := range led.Entries() {
		switch f := e.Fields; f.Get("field") {
		case "brand_new_field":
			if f.Has("value") || f.Get("value_bytes") != "7" || f.Get("value_sha256") == "" || f.Get("unknown_keys") != "x" {
				t.Errorf("a new field's change stored as %v, want its size, digest and keys only", f)
			}
		default:
			if f.Get("value") == "" {
				t.Errorf("an account field's change stored as %v, want its value", f)
			}
		}
	}
	if h := recs.health["1"]; h.QualityEvent != "FLAGGED" || h.MessagingLimit != "TIER_1K" {
		t.Errorf("health %+v, want FLAGGED / TIER_1K", h)
	}
}

// TestPortfolioLimitReachesTheRecord: business_capability_update names no
// number; its limit, an integer in Meta's reference, is the WABA's.
func TestPortfolioLimitReachesTheRecord(t *testing.T) {
	t.Parallel()
	recs, led := newRecords(), callbackstest.NewLedger()
	recs.state["102000000000009"] = onboarding.StateOnboarded
	body := `{"object":"whatsapp_business_account","entry":[{"id":"102000000000009","time":1739321024,"changes":[` +
		`{"field":"business_capability_update","value":{"max_daily_conversation_per_phone":2000,` +
		`"max_daily_conversations_per_business":2000,"max_phone_numbers_per_business":2,"max_phone_numbers_per_waba":2}}]}]}`
	resp, _ := newReceiver(recs, led).Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	if h := recs.health["102000000000009"]; h.MessagingLimit != "TIER_2K" || recs.writes != 1 {
		t.Errorf("health %+v after %d writes, want the limit TIER_2K in one", h, recs.writes)
	}
	for _, e := range led.Entries() {
		if e.Fields.Get("value") != "" {
			t.Errorf("a documented change was stored as unknown: %v", e.Fields)
		}
	}
}

func TestVerificationHandshake(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		query map[string]string
		want  int
		body  string
	}{
		{"ours", map[string]string{"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}, 200, "1158201444"},
		{"wrong token", map[string]string{"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}, 403, ""},
		{"wrong mode", map[string]string{"hub.mode": "unsubscribe", "hub.verify_token": "verify-me", "hub.challenge": "1"}, 403, ""},
		{"no challenge", map[string]string{"hub.mode": "subscribe", "hub.verify_token": "verify-me"}, 403, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req := events.APIGatewayV2HTTPRequest{QueryStringParameters: c.query}
			req.RequestContext.HTTP.Method = http.MethodGet
			resp, _ := newReceiver(newRecords(), callbackstest.NewLedger()).Handle(context.Background(), req)
			if resp.StatusCode != c.want || (c.body != "" && resp.Body != c.body) {
				t.Errorf("status %d body %q, want %d %q", resp.StatusCode, resp.Body, c.want, c.body)
			}
		})
	}
}

func TestOversizeBodyRefused(t *testing.T) {
	t.Parallel()
	body := accountUpdate("1", `{"event":"PARTNER_APP_UNINSTALLED","pad":"`+string(make([]byte, 0))+`"}`)
	big := body + string(make([]byte, metawebhooks.MaxBodyBytes))
	resp, _ := newReceiver(newRecords(), callbackstest.NewLedger()).Handle(context.Background(), post(big, metawebhooks.Sign(appSecret, []byte(big))))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

// TestLargeNotificationAccepted: Meta documents payloads up to 3 MB, and a
// refused delivery is retried for a week and then lost.
func TestLargeNotificationAccepted(t *testing.T) {
	t.Parallel()
	const waba = "102000000000011"
	recs := newRecords()
	recs.state[waba] = onboarding.StateOnboarded
	body := accountUpdate(waba, `{"event":"PARTNER_APP_UNINSTALLED","note":"`+strings.Repeat("x", 2<<20)+`"}`)
	resp, _ := newReceiver(recs, callbackstest.NewLedger()).Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
	if resp.StatusCode != http.StatusOK || recs.state[waba] != onboarding.StateDisconnected {
		t.Errorf("status %d, record %s", resp.StatusCode, recs.state[waba])
	}
}

// TestStoredChangeIsBounded: the ledger keeps what it does not know of a
// change for the operator, but never more than fits a DynamoDB item (400
// KB), whose refusal would fail every redelivery of the notification.
func TestStoredChangeIsBounded(t *testing.T) {
	t.Parallel()
	const waba = "102000000000012"
	manyKeys := make([]string, 5000)
	for i := range manyKeys {
		manyKeys[i] = `"k` + strings.Repeat("y", 200) + strconv.Itoa(i) + `":1`
	}
	tests := []struct {
		name        string
		body        string
		wantClipped bool
	}{
		{"large unknown key", accountUpdate(waba, `{"event":"PARTNER_APP_UNINSTALLED","note":"`+strings.Repeat("x", 2<<20)+`"}`), true},
		{"cut inside a character", accountUpdate(waba, `{"event":"NEW_EVENT","note":"`+strings.Repeat("é", 1<<18)+`"}`), true},
		{"many unknown keys", accountUpdate(waba, `{"event":"PARTNER_APP_UNINSTALLED",`+strings.Join(manyKeys, ",")+`}`), true},
		{"large unknown field and event", `{"object":"whatsapp_business_account","entry":[{"id":"` + strings.Repeat("9", 1<<16) + `","time":1,"changes":[{"field":"` + strings.Repeat("f", 1<<18) + `","value":{"event":"` + strings.Repeat("E", 1<<18) + `"}}]}]}`, true},
		{"small unknown key", accountUpdate(waba, `{"event":"PARTNER_APP_UNINSTALLED","note":"kept whole"}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recs := newRecords()
			recs.state[waba] = onboarding.StateOnboarded
			led := callbackstest.NewLedger()
			resp, _ := newReceiver(recs, led).Handle(context.Background(), post(tt.body, metawebhooks.Sign(appSecret, []byte(tt.body))))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d %s", resp.StatusCode, resp.Body)
			}
			for _, e := range led.Entries() {
				size := len(e.Kind) + len(e.Status) + len(e.Route.WABAID) + len(e.Route.BusinessID)
				for k, vs := range e.Fields {
					for _, v := range vs {
						size += len(k) + len(v)
						if !utf8.ValidString(v) {
							t.Errorf("field %s is not UTF-8", k)
						}
					}
				}
				if size > 64<<10 {
					t.Errorf("entry stores %d bytes, want at most 64 KiB", size)
				}
				clipped := e.Fields.Get("value_sha256") != "" || e.Fields.Get("unknown_keys_omitted") != ""
				if len(e.Fields["field"]) > 0 && clipped != tt.wantClipped {
					t.Errorf("clipped %t, want %t (fields %v)", clipped, tt.wantClipped, slices.Collect(maps.Keys(e.Fields)))
				}
			}
		})
	}
}

// TestRestrictionDuringSignupIsRedelivered: Meta disables a WABA while its
// signup is under way (locked, or verified and waiting for Plivo). The
// restriction cannot be applied yet, and must not be marked handled: the
// signup would then publish the WABA as onboarded. It is answered 503, so
// Meta delivers it again, and applies once the signup has ended.
func TestRestrictionDuringSignupIsRedelivered(t *testing.T) {
	t.Parallel()
	const waba = "102000000000013"
	for _, underway := range []onboarding.State{onboarding.StateVerifying, onboarding.StateVerified} {
		t.Run(string(underway), func(t *testing.T) {
			t.Parallel()
			recs := newRecords()
			recs.state[waba] = underway
			led := callbackstest.NewLedger()
			h := newReceiver(recs, led)
			body := accountUpdate(waba, `{"event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"SCAM"}}`)
			deliver := func() int {
				resp, _ := h.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
				return resp.StatusCode
			}
			if st := deliver(); st != http.StatusServiceUnavailable || recs.state[waba] != underway {
				t.Fatalf("during the signup: status %d, record %s; want 503 and %s", st, recs.state[waba], underway)
			}
			recs.state[waba] = onboarding.StateOnboarded // the signup ends
			if st := deliver(); st != http.StatusOK || recs.state[waba] != onboarding.StateRestricted {
				t.Fatalf("redelivered: status %d, record %s; want 200 and restricted", st, recs.state[waba])
			}
		})
	}
}

// TestDeferredChangeHoldsBackOnlyItsWABA: one delivery carries a change
// that must wait for its WABA's signup, a later change to the same WABA,
// and a change to another customer's WABA. Only the first WABA waits: its
// later change must not overtake the deferred one, but the other
// customer's uninstall is applied now, not when the signup ends.
func TestDeferredChangeHoldsBackOnlyItsWABA(t *testing.T) {
	t.Parallel()
	const waiting, other = "102000000000021", "102000000000022"
	recs := newRecords()
	recs.state[waiting], recs.state[other] = onboarding.StateVerified, onboarding.StateOnboarded
	body := `{"object":"whatsapp_business_account","entry":[` +
		`{"id":"` + waiting + `","time":1739321024,"changes":[` +
		`{"field":"account_update","value":{"event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"SCAM"}}},` +
		`{"field":"phone_number_quality_update","value":{"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_250"}}]},` +
		`{"id":"` + other + `","time":1739321025,"changes":[{"field":"account_update","value":{"event":"PARTNER_APP_UNINSTALLED"}}]}]}`
	h := newReceiver(recs, callbackstest.NewLedger())
	deliver := func() int {
		resp, _ := h.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
		return resp.StatusCode
	}
	st := deliver()
	recs.mu.Lock()
	_, healthSet := recs.health[waiting]
	otherState := recs.state[other]
	recs.mu.Unlock()
	if st != http.StatusServiceUnavailable || otherState != onboarding.StateDisconnected || healthSet {
		t.Fatalf("first delivery: status %d, other WABA %s, waiting WABA's later change applied %t; want 503, disconnected, false", st, otherState, healthSet)
	}
	recs.mu.Lock()
	recs.state[waiting] = onboarding.StateOnboarded // the signup ends
	recs.mu.Unlock()
	if st := deliver(); st != http.StatusOK || recs.state[waiting] != onboarding.StateRestricted || recs.health[waiting].QualityEvent != "FLAGGED" {
		t.Fatalf("redelivered: status %d, record %s, health %+v", st, recs.state[waiting], recs.health[waiting])
	}
}

// slowRecords makes every record write take a while, as DynamoDB's does,
// and notes how many ran at once, overall and per WABA.
type slowRecords struct {
	*records
	delay      time.Duration
	mu         sync.Mutex
	inFlight   map[string]int
	total, max int
	sameWABA   bool
}

func (s *slowRecords) enter(waba string) func() {
	s.mu.Lock()
	s.inFlight[waba]++
	s.sameWABA = s.sameWABA || s.inFlight[waba] > 1
	s.total++
	s.max = max(s.max, s.total)
	s.mu.Unlock()
	time.Sleep(s.delay)
	return func() {
		s.mu.Lock()
		s.inFlight[waba]--
		s.total--
		s.mu.Unlock()
	}
}

func (s *slowRecords) SetHealth(ctx context.Context, waba, digits string, h onboarding.Health, sent time.Time) (bool, error) {
	defer s.enter(waba)()
	return s.records.SetHealth(ctx, waba, digits, h, sent)
}

// TestLargeBatchRunsWABAsConcurrently: Meta batches many changes into one
// delivery, and every redelivery claims the changes already handled again.
// Handled one after another at DynamoDB's latency, a large batch outruns
// the budget on every delivery and is never acknowledged; so changes to
// different WABAs run concurrently, within a bound, while one WABA's
// changes still run one at a time, in order.
func TestLargeBatchRunsWABAsConcurrently(t *testing.T) {
	t.Parallel()
	recs := &slowRecords{records: newRecords(), delay: 2 * time.Millisecond, inFlight: map[string]int{}}
	var entries []string
	for i := range 200 {
		waba := strconv.Itoa(103000000000000 + i%50)
		recs.state[waba] = onboarding.StateOnboarded
		entries = append(entries, `{"id":"`+waba+`","time":1739321024,"changes":[{"field":"phone_number_quality_update","value":{"display_phone_number":"1555078`+strconv.Itoa(1000+i)+`","event":"FLAGGED","current_limit":"TIER_`+strconv.Itoa(i)+`"}}]}`)
	}
	body := `{"object":"whatsapp_business_account","entry":[` + strings.Join(entries, ",") + `]}`
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := newReceiver(recs.records, callbackstest.NewLedger())
	h.Service = &metawebhooks.Service{Records: recs, Ledger: callbackstest.NewLedger(), Logger: log}
	resp, _ := h.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
	if resp.StatusCode != http.StatusOK || recs.writes != 200 {
		t.Fatalf("status %d, %d writes; want 200 and 200", resp.StatusCode, recs.writes)
	}
	if recs.max < 2 || recs.max > metawebhooks.MaxConcurrentChanges || recs.sameWABA {
		t.Errorf("%d writes at once (want 2 to %d), two at once for one WABA: %t", recs.max, metawebhooks.MaxConcurrentChanges, recs.sameWABA)
	}
	// Within a WABA, Meta's order holds: the last change is the one kept.
	for i := 150; i < 200; i++ {
		waba := strconv.Itoa(103000000000000 + i%50)
		if got := recs.health[waba].MessagingLimit; got != "TIER_"+strconv.Itoa(i) {
			t.Errorf("WABA %s has limit %q, want the last one sent, TIER_%d", waba, got, i)
		}
	}
}

// storeErrors counts the StoreError and out-of-time metrics; the rest is
// dropped.
type storeErrors struct {
	mu           sync.Mutex
	n, outOfTime int
}

func (m *storeErrors) Count(name string, _ onboarding.Dims) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch name {
	case onboarding.MetricStoreError:
		m.n++
	case metawebhooks.MetricOutOfTime:
		m.outOfTime++
	}
}
func (m *storeErrors) Latency(string, time.Duration, onboarding.Dims)                  {}
func (m *storeErrors) CountWithLatency(string, string, time.Duration, onboarding.Dims) {}

// ctxRecords waits delay for each health write, or until ctx ends, as an
// SDK call does.
type ctxRecords struct {
	*records
	delay time.Duration
}

func (c *ctxRecords) SetHealth(ctx context.Context, waba, digits string, h onboarding.Health, sent time.Time) (bool, error) {
	select {
	case <-time.After(c.delay):
		return c.records.SetHealth(ctx, waba, digits, h, sent)
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// TestBudgetRunOutIsNotAStoreOutage: a delivery larger than the budget
// answers 503 and Meta delivers it again, which finishes it. Running out
// of time is not DynamoDB failing: it must not count the store errors an
// alarm pages on, once per WABA still waiting.
func TestBudgetRunOutIsNotAStoreOutage(t *testing.T) {
	t.Parallel()
	recs := &ctxRecords{records: newRecords(), delay: 20 * time.Millisecond}
	var entries []string
	for i := range 100 {
		waba := strconv.Itoa(104000000000000 + i)
		recs.state[waba] = onboarding.StateOnboarded
		entries = append(entries, `{"id":"`+waba+`","time":1739321024,"changes":[{"field":"phone_number_quality_update","value":{"display_phone_number":"15550781000","event":"FLAGGED","current_limit":"TIER_1K"}}]}`)
	}
	body := `{"object":"whatsapp_business_account","entry":[` + strings.Join(entries, ",") + `]}`
	met := &storeErrors{}
	h := newReceiver(recs.records, nil)
	h.Service = &metawebhooks.Service{Records: recs, Ledger: callbackstest.NewLedger(), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: met}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	resp, _ := h.Handle(ctx, post(body, metawebhooks.Sign(appSecret, []byte(body))))
	cancel()
	if resp.StatusCode != http.StatusServiceUnavailable || met.n != 0 || met.outOfTime != 1 {
		t.Fatalf("out of budget: status %d, %d store errors and %d deliveries out of time counted; want 503, none and one", resp.StatusCode, met.n, met.outOfTime)
	}
	// Meta's redelivery, with a fresh budget, applies the rest.
	for range 3 {
		if resp, _ = h.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body)))); resp.StatusCode == http.StatusOK {
			break
		}
	}
	recs.mu.Lock()
	defer recs.mu.Unlock()
	if resp.StatusCode != http.StatusOK || len(recs.health) != 100 {
		t.Errorf("redelivered: status %d, %d of 100 applied", resp.StatusCode, len(recs.health))
	}
}

// TestUndocumentedShapesStillChangeRecords: one delivery whose entries
// carry a quoted time and values in shapes Meta's reference does not give
// (numbers for strings, an object for a list). Each change is applied,
// none is stored as unknown, and the delivery is answered 200 only then.
func TestUndocumentedShapesStillChangeRecords(t *testing.T) {
	t.Parallel()
	const uninstalled, restricted, disabled = "102000000000031", "102000000000032", "102000000000033"
	recs, led := newRecords(), callbackstest.NewLedger()
	for _, waba := range []string{uninstalled, restricted, disabled} {
		recs.state[waba] = onboarding.StateOnboarded
	}
	body := `{"object":"whatsapp_business_account","entry":[` +
		`{"id":"` + partnerBusiness + `","time":"1739321024","changes":[{"field":"account_update","value":` +
		`{"event":"PARTNER_APP_UNINSTALLED","waba_info":{"waba_id":"` + uninstalled + `","owner_business_id":"101","partner_app_id":1234567890}}}]},` +
		`{"id":` + restricted + `,"time":1739321024,"changes":[{"field":"account_update","value":` +
		`{"event":"ACCOUNT_RESTRICTION","restriction_info":{"restriction_type":"RESTRICTED_ADD_PHONE_NUMBER_ACTION","expiration":1641330498}}}]},` +
		`{"id":"` + disabled + `","time":1739321024,"changes":[` +
		`{"field":"phone_number_quality_update","value":{"display_phone_number":"15550783881","event":"UPGRADE","current_limit":10000}},` +
		`{"field":"account_update","value":{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":["DISABLE"],"waba_ban_date":1696809600}}}]}]}`
	resp, _ := newReceiver(recs, led).Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	for waba, want := range map[string]string{
		uninstalled: "partner_app_uninstalled",
		restricted:  "account_restriction:RESTRICTED_ADD_PHONE_NUMBER_ACTION",
		disabled:    "disabled_update:DISABLE (1696809600)",
	} {
		if recs.reason[waba] != want {
			t.Errorf("WABA %s: record %s (%q), want reason %q", waba, recs.state[waba], recs.reason[waba], want)
		}
	}
	if h := recs.health[disabled]; h.MessagingLimit != "TIER_10K" {
		t.Errorf("health %+v, want the limit TIER_10K", h)
	}
	for _, e := range led.Entries() {
		if e.Fields.Get("value") != "" {
			t.Errorf("a change was stored as unknown: %v", e.Fields)
		}
	}
}

// A signed delivery captured once (a proxy log, a request dump) must not
// change a record again when it is posted later: Meta's body carries no
// nonce, so the dedup entry is what refuses it, and it must outlive any
// capture worth replaying, not just Meta's 7 days of redeliveries.
func TestCapturedDeliveryReplayedLaterChangesNothing(t *testing.T) {
	t.Parallel()
	const waba = "102000000000011"
	body := accountUpdate(waba, `{"event":"PARTNER_APP_UNINSTALLED"}`)
	sig := metawebhooks.Sign(appSecret, []byte(body))
	for _, after := range []time.Duration{9 * 24 * time.Hour, 90 * 24 * time.Hour, 399 * 24 * time.Hour} {
		t.Run(after.String(), func(t *testing.T) {
			t.Parallel()
			recs, led := newRecords(), callbackstest.NewLedger()
			recs.state[waba] = onboarding.StateOnboarded
			r := newReceiver(recs, led)
			now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			r.Service.Now = func() time.Time { return now }
			if resp, _ := r.Handle(context.Background(), post(body, sig)); resp.StatusCode != http.StatusOK {
				t.Fatalf("first delivery: status %d", resp.StatusCode)
			}
			// The customer reconnects; later the captured body comes again.
			recs.state[waba], recs.reason[waba] = onboarding.StateOnboarded, "account_reconnected"
			writes := recs.writes
			now = now.Add(after)
			resp, _ := r.Handle(context.Background(), post(body, sig))
			if resp.StatusCode != http.StatusOK {
				t.Errorf("replay: status %d, want 200", resp.StatusCode)
			}
			if recs.state[waba] != onboarding.StateOnboarded || recs.writes != writes {
				t.Errorf("replay after %v disconnected the customer again: %s, %d writes after %d", after, recs.state[waba], recs.writes, writes)
			}
		})
	}
}

// healthTimes records the time each SetHealth stamps, in call order.
type healthTimes struct {
	*records
	mu    sync.Mutex
	times []time.Time
}

func (h *healthTimes) SetHealth(ctx context.Context, waba, digits string, v onboarding.Health, sent time.Time) (bool, error) {
	h.mu.Lock()
	h.times = append(h.times, v.UpdatedAt)
	h.mu.Unlock()
	return h.records.SetHealth(ctx, waba, digits, v, sent)
}

// TestEachChangeOfADeliveryHasItsOwnTime: the health a change writes is
// stamped when it is applied, not when the delivery arrived. The record's
// updated_at is the lifecycle event's occurred_at and dedupe_key, so two
// changes of one delivery stamped alike would publish two different events
// under one dedupe_key (a consumer keeps one), and a health change applied
// after a restriction would seem to have happened before it.
func TestEachChangeOfADeliveryHasItsOwnTime(t *testing.T) {
	t.Parallel()
	const waba = "102000000000012"
	recs := &healthTimes{records: newRecords()}
	recs.state[waba] = onboarding.StateOnboarded
	led := callbackstest.NewLedger()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	clock := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	svc := &metawebhooks.Service{Records: recs, Ledger: led, Logger: log, Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Millisecond)
		return clock
	}}
	r := &apigw.MetaWebhooks{Service: svc, Logger: log,
		AppSecret:   func(context.Context, bool) (string, error) { return appSecret, nil },
		VerifyToken: func(context.Context, bool) (string, error) { return "verify-me", nil }}
	body := `{"object":"whatsapp_business_account","entry":[{"id":"` + waba + `","time":1739321024,"changes":[` +
		`{"field":"phone_number_quality_update","value":{"display_phone_number":"15550001111","event":"FLAGGED","current_limit":"TIER_1K"}},` +
		`{"field":"phone_number_name_update","value":{"display_phone_number":"15550001111","decision":"APPROVED","requested_verified_name":"Acme"}}]}]}`
	if resp, _ := r.Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body)))); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	if len(recs.times) != 2 || !recs.times[0].Before(recs.times[1]) {
		t.Errorf("health stamped at %v; want two times, in the order the changes were applied", recs.times)
	}
}

// TestImpossibleWABAIDsChangeNothing: Meta's object IDs are digits, at
// most 24 of them; a change naming anything else is stored as unknown and
// changes no record, whatever its event.
func TestImpossibleWABAIDsChangeNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, waba string
		applied    bool
	}{
		{"15 digits", "102000000000013", true},
		{"24 digits", strings.Repeat("1", 24), true},
		{"25 digits", strings.Repeat("1", 25), false},
		{"a letter first", "a02000000000013", false},
		{"a letter last", "10200000000001a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recs, led := newRecords(), callbackstest.NewLedger()
			recs.state[tt.waba] = onboarding.StateOnboarded
			body := accountUpdate(tt.waba, `{"event":"PARTNER_REMOVED"}`)
			resp, _ := newReceiver(recs, led).Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if got := recs.state[tt.waba] == onboarding.StateDisconnected; got != tt.applied {
				t.Errorf("disconnected %v, want %v", got, tt.applied)
			}
			if es := led.Entries(); len(es) != 1 || (es[0].Reason == string(metawebhooks.OpUnknown)) == tt.applied {
				t.Errorf("ledger %+v; want the change stored as unknown only when not applied", es)
			}
		})
	}
}

func TestChangeLedgerRules(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	newService := func(led *callbackstest.Ledger) *metawebhooks.Service {
		recs := newRecords()
		recs.state["1"] = onboarding.StateOnboarded
		return &metawebhooks.Service{Records: recs, Ledger: led, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Now: func() time.Time { return now }}
	}
	notification := func(t *testing.T, changes string) *metawebhooks.Notification {
		t.Helper()
		n, err := metawebhooks.ParseNotification([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","time":5,"changes":[` + changes + `]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// An unknown change is kept for an operator to read; a known one that
	// changes nothing only as long as any change's dedupe entry.
	t.Run("retention of unknown and quiet changes", func(t *testing.T) {
		t.Parallel()
		led := callbackstest.NewLedger()
		n := notification(t, `{"field":"brand_new_field","value":{"x":1}},`+
			`{"field":"account_update","value":{"event":"BUSINESS_VERIFICATION_STATUS_UPDATE"}}`)
		if _, err := newService(led).Handle(context.Background(), n, "r"); err != nil {
			t.Fatal(err)
		}
		want := map[string]time.Time{string(metawebhooks.OpUnknown): now.Add(metawebhooks.UnknownTTL),
			string(metawebhooks.OpNone): now.Add(metawebhooks.DefaultTTL)}
		for _, e := range led.Entries() {
			if w, ok := want[e.Reason]; !ok || !e.ExpiresAt.Equal(w) {
				t.Errorf("entry %s (%s) expires at %v, want %v", e.Key, e.Reason, e.ExpiresAt, w)
			}
			delete(want, e.Reason)
		}
		if len(want) != 0 {
			t.Errorf("no entry for %v", want)
		}
	})
	// The ledger's condition failed but it cannot say who won: answer
	// in-progress with the shortest retry rather than fail.
	t.Run("claim lost to an unnamed entry: retry after a second", func(t *testing.T) {
		t.Parallel()
		led := callbackstest.NewLedger()
		led.FailNextClaim(onboarding.ErrConditionFailed)
		_, err := newService(led).Handle(context.Background(), notification(t, `{"field":"account_update","value":{"event":"PARTNER_REMOVED"}}`), "r")
		var de *onboarding.Error
		if !errors.As(err, &de) || de.Code != callbacks.CodeCallbackInProgress || de.RetryAfter != time.Second {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("a value of exactly MaxStoredValueBytes is kept whole", func(t *testing.T) {
		t.Parallel()
		led := callbackstest.NewLedger()
		head, tail := `{"event":"NEW_EVENT","note":"`, `"}`
		value := head + strings.Repeat("x", metawebhooks.MaxStoredValueBytes-len(head)-len(tail)) + tail
		if _, err := newService(led).Handle(context.Background(), notification(t, `{"field":"account_update","value":`+value+`}`), "r"); err != nil {
			t.Fatal(err)
		}
		if es := led.Entries(); len(es) != 1 || es[0].Fields.Get("value") != value || es[0].Fields.Has("value_sha256") {
			t.Errorf("stored %d entries; want the value whole, without a digest", len(es))
		}
	})
	t.Run("unknown keys past the 64 kept are counted", func(t *testing.T) {
		t.Parallel()
		led := callbackstest.NewLedger()
		keys := make([]string, 100)
		for i := range keys {
			keys[i] = `"k` + strconv.Itoa(i) + `":1`
		}
		n := notification(t, `{"field":"account_update","value":{"event":"PARTNER_REMOVED",`+strings.Join(keys, ",")+`}}`)
		if _, err := newService(led).Handle(context.Background(), n, "r"); err != nil {
			t.Fatal(err)
		}
		if es := led.Entries(); len(es) != 1 || len(es[0].Fields["unknown_keys"]) != 64 || es[0].Fields.Get("unknown_keys_omitted") != "36" {
			t.Errorf("entries %+v; want 64 unknown keys kept and 36 omitted", es)
		}
	})
}

// TestAnotherObjectChangesNothing: the fields of Meta's other webhook
// objects (a Page, the app itself) mean something else than a WABA's, even
// where a name is the same, and their entry IDs are no WABA IDs. A signed
// notification for another object is stored for the operator and
// answered 200; no record is changed or created.
func TestAnotherObjectChangesNothing(t *testing.T) {
	t.Parallel()
	const id = "102000000000014"
	for _, value := range []string{`{"event":"PARTNER_REMOVED"}`, `{"event":"PARTNER_ADDED","waba_info":{"waba_id":"102000000000015","owner_business_id":"1"}}`} {
		recs, led := newRecords(), callbackstest.NewLedger()
		recs.state[id] = onboarding.StateOnboarded
		body := strings.Replace(accountUpdate(id, value), `"object":"whatsapp_business_account"`, `"object":"page"`, 1)
		resp, _ := newReceiver(recs, led).Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
		if recs.state[id] != onboarding.StateOnboarded || recs.writes != 0 {
			t.Errorf("%s: a page's notification changed records: %v, %d writes", value, recs.state, recs.writes)
		}
		if es := led.Entries(); len(es) != 1 || es[0].Reason != string(metawebhooks.OpUnknown) || es[0].Fields.Get("value") == "" {
			t.Errorf("%s: ledger %+v, want the change stored as unknown", value, es)
		}
	}
}

// TestNoObjectIsApplied: a signed body naming no object is no other
// object's. Meta's account_update reference shows its PARTNER_ADDED
// example that way; a PARTNER_REMOVED in the same shape must still
// disconnect the customer, not be stored as unknown and forgotten.
func TestNoObjectIsApplied(t *testing.T) {
	t.Parallel()
	const waba = "980198427658004"
	for ev, want := range map[string]onboarding.State{"PARTNER_REMOVED": onboarding.StateDisconnected, "PARTNER_ADDED": onboarding.StateUnclaimed} {
		recs, led := newRecords(), callbackstest.NewLedger()
		if ev == "PARTNER_REMOVED" {
			recs.state[waba] = onboarding.StateOnboarded
		}
		value := `{"event":"` + ev + `","waba_info":{"waba_id":"` + waba + `","owner_business_id":"2329417887457253"}}`
		body := strings.Replace(accountUpdate(partnerBusiness, value), `"object":"whatsapp_business_account",`, "", 1)
		resp, _ := newReceiver(recs, led).Handle(context.Background(), post(body, metawebhooks.Sign(appSecret, []byte(body))))
		if resp.StatusCode != http.StatusOK || recs.state[waba] != want {
			t.Errorf("%s without an object: status %d, record %q; want 200 and %q", ev, resp.StatusCode, recs.state[waba], want)
		}
	}
}
