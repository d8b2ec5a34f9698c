package onboarding

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code returned to API callers.
type Code string

// Error codes. The HTTP status of each is decided in one place: apigw.StatusOf.
const (
	CodeInvalidRequest      Code = "invalid_request"
	CodePayloadTooLarge     Code = "payload_too_large"
	CodeUnsupportedMedia    Code = "unsupported_media_type"
	CodeMethodNotAllowed    Code = "method_not_allowed"
	CodeNotFound            Code = "not_found"
	CodeUnauthorized        Code = "unauthorized"
	CodeInProgress          Code = "signup_in_progress"
	CodeConflict            Code = "conflict"
	CodeAlreadyRegistered   Code = "waba_already_registered"
	CodePhoneNumberTaken    Code = "phone_number_registered_elsewhere"
	CodeMetaRejected        Code = "meta_rejected"
	CodeUpstreamFailed      Code = "upstream_error"
	CodeUpstreamUnavailable Code = "upstream_unavailable"
	CodeInternal            Code = "internal_error"
	CodeTooManyRequests     Code = "too_many_requests"
	// CodePhoneUnverified: the signup's phone number has not passed
	// Meta's verification; the customer must verify it in a new signup.
	CodePhoneUnverified Code = "phone_unverified"
	// CodeNumberMissing: the customer shared a WABA without a number.
	CodeNumberMissing Code = "phone_number_missing"
	// CodeProviderConfig: our own Meta app configuration was refused;
	// the Tech Provider must fix it, the customer can only wait.
	CodeProviderConfig Code = "provider_config"
	// CodeMetaUnavailable: Meta failed after the code was sent to it, so
	// the code may be spent: the customer runs Meta's flow again. Before
	// the exchange the answer is upstream_unavailable, and the page may
	// resend the same code.
	CodeMetaUnavailable Code = "meta_unavailable"
)

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
