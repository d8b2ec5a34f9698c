package logging

import (
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Redaction by value: a secret can reach a log line inside another value,
// an error that quotes a URL (…?code=AQ…&client_secret=…) or a map of
// headers, where its key is not the attribute's.
var (
	// secretQuery matches a query parameter that carries a secret.
	secretQuery = regexp.MustCompile(`(?i)(^|[?&\s"'])(client_secret|access_token|code|appsecret_proof|input_token|fb_exchange_token)=([^&\s"']+)`)
	// plivoSignature matches Plivo's signature headers written as text,
	// in any case: "X-Plivo-Signature-V3: …", "x-plivo-signature-ma-v2=…".
	plivoSignature = regexp.MustCompile(`(?i)(x-plivo-signature(?:-ma)?-v[23](?:-nonce)?)("?\s*[:=]\s*"?)([^\s",;]+)`)
)

// RedactText removes secret values from free text: secret query
// parameters and Plivo signature headers.
func RedactText(s string) string {
	if !strings.Contains(s, "=") && !strings.Contains(s, ":") {
		return s
	}
	s = secretQuery.ReplaceAllString(s, "${1}${2}="+Redacted)
	return plivoSignature.ReplaceAllString(s, "${1}${2}"+Redacted)
}

// isSignatureHeader reports a key that names one of Plivo's signature
// headers.
func isSignatureHeader(key string) bool {
	return strings.HasPrefix(strings.ToLower(key), "x-plivo-signature")
}

// redactValue applies redaction by value to one attribute value: text,
// errors and other Stringers, and maps of strings (headers, forms) by key
// and by value.
func redactValue(v slog.Value) slog.Value {
	switch v.Kind() {
	case slog.KindString:
		if r := RedactText(v.String()); r != v.String() {
			return slog.StringValue(r)
		}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.StringValue(RedactText(x.Error()))
		case map[string]string:
			out := make(map[string]string, len(x))
			for k, s := range x {
				out[k] = redactEntry(k, s)
			}
			return slog.AnyValue(out)
		case map[string][]string:
			return slog.AnyValue(redactMulti(x))
		case url.Values:
			return slog.AnyValue(redactMulti(x))
		case http.Header:
			return slog.AnyValue(redactMulti(x))
		}
	}
	return v
}

func redactEntry(k, s string) string {
	if isSecretKey(k) || isSignatureHeader(k) {
		return Redacted
	}
	return RedactText(s)
}

func redactMulti(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, vs := range m {
		c := make([]string, len(vs))
		for i, s := range vs {
			c[i] = redactEntry(k, s)
		}
		out[k] = c
	}
	return out
}
