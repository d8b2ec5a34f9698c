package onboarding_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

const (
	appID    = "1234567890"
	waba     = "109876543210987"
	phone    = onboardingtest.PhoneNumberID
	business = onboardingtest.BusinessID
)

func plivoErr(kind onboarding.Kind, status int, msg string) error {
	return &onboarding.UpstreamError{Service: onboarding.ServicePlivo, Op: "embedded_signup", Kind: kind, Status: status, Message: msg, APIID: "err-api"}
}

func metaErr(kind onboarding.Kind, code int) error {
	return &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: "exchange_code", Kind: kind, Status: 400, Code: code}
}

type fixture struct {
	svc   *onboarding.Service
	store *memstore.Store
	meta  *onboardingtest.Meta
	plivo *onboardingtest.Plivo
	clock *onboardingtest.Clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: memstore.New(), meta: &onboardingtest.Meta{AppID: appID, WABAID: waba}, plivo: &onboardingtest.Plivo{}, clock: onboardingtest.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))}
	f.svc = &onboarding.Service{
		Store:  f.store,
		Meta:   f.meta,
		Plivo:  f.plivo,
		AppID:  func(context.Context) (string, error) { return appID, nil },
		Policy: onboarding.RetryPolicy{BaseDelay: time.Minute, MaxDelay: 10 * time.Minute, MaxAttempts: 4, MaxAge: 24 * time.Hour},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    f.clock.Now,
		Random: func() float64 { return 0.5 },
		Sleep:  func(context.Context, time.Duration) error { return nil },
	}
	return f
}

// failSaves makes every Save fail, as DynamoDB down would, until the
// returned restore is called.
func (f *fixture) failSaves() (restore func()) {
	var down atomic.Bool
	down.Store(true)
	f.store.Fail = func(op string, _ *onboarding.Record) error {
		if op == "save" && down.Load() {
			return errors.New("DynamoDB is down")
		}
		return nil
	}
	return func() { down.Store(false) }
}

func request(code string) onboarding.SignupRequest {
	return onboarding.SignupRequest{Code: code, RequestID: "req-" + code,
		Identity: onboarding.Identity{WABAID: waba, PhoneNumberID: phone, BusinessID: business, ClientRef: "customer-1"}}
}

func (f *fixture) record(t *testing.T) onboarding.Record {
	t.Helper()
	rec, err := f.store.Get(context.Background(), waba)
	if err != nil {
		t.Fatalf("get record: %v", err)
	}
	return *rec
}

func TestSignupHappyPath(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.svc.Signup(context.Background(), request("c1"))
	if err != nil {
		t.Fatalf("signup: %v", err)
	}
	if res.Outcome != onboarding.OutcomeOnboarded {
		t.Fatalf("outcome = %s", res.Outcome)
	}
	rec := f.record(t)
	if rec.State != onboarding.StateOnboarded || rec.PlivoAPIID != "api-1" || rec.DisplayPhoneNumber != onboardingtest.DisplayPhoneNumber || rec.PlivoAttempts != 1 {
		t.Fatalf("record = %+v", rec)
	}
	if rec.LockHeld(f.clock.Now()) {
		t.Fatal("lock still held after onboarding")
	}
	if f.store.Writes != 3 {
		t.Fatalf("writes = %d, want 3 (lock, verified, onboarded)", f.store.Writes)
	}
	if calls, _ := f.plivo.Counts(); calls != 1 {
		t.Fatalf("plivo calls = %d", calls)
	}
	// exchange, debug_token, phone_numbers and owner_business (the
	// browser's business_id is always proven), then subscribed_apps.
	if f.meta.Calls() != 5 {
		t.Fatalf("meta calls = %d, want 5", f.meta.Calls())
	}
	if got := f.meta.Subscribed(); !slices.Equal(got, []string{waba}) {
		t.Fatalf("subscribed %v, want our app on %s", got, waba)
	}
}

// TestSignupSubscribesOurAppToTheWABA: Meta sends a WABA's webhooks only
// to the apps subscribed to it, and the token that can subscribe ours
// exists only during the signup. A failed subscription does not fail the
// signup, and is counted for an operator; a refused signup subscribes
// nothing.
func TestSignupSubscribesOurAppToTheWABA(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		subscribe  error
		debugValid bool
		outcome    onboarding.Outcome
		subscribed []string
		failures   int
	}{
		{"onboarded and subscribed", nil, true, onboarding.OutcomeOnboarded, []string{waba}, 0},
		{"subscription refused: still onboarded, counted", &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: "subscribe_app",
			Kind: onboarding.KindConfig, Message: "(#200) Permissions error"}, true, onboarding.OutcomeOnboarded, nil, 1},
		{"token refused: nothing subscribed", nil, false, "", nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			met := &recMetrics{}
			f.svc.Metrics = met
			f.meta.Subscribe = func(context.Context, string) error { return c.subscribe }
			if !c.debugValid {
				f.meta.Debug = func(string) (onboarding.TokenInfo, error) { return onboarding.TokenInfo{AppID: appID}, nil }
			}
			res, err := f.svc.Signup(context.Background(), request("c1"))
			if res.Outcome != c.outcome || (c.outcome != "") != (err == nil) {
				t.Fatalf("signup = %+v, %v; want %q", res, err, c.outcome)
			}
			if got := f.meta.Subscribed(); !slices.Equal(got, c.subscribed) {
				t.Errorf("subscribed %v, want %v", got, c.subscribed)
			}
			failures := 0
			for _, p := range met.points {
				if strings.HasPrefix(p, onboarding.MetricWebhookSubscribeFailed+" ") {
					failures++
				}
			}
			if failures != c.failures {
				t.Errorf("%d %s, want %d (%v)", failures, onboarding.MetricWebhookSubscribeFailed, c.failures, met.points)
			}
		})
	}
}

