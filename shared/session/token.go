// Package session issues and checks onboarding-session tokens: short-lived,
// HMAC-SHA256-signed links that bind an Embedded Signup to the Tech
// Provider's customer (client_ref) that started it.
//
// # Token format
//
//	v1.<kid>.<payload>.<signature>
//
// kid names the signing key (letters, digits, - and _); payload is the
// unpadded base64url encoding of the JSON claims
//
//	{"ref":"<client_ref>","exp":<unix seconds>,"jti":"<random id>","iat":<unix seconds>}
//
// and signature is the unpadded base64url HMAC-SHA256, keyed by the key kid
// names, of the ASCII text "v1.<kid>.<payload>". The version and the key ID
// are signed too, so neither can be swapped. Every part is URL-safe: the
// token travels as the page's ?session= query parameter.
//
// Verification checks, in this order and before anything else happens to
// the signup: the shape, the key, the signature (constant-time), the claims,
// the expiry (with a small clock-skew leeway), then that the body's
// client_ref matches (Checker). The signup then spends the token
// (onboarding.Service.Signup), in the write that takes the WABA's lock when
// the request names the WABA.
package session

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/ascii"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Version is the token format version, its first part.
const Version = "v1"

// Limits and defaults of tokens.
const (
	// MaxTokenBytes bounds what Verify reads; a real token is under 300.
	MaxTokenBytes = 512
	// DefaultTTL is a token's lifetime when neither the caller nor
	// SESSION_TTL chooses one.
	DefaultTTL = 15 * time.Minute
	// MinTTL and MaxTTL bound the lifetime a caller may ask for. Verify
	// refuses tokens whose claims span more than MaxTTL, so a leaked key
	// cannot mint links that live for ever.
	MinTTL = time.Minute
	MaxTTL = 24 * time.Hour
	// DefaultLeeway absorbs clock skew between the function that mints and
	// the one that verifies.
	DefaultLeeway = 30 * time.Second
)

// maxUnix bounds exp far beyond any real token, so time arithmetic on it
// cannot overflow.
const maxUnix = 1 << 40

var b64 = base64.RawURLEncoding.Strict()

// Claims are what a verified token says.
type Claims struct {
	// ClientRef is the Tech Provider's reference of its customer.
	ClientRef string
	// ID is unique per token (the "jti"); one-time use is keyed on it.
	ID        string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// KeyID names the key that signed the token.
	KeyID string
}

// claimsJSON is the signed payload. Field order is the wire order.
type claimsJSON struct {
	Ref string `json:"ref"`
	Exp int64  `json:"exp"`
	JTI string `json:"jti"`
	Iat int64  `json:"iat"`
}

// KeySource returns the current keyset. With refresh it must look again
// past any cache: Verify asks for that once when a token names a key it
// does not know, which is how a key added by a rotation is picked up
// before the cache expires.
type KeySource func(ctx context.Context, refresh bool) (Keyset, error)

// StaticKeys is a KeySource that always returns ks.
func StaticKeys(ks Keyset) KeySource {
	return func(context.Context, bool) (Keyset, error) { return ks, nil }
}

func sign(k Key, signingInput string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(signingInput))
	return m.Sum(nil)
}

// Issued is a freshly minted token and what it claims.
type Issued struct {
	Token string
	Claims
}

// Minter signs new tokens with the primary key.
type Minter struct {
	Keys KeySource
	// TTL is the lifetime of a token whose caller asks for none;
	// DefaultTTL when zero.
	TTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Rand supplies token IDs; crypto/rand when nil.
	Rand io.Reader
}

// Mint returns a token binding clientRef for ttl (m.TTL when zero). An
// invalid clientRef or ttl is an invalid_request error naming the field.
func (m *Minter) Mint(ctx context.Context, clientRef string, ttl time.Duration) (Issued, error) {
	if ttl == 0 {
		ttl = m.TTL
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if err := CheckClientRef(clientRef); err != nil {
		return Issued{}, err
	}
	if ttl < MinTTL || ttl > MaxTTL {
		return Issued{}, invalidField("ttl_seconds", fmt.Sprintf("ttl_seconds must be between %d and %d.", int(MinTTL.Seconds()), int(MaxTTL.Seconds())))
	}
	keys, err := m.Keys(ctx, false)
	if err != nil {
		return Issued{}, onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The service is temporarily unavailable. Please try again.")
	}
	key, ok := keys.Primary()
	if !ok {
		return Issued{}, onboarding.Wrap(onboarding.CodeInternal, errors.New("session: keyset has no primary key"), "An internal error occurred.")
	}
	r := m.Rand
	if r == nil {
		r = rand.Reader
	}
	var id [16]byte
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return Issued{}, onboarding.Wrap(onboarding.CodeInternal, err, "An internal error occurred.")
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	// Whole seconds: the claims carry no more, and Issued must say exactly
	// what the token says.
	iat := now().UTC().Truncate(time.Second)
	c := Claims{ClientRef: clientRef, ID: b64.EncodeToString(id[:]), IssuedAt: iat, ExpiresAt: iat.Add(ttl), KeyID: key.ID}
	return Issued{Token: Encode(key, c), Claims: c}, nil
}

// Encode signs c with k. It does not check c; Mint does.
func Encode(k Key, c Claims) string {
	payload, _ := json.Marshal(claimsJSON{Ref: c.ClientRef, Exp: c.ExpiresAt.Unix(), JTI: c.ID, Iat: c.IssuedAt.Unix()})
	input := Version + "." + k.ID + "." + b64.EncodeToString(payload)
	return input + "." + b64.EncodeToString(sign(k, input))
}

// Verifier checks tokens: signature and expiry. It never writes anything.
type Verifier struct {
	Keys KeySource
	// Leeway is the clock skew tolerated on exp and iat; DefaultLeeway when
	// zero, none when negative.
	Leeway time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now().UTC()
	}
	return time.Now().UTC()
}

