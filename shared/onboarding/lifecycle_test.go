package onboarding_test

import (
	"context"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// A customer who removed our access and runs the signup again goes
// through the whole flow (a new code, then Plivo); Plivo's "already
// registered" is our own earlier onboarding, and the record ends onboarded
// and marked as a reconnect, which the stream publishes as reconnected.
func TestSignupReconnectsDisconnectedWABA(t *testing.T) {
	t.Parallel()
	health := onboarding.Health{QualityEvent: "UPGRADE", MessagingLimit: "TIER_10K", NameStatus: "APPROVED", RequestedName: "Acme",
		UpdatedAt: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	cases := []struct {
		name     string
		state    onboarding.State
		clientRf string
		number   string // the number the signup names, when not the record's
		want     onboarding.State
		code     onboarding.Code
	}{
		{name: "disconnected, same customer", state: onboarding.StateDisconnected, clientRf: "customer-1", want: onboarding.StateOnboarded},
		// Plivo keeps the WABA it onboarded, with its first number.
		{name: "disconnected, same customer, another number", state: onboarding.StateDisconnected, clientRf: "customer-1", number: "109000000000001",
			want: onboarding.StateDisconnected, code: onboarding.CodeSecondNumber},
		{name: "disconnected, another customer", state: onboarding.StateDisconnected, clientRf: "customer-9", want: onboarding.StateDisconnected, code: onboarding.CodeConflict},
		// Without the disconnect, "already registered" is someone else's.
		{name: "failed before", state: onboarding.StateFailed, clientRf: "customer-1", want: onboarding.StateFailed, code: onboarding.CodeAlreadyRegistered},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.store.Put(onboarding.Record{WABAID: waba, PhoneNumberID: phone, BusinessID: business, ClientRef: c.clientRf, State: c.state,
				PlivoAPIID: "first-api", Lifecycle: onboarding.Lifecycle{StateReason: "partner_app_uninstalled", Health: health}})
			f.plivo.Script = []error{alreadyRegistered()}
			req := request("again")
			if c.number != "" {
				req.Identity.PhoneNumberID = c.number
				f.meta.Numbers = func(string) ([]onboarding.PhoneNumber, error) {
					return []onboarding.PhoneNumber{{ID: c.number, CodeVerificationStatus: "VERIFIED"}}, nil
				}
			}
			res, err := f.svc.Signup(context.Background(), req)
			if (c.code == "" && err != nil) || (c.code != "" && onboarding.ErrorCode(err) != c.code) {
				t.Fatalf("err = %v, want code %q", err, c.code)
			}
			rec := f.record(t)
			if rec.State != c.want {
				t.Fatalf("record %s, want %s", rec.State, c.want)
			}
			if c.want != onboarding.StateOnboarded {
				return
			}
			if res.Outcome != onboarding.OutcomeOnboarded || !rec.Reconnect || rec.PreviousState != onboarding.StateDisconnected || !rec.Reconciled {
				t.Errorf("outcome %s, reconnect %t, previous %s, reconciled %t", res.Outcome, rec.Reconnect, rec.PreviousState, rec.Reconciled)
			}
			if calls, _ := f.plivo.Counts(); calls != 1 {
				t.Errorf("%d Plivo calls, want 1", calls)
			}
			// The number's quality, limit and name are Meta's, not the
			// signup's: the reconnect keeps what the webhooks said.
			if rec.Health != health {
				t.Errorf("health after the reconnect %+v, want %+v", rec.Health, health)
			}
		})
	}
}

// A reconnect that stopped half-way (Plivo gave up, or the number waited
// for its verification) stays a reconnect: the customer's next attempt
// takes the record over as one, and Plivo's "already registered" is still
// our own earlier onboarding, not someone else's.
func TestInterruptedReconnectIsRetriedAsAReconnect(t *testing.T) {
	t.Parallel()
	for _, state := range []onboarding.State{onboarding.StateFailed, onboarding.StatePhoneUnverified, onboarding.StateAwaitingNumber} {
		t.Run(string(state), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.store.Put(halfwayReconnect(state, "customer-1"))
			f.plivo.Script = []error{alreadyRegistered()}
			if _, err := f.svc.Signup(context.Background(), request("retry")); err != nil {
				t.Fatalf("the customer's retry: %v", err)
			}
			rec := f.record(t)
			if rec.State != onboarding.StateOnboarded || !rec.Reconnect || rec.PreviousState != onboarding.StateDisconnected || !rec.Reconciled {
				t.Errorf("record %s, reconnect %t, previous %s, reconciled %t; want an onboarded reconnect", rec.State, rec.Reconnect, rec.PreviousState, rec.Reconciled)
			}
		})
	}
	// Another customer does not inherit the reconnect.
	f := newFixture(t)
	f.store.Put(halfwayReconnect(onboarding.StateFailed, "customer-9"))
	f.plivo.Script = []error{alreadyRegistered()}
	if _, err := f.svc.Signup(context.Background(), request("other")); err == nil {
		t.Error("another customer's signup took over a reconnect and succeeded")
	}
	if calls, _ := f.plivo.Counts(); calls != 0 {
		t.Errorf("another customer's signup reached Plivo %d times", calls)
	}
}