// TestSignupDoesNotWaitForAHangingSubscription: Plivo onboarded the WABA
// and the record says so; a subscription call that hangs is given up after
// the grace, not at the deadline, and counted like a refused one.
func TestSignupDoesNotWaitForAHangingSubscription(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	met := &recMetrics{}
	f.svc.Metrics = met
	f.svc.Policy.SubscribeGrace = 50 * time.Millisecond
	f.meta.Subscribe = func(ctx context.Context, _ string) error {
		<-ctx.Done() // Graph never answers
		return ctx.Err()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	res, err := f.svc.Signup(ctx, request("c1"))
	if err != nil || res.Outcome != onboarding.OutcomeOnboarded {
		t.Fatalf("signup = %+v, %v; want onboarded", res, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("answered after %v: it waited for the hanging subscription", took)
	}
	if !slices.ContainsFunc(met.points, func(p string) bool { return strings.HasPrefix(p, onboarding.MetricWebhookSubscribeFailed+" ") }) {
		t.Errorf("no %s in %v", onboarding.MetricWebhookSubscribeFailed, met.points)
	}
}

// TestSignupBusinessMustOwnTheWABA: a business_id the browser sends is
// held against the WABA's owner, as Meta says with the customer's token;
// a mismatch is 422 business_mismatch and Plivo is never called, with or
// without a WABA ID in the request.
func TestSignupBusinessMustOwnTheWABA(t *testing.T) {
	t.Parallel()
	for _, withWABA := range []bool{true, false} {
		f := newFixture(t)
		req := request("c-biz")
		req.Identity.BusinessID = "111111111111111"
		if !withWABA {
			req.Identity.WABAID, req.Identity.PhoneNumberID = "", ""
		}
		_, err := f.svc.Signup(context.Background(), req)
		if onboarding.ErrorCode(err) != onboarding.CodeBusinessMismatch {
			t.Errorf("with WABA %v: err = %v, want business_mismatch", withWABA, err)
		}
		if calls, _ := f.plivo.Counts(); calls != 0 {
			t.Errorf("with WABA %v: Plivo called %d times", withWABA, calls)
		}
		if rec, err := f.store.Get(context.Background(), waba); withWABA && err == nil {
			t.Errorf("with WABA %v: record written without Meta's proof: %+v", withWABA, rec)
		} else if !withWABA && (err != nil || rec.State != onboarding.StateFailed || rec.FailureReason != onboarding.ReasonBusinessMismatch || rec.BusinessID == business) {
			// Without a WABA ID the lock is taken once the token's
			// scopes name the WABA, so the failure is recorded.
			t.Errorf("with WABA %v: record %+v (%v)", withWABA, rec, err)
		}
	}
}

// TestSignupWhenMetaNamesNoOwner: Graph leaves out owner_business_info.
// The business_id the page sent is recorded (unproven) and the signup
// completes; without one there is nothing to give Plivo, and it is refused.
func TestSignupWhenMetaNamesNoOwner(t *testing.T) {
	t.Parallel()
	for _, sent := range []string{"111111111111111", ""} {
		f := newFixture(t)
		f.meta.Owner = func(string) (string, error) { return "", nil }
		req := request("c-no-owner")
		req.Identity.BusinessID = sent
		res, err := f.svc.Signup(context.Background(), req)
		switch {
		case sent != "" && (err != nil || res.Outcome != onboarding.OutcomeOnboarded || res.Record.BusinessID != sent):
			t.Errorf("business_id sent: %+v, %v; want onboarded with it", res, err)
		case sent == "" && onboarding.ErrorCode(err) != onboarding.CodeMetaRejected:
			t.Errorf("no business_id: err = %v, want meta_rejected", err)
		}
	}
}

func TestSignupDuplicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		existing onboarding.Record
		req      func(onboarding.SignupRequest) onboarding.SignupRequest
		outcome  onboarding.Outcome
		code     onboarding.Code
	}{
		{
			name:     "replay after onboarding",
			existing: onboarding.Record{State: onboarding.StateOnboarded},
			outcome:  onboarding.OutcomeReplayed,
		},
		{
			name:     "replay without optional ids",
			existing: onboarding.Record{State: onboarding.StateOnboarded},
			req: func(r onboarding.SignupRequest) onboarding.SignupRequest {
				r.Identity.PhoneNumberID, r.Identity.BusinessID = "", ""
				return r
			},
			outcome: onboarding.OutcomeReplayed,
		},
		{
			// Plivo onboarded it; Meta restricts it for now. Nothing about
			// the signup is in conflict: the page is told it is connected.
			name:     "replay while Meta restricts the waba",
			existing: onboarding.Record{State: onboarding.StateRestricted, Lifecycle: onboarding.Lifecycle{StateReason: "account_violation:SCAM"}},
			outcome:  onboarding.OutcomeReplayed,
		},
		{
			name:     "replay while verified is pending",
			existing: onboarding.Record{State: onboarding.StateVerified},
			outcome:  onboarding.OutcomePending,
		},
		{
			name:     "different phone for onboarded waba",
			existing: onboarding.Record{State: onboarding.StateOnboarded},
			req: func(r onboarding.SignupRequest) onboarding.SignupRequest {
				r.Identity.PhoneNumberID = "999"
				return r
			},
			// Plivo onboards a WABA once: a second number has its own code.
			code: onboarding.CodeSecondNumber,
		},
		{
			name:     "different client_ref for onboarded waba",
			existing: onboarding.Record{State: onboarding.StateOnboarded},
			req: func(r onboarding.SignupRequest) onboarding.SignupRequest {
				r.Identity.ClientRef = "customer-2"
				return r
			},
			code: onboarding.CodeConflict,
		},
		{
			name:     "different business for verified waba",
			existing: onboarding.Record{State: onboarding.StateVerified},
			req: func(r onboarding.SignupRequest) onboarding.SignupRequest {
				r.Identity.BusinessID = "777"
				return r
			},
			code: onboarding.CodeConflict,
		},
		{
			name:     "in progress",
			existing: onboarding.Record{State: onboarding.StateVerifying, LockOwner: "other", LockExpiresAt: time.Date(2026, 11, 25, 12, 0, 20, 0, time.UTC)},
			code:     onboarding.CodeInProgress,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			met := &recMetrics{}
			f.svc.Metrics = met
			rec := tt.existing
			rec.WABAID, rec.PhoneNumberID, rec.BusinessID, rec.ClientRef = waba, phone, business, "customer-1"
			f.store.Put(rec)
			req := request("dup")
			if tt.req != nil {
				req = tt.req(req)
			}
			res, err := f.svc.Signup(context.Background(), req)
			if tt.code != "" {
				if got := onboarding.ErrorCode(err); got != tt.code {
					t.Fatalf("code = %s (err %v), want %s", got, err, tt.code)
				}
				var de *onboarding.Error
				if tt.code == onboarding.CodeInProgress && (!errors.As(err, &de) || de.RetryAfter != 20*time.Second) {
					t.Fatalf("retry after = %v", de)
				}
			} else if err != nil || res.Outcome != tt.outcome {
				t.Fatalf("outcome = %s, err = %v; want %s", res.Outcome, err, tt.outcome)
			}
			// A replay of a WABA onboarded at Plivo spends its code to
			// subscribe our app again (TestRerunOfAnOnboardedSignupSubscribesAgain);
			// every other duplicate is answered before Meta.
			rerun := tt.existing.State.OnboardedAtPlivo() && tt.outcome == onboarding.OutcomeReplayed
			if got := f.meta.Subscribed(); rerun && !slices.Equal(got, []string{waba}) {
				t.Fatalf("a signup run again for an onboarded WABA subscribed %v, want %s", got, waba)
			}
			if !rerun && f.meta.Calls() != 0 {
				t.Fatal("a duplicate reached Meta")
			}
			if calls, _ := f.plivo.Counts(); calls != 0 {
				t.Fatal("a duplicate reached Plivo")
			}
			// A duplicate answered from the record is counted as replayed
			// once, whatever the record says; a refused one is not.
			replayed := 0
			for _, p := range met.points {
				if strings.HasPrefix(p, onboarding.MetricSignupReplayed+" ") {
					replayed++
				}
			}
			want := 0
			if tt.code == "" {
				want = 1
			}
			if replayed != want {
				t.Errorf("%s counted %d times, want %d (%v)", onboarding.MetricSignupReplayed, replayed, want, met.points)
			}
		})
	}
}

