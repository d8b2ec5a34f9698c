package onboarding

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code returned to API callers.
// Every code is declared with its kind (NewCode), in the package of the
// feature that answers with it.
type Code string

// ErrorKind is the class of a refusal: what the caller did wrong or what
// failed, independent of the feature that refused. The HTTP status of each
// kind is decided in one place: apigw.StatusOf.
type ErrorKind uint8

// The kinds of error. The zero value is EInternal, so a code declared
// nowhere is answered as an internal error.
const (
	EInternal      ErrorKind = iota // our own failure; the details are logged only
	EInvalid                        // the request is malformed or misses a field
	EUnauthorized                   // the caller did not prove who it is
	EForbidden                      // the caller is known, and may not do this
	ENotFound                       // nothing by that name
	EMethod                         // the route has no such method
	EConflict                       // the target's current state refuses the request
	ETooLarge                       // the body is larger than the route accepts
	EMediaType                      // the body is not of a type the route reads
	EUnprocessable                  // well formed, and an upstream or a rule refuses it
	ETooMany                        // the caller must slow down
	EUpstream                       // an upstream answered with a failure
	EUnavailable                    // a dependency is unavailable; try again later
)

// codeKinds holds every declared code's kind. It is written only while
// packages initialise (NewCode), and read afterwards.
var codeKinds = map[Code]ErrorKind{}

// NewCode declares a code of the given kind. Declaring one code twice is a
// programming error caught when the program starts.
func NewCode(name string, kind ErrorKind) Code {
	c := Code(name)
	if _, dup := codeKinds[c]; dup {
		panic("onboarding: error code " + name + " declared twice")
	}
	codeKinds[c] = kind
	return c
}

// Kind returns the kind c was declared with, or EInternal for a code that
// was never declared.
func (c Code) Kind() ErrorKind { return codeKinds[c] }

// Error codes of the signup and of the HTTP requests every route parses.
var (
	CodeInvalidRequest      = NewCode("invalid_request", EInvalid)
	CodePayloadTooLarge     = NewCode("payload_too_large", ETooLarge)
	CodeUnsupportedMedia    = NewCode("unsupported_media_type", EMediaType)
	CodeMethodNotAllowed    = NewCode("method_not_allowed", EMethod)
	CodeNotFound            = NewCode("not_found", ENotFound)
	CodeUnauthorized        = NewCode("unauthorized", EUnauthorized)
	CodeInProgress          = NewCode("signup_in_progress", EConflict)
	CodeConflict            = NewCode("conflict", EConflict)
	CodeAlreadyRegistered   = NewCode("waba_already_registered", EConflict)
	CodePhoneNumberTaken    = NewCode("phone_number_registered_elsewhere", EConflict)
	CodeMetaRejected        = NewCode("meta_rejected", EUnprocessable)
	CodeUpstreamFailed      = NewCode("upstream_error", EUpstream)
	CodeUpstreamUnavailable = NewCode("upstream_unavailable", EUnavailable)
	CodeInternal            = NewCode("internal_error", EInternal)
	CodeTooManyRequests     = NewCode("too_many_requests", ETooMany)
	// CodePhoneUnverified: the signup's phone number has not passed
	// Meta's verification; the customer must verify it in a new signup.
	CodePhoneUnverified = NewCode("phone_unverified", EUnprocessable)
	// CodeNumberMissing: the customer shared a WABA without a number.
	CodeNumberMissing = NewCode("phone_number_missing", EUnprocessable)
	// CodeProviderConfig: our own Meta app configuration was refused;
	// the Tech Provider must fix it, the customer can only wait.
	CodeProviderConfig = NewCode("provider_config", EUnavailable)
	// CodeMetaUnavailable: Meta failed after the code was sent to it, so
	// the code may be spent: the customer runs Meta's flow again. Before
	// the exchange the answer is upstream_unavailable, and the page may
	// resend the same code.
	CodeMetaUnavailable = NewCode("meta_unavailable", EUnavailable)
	// CodeNotRecorded: Meta took the code, and the signup could not be
	// recorded: the code is spent, so the customer runs Meta's flow again
	// rather than resending it.
	CodeNotRecorded = NewCode("signup_not_recorded", EUnavailable)
)

// notRecorded is the answer to a signup Meta verified that could not be
// recorded: a store failure after the code was spent, nothing sent to
// Plivo.
func notRecorded(cause error) *Error {
	return Wrap(CodeNotRecorded, cause, "The service could not record your signup. Please start again.")
}

// FieldError names one invalid request field and why it is invalid.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a domain error: a code, a message safe to show to the caller, and
// an optional cause that is logged but never returned.
type Error struct {
	Code       Code
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds a domain error with a caller-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds a domain error carrying an internal cause for the logs.
func Wrap(code Code, cause error, message string) *Error {
	return &Error{Code: code, Message: message, Cause: cause}
}

// ErrorCode returns the domain code of err, or CodeInternal when err is not a
// domain error.
func ErrorCode(err error) Code {
	var de *Error
	if errors.As(err, &de) {
		return de.Code
	}
	return CodeInternal
}

// ErrorMessage returns the caller-safe message of err.
func ErrorMessage(err error) string {
	var de *Error
	if errors.As(err, &de) {
		return de.Message
	}
	return "An internal error occurred."
}
