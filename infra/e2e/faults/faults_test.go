package faults

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/faultproxy"
	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

func TestHappyPathWarmCallsNoSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	for i := range 2 {
		g, code := h.grant(t)
		res, err := h.svc.Signup(context.Background(), request(g, code))
		if err != nil || res.Outcome != onboarding.OutcomeOnboarded {
			t.Fatalf("signup %d: %v %v", i, res.Outcome, err)
		}
		if i == 0 {
			h.sm.ResetCalls()
			h.proxy.Reset()
		}
	}
	if n := h.sm.Calls("GetSecretValue"); n != 0 {
		t.Fatalf("warm signup made %d Secrets Manager calls", n)
	}
	if writes := h.proxy.Requests("PutItem") + h.proxy.Requests("UpdateItem"); writes != 3 {
		t.Fatalf("warm signup made %d DynamoDB writes, want 3", writes)
	}
	if h.plivo.SuccessfulSignups() != 2 {
		t.Fatalf("plivo onboarded %d", h.plivo.SuccessfulSignups())
	}
}

func TestPlivoFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opt    options
		arm    func(h *harness)
		first  onboarding.Outcome
		reason string
	}{
		{name: "500 five times then 200", arm: func(h *harness) { h.plivo.FailNext(plivosim.RouteSignup, 5, plivosim.KindInternal) },
			first: onboarding.OutcomePending, reason: onboarding.ReasonPlivoServerError},
		{name: "503 html from a load balancer", arm: func(h *harness) { h.plivo.FailNext(plivosim.RouteSignup, 3, plivosim.KindDown) },
			first: onboarding.OutcomePending, reason: onboarding.ReasonPlivoServerError},
		{name: "429", arm: func(h *harness) { h.plivo.FailNext(plivosim.RouteSignup, 3, plivosim.KindThrottled) },
			first: onboarding.OutcomePending, reason: onboarding.ReasonPlivoThrottled},
		{name: "timeouts", opt: options{plivoTimeout: 300 * time.Millisecond}, arm: func(h *harness) { h.plivo.FailNext(plivosim.RouteSignup, 2, plivosim.KindHang) },
			first: onboarding.OutcomePending, reason: onboarding.ReasonPlivoUnreachable},
		{name: "one 500 is absorbed inside the request", arm: func(h *harness) { h.plivo.FailNext(plivosim.RouteSignup, 1, plivosim.KindInternal) },
			first: onboarding.OutcomeOnboarded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.opt)
			tt.arm(h)
			g, code := h.grant(t)
			res, err := h.svc.Signup(context.Background(), request(g, code))
			if err != nil || res.Outcome != tt.first {
				t.Fatalf("signup: %v %v, want %s", res.Outcome, err, tt.first)
			}
			if tt.first == onboarding.OutcomePending {
				rec := h.record(t, g.WABAID)
				if rec.State != onboarding.StateVerified || rec.LastError != tt.reason || rec.NextRetryAt.IsZero() || rec.LockHeld(h.now()) {
					t.Fatalf("pending record: state=%s last_error=%s next=%v", rec.State, rec.LastError, rec.NextRetryAt)
				}
				h.resumeUntilSettled(t, 10)
			}
			rec := h.record(t, g.WABAID)
			if rec.State != onboarding.StateOnboarded {
				t.Fatalf("final state %s (%s)", rec.State, rec.LastError)
			}
			if h.plivo.SuccessfulSignups() != 1 {
				t.Fatalf("successful plivo calls = %d, want exactly 1", h.plivo.SuccessfulSignups())
			}
			if n := h.meta.Calls(metasim.EndpointOAuth); n != 1 {
				t.Fatalf("code exchanged %d times", n)
			}
		})
	}
}

func TestPlivoTokenRotation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	g, code := h.grant(t)
	if _, err := h.svc.Signup(context.Background(), request(g, code)); err != nil {
		t.Fatal(err)
	}
	// The token is rotated at Plivo and in Secrets Manager; our cache still
	// holds the old one.
	h.plivo.RotateToken("rotated-token-2")
	h.sm.Put(plivoSec, `{"auth_id":"`+authID+`","auth_token":"rotated-token-2"}`)
	h.sm.ResetCalls()
	g2, code2 := h.grant(t)
	res, err := h.svc.Signup(context.Background(), request(g2, code2))
	if err != nil || res.Outcome != onboarding.OutcomeOnboarded {
		t.Fatalf("after rotation: %v %v", res.Outcome, err)
	}
	if n := h.sm.Calls("GetSecretValue"); n != 1 {
		t.Fatalf("secret fetched %d times after a 401, want 1 refresh", n)
	}
}