func (v *Verifier) leeway() time.Duration {
	switch {
	case v.Leeway == 0:
		return DefaultLeeway
	case v.Leeway < 0:
		return 0
	}
	return v.Leeway
}

// Verify returns the claims of a genuine, unexpired token. Its errors are
// domain errors: session_missing, session_invalid or session_expired, or
// upstream_unavailable when the keys cannot be read. The cause, logged and
// never shown, says what exactly was wrong.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	if token == "" {
		return Claims{}, Failure(onboarding.CodeSessionMissing, nil)
	}
	if len(token) > MaxTokenBytes {
		return Claims{}, Failure(onboarding.CodeSessionInvalid, errors.New("token too long"))
	}
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] != Version || !isKeyID(parts[1]) || parts[2] == "" || parts[3] == "" {
		return Claims{}, Failure(onboarding.CodeSessionInvalid, errors.New("malformed token"))
	}
	kid := parts[1]
	sig, err := b64.DecodeString(parts[3])
	if err != nil || len(sig) != sha256.Size {
		return Claims{}, Failure(onboarding.CodeSessionInvalid, errors.New("malformed signature"))
	}
	key, err := v.key(ctx, kid)
	if err != nil {
		return Claims{}, err
	}
	if !hmac.Equal(sig, sign(key, parts[0]+"."+kid+"."+parts[2])) {
		return Claims{}, Failure(onboarding.CodeSessionInvalid, fmt.Errorf("signature does not match key %s", kid))
	}
	// From here the payload is ours: a failure below is a bug or a leaked
	// key, still answered as an invalid token.
	c, err := decodeClaims(parts[2])
	if err != nil {
		return Claims{}, Failure(onboarding.CodeSessionInvalid, err)
	}
	c.KeyID = kid
	now, leeway := v.now(), v.leeway()
	if c.IssuedAt.After(now.Add(leeway)) {
		return Claims{}, Failure(onboarding.CodeSessionInvalid, fmt.Errorf("issued in the future (%s)", c.IssuedAt.Format(time.RFC3339)))
	}
	if !now.Before(c.ExpiresAt.Add(leeway)) {
		return Claims{}, Failure(onboarding.CodeSessionExpired, fmt.Errorf("expired at %s", c.ExpiresAt.Format(time.RFC3339)))
	}
	return c, nil
}

// key finds kid, looking past the cache once when it is unknown.
func (v *Verifier) key(ctx context.Context, kid string) (Key, error) {
	for _, refresh := range []bool{false, true} {
		keys, err := v.Keys(ctx, refresh)
		if err != nil {
			return Key{}, onboarding.Wrap(onboarding.CodeUpstreamUnavailable, fmt.Errorf("session: load keys: %w", err), "The service is temporarily unavailable. Please try again.")
		}
		if k, ok := keys.Key(kid); ok {
			return k, nil
		}
	}
	return Key{}, Failure(onboarding.CodeSessionInvalid, fmt.Errorf("unknown key %q", kid))
}

// decodeClaims reads a signed payload strictly: canonical base64url, one
// JSON object with exactly the known fields, values in range.
func decodeClaims(payload string) (Claims, error) {
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return Claims{}, errors.New("payload is not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var cj claimsJSON
	if err := dec.Decode(&cj); err != nil {
		return Claims{}, errors.New("payload is not the claims object")
	}
	if dec.More() {
		return Claims{}, errors.New("payload has trailing data")
	}
	switch {
	case CheckClientRef(cj.Ref) != nil:
		return Claims{}, errors.New("claim ref is not a valid client_ref")
	case !ascii.IsToken(cj.JTI, 16, 64, "_-"):
		return Claims{}, errors.New("claim jti is malformed")
	case cj.Iat <= 0 || cj.Exp <= cj.Iat || cj.Exp > maxUnix:
		return Claims{}, errors.New("claims iat/exp out of range")
	case cj.Exp-cj.Iat > int64(MaxTTL/time.Second):
		return Claims{}, errors.New("claims span more than the maximum lifetime")
	}
	return Claims{ClientRef: cj.Ref, ID: cj.JTI, IssuedAt: time.Unix(cj.Iat, 0).UTC(), ExpiresAt: time.Unix(cj.Exp, 0).UTC()}, nil
}

// CheckClientRef applies the signup's client_ref rules to a reference a
// token binds; unlike in a signup body, it is required.
func CheckClientRef(ref string) error {
	if ref == "" {
		return invalidField("client_ref", "client_ref is required.")
	}
	return onboarding.ValidateIdentity(onboarding.Identity{ClientRef: ref})
}

func invalidField(field, msg string) error {
	return &onboarding.Error{Code: onboarding.CodeInvalidRequest, Message: "The request is invalid.",
		Fields: []onboarding.FieldError{{Field: field, Message: msg}}}
}

// Failure builds the domain error of a session check with its fixed,
// caller-safe message (onboarding.SessionFailure); cause is for the logs.
func Failure(code onboarding.Code, cause error) *onboarding.Error {
	return onboarding.SessionFailure(code, cause)
}
