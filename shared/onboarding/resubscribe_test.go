package onboarding_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestRerunOfAnOnboardedSignupSubscribesAgain: a customer runs Embedded
// Signup again for a WABA whose record is onboarded (or restricted) at
// Plivo. Meta may have removed our app since, in a removal we never
// received, and the new share does not subscribe our app: the signup
// spends the code, proves control as a new signup does, subscribes our app
// again and stamps the record, and answers from the record as a replay. A
// code Meta does not exchange (the double POST of one code, or Meta down)
// is answered from the record as before; a code that exchanges for a token
// without the WABA is refused as a new signup's failed proof is.
func TestRerunOfAnOnboardedSignupSubscribesAgain(t *testing.T) {
	t.Parallel()
	onboardedAt := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	rejected := metaErr(onboarding.KindRejected, 100)
	tests := []struct {
		name  string
		state onboarding.State
		// noWABA: the page sent no WABA ID; Meta's grant names it.
		noWABA bool
		// noBusiness: the page sent no business ID; the record's is proven.
		noBusiness bool
		meta       func(f *fixture)
		// failStamp makes the stamp's write fail.
		failStamp bool
		// want is the refusal's code; "" answers replayed.
		want       onboarding.Code
		subscribed bool
		stamped    bool
		exchanges  int
		// metric is a metric the run must count.
		metric string
	}{
		{name: "fresh code: exchanged, proven, subscribed, stamped", state: onboarding.StateOnboarded,
			subscribed: true, stamped: true, exchanges: 1, metric: onboarding.MetricWebhookResubscribed},
		{name: "restricted WABA: subscribed too", state: onboarding.StateRestricted,
			subscribed: true, stamped: true, exchanges: 1},
		{name: "no WABA ID: proven once Meta names it, subscribed", state: onboarding.StateOnboarded, noWABA: true,
			subscribed: true, stamped: true, exchanges: 1},
		{name: "double POST: the code was used, answered from the record", state: onboarding.StateOnboarded,
			meta: func(f *fixture) { f.meta.Exchange = func(string) (string, error) { return "", rejected } }, exchanges: 1},
		{name: "Meta down at the exchange: answered from the record", state: onboarding.StateOnboarded,
			meta: func(f *fixture) {
				f.meta.Exchange = func(string) (string, error) { return "", metaErr(onboarding.KindTransient, 2) }
			}, exchanges: 1},
		{name: "our app's secret refused at the exchange: answered from the record, counted", state: onboarding.StateOnboarded,
			meta: func(f *fixture) {
				f.meta.Exchange = func(string) (string, error) {
					return "", &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: "exchange_code", Kind: onboarding.KindConfig, Status: 400, Code: 1}
				}
			}, exchanges: 1, metric: onboarding.MetricMetaConfig},
		{name: "Meta down during the proof: answered from the record", state: onboarding.StateOnboarded,
			meta: func(f *fixture) {
				f.meta.Debug = func(string) (onboarding.TokenInfo, error) {
					return onboarding.TokenInfo{}, metaErr(onboarding.KindTransient, 2)
				}
			}, exchanges: 1},
		{name: "our app's secret refused during the proof: answered from the record", state: onboarding.StateOnboarded,
			meta: func(f *fixture) {
				f.meta.Debug = func(string) (onboarding.TokenInfo, error) {
					return onboarding.TokenInfo{}, &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: "debug_token", Kind: onboarding.KindConfig, Status: 400, Code: 190}
				}
			}, exchanges: 1},
		{name: "our app's ID unreadable during the proof: answered from the record", state: onboarding.StateOnboarded,
			meta: func(f *fixture) {
				f.svc.AppID = func(context.Context) (string, error) { return "", errors.New("secrets manager is down") }
			}, exchanges: 1},
		{name: "token does not grant the WABA: refused", state: onboarding.StateOnboarded,
			meta: func(f *fixture) {
				f.meta.Numbers = func(string) ([]onboarding.PhoneNumber, error) { return nil, rejected }
			}, want: onboarding.CodeMetaRejected, exchanges: 1},
		{name: "token whose whatsapp scopes name another WABA: refused", state: onboarding.StateOnboarded,
			meta: func(f *fixture) {
				f.meta.Debug = func(string) (onboarding.TokenInfo, error) {
					return onboarding.TokenInfo{AppID: appID, Valid: true, Scopes: map[string][]string{"whatsapp_business_management": {"102290129340398"}}}, nil
				}
			}, want: onboarding.CodeMetaRejected, exchanges: 1},
		{name: "token of another app: refused", state: onboarding.StateOnboarded,
			meta: func(f *fixture) {
				f.meta.Debug = func(string) (onboarding.TokenInfo, error) {
					return onboarding.TokenInfo{AppID: "999", Valid: true}, nil
				}
			}, want: onboarding.CodeMetaRejected, exchanges: 1},
		{name: "number not on the WABA: refused", state: onboarding.StateOnboarded,
			meta: func(f *fixture) {
				f.meta.Numbers = func(string) ([]onboarding.PhoneNumber, error) {
					return []onboarding.PhoneNumber{{ID: "5", CodeVerificationStatus: "VERIFIED"}}, nil
				}
			}, want: onboarding.CodeMetaRejected, exchanges: 1},
		{name: "another business owns the WABA: refused", state: onboarding.StateOnboarded,
			meta: func(f *fixture) { f.meta.Owner = func(string) (string, error) { return "777", nil } },
			want: onboarding.CodeBusinessMismatch, exchanges: 1},
		{name: "no business ID sent, another business owns the WABA: the record's is proven, refused", state: onboarding.StateOnboarded,
			noBusiness: true,
			meta:       func(f *fixture) { f.meta.Owner = func(string) (string, error) { return "777", nil } },
			want:       onboarding.CodeBusinessMismatch, exchanges: 1},
		{name: "no WABA ID, number not on the WABA: refused", state: onboarding.StateOnboarded, noWABA: true,
			meta: func(f *fixture) {
				f.meta.Numbers = func(string) ([]onboarding.PhoneNumber, error) {
					return []onboarding.PhoneNumber{{ID: "5", CodeVerificationStatus: "VERIFIED"}}, nil
				}
			}, want: onboarding.CodeMetaRejected, exchanges: 1},
		{name: "subscription refused: answered from the record, counted", state: onboarding.StateOnboarded,
			meta: func(f *fixture) {
				f.meta.Subscribe = func(context.Context, string) error {
					return &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: "subscribe_app", Kind: onboarding.KindConfig, Message: "(#200) Permissions error"}
				}
			}, exchanges: 1, metric: onboarding.MetricWebhookSubscribeFailed},
		{name: "stamp not written: subscribed all the same", state: onboarding.StateOnboarded, failStamp: true,
			subscribed: true, exchanges: 1, metric: onboarding.MetricStoreError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			met := &recMetrics{}
			f.svc.Metrics = met
			existing := onboarding.Record{WABAID: waba, State: tt.state, PhoneNumberID: phone, BusinessID: business, ClientRef: "customer-1",
				DisplayPhoneNumber: "+1 555-010-0100", LockOwner: "old", PlivoAPIID: "api-0", PlivoAttempts: 1,
				CreatedAt: onboardedAt, UpdatedAt: onboardedAt, VerifiedAt: onboardedAt, OnboardedAt: onboardedAt}
			f.store.Put(existing)
			if tt.meta != nil {
				tt.meta(f)
			}
			if tt.failStamp {
				f.store.Fail = func(op string, _ *onboarding.Record) error {
					if op == "stamp" {
						return errors.New("DynamoDB is down")
					}
					return nil
				}
			}
			req := request("fresh")
			if tt.noWABA {
				req.Identity.WABAID = ""
			}
			if tt.noBusiness {
				req.Identity.BusinessID = ""
			}
			res, err := f.svc.Signup(context.Background(), req)
			switch {
			case tt.want != "" && codeOf(err) != tt.want:
				t.Fatalf("Signup = %s, %v; want refused with %s", res.Outcome, err, tt.want)
			case tt.want == "" && (err != nil || res.Outcome != onboarding.OutcomeReplayed):
				t.Fatalf("Signup = %s, %v; want replayed", res.Outcome, err)
			case tt.want != "" && res.Record.WABAID != "":
				t.Fatalf("a refusal carries the record: %+v", res.Record)
			case tt.want == "" && !reflect.DeepEqual(res.Record, existing):
				t.Errorf("answered with %+v, want the record as it was: %+v", res.Record, existing)
			}
			if got := f.meta.Exchanges(); got != tt.exchanges {
				t.Errorf("code exchanged %d times, want %d", got, tt.exchanges)
			}
			if got, want := f.meta.Subscribed(), []string(nil); tt.subscribed {
				if want = []string{waba}; !slices.Equal(got, want) {
					t.Errorf("subscribed %v, want %v", got, want)
				}
			} else if len(got) != 0 {
				t.Errorf("subscribed %v, want nothing", got)
			}
			if calls, _ := f.plivo.Counts(); calls != 0 {
				t.Errorf("plivo called %d times for a WABA Plivo has", calls)
			}
			after := f.record(t)
			stamp := after.SubscribedAt
			after.SubscribedAt = time.Time{}
			if !reflect.DeepEqual(after, existing) {
				t.Errorf("record changed beyond its stamp:\n got %+v\nwant %+v", after, existing)
			}
			switch {
			case tt.stamped && !stamp.Equal(f.clock.Now()):
				t.Errorf("subscribed_at = %v, want %v", stamp, f.clock.Now())
			case !tt.stamped && !stamp.IsZero():
				t.Errorf("subscribed_at = %v, want none", stamp)
			}
			// The stamp is the run's only write: one round trip, or none.
			wantWrites := 0
			if tt.stamped {
				wantWrites = 1
			}
			if f.store.Writes != wantWrites {
				t.Errorf("%d writes, want %d", f.store.Writes, wantWrites)
			}
			if tt.metric != "" && !slices.ContainsFunc(met.points, func(p string) bool { return strings.HasPrefix(p, tt.metric+" ") }) {
				t.Errorf("no %s in %v", tt.metric, met.points)
			}
			resubscribed := slices.ContainsFunc(met.points, func(p string) bool {
				return strings.HasPrefix(p, onboarding.MetricWebhookResubscribed+" ")
			})
			if resubscribed != tt.subscribed {
				t.Errorf("%s counted %t, want %t (%v)", onboarding.MetricWebhookResubscribed, resubscribed, tt.subscribed, met.points)
			}
			// A signup is counted once: replayed when answered from the
			// record, failed when its proof is refused, never both.
			count := func(name string) int {
				n := 0
				for _, p := range met.points {
					if strings.HasPrefix(p, name+" ") {
						n++
					}
				}
				return n
			}
			wantReplayed, wantFailed := 1, 0
			if tt.want != "" {
				wantReplayed, wantFailed = 0, 1
			}
			if got := count(onboarding.MetricSignupReplayed); got != wantReplayed {
				t.Errorf("%s counted %d times, want %d (%v)", onboarding.MetricSignupReplayed, got, wantReplayed, met.points)
			}
			if got := count(onboarding.MetricSignupFailed); got != wantFailed {
				t.Errorf("%s counted %d times, want %d (%v)", onboarding.MetricSignupFailed, got, wantFailed, met.points)
			}
		})
	}
}

