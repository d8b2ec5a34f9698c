package plivo

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Credentials are a Plivo (sub-)account's auth ID and auth token, which
// sign every API call with HTTP Basic authentication. Printed, logged or
// encoded, they show the auth ID and hide the token.
type Credentials struct {
	AuthID    string
	AuthToken string
}

// String shows the auth ID, which is in every request path anyway, and
// hides the token.
func (p Credentials) String() string {
	return fmt.Sprintf("{AuthID:%s AuthToken:%s}", p.AuthID, maskSecret(p.AuthToken))
}

// Format makes every fmt verb print String.
func (p Credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(p.String())) }

// LogValue implements slog.LogValuer with the token hidden.
func (p Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("auth_id", p.AuthID), slog.String("auth_token", maskSecret(p.AuthToken)))
}

// MarshalJSON hides the token from loggers and encoders that serialize
// values as JSON.
func (p Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"auth_id": p.AuthID, "auth_token": maskSecret(p.AuthToken)})
}

var (
	_ fmt.Formatter  = Credentials{}
	_ slog.LogValuer = Credentials{}
	_ json.Marshaler = Credentials{}
)

// maskSecret shows whether a secret is set without showing it.
func maskSecret(s string) string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}
