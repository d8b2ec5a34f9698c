// Package logging builds the JSON slog logger every function writes to
// stdout, where CloudWatch Logs ingests it.
package logging

import (
	"io"
	"log/slog"
	"strings"
)

// Redacted replaces the value of any attribute whose key names a secret.
const Redacted = "[REDACTED]"

// secretKeys are attribute keys whose values must never be written, even if
// a caller logs them by mistake.
var secretKeys = map[string]bool{
	"code": true, "auth_code": true, "access_token": true, "token": true, "business_token": true,
	"app_secret": true, "client_secret": true, "auth_token": true, "appsecret_proof": true,
	"authorization": true, "password": true, "secret": true, "session": true, "session_token": true,
}

func isSecretKey(key string) bool { return secretKeys[strings.ToLower(key)] }

// New returns a JSON logger at the given level (DEBUG, INFO, WARN, ERROR)
// that redacts secret-named attributes, and secrets inside values
// (redact.go).
func New(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		lv = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: lv,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key != slog.MessageKey && (isSecretKey(a.Key) || isSignatureHeader(a.Key)) {
				return slog.String(a.Key, Redacted)
			}
			a.Value = redactValue(a.Value.Resolve())
			return a
		},
	})
	return slog.New(h)
}