// TestRetryOfARecentAttemptDoesNotExchangeAgain: the page's retry of a
// post whose answer was lost carries the same code and the same session
// token, seconds after the first attempt spent both. The record answers
// it, with no call to Meta: the first attempt subscribed our app.
func TestRetryOfARecentAttemptDoesNotExchangeAgain(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		ago       time.Duration
		exchanges int
		// codeHash is the first attempt's code fingerprint; a use written
		// before fingerprints were kept has none.
		codeHash string
	}{
		{name: "first attempt a second ago: a retry of it", ago: time.Second, codeHash: onboarding.CodeHash("c1")},
		{name: "first attempt a second ago, no fingerprint kept: a retry of it", ago: time.Second},
		{name: "first attempt a second ago with another code: a new run", ago: time.Second, codeHash: onboarding.CodeHash("c0"), exchanges: 1},
		{name: "first attempt minutes ago: a re-run with the same link", ago: 5 * time.Minute, codeHash: onboarding.CodeHash("c1"), exchanges: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.svc.Sessions = f.store
			f.store.Put(onboarding.Record{WABAID: waba, State: onboarding.StateOnboarded, PhoneNumberID: phone, BusinessID: business,
				ClientRef: "customer-1", OnboardedAt: now.Add(-time.Hour)})
			f.store.PutUse(onboarding.SessionUse{ID: "tok", ClientRef: "customer-1", WABAID: waba, UsedAt: now.Add(-tt.ago),
				ExpiresAt: now.Add(time.Hour), Attempt: "first-attempt", CodeHash: tt.codeHash})
			res, err := f.svc.Signup(context.Background(), sessionRequest("c1", "tok", now))
			if err != nil || res.Outcome != onboarding.OutcomeReplayed {
				t.Fatalf("Signup = %s, %v; want replayed", res.Outcome, err)
			}
			if got := f.meta.Exchanges(); got != tt.exchanges {
				t.Errorf("code exchanged %d times, want %d", got, tt.exchanges)
			}
		})
	}
}