func TestSignupTakesOverExpiredOrFailedRecords(t *testing.T) {
	t.Parallel()
	for _, existing := range []onboarding.Record{
		{State: onboarding.StateVerifying, LockOwner: "dead", LockExpiresAt: time.Date(2026, 11, 25, 11, 59, 0, 0, time.UTC)},
		{State: onboarding.StateFailed, FailureReason: onboarding.ReasonMetaRejected},
	} {
		t.Run(string(existing.State), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			existing.WABAID = waba
			f.store.Put(existing)
			if _, err := f.svc.Signup(context.Background(), request("fresh")); err != nil {
				t.Fatalf("signup: %v", err)
			}
			if rec := f.record(t); rec.State != onboarding.StateOnboarded {
				t.Fatalf("state = %s", rec.State)
			}
		})
	}
}

func TestSignupMetaFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		meta   func(m *onboardingtest.Meta)
		code   onboarding.Code
		reason string
	}{
		{"code expired", func(m *onboardingtest.Meta) {
			m.Exchange = func(string) (string, error) { return "", metaErr(onboarding.KindRejected, 100) }
		}, onboarding.CodeMetaRejected, onboarding.ReasonMetaRejected},
		{"meta down", func(m *onboardingtest.Meta) {
			m.Exchange = func(string) (string, error) { return "", metaErr(onboarding.KindTransient, 2) }
		}, onboarding.CodeMetaUnavailable, onboarding.ReasonMetaUnavailable},
		{"meta throttling", func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{}, metaErr(onboarding.KindThrottled, 4)
			}
		}, onboarding.CodeMetaUnavailable, onboarding.ReasonMetaUnavailable},
		{"token invalid", func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) { return onboarding.TokenInfo{AppID: appID}, nil }
		}, onboarding.CodeMetaRejected, onboarding.ReasonMetaRejected},
		{"token of another app", func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{AppID: "999", Valid: true}, nil
			}
		}, onboarding.CodeMetaRejected, onboarding.ReasonMetaRejected},
		{"token expired", func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{AppID: appID, Valid: true, ExpiresAt: time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)}, nil
			}
		}, onboarding.CodeMetaRejected, onboarding.ReasonMetaRejected},
		{"waba not granted", func(m *onboardingtest.Meta) {
			m.Numbers = func(string) ([]onboarding.PhoneNumber, error) { return nil, metaErr(onboarding.KindRejected, 100) }
		}, onboarding.CodeMetaRejected, onboarding.ReasonMetaRejected},
		// The token reaches the WABA (business_management over its owner,
		// say), but Meta's granular scopes, which name the WABAs whose
		// WhatsApp permissions the customer granted, name another one.
		{"waba readable but not in the grant's whatsapp scopes", func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{AppID: appID, Valid: true, Scopes: map[string][]string{
					"whatsapp_business_management": {"102290129340398"}, "whatsapp_business_messaging": {"102290129340398"},
					"business_management": {onboardingtest.BusinessID}}}, nil
			}
		}, onboarding.CodeMetaRejected, onboarding.ReasonMetaRejected},
		// debug_token lists a permission in scopes without a granular
		// entry (the client keeps it with no targets): one WhatsApp
		// permission reported that way must not cover a WABA that the
		// granular one, naming the WABAs the customer chose, leaves out.
		{"waba outside the granular grant, a sibling permission reported without targets", func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{AppID: appID, Valid: true, Scopes: map[string][]string{
					"whatsapp_business_management": {"102290129340398"}, "whatsapp_business_messaging": nil,
					"business_management": {onboardingtest.BusinessID}}}, nil
			}
		}, onboarding.CodeMetaRejected, onboarding.ReasonMetaRejected},
		{"token without whatsapp permissions", func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{AppID: appID, Valid: true, Scopes: map[string][]string{
					"business_management": {onboardingtest.BusinessID}, "public_profile": nil}}, nil
			}
		}, onboarding.CodeMetaRejected, onboarding.ReasonMetaRejected},
		{"phone not on waba", func(m *onboardingtest.Meta) {
			m.Numbers = func(string) ([]onboarding.PhoneNumber, error) {
				return []onboarding.PhoneNumber{{CodeVerificationStatus: "VERIFIED", ID: "5"}}, nil
			}
		}, onboarding.CodeMetaRejected, onboarding.ReasonMetaRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			tt.meta(f.meta)
			failures := f.countFailures()
			_, err := f.svc.Signup(context.Background(), request("bad"))
			if got := onboarding.ErrorCode(err); got != tt.code {
				t.Fatalf("code = %s (%v), want %s", got, err, tt.code)
			}
			// Meta proved no control of the WABA: nothing is written.
			f.noRecord(t)
			failures.only(t, tt.reason)
			if calls, _ := f.plivo.Counts(); calls != 0 {
				t.Fatal("plivo called after meta failure")
			}
			if f.meta.Exchanges() != 1 {
				t.Fatalf("code exchanged %d times", f.meta.Exchanges())
			}
			// The customer may run the flow again at once.
			f.meta = &onboardingtest.Meta{AppID: appID, WABAID: waba}
			f.svc.Meta = f.meta
			if _, err := f.svc.Signup(context.Background(), request("again")); err != nil {
				t.Fatalf("retry after failure: %v", err)
			}
		})
	}
}

func TestSignupRecoversMissingIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		id      onboarding.Identity
		meta    func(m *onboardingtest.Meta)
		code    onboarding.Code
		field   string
		renamed bool
	}{
		{name: "all from meta", id: onboarding.Identity{ClientRef: "c"}},
		{name: "scope renamed by meta", id: onboarding.Identity{}, meta: func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{AppID: appID, Valid: true, Scopes: map[string][]string{"whatsapp_business_manage_events": {waba}}}, nil
			}
		}},
		// Meta lists the most recently shared WABA first: that is this
		// signup's, whatever the other scopes list.
		{name: "several wabas granted", id: onboarding.Identity{}, meta: func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{AppID: appID, Valid: true, Scopes: map[string][]string{
					"whatsapp_business_management": {waba, "2"}, "whatsapp_business_messaging": {"2", waba}}}, nil
			}
		}},
		// The page names the WABA: Meta's grant need not list it first,
		// nor under every WhatsApp permission, to cover it.
		{name: "named waba granted for messaging only, not the newest", id: onboarding.Identity{WABAID: waba}, meta: func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{AppID: appID, Valid: true, Scopes: map[string][]string{
					"whatsapp_business_management": {"2"}, "whatsapp_business_messaging": {"2", waba},
					"business_management": {onboardingtest.BusinessID}, "public_profile": nil}}, nil
			}
		}},
		// debug_token reports permissions that are not granular without
		// targets: limited to no WABA, they cover the one the page names.
		{name: "named waba, whatsapp permissions not granular", id: onboarding.Identity{WABAID: waba}, meta: func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{AppID: appID, Valid: true, Scopes: map[string][]string{
					"whatsapp_business_management": nil, "whatsapp_business_messaging": nil,
					"business_management": {onboardingtest.BusinessID}}}, nil
			}
		}},
		{name: "several wabas granted, none for management", id: onboarding.Identity{}, meta: func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{AppID: appID, Valid: true, Scopes: map[string][]string{"whatsapp_business_messaging": {waba, "2"}}}, nil
			}
		}, code: onboarding.CodeInvalidRequest, field: "waba_id"},
		{name: "no waba granted", id: onboarding.Identity{}, meta: func(m *onboardingtest.Meta) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{AppID: appID, Valid: true}, nil
			}
		}, code: onboarding.CodeInvalidRequest, field: "waba_id"},
		{name: "several numbers", id: onboarding.Identity{WABAID: waba}, meta: func(m *onboardingtest.Meta) {
			m.Numbers = func(string) ([]onboarding.PhoneNumber, error) {
				return []onboarding.PhoneNumber{{CodeVerificationStatus: "VERIFIED", ID: "1"}, {CodeVerificationStatus: "VERIFIED", ID: "2"}}, nil
			}
		}, code: onboarding.CodeInvalidRequest, field: "phone_number_id"},
		{name: "no number", id: onboarding.Identity{WABAID: waba}, meta: func(m *onboardingtest.Meta) {
			m.Numbers = func(string) ([]onboarding.PhoneNumber, error) { return nil, nil }
		}, code: onboarding.CodeNumberMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tt.meta != nil {
				tt.meta(f.meta)
			}
			_, err := f.svc.Signup(context.Background(), onboarding.SignupRequest{Code: "c", Identity: tt.id})
			if tt.code != "" {
				var de *onboarding.Error
				if onboarding.ErrorCode(err) != tt.code || !errors.As(err, &de) {
					t.Fatalf("err = %v, want %s", err, tt.code)
				}
				if tt.field != "" && (len(de.Fields) != 1 || de.Fields[0].Field != tt.field) {
					t.Fatalf("fields = %+v, want %s", de.Fields, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("signup: %v", err)
			}
			rec := f.record(t)
			if rec.State != onboarding.StateOnboarded || rec.PhoneNumberID != phone || rec.BusinessID != business {
				t.Fatalf("record = %+v", rec)
			}
		})
	}
}

func TestSignupPlivoOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		script    []error
		outcome   onboarding.Outcome
		code      onboarding.Code
		state     onboarding.State
		lastError string
		delay     time.Duration
		calls     int
	}{
		{name: "500 then 200 inside the request", script: []error{plivoErr(onboarding.KindTransient, 500, "An internal error occurred. Please try again later.")},
			outcome: onboarding.OutcomeOnboarded, state: onboarding.StateOnboarded, calls: 2},
		{name: "500 twice leaves it pending", script: []error{plivoErr(onboarding.KindTransient, 500, ""), plivoErr(onboarding.KindTransient, 500, "")},
			outcome: onboarding.OutcomePending, state: onboarding.StateVerified, lastError: onboarding.ReasonPlivoServerError, delay: time.Minute, calls: 2},
		{name: "timeouts", script: []error{plivoErr(onboarding.KindTransient, 0, ""), plivoErr(onboarding.KindTransient, 0, "")},
			outcome: onboarding.OutcomePending, state: onboarding.StateVerified, lastError: onboarding.ReasonPlivoUnreachable, delay: time.Minute, calls: 2},
		{name: "429", script: []error{plivoErr(onboarding.KindThrottled, 429, "Too many requests"), plivoErr(onboarding.KindThrottled, 429, "")},
			outcome: onboarding.OutcomePending, state: onboarding.StateVerified, lastError: onboarding.ReasonPlivoThrottled, delay: time.Minute, calls: 2},
		{name: "401 after refresh", script: []error{plivoErr(onboarding.KindUnauthorized, 401, "Authentication credentials were not provided or are invalid.")},
			outcome: onboarding.OutcomePending, state: onboarding.StateVerified, lastError: onboarding.ReasonPlivoUnauthorized, delay: 10 * time.Minute, calls: 1},
		{name: "403", script: []error{plivoErr(onboarding.KindForbidden, 403, "Your account is not authorized for the Embedded Signup API.")},
			outcome: onboarding.OutcomePending, state: onboarding.StateVerified, lastError: onboarding.ReasonPlivoForbidden, delay: 10 * time.Minute, calls: 1},
		{name: "solution not active", script: []error{plivoErr(onboarding.KindSolutionInactive, 400, "Multi-Partner Solution is not active for your app. Contact Plivo support.")},
			outcome: onboarding.OutcomePending, state: onboarding.StateVerified, lastError: onboarding.ReasonSolutionInactive, delay: 10 * time.Minute, calls: 1},
		{name: "already registered by someone else", script: []error{plivoErr(onboarding.KindAlreadyRegistered, 400, "This WABA is already registered with Plivo.")},
			code: onboarding.CodeAlreadyRegistered, state: onboarding.StateFailed, lastError: onboarding.ReasonAlreadyRegistered, calls: 1},
		{name: "phone under another waba", script: []error{plivoErr(onboarding.KindPhoneNumberTaken, 400, "This phone number is already registered under another WABA.")},
			code: onboarding.CodePhoneNumberTaken, state: onboarding.StateFailed, lastError: onboarding.ReasonPhoneNumberTaken, calls: 1},
		{name: "invalid waba format", script: []error{plivoErr(onboarding.KindRejected, 400, "waba_id is not a valid WhatsApp Business Account ID.")},
			code: onboarding.CodeUpstreamFailed, state: onboarding.StateFailed, lastError: onboarding.ReasonPlivoRejected, calls: 1},
		{name: "required field", script: []error{plivoErr(onboarding.KindRejected, 400, "business_id is required.")},
			code: onboarding.CodeUpstreamFailed, state: onboarding.StateFailed, lastError: onboarding.ReasonPlivoRejected, calls: 1},
		{name: "500 then already registered is our own lost success", script: []error{plivoErr(onboarding.KindTransient, 0, ""), plivoErr(onboarding.KindAlreadyRegistered, 400, "This WABA is already registered with Plivo.")},
			outcome: onboarding.OutcomeOnboarded, state: onboarding.StateOnboarded, calls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.plivo.Script = tt.script
			res, err := f.svc.Signup(context.Background(), request("p"))
			if tt.code != "" {
				if onboarding.ErrorCode(err) != tt.code {
					t.Fatalf("err = %v, want %s", err, tt.code)
				}
			} else if err != nil || res.Outcome != tt.outcome {
				t.Fatalf("outcome = %s err = %v, want %s", res.Outcome, err, tt.outcome)
			}
			rec := f.record(t)
			if rec.State != tt.state || rec.LastError != tt.lastError && rec.FailureReason != tt.lastError {
				t.Fatalf("record state=%s last_error=%s reason=%s, want %s/%s", rec.State, rec.LastError, rec.FailureReason, tt.state, tt.lastError)
			}
			if rec.LockHeld(f.clock.Now()) {
				t.Fatal("lock left held")
			}
			if tt.state == onboarding.StateVerified {
				if got := rec.NextRetryAt.Sub(f.clock.Now()); got != tt.delay/2 && got != tt.delay {
					t.Fatalf("next retry in %v, want about %v", got, tt.delay)
				}
			}
			if calls, _ := f.plivo.Counts(); calls != tt.calls {
				t.Fatalf("plivo calls = %d, want %d", calls, tt.calls)
			}
		})
	}
}

