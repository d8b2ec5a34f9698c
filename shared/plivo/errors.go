package plivo

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

// maxMessageLen bounds the Plivo message kept on an error: it is stored on
// the signup record and logged.
const maxMessageLen = 500

// plivoError is a Plivo error answer. Plivo uses two shapes,
// {"api_id","error"} and {"api_id","error_code","message"}; "error" is
// usually a string but validation failures can make it an object of
// field -> messages.
type plivoError struct {
	APIID     string
	Message   string
	ErrorCode string
}

// parsePlivoError reads either error shape. ok is false when body is not a
// JSON object, i.e. did not come from Plivo's API but from something in
// front of it.
func parsePlivoError(body []byte) (pe plivoError, ok bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return plivoError{}, false
	}
	pe.APIID = upstream.Text(obj["api_id"])
	pe.ErrorCode = upstream.Text(obj["error_code"])
	var parts []string
	for _, key := range []string{"error", "message"} {
		if t := flatten(obj[key], 0); t != "" && !slices.Contains(parts, t) {
			parts = append(parts, t)
		}
	}
	pe.Message = strings.Join(parts, ": ")
	return pe, true
}

// flatten turns an "error" value into one line: a string as is, an object
// as "field: message" pairs in key order, an array joined. Nesting deeper
// than Plivo's field -> [messages] is dropped: re-parsing each level of a
// deeply nested body would cost quadratic time.
func flatten(raw json.RawMessage, depth int) string {
	if len(raw) == 0 || depth > 3 {
		return ""
	}
	if t := upstream.Text(raw); t != "" {
		return t
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var out []string
		for _, item := range list {
			if t := flatten(item, depth+1); t != "" {
				out = append(out, t)
			}
		}
		return strings.Join(out, "; ")
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) == nil {
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var out []string
		for _, k := range keys {
			if t := flatten(fields[k], depth+1); t != "" {
				out = append(out, k+": "+t)
			}
		}
		return strings.Join(out, "; ")
	}
	return ""
}

// kind classifies a non-2xx answer by the guide's tables. Status decides
// first where it is unambiguous (401, 429, 5xx); the known 400 messages
// are matched loosely because Plivo's wording varies between releases.
//
// undocumentedMatters is true for the Embedded Signup call, whose guide
// lists its 4xx answers; for other calls any other 4xx is a rejection.
func (pe plivoError) kind(status int, parsed, undocumentedMatters bool) onboarding.Kind {
	switch {
	case status == http.StatusUnauthorized:
		return onboarding.KindUnauthorized
	case status == http.StatusTooManyRequests:
		return onboarding.KindThrottled
	case status >= 500, status == http.StatusRequestTimeout:
		return onboarding.KindTransient
	}
	m := normalize(pe.Message)
	switch {
	case solutionInactive(m):
		return onboarding.KindSolutionInactive
	case status == http.StatusForbidden:
		return onboarding.KindForbidden
	case !parsed:
		// An HTML page from a proxy or load balancer says nothing about
		// the request itself.
		return onboarding.KindTransient
	case phoneNumberTaken(m):
		return onboarding.KindPhoneNumberTaken
	case alreadyRegistered(m):
		return onboarding.KindAlreadyRegistered
	case status == http.StatusBadRequest && documentedInvalid(m), !undocumentedMatters:
		return onboarding.KindRejected
	}
	// A 4xx the Embedded Signup guide does not list: not proof the signup
	// is wrong, so never a final failure (the service retries it at the
	// longest backoff and alarms).
	return onboarding.KindUndocumented
}

// documentedInvalid matches the guide's 400 table for missing or invalid
// parameters: "waba_id is required.", "business_id is required.",
// "phone_number_id is required." and "waba_id is not a valid WhatsApp
// Business Account ID." Retrying the same body cannot succeed.
func documentedInvalid(m string) bool {
	for _, f := range []string{"waba id", "business id", "phone number id"} {
		// Plivo's field-error shape says "waba_id: This field is required."
		if strings.Contains(m, f+" is required") || strings.Contains(m, f+" is not a valid") ||
			strings.HasPrefix(m, f+": this field is required") {
			return true
		}
	}
	return false
}

// normalize lowercases s and turns '-', '_' and runs of white space into
// single spaces, so "Multi-Partner  Solution" matches "multi partner
// solution".
func normalize(s string) string {
	s = strings.ToLower(s)
	s = strings.NewReplacer("-", " ", "_", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// phoneNumberTaken matches "This phone number is already registered under
// another WABA." It is checked before alreadyRegistered, which the same
// text would also match.
func phoneNumberTaken(m string) bool {
	return strings.Contains(m, "phone number") &&
		containsAny(m, "already registered", "registered under another", "already in use", "already exists", "belongs to another")
}

// alreadyRegistered matches "This WABA is already registered with Plivo."
func alreadyRegistered(m string) bool {
	return containsAny(m, "waba", "whatsapp business account") &&
		containsAny(m, "already registered", "already onboarded", "already exists")
}

// solutionInactive matches "Multi-Partner Solution is not active for your
// app. Contact Plivo support."
func solutionInactive(m string) bool {
	return strings.Contains(m, "partner solution") && containsAny(m, "not active", "inactive", "not yet active")
}

// upstream turns the answer into the onboarding error. The auth token is
// scrubbed from the message in case an error page echoes the request.
func (pe plivoError) upstream(op string, status int, parsed bool, token string) *onboarding.UpstreamError {
	msg := pe.Message
	if !parsed {
		msg = "the answer is not Plivo JSON"
	}
	if len(token) >= 6 {
		msg = strings.ReplaceAll(msg, token, "[REDACTED]")
	}
	msg = strings.ToValidUTF8(strings.TrimSpace(msg), "?")
	if len(msg) > maxMessageLen {
		cut := maxMessageLen
		for cut > 0 && msg[cut]&0xC0 == 0x80 {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	code, _ := strconv.Atoi(pe.ErrorCode)
	return &onboarding.UpstreamError{
		Service: onboarding.ServicePlivo,
		Op:      op,
		Status:  status,
		Kind:    pe.kind(status, parsed, op == OpEmbeddedSignup),
		Code:    code,
		Message: msg,
		APIID:   pe.APIID,
	}
}
