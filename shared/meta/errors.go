package meta

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

// maxMessageLen bounds the Graph message kept on an error: it goes to logs
// and records, and Meta's texts are short unless something is wrong.
const maxMessageLen = 500

// graphError is the "error" object of a Graph API answer:
// {"error":{"message","type","code","error_subcode","is_transient",
// "error_user_title","error_user_msg","error_data":{"details"},
// "fbtrace_id"}}.
type graphError struct {
	Message     string
	Type        string
	Code        int
	Subcode     int
	IsTransient bool
	// Details is error_data.details: Meta's WhatsApp error page says to
	// rely on it and the code rather than on titles, which it will retire.
	Details string
	// UserTitle and UserMsg are error_user_title and error_user_msg: the
	// explanation Meta writes for a person, often the only one that says
	// what to change.
	UserTitle string
	UserMsg   string
	FBTraceID string
}

// parseGraphError reads Graph's error envelope from body. ok is false when
// body is not a JSON object with an "error" member. Field types are read
// leniently (a code may come as a string) because a misread error body
// would turn a clear rejection into a vague transient failure.
func parseGraphError(body []byte) (ge graphError, ok bool) {
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || len(env.Error) == 0 || string(env.Error) == "null" {
		return graphError{}, false
	}
	var text string
	if json.Unmarshal(env.Error, &text) == nil {
		// Old OAuth endpoints answered {"error": "..."}.
		return graphError{Message: text}, true
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(env.Error, &fields) != nil || fields == nil {
		return graphError{}, false
	}
	var data map[string]json.RawMessage
	// error_data is an object on the WhatsApp APIs; some older endpoints
	// send a string there, which carries nothing we use.
	_ = json.Unmarshal(fields["error_data"], &data)
	return graphError{
		Message:     upstream.Text(fields["message"]),
		Type:        upstream.Text(fields["type"]),
		Code:        lenientInt(fields["code"]),
		Subcode:     lenientInt(fields["error_subcode"]),
		IsTransient: lenientBool(fields["is_transient"]),
		Details:     upstream.Text(data["details"]),
		UserTitle:   upstream.Text(fields["error_user_title"]),
		UserMsg:     upstream.Text(fields["error_user_msg"]),
		FBTraceID:   upstream.Text(fields["fbtrace_id"]),
	}, true
}

// kind classifies the error of a call. Graph's documented code decides
// before the HTTP status: Meta sends code 3 (a capability or permission our
// app lacks) with HTTP 500 and throttling codes with 4xx and 5xx alike, and
// retrying a permission problem only hides it behind "Meta is not
// answering". The status decides only for codes kind has no rule for.
// appAuth says the call authenticated as our app (see request.appAuth).
func (g graphError) kind(status int, appAuth bool) onboarding.Kind {
	switch {
	case g.configProblem(appAuth):
		return onboarding.KindConfig
	case throttled(g.Code):
		return onboarding.KindThrottled
	case g.Code == 1, g.Code == 2, whatsAppTryAgain(g.Code), g.IsTransient:
		return onboarding.KindTransient
	case g.Code == codeToken:
		// configProblem kept the 190s about our app; the rest are the
		// customer's token: expired, revoked, or the app removed by the
		// customer (458 "has not authorized application"). Only a new
		// signup gives a new token.
		return onboarding.KindRejected
	case status == http.StatusTooManyRequests:
		return onboarding.KindThrottled
	case status >= 500:
		return onboarding.KindTransient
	}
	return onboarding.KindRejected
}

// codeToken is Graph's "invalid OAuth access token" code.
const codeToken = 190

// configProblem reports Graph refusing our app's own credentials or
// permissions, which only an operator can fix.
//
//   - Code 1 alone is Graph's "unknown error" and transient; as an
//     OAuthException about the client secret it is Meta's answer to a wrong
//     app secret ("Error validating client secret.").
//   - Code 101 is an app ID Meta does not know.
//   - Codes 3 (API method: capability or permission), 10 (permission
//     denied) and 200-299 (API permission): Meta's fix for each is to
//     check what the app has been granted (App Review, advanced access).
//     A customer's token that cannot see the WABA gets code 100 subcode 33
//     ("Unsupported get request") instead, which stays a rejection.
//   - Code 190 is a token Graph refuses. On a call that authenticates as
//     our app that token is the app token (app_id|app_secret) or the
//     client secret. On a business-token call it is the customer's token,
//     unless Graph says it cannot validate the application itself ("Error
//     validating application. Application has been deleted."): the
//     customer's own errors read "Error validating access token: ...",
//     including "The user has not authorized application <id>".
func (g graphError) configProblem(appAuth bool) bool {
	m := strings.ToLower(g.Message)
	switch {
	case g.Code == 1 && g.Type == "OAuthException" && strings.Contains(m, "client secret"):
		return true
	case g.Code == 3, g.Code == 10, g.Code == 101, g.Code >= 200 && g.Code <= 299:
		return true
	case g.Code == codeToken:
		return appAuth || strings.HasPrefix(m, "error validating application")
	}
	return false
}

// throttled reports Graph's rate-limit codes: app (4), user (17), page (32),
// application limit (341, "temporary issue due to downtime or throttling"),
// custom (613), the business-use-case limits (80000-80014) and the Cloud
// API's throughput limit (130429).
func throttled(code int) bool {
	switch code {
	case 4, 17, 32, 341, 613, 130429:
		return true
	}
	return code >= 80000 && code <= 80014
}

// whatsAppTryAgain reports the WhatsApp codes whose documented remedy is
// to try again later: 131000 ("Something went wrong"), 131016 (a service
// is temporarily unavailable) and 133004 (the server is temporarily
// unavailable). Meta documents them with a 5xx, but tells callers to
// decide by the code rather than the HTTP status, so a 4xx carrying one
// must not turn a passing fault into a refused signup.
func whatsAppTryAgain(code int) bool {
	switch code {
	case 131000, 131016, 133004:
		return true
	}
	return false
}

// regainAccess reads X-Business-Use-Case-Usage, which Graph sends with
// calls under a business-use-case rate limit (the WhatsApp Business
// Management API's among them): for each business object, a list of
// limits with estimated_time_to_regain_access in minutes. It returns the
// longest estimate, or zero when the header is missing, unreadable or
// says access is back.
func regainAccess(h http.Header) time.Duration {
	var usage map[string][]struct {
		Regain json.RawMessage `json:"estimated_time_to_regain_access"`
	}
	if json.Unmarshal([]byte(h.Get("X-Business-Use-Case-Usage")), &usage) != nil {
		return 0
	}
	longest := 0
	for _, limits := range usage {
		for _, l := range limits {
			longest = max(longest, lenientInt(l.Regain))
		}
	}
	// A day bounds what a garbled estimate can make of the duration.
	return time.Duration(min(longest, 24*60)) * time.Minute
}

// upstream turns the error of call r into the onboarding error, scrubbing
// sensitive values Meta might echo back.
func (g graphError) upstream(r request, status int) *onboarding.UpstreamError {
	msg := g.Message
	// The message is often only a title ("(#131009) Parameter value is not
	// valid"); details say which parameter, and the user title and message
	// what to change.
	for _, more := range []string{g.Details, g.UserTitle, g.UserMsg} {
		if more != "" && !strings.Contains(msg, more) {
			msg += ": " + more
		}
	}
	if g.FBTraceID != "" {
		// Meta support needs the trace ID to look a failure up.
		msg += " (fbtrace_id " + g.FBTraceID + ")"
	}
	return &onboarding.UpstreamError{
		Service: onboarding.ServiceMeta,
		Op:      r.op,
		Status:  status,
		Kind:    g.kind(status, r.appAuth),
		Code:    g.Code,
		Subcode: g.Subcode,
		Message: scrub(msg, r.sensitive),
	}
}

// scrub removes sensitive values from text and bounds its length.
func scrub(text string, sensitive []string) string {
	for _, s := range sensitive {
		// Very short values (a test's "x") would shred ordinary words.
		if len(s) < 6 {
			continue
		}
		// Meta may echo a value as it was sent: query-escaped.
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			text = strings.ReplaceAll(text, form, "[REDACTED]")
		}
	}
	text = strings.ToValidUTF8(strings.TrimSpace(text), "?")
	if len(text) > maxMessageLen {
		cut := maxMessageLen
		for cut > 0 && !utf8Start(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return text
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func lenientInt(raw json.RawMessage) int {
	s := upstream.Text(raw)
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= -1<<31 && f <= 1<<31 {
		return int(f)
	}
	return 0
}

func lenientBool(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	return upstream.Text(raw) == "true"
}