func TestConcurrentIdenticalSignupsCallPlivoOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.plivo.Gate = make(chan struct{})
	var wg sync.WaitGroup
	results := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.svc.Signup(context.Background(), request(fmt.Sprint("c", i)))
			results <- err
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(f.plivo.Gate)
	wg.Wait()
	close(results)
	var ok, inProgress int
	for err := range results {
		switch onboarding.ErrorCode(err) {
		case onboarding.CodeInProgress:
			inProgress++
		case onboarding.CodeInternal:
			if err == nil {
				ok++
				continue
			}
			t.Fatalf("unexpected error %v", err)
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	if calls, _ := f.plivo.Counts(); calls != 1 {
		t.Fatalf("plivo calls = %d, want 1", calls)
	}
	if ok+inProgress != 50 || ok < 1 {
		t.Fatalf("ok=%d in progress=%d", ok, inProgress)
	}
}

func TestResume(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.plivo.Script = []error{plivoErr(onboarding.KindTransient, 500, ""), plivoErr(onboarding.KindTransient, 500, ""), plivoErr(onboarding.KindTransient, 500, "")}
	res, err := f.svc.Signup(context.Background(), request("r"))
	if err != nil || res.Outcome != onboarding.OutcomePending {
		t.Fatalf("signup: %v %v", res.Outcome, err)
	}
	// Not due yet: nothing happens.
	if rep, _ := f.svc.Resume(context.Background(), 10, "run-0"); rep.Claimed != 0 {
		t.Fatalf("claimed before due: %+v", rep)
	}
	f.clock.Advance(11 * time.Minute)
	rep, err := f.svc.Resume(context.Background(), 10, "run-1")
	if err != nil || rep.Claimed != 1 || rep.Pending != 1 {
		t.Fatalf("resume 1: %+v %v", rep, err)
	}
	f.clock.Advance(11 * time.Minute)
	rep, _ = f.svc.Resume(context.Background(), 10, "run-2")
	if rep.Onboarded != 1 {
		t.Fatalf("resume 2: %+v", rep)
	}
	rec := f.record(t)
	if rec.State != onboarding.StateOnboarded || rec.PlivoAttempts != 4 {
		t.Fatalf("record = %s attempts=%d", rec.State, rec.PlivoAttempts)
	}
	if _, ok := f.plivo.Counts(); ok != 1 {
		t.Fatalf("successful plivo calls = %d", ok)
	}
}

// TestResumeLiftsEndedRestrictions: Meta sends nothing when a restriction
// lapses, so the resume run moves the record back to onboarded once its
// end has come, and leaves a restriction without an end alone.
func TestResumeLiftsEndedRestrictions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := f.clock.Now()
	for id, until := range map[string]time.Time{"1001": now.Add(time.Hour), "1002": {}} {
		f.store.Put(onboarding.Record{WABAID: id, State: onboarding.StateRestricted, ClientRef: "customer-1",
			Lifecycle: onboarding.Lifecycle{StateReason: "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING", RestrictedUntil: until}})
	}
	if rep, err := f.svc.Resume(context.Background(), 10, "run-0"); err != nil || rep.Lifted != 0 {
		t.Fatalf("before the end: %+v, %v", rep, err)
	}
	f.clock.Advance(time.Hour)
	// The Plivo retries cannot be listed: the lift still runs.
	f.store.Fail = func(op string, _ *onboarding.Record) error {
		if op == "due" {
			return errors.New("throttled")
		}
		return nil
	}
	if rep, err := f.svc.Resume(context.Background(), 10, "run-1"); err == nil || rep.Lifted != 1 {
		t.Fatalf("at the end, Plivo's half failing: %+v, %v; want the error and one lift", rep, err)
	}
	f.store.Fail = nil
	for id, want := range map[string]onboarding.State{"1001": onboarding.StateOnboarded, "1002": onboarding.StateRestricted} {
		rec, err := f.store.Get(context.Background(), id)
		if err != nil || rec.State != want {
			t.Errorf("%s: %+v, %v; want %s", id, rec, err, want)
		}
	}
	if rec, _ := f.store.Get(context.Background(), "1001"); rec.StateReason != onboarding.ReasonRestrictionExpired {
		t.Errorf("reason %q", rec.StateReason)
	}
	f.store.Fail = func(op string, _ *onboarding.Record) error {
		if op == "expired" {
			return errors.New("throttled")
		}
		return nil
	}
	if _, err := f.svc.Resume(context.Background(), 10, "run-2"); err == nil {
		t.Error("a failed listing was not reported")
	}
}

func TestResumeGivesUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for range 10 {
		f.plivo.Script = append(f.plivo.Script, plivoErr(onboarding.KindTransient, 500, ""))
	}
	if _, err := f.svc.Signup(context.Background(), request("g")); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		f.clock.Advance(11 * time.Minute)
		if _, err := f.svc.Resume(context.Background(), 10, fmt.Sprint("run-", i)); err != nil {
			t.Fatal(err)
		}
	}
	rec := f.record(t)
	if rec.State != onboarding.StateFailed || rec.FailureReason != onboarding.ReasonGaveUp || rec.PlivoAttempts != 4 {
		t.Fatalf("record = %s/%s attempts %d", rec.State, rec.FailureReason, rec.PlivoAttempts)
	}
}

func TestResumeAfterCrashBeforePlivo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// The process dies right after persisting "verified": Plivo never answers.
	ctx, cancel := context.WithCancel(context.Background())
	f.plivo.Gate = make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.svc.Plivo = plivoFunc(func() error { cancel(); <-ctx.Done(); return ctx.Err() })
		_, _ = f.svc.Signup(ctx, request("crash"))
	}()
	<-done
	f.svc.Plivo = f.plivo
	close(f.plivo.Gate)
	rec := f.record(t)
	if rec.State != onboarding.StateVerified {
		t.Fatalf("state after crash = %s", rec.State)
	}
	f.clock.Advance(11 * time.Minute)
	rep, _ := f.svc.Resume(context.Background(), 10, "run")
	if rep.Onboarded != 1 {
		t.Fatalf("resume: %+v", rep)
	}
	if f.meta.Exchanges() != 1 {
		t.Fatalf("code exchanged %d times", f.meta.Exchanges())
	}
}

type plivoFunc func() error

func (p plivoFunc) EmbeddedSignup(context.Context, onboarding.PlivoSignup) (onboarding.PlivoResult, error) {
	return onboarding.PlivoResult{}, p()
}

func TestOverlappingResumeRunsCallPlivoOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.plivo.Script = []error{plivoErr(onboarding.KindTransient, 500, ""), plivoErr(onboarding.KindTransient, 500, "")}
	if _, err := f.svc.Signup(context.Background(), request("o")); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(11 * time.Minute)
	f.plivo.Gate = make(chan struct{})
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = f.svc.Resume(context.Background(), 10, fmt.Sprint("run-", i))
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(f.plivo.Gate)
	wg.Wait()
	if calls, _ := f.plivo.Counts(); calls != 3 {
		t.Fatalf("plivo calls = %d, want 3 (2 in the signup, 1 by resume)", calls)
	}
}

func TestStoreFaults(t *testing.T) {
	t.Parallel()
	t.Run("acquire after Meta's proof fails: 503 signup_not_recorded (the code is spent), nothing to Plivo", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.store.Fail = func(op string, _ *onboarding.Record) error {
			if op == "acquire" {
				return errors.New("throttled")
			}
			return nil
		}
		_, err := f.svc.Signup(context.Background(), request("s"))
		if calls, _ := f.plivo.Counts(); onboarding.ErrorCode(err) != onboarding.CodeNotRecorded || calls != 0 {
			t.Fatalf("err = %v, plivo calls %d", err, calls)
		}
	})
	t.Run("lock applied but its answer lost, the SDK's retry loses the condition: onboarded", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.svc.Store = replayedAcquire{f.store}
		res, err := f.svc.Signup(context.Background(), request("s"))
		if err != nil || res.Outcome != onboarding.OutcomeOnboarded {
			t.Fatalf("outcome %v, err %v", res, err)
		}
		if rec := f.record(t); rec.State != onboarding.StateOnboarded {
			t.Fatalf("state = %s", rec.State)
		}
	})
	t.Run("the request ends as Plivo onboards: the outcome is recorded all the same", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.svc.Store = ctxStore{f.store}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f.svc.Plivo = plivoFunc(func() error { cancel(); return nil })
		if res, err := f.svc.Signup(ctx, request("s")); err != nil || res.Outcome != onboarding.OutcomeOnboarded {
			t.Fatalf("outcome %v, err %v", res.Outcome, err)
		}
		if rec := f.record(t); rec.State != onboarding.StateOnboarded {
			t.Fatalf("state = %s, want onboarded: the save went with the request", rec.State)
		}
	})
	t.Run("record unreadable once Meta refused a code another attempt spent: the refusal at once, counted", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		met := &recMetrics{}
		f.svc.Metrics = met
		f.svc.Sessions = f.store
		now := f.clock.Now()
		f.store.PutUse(onboarding.SessionUse{ID: "tok", ClientRef: "customer-1", WABAID: waba, UsedAt: now.Add(-time.Second),
			ExpiresAt: now.Add(time.Hour), Attempt: "other-attempt"})
		var refused atomic.Bool
		f.meta.Exchange = func(string) (string, error) {
			refused.Store(true)
			return "", metaErr(onboarding.KindRejected, 100)
		}
		f.store.Fail = func(op string, _ *onboarding.Record) error {
			if op == "get" && refused.Load() {
				return errors.New("throttled")
			}
			return nil
		}
		var pauses int
		f.svc.Sleep = func(context.Context, time.Duration) error { pauses++; return nil }
		_, err := f.svc.Signup(context.Background(), sessionRequest("s", "tok", now))
		if onboarding.ErrorCode(err) != onboarding.CodeMetaRejected || pauses != 0 {
			t.Fatalf("err = %v after %d pauses; want meta_rejected at once", err, pauses)
		}
		if !slices.Contains(met.points, onboarding.MetricStoreError+" read ") {
			t.Errorf("no %s for the read in %v", onboarding.MetricStoreError, met.points)
		}
	})
	t.Run("verified save fails once: retried, onboarded", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		var failed atomic.Bool
		f.store.Fail = func(op string, rec *onboarding.Record) error {
			if op == "save" && rec.State == onboarding.StateVerified && failed.CompareAndSwap(false, true) {
				return errors.New("connection reset")
			}
			return nil
		}
		if _, err := f.svc.Signup(context.Background(), request("s")); err != nil {
			t.Fatal(err)
		}
		if rec := f.record(t); rec.State != onboarding.StateOnboarded {
			t.Fatalf("state = %s", rec.State)
		}
	})
}

func TestValidateIdentity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		id    onboarding.Identity
		field string
	}{
		{"ok", onboarding.Identity{WABAID: waba, PhoneNumberID: phone, BusinessID: business, ClientRef: "customer-12345"}, ""},
		{"empty is fine", onboarding.Identity{}, ""},
		{"letters", onboarding.Identity{WABAID: "12a"}, "waba_id"},
		{"leading zero", onboarding.Identity{PhoneNumberID: "0123"}, "phone_number_id"},
		{"21 digits", onboarding.Identity{BusinessID: "123456789012345678901"}, "business_id"},
		{"negative", onboarding.Identity{WABAID: "-1"}, "waba_id"},
		{"client_ref too long", onboarding.Identity{ClientRef: string(make([]byte, 65))}, "client_ref"},
		{"client_ref control char", onboarding.Identity{ClientRef: "a\nb"}, "client_ref"},
		{"client_ref unicode", onboarding.Identity{ClientRef: "clïent"}, "client_ref"},
		{"client_ref invalid utf8", onboarding.Identity{ClientRef: "\xff"}, "client_ref"},
		{"client_ref 64", onboarding.Identity{ClientRef: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := onboarding.ValidateIdentity(tt.id)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			var de *onboarding.Error
			if !errors.As(err, &de) || de.Code != onboarding.CodeInvalidRequest || de.Fields[0].Field != tt.field {
				t.Fatalf("err = %v, want field %s", err, tt.field)
			}
		})
	}
}

