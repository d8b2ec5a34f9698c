package meta

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

// maxMessageLen bounds the Graph message kept on an error: it goes to logs
// and records, and Meta's texts are short unless something is wrong.
const maxMessageLen = 500

// graphError is the "error" object of a Graph API answer:
// {"error":{"message","type","code","error_subcode","is_transient","fbtrace_id"}}.
type graphError struct {
	Message     string
	Type        string
	Code        int
	Subcode     int
	IsTransient bool
	FBTraceID   string
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
	return graphError{
		Message:     upstream.Text(fields["message"]),
		Type:        upstream.Text(fields["type"]),
		Code:        lenientInt(fields["code"]),
		Subcode:     lenientInt(fields["error_subcode"]),
		IsTransient: lenientBool(fields["is_transient"]),
		FBTraceID:   upstream.Text(fields["fbtrace_id"]),
	}, true
}

// kind classifies the error. Throttling codes win over the HTTP status:
// Meta sends some of them with 5xx-looking statuses and the right reaction
// is to slow down.
func (g graphError) kind(status int) onboarding.Kind {
	switch {
	case g.configProblem():
		return onboarding.KindConfig
	case throttled(g.Code), status == 429:
		return onboarding.KindThrottled
	case g.Code == 1, g.Code == 2, g.IsTransient, status >= 500:
		return onboarding.KindTransient
	}
	return onboarding.KindRejected
}

// configProblem reports Graph refusing our app's own credentials, which
// only an operator can fix. Code 1 alone is Graph's "unknown error" and
// transient; as an OAuthException about the client secret it is Meta's
// answer to a wrong app secret ("Error validating client secret."). Code
// 101 is an app ID Meta does not know; code 190 with "app" in the message
// is the app access token (app_id|app_secret) that debug_token sends.
func (g graphError) configProblem() bool {
	m := strings.ToLower(g.Message)
	switch {
	case g.Code == 1 && g.Type == "OAuthException" && strings.Contains(m, "client secret"):
		return true
	case g.Code == 101:
		return true
	case g.Code == 190 && (strings.Contains(m, "app access token") || strings.Contains(m, "application")):
		return true
	}
	return false
}

// throttled reports Graph's rate-limit codes: app (4), user (17), page (32),
// custom (613) and the business-use-case limits (80000-80014).
func throttled(code int) bool {
	switch code {
	case 4, 17, 32, 613:
		return true
	}
	return code >= 80000 && code <= 80014
}

// upstream turns the error into the onboarding error, scrubbing sensitive
// values Meta might echo back.
func (g graphError) upstream(op string, status int, sensitive []string) *onboarding.UpstreamError {
	msg := g.Message
	if g.FBTraceID != "" {
		// Meta support needs the trace ID to look a failure up.
		msg += " (fbtrace_id " + g.FBTraceID + ")"
	}
	return &onboarding.UpstreamError{
		Service: onboarding.ServiceMeta,
		Op:      op,
		Status:  status,
		Kind:    g.kind(status),
		Code:    g.Code,
		Subcode: g.Subcode,
		Message: scrub(msg, sensitive),
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