func TestAccountLevelPlivoFailuresDoNotHotLoop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		kind   plivosim.Kind
		reason string
	}{
		{"403", plivosim.KindForbidden, onboarding.ReasonPlivoForbidden},
		{"multi-partner solution inactive", plivosim.KindSolutionInactive, onboarding.ReasonSolutionInactive},
		{"401 even after refresh", plivosim.KindUnauthorized, onboarding.ReasonPlivoUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, options{})
			h.plivo.FailNext(plivosim.RouteSignup, -1, tt.kind)
			g, code := h.grant(t)
			res, err := h.svc.Signup(context.Background(), request(g, code))
			if err != nil || res.Outcome != onboarding.OutcomePending {
				t.Fatalf("signup: %v %v", res.Outcome, err)
			}
			rec := h.record(t, g.WABAID)
			if rec.LastError != tt.reason || rec.NextRetryAt.Sub(h.now()) < 29*time.Minute {
				t.Fatalf("record: last_error=%s next retry in %v; want %s after the longest backoff", rec.LastError, rec.NextRetryAt.Sub(h.now()), tt.reason)
			}
			calls := h.plivo.SignupCalls()
			// Runs every minute for ten minutes: nothing is due, nothing is sent.
			for range 10 {
				h.advance(time.Minute)
				if _, err := h.svc.Resume(context.Background(), 25, "run"); err != nil {
					t.Fatal(err)
				}
			}
			if h.plivo.SignupCalls() != calls {
				t.Fatalf("resume hammered Plivo: %d calls after %d", h.plivo.SignupCalls(), calls)
			}
			if !strings.Contains(h.out.String(), `"Reason":"`+tt.reason+`"`) {
				t.Fatal("no metric names the reason")
			}
			// Once the operator fixes the account, the next due run finishes it.
			h.plivo.FailNext(plivosim.RouteSignup, 0, "")
			h.resumeUntilSettled(t, 3)
			if rec := h.record(t, g.WABAID); rec.State != onboarding.StateOnboarded {
				t.Fatalf("after fix: %s", rec.State)
			}
		})
	}
}

func TestLostPlivoResponseIsReconciled(t *testing.T) {
	t.Parallel()
	for _, drop := range []bool{true, false} {
		name := map[bool]string{true: "connection dropped", false: "answer delayed past the timeout"}[drop]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, options{plivoTimeout: 500 * time.Millisecond})
			if drop {
				h.plivo.DropNextSignupResponse()
			} else {
				h.plivo.DelayNextSignupResponse(3 * time.Second)
			}
			g, code := h.grant(t)
			res, err := h.svc.Signup(context.Background(), request(g, code))
			if err != nil || res.Outcome != onboarding.OutcomeOnboarded {
				t.Fatalf("signup: %v %v", res.Outcome, err)
			}
			rec := h.record(t, g.WABAID)
			if !rec.Reconciled || rec.State != onboarding.StateOnboarded {
				t.Fatalf("record: %+v", rec)
			}
			if h.plivo.SuccessfulSignups() != 1 {
				t.Fatalf("plivo onboarded %d times", h.plivo.SuccessfulSignups())
			}
		})
	}
}

func TestWABARegisteredBySomeoneElseIsAConflict(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	g, code := h.grant(t)
	h.plivo.Preregister(g.WABAID, "99999999999")
	_, err := h.svc.Signup(context.Background(), request(g, code))
	if onboarding.ErrorCode(err) != onboarding.CodeAlreadyRegistered {
		t.Fatalf("err = %v", err)
	}
	if rec := h.record(t, g.WABAID); rec.State != onboarding.StateFailed || rec.Reconciled {
		t.Fatalf("record: %+v", rec)
	}
}

func TestMetaOutages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		endpoint string
		kind     metasim.Kind
	}{
		{"graph down", metasim.EndpointOAuth, metasim.KindDown},
		{"app throttled", metasim.EndpointDebugToken, metasim.KindThrottled},
		{"waba throttled", metasim.EndpointPhoneNumbers, metasim.KindWABAThrottled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, options{})
			h.meta.FailNext(tt.endpoint, -1, tt.kind)
			g, code := h.grant(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := h.svc.Signup(ctx, request(g, code))
			// The code reached Meta, so it may be spent: the customer is sent
			// through Meta's flow again rather than told to resend it.
			if onboarding.ErrorCode(err) != onboarding.CodeMetaUnavailable {
				t.Fatalf("err = %v, want meta_unavailable", err)
			}
			if time.Since(start) > 8*time.Second {
				t.Fatalf("took %v: retries are not bounded", time.Since(start))
			}
			if n := h.meta.Calls(tt.endpoint); n < 1 || n > 3 {
				t.Fatalf("%s called %d times", tt.endpoint, n)
			}
			// Meta proved no control of the WABA, so nothing is written: the
			// WABA stays free for the customer's next attempt.
			if rec, err := h.store.Get(context.Background(), g.WABAID); !errors.Is(err, onboarding.ErrNotFound) || h.plivo.SignupCalls() != 0 {
				t.Fatalf("record %+v (%v), Plivo called %d times", rec, err, h.plivo.SignupCalls())
			}
		})
	}
}

