package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

// redacted stands in for a secret value wherever a credential is printed.
const redacted = "[REDACTED]"

// MetaApp is the Meta app's ID and secret, stored as the JSON secret
// {"app_id": "...", "app_secret": "..."}.
type MetaApp struct {
	AppID     string
	AppSecret string
}

// PlivoCredentials are the Tech Provider sub-account's API credentials,
// stored as the JSON secret {"auth_id": "...", "auth_token": "..."}. The
// type is the Plivo client's own, so that the client links no AWS SDK.
type PlivoCredentials = plivo.Credentials

// ParseMetaApp reads a MetaApp secret string. Errors name missing or
// malformed fields, never their values.
func ParseMetaApp(raw string) (MetaApp, error) {
	f, err := parseFields(raw, "app_id", "app_secret")
	if err != nil {
		return MetaApp{}, err
	}
	return MetaApp{AppID: f["app_id"], AppSecret: f["app_secret"]}, nil
}

// ParsePlivoCredentials reads a PlivoCredentials secret string. Errors name
// missing or malformed fields, never their values.
func ParsePlivoCredentials(raw string) (PlivoCredentials, error) {
	f, err := parseFields(raw, "auth_id", "auth_token")
	if err != nil {
		return PlivoCredentials{}, err
	}
	return PlivoCredentials{AuthID: f["auth_id"], AuthToken: f["auth_token"]}, nil
}

// MetaApp returns the Meta app credentials stored in secretID; with
// refresh it fetches them again first (see Refresh), for a caller whose
// app credentials Meta just refused.
func (c *Cache) MetaApp(ctx context.Context, secretID string, refresh bool) (MetaApp, error) {
	return read(ctx, c, secretID, refresh, ParseMetaApp)
}

// Plivo returns the Plivo credentials stored in secretID; with refresh it
// fetches them again first (see Refresh), for a caller whose credentials
// Plivo just refused.
func (c *Cache) Plivo(ctx context.Context, secretID string, refresh bool) (PlivoCredentials, error) {
	return read(ctx, c, secretID, refresh, ParsePlivoCredentials)
}

// VerifyToken returns the verify token of Meta's webhook handshake stored
// in secretID; with refresh it fetches it again first (see Refresh), for a
// handshake whose token an operator may have just put.
func (c *Cache) VerifyToken(ctx context.Context, secretID string, refresh bool) (string, error) {
	return read(ctx, c, secretID, refresh, parseVerifyToken)
}

// read gets secretID through the cache (or Refresh) and parses it; errors
// name the secret, never its value.
func read[T any](ctx context.Context, c *Cache, secretID string, refresh bool, parse func(string) (T, error)) (T, error) {
	get := c.Get
	if refresh {
		get = c.Refresh
	}
	var zero T
	raw, err := get(ctx, secretID)
	if err != nil {
		if !unavailable(err) {
			err = fmt.Errorf("%w: %w", upstream.ErrUnusableSecret, err)
		}
		return zero, err
	}
	v, err := parse(raw)
	if err != nil {
		return zero, fmt.Errorf("secrets: %q: %w: %w", secretID, upstream.ErrUnusableSecret, err)
	}
	return v, nil
}

// MetaAppSource binds c and secretID into the loader meta.Config.App takes.
func MetaAppSource(c *Cache, secretID string) func(context.Context, bool) (MetaApp, error) {
	return func(ctx context.Context, refresh bool) (MetaApp, error) { return c.MetaApp(ctx, secretID, refresh) }
}

// PlivoSource binds c and secretID into the loader plivo.Config.Credentials
// takes.
func PlivoSource(c *Cache, secretID string) func(context.Context, bool) (PlivoCredentials, error) {
	return func(ctx context.Context, refresh bool) (PlivoCredentials, error) {
		return c.Plivo(ctx, secretID, refresh)
	}
}

// parseFields reads the named string fields of a JSON object. Numbers are
// accepted as their text because app IDs are often pasted unquoted.
// Surrounding white space is dropped: a pasted trailing newline would
// otherwise break every HMAC and basic-auth header silently.
func parseFields(raw string, names ...string) (map[string]string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil || obj == nil {
		// The decoder's message can quote the secret's bytes: drop it.
		return nil, errors.New("secret is not a JSON object")
	}
	out := make(map[string]string, len(names))
	for _, name := range names {
		v, ok := obj[name]
		if !ok || string(v) == "null" {
			return nil, fmt.Errorf("secret field %s is missing", name)
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			var n json.Number
			if json.Unmarshal(v, &n) != nil {
				return nil, fmt.Errorf("secret field %s must be a string", name)
			}
			s = n.String()
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, fmt.Errorf("secret field %s is empty", name)
		}
		out[name] = s
	}
	return out, nil
}

// mask shows whether a secret is set without showing it.
func mask(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// String shows the app ID and hides the secret.
func (m MetaApp) String() string {
	return fmt.Sprintf("{AppID:%s AppSecret:%s}", m.AppID, mask(m.AppSecret))
}

// Format makes every fmt verb (%v, %+v, %#v, %s, %d...) print String, so
// no verb falls back to printing the raw fields.
func (m MetaApp) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(m.String())) }

// LogValue implements slog.LogValuer with the secret hidden.
func (m MetaApp) LogValue() slog.Value {
	return slog.GroupValue(slog.String("app_id", m.AppID), slog.String("app_secret", mask(m.AppSecret)))
}

// MarshalJSON hides the secret from loggers and encoders that serialize
// values as JSON.
func (m MetaApp) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"app_id": m.AppID, "app_secret": mask(m.AppSecret)})
}

var (
	_ fmt.Formatter  = MetaApp{}
	_ slog.LogValuer = MetaApp{}
	_ json.Marshaler = MetaApp{}
)