// A reconnect that died holding its lock (its verified save failed, or
// the function crashed before it) leaves an abandoned verifying lock that
// still says reconnect: the customer's next signup takes it over as a
// reconnect, not as a plain signup that would lose the mark for good.
func TestAbandonedReconnectLockIsRetriedAsAReconnect(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	crashed := halfwayReconnect(onboarding.StateVerifying, "customer-1")
	crashed.LockOwner, crashed.LockExpiresAt, crashed.FailureReason = "crashed", f.clock.Now().Add(-time.Minute), ""
	f.store.Put(crashed)
	f.plivo.Script = []error{alreadyRegistered()}
	if _, err := f.svc.Signup(context.Background(), request("after-crash")); err != nil {
		t.Fatalf("the customer's retry: %v", err)
	}
	if rec := f.record(t); rec.State != onboarding.StateOnboarded || !rec.Reconnect || rec.PreviousState != onboarding.StateDisconnected {
		t.Errorf("record %s, reconnect %t, previous %s; want an onboarded reconnect", rec.State, rec.Reconnect, rec.PreviousState)
	}
}

// A reconnect that stopped half-way, retried with another number, is told
// why it is refused, as a reconnect of a disconnected record is.
func TestInterruptedReconnectWithAnotherNumber(t *testing.T) {
	t.Parallel()
	const other = "109000000000001"
	f := newFixture(t)
	f.store.Put(halfwayReconnect(onboarding.StateFailed, "customer-1"))
	f.meta.Numbers = func(string) ([]onboarding.PhoneNumber, error) {
		return []onboarding.PhoneNumber{{ID: phone, CodeVerificationStatus: "VERIFIED"}, {ID: other, CodeVerificationStatus: "VERIFIED"}}, nil
	}
	req := request("other-number")
	req.Identity.PhoneNumberID = other
	if _, err := f.svc.Signup(context.Background(), req); onboarding.ErrorCode(err) != onboarding.CodeSecondNumber {
		t.Errorf("err = %v, want %s", err, onboarding.CodeSecondNumber)
	}
	if calls, _ := f.plivo.Counts(); calls != 0 {
		t.Errorf("%d Plivo calls, want none", calls)
	}
}

// A reconnect of a WABA that, for now, lists no number waits for one
// (awaiting_number) and keeps the number it was onboarded with: once the
// number is back, the customer's signup naming it finishes the reconnect.
func TestReconnectAwaitingItsNumberFinishesWithIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.store.Put(onboarding.Record{WABAID: waba, PhoneNumberID: phone, BusinessID: business, ClientRef: "customer-1",
		State: onboarding.StateDisconnected, PlivoAPIID: "first-api", Lifecycle: onboarding.Lifecycle{StateReason: "partner_app_uninstalled"}})
	f.meta.Numbers = func(string) ([]onboarding.PhoneNumber, error) { return nil, nil }
	req := request("no-number-yet")
	req.Identity.PhoneNumberID = ""
	if _, err := f.svc.Signup(context.Background(), req); onboarding.ErrorCode(err) == "" {
		t.Fatal("a reconnect with no number on the WABA succeeded")
	}
	if rec := f.record(t); rec.State != onboarding.StateAwaitingNumber || !rec.Reconnect || rec.PhoneNumberID != phone {
		t.Fatalf("record %s, reconnect %t, number %q; want awaiting_number, a reconnect, keeping %s", rec.State, rec.Reconnect, rec.PhoneNumberID, phone)
	}
	f.meta.Numbers = nil // the number is back on the WABA
	f.plivo.Script = []error{alreadyRegistered()}
	if _, err := f.svc.Signup(context.Background(), request("with-the-number")); err != nil {
		t.Fatalf("the signup naming the number: %v", err)
	}
	if rec := f.record(t); rec.State != onboarding.StateOnboarded || !rec.Reconnect || rec.PhoneNumberID != phone {
		t.Errorf("record %s, reconnect %t, number %q; want an onboarded reconnect of %s", rec.State, rec.Reconnect, rec.PhoneNumberID, phone)
	}
}

// halfwayReconnect is the record a reconnect for clientRef leaves when it
// stops in state: Plivo gave up, the customer must act, or its lock was
// left behind.
func halfwayReconnect(state onboarding.State, clientRef string) onboarding.Record {
	return onboarding.Record{WABAID: waba, PhoneNumberID: phone, BusinessID: business, ClientRef: clientRef, State: state,
		FailureReason: onboarding.ReasonGaveUp, PlivoAPIID: "first-api",
		Lifecycle: onboarding.Lifecycle{Reconnect: true, PreviousState: onboarding.StateDisconnected, StateReason: "partner_app_uninstalled"}}
}

// alreadyRegistered is Plivo's answer for a WABA it has onboarded before.
func alreadyRegistered() error {
	return plivoErr(onboarding.KindAlreadyRegistered, 400, "This WABA is already registered with Plivo.")
}