func TestBackoffFullJitter(t *testing.T) {
	t.Parallel()
	p := onboarding.RetryPolicy{BaseDelay: time.Second, MaxDelay: 10 * time.Second}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 50: 10 * time.Second} {
		if got := p.Backoff(attempt, func() float64 { return 0.999999 }); got > want || got < want*99/100 {
			t.Errorf("attempt %d ceiling = %v, want %v", attempt, got, want)
		}
		if got := p.Backoff(attempt, func() float64 { return 0 }); got != 0 {
			t.Errorf("attempt %d floor = %v, want 0", attempt, got)
		}
	}
}

// replayedAcquire plays the AWS SDK resending a lock write whose answer
// was lost although DynamoDB applied it: the second write finds the first.
type replayedAcquire struct{ *memstore.Store }

// ctxStore refuses a save whose context is done, as DynamoDB's client does.
type ctxStore struct{ *memstore.Store }

func (s ctxStore) Save(ctx context.Context, rec *onboarding.Record) (*onboarding.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.Store.Save(ctx, rec)
}

func (r replayedAcquire) Acquire(ctx context.Context, rec *onboarding.Record, now time.Time) (*onboarding.Record, error) {
	if _, err := r.Store.Acquire(ctx, rec, now); err != nil {
		return nil, err
	}
	return r.Store.Acquire(ctx, rec, now)
}

// TestSignupOutcomeNotRecorded: DynamoDB fails every save after a proven
// signup took its lock. The signup still reaches Plivo, and the record,
// stuck in verifying without a trace of it, must not be lost: once its
// lock expires the resume function finds it, and Plivo's "already
// registered" for our earlier call reconciles it. A signup whose lock is
// not in the retry index (it named no WABA, so it locked before Meta's
// proof) does not call Plivo on an unrecorded verification.
func TestSignupOutcomeNotRecorded(t *testing.T) {
	t.Parallel()
	registered := plivoErr(onboarding.KindAlreadyRegistered, 400, "This WABA is already registered with Plivo.")
	const onboarded = onboarding.OutcomeOnboarded
	tests := []struct {
		name        string
		noWABA      bool
		again       bool    // a new signup of the WABA after the lock expired
		script      []error // Plivo's answers: the signup's, then the resume's
		wantOutcome onboarding.Outcome
		wantCode    onboarding.Code
		wantCalls   int // Plivo calls by the signup
	}{
		{name: "Plivo onboards it: the resume reconciles", script: []error{nil, registered}, wantOutcome: onboarded, wantCalls: 1},
		{name: "Plivo onboards it, the customer signs up again before the resume: in progress, then reconciled", script: []error{nil, registered},
			wantOutcome: onboarded, wantCalls: 1, again: true},
		{name: "Plivo fails: the resume retries", script: []error{plivoErr(onboarding.KindTransient, 503, ""), plivoErr(onboarding.KindTransient, 503, ""), nil},
			wantOutcome: onboarding.OutcomePending, wantCalls: 2},
		{name: "no WABA named: nothing sent to Plivo", noWABA: true, wantCode: onboarding.CodeNotRecorded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.plivo.Script = tt.script
			restore := f.failSaves()
			req := request("n")
			if tt.noWABA {
				req.Identity.WABAID = ""
			}
			res, err := f.svc.Signup(context.Background(), req)
			calls, _ := f.plivo.Counts()
			if res.Outcome != tt.wantOutcome || (err != nil) != (tt.wantCode != "") || (err != nil && onboarding.ErrorCode(err) != tt.wantCode) || calls != tt.wantCalls {
				t.Fatalf("signup: %q %v after %d Plivo calls; want %q %q after %d", res.Outcome, err, calls, tt.wantOutcome, tt.wantCode, tt.wantCalls)
			}
			restore()
			f.clock.Advance(11 * time.Minute)
			if tt.again {
				if _, err := f.svc.Signup(context.Background(), request("m")); onboarding.ErrorCode(err) != onboarding.CodeInProgress {
					t.Fatalf("signup again: %v, want signup_in_progress: the resume function finishes the first", err)
				}
			}
			if _, err := f.svc.Resume(context.Background(), 10, "run"); err != nil {
				t.Fatal(err)
			}
			if tt.noWABA {
				if calls, _ := f.plivo.Counts(); calls != 0 {
					t.Errorf("Plivo called %d times for an unrecorded verification", calls)
				}
				return
			}
			if rec := f.record(t); rec.State != onboarding.StateOnboarded || rec.LockHeld(f.clock.Now()) {
				t.Errorf("after the resume: %s (lock held %t), want onboarded", rec.State, rec.LockHeld(f.clock.Now()))
			}
		})
	}
}

// TestWABALessSignupLogsItsWABA: a signup whose page sent no WABA ID logs
// the WABA once Meta names it, on every later line (the Plivo call, the
// outcome): the saved query of one WABA's history filters on waba_id, and
// a line with two waba_id keys, one empty, is read either way.
func TestWABALessSignupLogsItsWABA(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var logs bytes.Buffer
	f.svc.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	req := request("c-no-waba")
	req.Identity.WABAID, req.Identity.PhoneNumberID = "", ""
	if _, err := f.svc.Signup(context.Background(), req); err != nil {
		t.Fatalf("signup: %v", err)
	}
	plivoLines := 0
	for line := range strings.Lines(logs.String()) {
		if n := strings.Count(line, `"waba_id":`); n > 1 {
			t.Errorf("waba_id %d times: %s", n, line)
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatal(err)
		}
		if v, ok := entry["waba_id"]; ok && v != waba {
			t.Errorf("waba_id %q, want %s or none: %s", v, waba, line)
		}
		if entry["service"] == onboarding.ServicePlivo {
			plivoLines++
			if entry["waba_id"] != waba {
				t.Errorf("the Plivo call is logged without its WABA: %s", line)
			}
		}
	}
	if plivoLines == 0 {
		t.Error("no line logs the Plivo call")
	}
}
