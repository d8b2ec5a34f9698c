package onboarding

import (
	"errors"
	"fmt"
)

// Upstream services, as they appear in logs and metric dimensions.
const (
	ServiceMeta  = "meta"
	ServicePlivo = "plivo"
)

// Kind classifies an upstream failure by what the caller should do about it.
type Kind string

// Kinds of upstream failure.
const (
	// KindTransient: try again later (5xx, timeouts, Meta's transient codes).
	KindTransient Kind = "transient"
	// KindThrottled: the upstream asked us to slow down (429; Meta's rate
	// limit codes 4, 17, 32, 341, 613, 80000-80014 and 130429).
	KindThrottled Kind = "throttled"
	// KindRejected: the upstream refused this input; retrying will not help.
	KindRejected Kind = "rejected"
	// KindUnauthorized: our credentials were refused (Plivo 401).
	KindUnauthorized Kind = "unauthorized"
	// KindForbidden: our account may not use the API (Plivo 403).
	KindForbidden Kind = "forbidden"
	// KindAlreadyRegistered: Plivo already has this WABA.
	KindAlreadyRegistered Kind = "already_registered"
	// KindPhoneNumberTaken: the number belongs to another WABA at Plivo.
	KindPhoneNumberTaken Kind = "phone_number_taken"
	// KindSolutionInactive: the Multi-Partner Solution is not active yet.
	KindSolutionInactive Kind = "solution_inactive"
	// KindConfig: the upstream refused our own configuration (Meta: a
	// wrong app secret, an app token it does not accept, a capability or
	// permission our app lacks). Nothing the customer does helps; an
	// operator must fix the setting.
	KindConfig Kind = "config"
	// KindUndocumented: a 4xx the upstream's documentation does not list.
	// It may be a new rule or a passing fault on their side: never final.
	KindUndocumented Kind = "undocumented"
)

// UpstreamError is a failed call to Meta or Plivo. Message is the upstream's
// own text: it goes to logs and the record, never to the API caller.
type UpstreamError struct {
	Service string
	Op      string
	Status  int // HTTP status; 0 when no answer arrived
	Kind    Kind
	Code    int // Meta's error code
	Subcode int // Meta's error_subcode
	Message string
	APIID   string // Plivo's api_id
	Err     error  // transport error, if any
}

func (e *UpstreamError) Error() string {
	s := fmt.Sprintf("%s %s: %s", e.Service, e.Op, e.Kind)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Code != 0 {
		s += fmt.Sprintf(" code %d/%d", e.Code, e.Subcode)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *UpstreamError) Unwrap() error { return e.Err }

// Retryable reports whether the same call may succeed later.
func (e *UpstreamError) Retryable() bool {
	return e.Kind == KindTransient || e.Kind == KindThrottled
}

// AsUpstream returns the UpstreamError in err's chain, if any.
func AsUpstream(err error) (*UpstreamError, bool) {
	var ue *UpstreamError
	ok := errors.As(err, &ue)
	return ue, ok
}