func TestMetaRejections(t *testing.T) {
	t.Parallel()
	h := newHarness(t, options{})
	g, code := h.grant(t)
	if _, err := h.svc.Signup(context.Background(), request(g, code)); err != nil {
		t.Fatal(err)
	}
	// The same code for another WABA: Meta says it was used.
	g2, _ := h.grant(t)
	if _, err := h.svc.Signup(context.Background(), request(g2, code)); onboarding.ErrorCode(err) != onboarding.CodeMetaRejected {
		t.Fatalf("reused code: %v", err)
	}
	// A code for one WABA presented with another WABA's ID.
	g3, code3 := h.grant(t)
	other := request(g3, code3)
	other.Identity.WABAID, other.Identity.PhoneNumberID = g2.WABAID, g2.PhoneNumbers[0].ID
	if _, err := h.svc.Signup(context.Background(), other); onboarding.ErrorCode(err) != onboarding.CodeMetaRejected {
		t.Fatalf("foreign WABA: %v", err)
	}
	if h.plivo.SignupCalls() != 1 {
		t.Fatalf("plivo calls = %d", h.plivo.SignupCalls())
	}
}

func TestDynamoDBFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		arm       func(p *faultproxy.Proxy)
		wantErr   onboarding.Code
		wantState onboarding.State
	}{
		{name: "lock write throttled past the SDK's retries: 503, nothing sent to Plivo",
			arm:     func(p *faultproxy.Proxy) { p.ThrottleNext(20, "PutItem") },
			wantErr: onboarding.CodeUpstreamUnavailable},
		{name: "lock write throttled twice: the SDK retries it",
			arm:       func(p *faultproxy.Proxy) { p.ThrottleNext(2, "PutItem") },
			wantState: onboarding.StateOnboarded},
		{name: "verified write applied but its answer lost",
			arm: func(p *faultproxy.Proxy) {
				// The lock is a PutItem; the saves after it are UpdateItems.
				p.Inject(faultproxy.Fault{Operation: "UpdateItem", Action: faultproxy.DropAfterForward, Count: 1})
			},
			wantState: onboarding.StateOnboarded},
		{name: "final write delayed",
			arm: func(p *faultproxy.Proxy) {
				p.Inject(faultproxy.Fault{Operation: "UpdateItem", Action: faultproxy.Delay, Count: 2, Delay: 200 * time.Millisecond})
			},
			wantState: onboarding.StateOnboarded},
		{name: "every write after the lock dropped: Plivo still called once, answer 200",
			arm: func(p *faultproxy.Proxy) {
				p.Inject(faultproxy.Fault{Operation: "UpdateItem", Action: faultproxy.DropBeforeForward, Count: 1000})
			},
			wantState: onboarding.StateVerifying},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, options{})
			tt.arm(h.proxy)
			g, code := h.grant(t)
			res, err := h.svc.Signup(context.Background(), request(g, code))
			if tt.wantErr != "" {
				// The lock waits for Meta's proof, so Meta has answered by
				// then; Plivo must not hear of an unlocked signup.
				if onboarding.ErrorCode(err) != tt.wantErr || h.plivo.SignupCalls() != 0 {
					t.Fatalf("err = %v; meta %d plivo %d", err, h.meta.Calls(metasim.EndpointOAuth), h.plivo.SignupCalls())
				}
				return
			}
			if err != nil || res.Outcome != onboarding.OutcomeOnboarded {
				t.Fatalf("signup: %v %v", res.Outcome, err)
			}
			if h.plivo.SuccessfulSignups() != 1 {
				t.Fatalf("plivo onboarded %d times", h.plivo.SuccessfulSignups())
			}
			if rec := h.record(t, g.WABAID); rec.State != tt.wantState {
				t.Fatalf("state = %s, want %s", rec.State, tt.wantState)
			}
		})
	}
}