// TestNewRunSecondsAfterARefusedOneIsProven: a re-run for an onboarded
// WABA was refused (its token did not prove the WABA), and the customer,
// with the same link, ran Meta's flow again at once and picked the right
// business: a new code, seconds after the first attempt spent the token.
// That is no retry of the first post: its code is spent, proven and our
// app subscribed, not answered from the record unsubscribed. The page's
// resend of that post is answered from the record: Meta refuses its
// spent code.
func TestNewRunSecondsAfterARefusedOneIsProven(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f := newFixture(t)
	f.svc.Sessions = f.store
	f.store.Put(onboarding.Record{WABAID: waba, State: onboarding.StateOnboarded, PhoneNumberID: phone, BusinessID: business,
		ClientRef: "customer-1", OnboardedAt: now.Add(-time.Hour)})
	owner := "777"
	f.meta.Owner = func(string) (string, error) { return owner, nil }
	if _, err := f.svc.Signup(context.Background(), sessionRequest("wrong-business", "tok", now)); codeOf(err) != onboarding.CodeBusinessMismatch {
		t.Fatalf("first run: %v, want %s", err, onboarding.CodeBusinessMismatch)
	}
	owner = business
	res, err := f.svc.Signup(context.Background(), sessionRequest("right-business", "tok", now.Add(5*time.Second)))
	if err != nil || res.Outcome != onboarding.OutcomeReplayed {
		t.Fatalf("second run = %s, %v; want replayed", res.Outcome, err)
	}
	if got := f.meta.Exchanges(); got != 2 {
		t.Errorf("codes exchanged %d times, want 2: the new run's code was not spent", got)
	}
	if got := f.meta.Subscribed(); !slices.Equal(got, []string{waba}) {
		t.Errorf("subscribed %v, want %v", got, []string{waba})
	}
	// The page's resend of the second run's post, its answer lost.
	f.meta.Exchange = func(string) (string, error) { return "", metaErr(onboarding.KindRejected, 100) }
	if res, err := f.svc.Signup(context.Background(), sessionRequest("right-business", "tok", now.Add(6*time.Second))); err != nil ||
		res.Outcome != onboarding.OutcomeReplayed {
		t.Fatalf("resend = %s, %v; want replayed", res.Outcome, err)
	}
}
