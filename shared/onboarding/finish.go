package onboarding

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Embedded Signup v3 and later let a customer finish Meta's flow with a
// verified phone number, an unverified one, or none at all (a WABA shared
// on its own: FINISH_ONLY_WABA). Only a verified number can be onboarded at
// Plivo, and the code the page sent is spent by then, so the two other
// finishes are recorded as what they are, with what the customer must do,
// instead of failing at Plivo:
//
//	phone_unverified  the number has not passed Meta's verification code
//	awaiting_number   the WABA is known and has no number for us yet
//
// Both release the WABA's lock: the customer's next signup of the same
// WABA (with a verified number) takes the record over and onboards it.

// Graph's code_verification_status and status values this file reads.
const (
	codeVerified    = "VERIFIED"
	statusConnected = "CONNECTED"
)

// numberVerified reports whether Meta says the number passed its
// verification code. A number already CONNECTED to Cloud API was verified
// when it was registered, even if its code verification has since lapsed.
func numberVerified(n PhoneNumber) bool {
	return n.CodeVerificationStatus == codeVerified || n.Status == statusConnected
}

// awaitCustomer is the error that makes a signup end in a state waiting
// for the customer rather than failed.
type awaitCustomerError struct {
	State  State
	Number PhoneNumber
	Answer *Error
}

func (e *awaitCustomerError) Error() string {
	return "signup waits for the customer: " + string(e.State)
}

func asAwaitCustomer(err error) (*awaitCustomerError, bool) {
	var w *awaitCustomerError
	return w, errors.As(err, &w)
}

func awaitingNumber() error {
	return &awaitCustomerError{State: StateAwaitingNumber, Answer: Errorf(CodeNumberMissing,
		"Your WhatsApp Business Account is connected but has no phone number yet. Run the signup again and add a number to finish.")}
}

func phoneUnverified(n PhoneNumber) error {
	return &awaitCustomerError{State: StatePhoneUnverified, Number: n, Answer: Errorf(CodePhoneUnverified,
		"Your phone number has not been verified yet. Run the signup again and enter the code Meta sends to the number.")}
}

// customerAnswer is the answer of a wait for the customer
// (phoneUnverified, awaitingNumber), as awaitCustomer gives it.
func customerAnswer(err error) error {
	if wait, ok := asAwaitCustomer(err); ok {
		return wait.Answer
	}
	return err
}

type wabaOnlyKey struct{}

// withWABAOnly marks ctx as the signup of a WABA shared without a number.
func withWABAOnly(ctx context.Context) context.Context {
	return context.WithValue(ctx, wabaOnlyKey{}, true)
}

func wabaOnly(ctx context.Context) bool {
	v, _ := ctx.Value(wabaOnlyKey{}).(bool)
	return v
}

// finishState picks the signup's number among the WABA's (pickNumber) and
// decides how Meta's flow finished: a verified number goes on to Plivo,
// anything else waits for the customer.
func finishState(ctx context.Context, numbers []PhoneNumber, want string) (PhoneNumber, error) {
	if wabaOnly(ctx) && want == "" {
		return PhoneNumber{}, awaitingNumber()
	}
	n, err := pickNumber(numbers, want)
	if err != nil {
		return PhoneNumber{}, err
	}
	if !numberVerified(n) {
		return PhoneNumber{}, phoneUnverified(n)
	}
	return n, nil
}

// awaitCustomer records the WABA as waiting for the customer, releases its
// lock, and answers with what the customer must do.
func (s *Service) awaitCustomer(ctx context.Context, rec *Record, wait *awaitCustomerError, log *slog.Logger) error {
	s.metrics().Count(MetricSignupAwaitingCustomer, Dims{"State": string(wait.State)})
	log.Info("signup waits for the customer", "state", wait.State, "phone_number_id", wait.Number.ID,
		"code_verification_status", wait.Number.CodeVerificationStatus, "number_status", wait.Number.Status)
	// Phone_numbers answered with the token: proof enough to record the
	// wait, unless the record already answers otherwise.
	if answer, err := s.takeProvenLock(ctx, rec, rec.Identity(), false, log); ErrorCode(err) == CodeNotRecorded {
		// Nothing recorded, nothing lost: the customer's next step is the
		// same.
		return wait.Answer
	} else if err != nil {
		return err
	} else if answer != nil {
		return wait.Answer
	}
	if rec.LockOwner == "" || rec.WABAID == "" || rec.State != StateVerifying {
		return wait.Answer
	}
	next := *rec
	next.State = wait.State
	if wait.Number.ID != "" {
		next.PhoneNumberID = wait.Number.ID
		next.DisplayPhoneNumber = wait.Number.DisplayPhoneNumber
	} else if !next.Reconnect {
		// A reconnect keeps the number Plivo onboarded: it is the one the
		// reconnect must finish with.
		next.PhoneNumberID = ""
	}
	next.FailureReason = ""
	next.LastError = string(wait.State)
	next.LastErrorMessage = wait.Answer.Message
	next.LockExpiresAt = time.Time{}
	next.NextRetryAt = time.Time{}
	next.UpdatedAt = s.now()
	if rec.CreatedAt.IsZero() {
		next.CreatedAt = next.UpdatedAt
	}
	if _, err := s.save(ctx, &next, log); err != nil {
		log.Error("could not record the signup as waiting for the customer; the lock expires by itself", "error", err, "state", wait.State)
	} else {
		*rec = next
	}
	return wait.Answer
}

// metaConfigFailure is Meta refusing our own app configuration: the
// customer did nothing wrong and cannot fix it.
func metaConfigFailure(err error) (reason string, answer error) {
	return ReasonMetaConfig, Wrap(CodeProviderConfig, err,
		"Your signup could not be confirmed because of a setup problem on our side, which our team is fixing. Try again later.")
}
