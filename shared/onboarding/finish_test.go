package onboarding_test

import (
	"context"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestFinishStatesBeforePlivo covers the ways a customer can finish Meta's
// flow: only a verified number reaches Plivo; an unverified number and a
// WABA without a number are recorded as waiting for the customer, not as
// failures, and a later signup of the same WABA with a verified number
// onboards it.
func TestFinishStatesBeforePlivo(t *testing.T) {
	t.Parallel()
	number := func(code, status string) func(string) ([]onboarding.PhoneNumber, error) {
		return func(string) ([]onboarding.PhoneNumber, error) {
			return []onboarding.PhoneNumber{{ID: phone, DisplayPhoneNumber: "+1 555 0100", CodeVerificationStatus: code, Status: status}}, nil
		}
	}
	for _, tc := range []struct {
		name     string
		numbers  func(string) ([]onboarding.PhoneNumber, error)
		req      func(onboarding.SignupRequest) onboarding.SignupRequest
		state    onboarding.State
		code     onboarding.Code
		phoneOut string
	}{
		{name: "verified number", numbers: number("VERIFIED", "PENDING"), state: onboarding.StateOnboarded, phoneOut: phone},
		{name: "connected number whose code verification lapsed", numbers: number("EXPIRED", "CONNECTED"), state: onboarding.StateOnboarded, phoneOut: phone},
		{name: "number not verified", numbers: number("NOT_VERIFIED", "PENDING"), state: onboarding.StatePhoneUnverified, code: onboarding.CodePhoneUnverified, phoneOut: phone},
		{name: "verification expired", numbers: number("EXPIRED", "PENDING"), state: onboarding.StatePhoneUnverified, code: onboarding.CodePhoneUnverified, phoneOut: phone},
		{name: "no number (v4 finish without one)", numbers: func(string) ([]onboarding.PhoneNumber, error) { return nil, nil },
			req: func(r onboarding.SignupRequest) onboarding.SignupRequest {
				r.Identity.PhoneNumberID = ""
				return r
			}, state: onboarding.StateAwaitingNumber, code: onboarding.CodeNumberMissing},
		{name: "WABA only (FINISH_ONLY_WABA) though the WABA has a number", numbers: number("VERIFIED", "PENDING"),
			req: func(r onboarding.SignupRequest) onboarding.SignupRequest {
				r.Identity.PhoneNumberID = ""
				r.WABAOnly = true
				return r
			}, state: onboarding.StateAwaitingNumber, code: onboarding.CodeNumberMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.meta.Numbers = tc.numbers
			req := request("c1")
			if tc.req != nil {
				req = tc.req(req)
			}
			_, err := f.svc.Signup(context.Background(), req)
			if got := onboarding.ErrorCode(err); err != nil && got != tc.code || err == nil && tc.code != "" {
				t.Fatalf("Signup error = %v, want code %q", err, tc.code)
			}
			rec := f.record(t)
			if rec.State != tc.state || rec.PhoneNumberID != tc.phoneOut || rec.FailureReason != "" {
				t.Fatalf("record state %s phone %q reason %q, want %s phone %q and no failure reason", rec.State, rec.PhoneNumberID, rec.FailureReason, tc.state, tc.phoneOut)
			}
			calls, _ := f.plivo.Counts()
			if tc.state != onboarding.StateOnboarded && calls != 0 {
				t.Fatalf("plivo called %d times for a number that cannot be onboarded", calls)
			}
			if rec.LockHeld(f.clock.Now()) {
				t.Fatal("lock still held")
			}
			if tc.state == onboarding.StateOnboarded {
				return
			}
			// The customer runs the signup again and finishes with a
			// verified number: the same WABA is onboarded.
			f.meta.Numbers = number("VERIFIED", "PENDING")
			res, err := f.svc.Signup(context.Background(), request("c2"))
			if err != nil || res.Outcome != onboarding.OutcomeOnboarded {
				t.Fatalf("second signup = %v, %v; want onboarded", res.Outcome, err)
			}
			if rec := f.record(t); rec.State != onboarding.StateOnboarded || rec.PhoneNumberID != phone {
				t.Fatalf("after the second signup: %+v", rec)
			}
		})
	}
}

// TestMetaConfigErrorIsNotAnOutage: Meta refusing our app secret is the
// provider's configuration, never "Meta is down" nor the customer's fault.
func TestMetaConfigErrorIsNotAnOutage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.meta.Exchange = func(string) (string, error) { return "", metaErr(onboarding.KindConfig, 1) }
	failures := f.countFailures()
	_, err := f.svc.Signup(context.Background(), request("c1"))
	if onboarding.ErrorCode(err) != onboarding.CodeProviderConfig {
		t.Fatalf("error %v, want %s", err, onboarding.CodeProviderConfig)
	}
	failures.only(t, onboarding.ReasonMetaConfig)
	f.noRecord(t)
}

// TestUndocumentedPlivo4xxStaysVerified: a 4xx Plivo's guide does not list
// is retried at the longest backoff, never a final failure.
func TestUndocumentedPlivo4xxStaysVerified(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.plivo.Script = []error{plivoErr(onboarding.KindUndocumented, 422, "Something new"), plivoErr(onboarding.KindUndocumented, 422, "Something new")}
	res, err := f.svc.Signup(context.Background(), request("c1"))
	if err != nil || res.Outcome != onboarding.OutcomePending {
		t.Fatalf("Signup = %v, %v; want pending", res.Outcome, err)
	}
	rec := f.record(t)
	if rec.State != onboarding.StateVerified || rec.LastError != onboarding.ReasonPlivoUndocumented {
		t.Fatalf("record %s / %s, want verified / %s", rec.State, rec.LastError, onboarding.ReasonPlivoUndocumented)
	}
	if wait := rec.NextRetryAt.Sub(f.clock.Now()); wait != f.svc.Policy.MaxDelay {
		t.Fatalf("next retry in %s, want the longest backoff %s", wait, f.svc.Policy.MaxDelay)
	}
}

// TestWaitNotRecordedNeverReachesPlivo: the save recording an unverified
// number fails, leaving the lock behind. Once the lock expires, the resume
// function must not take it for a verified signup and onboard the number.
func TestWaitNotRecordedNeverReachesPlivo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.meta.Numbers = func(string) ([]onboarding.PhoneNumber, error) {
		return []onboarding.PhoneNumber{{ID: phone, DisplayPhoneNumber: "+1 555 0100", CodeVerificationStatus: "NOT_VERIFIED", Status: "PENDING"}}, nil
	}
	restore := f.failSaves()
	if _, err := f.svc.Signup(context.Background(), request("c1")); onboarding.ErrorCode(err) != onboarding.CodePhoneUnverified {
		t.Fatalf("signup: %v, want phone_unverified: the customer's next step is the same", err)
	}
	restore()
	f.clock.Advance(11 * time.Minute)
	if _, err := f.svc.Resume(context.Background(), 10, "run"); err != nil {
		t.Fatal(err)
	}
	if calls, _ := f.plivo.Counts(); calls != 0 {
		t.Errorf("Plivo called %d times for an unverified number", calls)
	}
	if rec := f.record(t); rec.State == onboarding.StateOnboarded || rec.State == onboarding.StateVerified {
		t.Errorf("record %s, want it left for the customer's next signup", rec.State)
	}
}
