package session

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/techprovider/wa-onboarding/shared/ascii"
)

// MinKeyBytes is the shortest signing key accepted: HMAC-SHA256 gains
// nothing from keys longer than its 32-byte output, and loses from shorter.
const MinKeyBytes = 32

// MaxKeys bounds the keys of one secret; rotation keeps one or two.
const MaxKeys = 8

// isKeyID keeps key IDs short and free of the token's "." separator.
func isKeyID(s string) bool { return ascii.IsToken(s, 1, 32, "_-") }

// Key is one HMAC-SHA256 signing key. Its secret never leaves the process:
// String, Format and the JSON encoding of a Keyset's keys show the ID only.
type Key struct {
	ID      string
	Primary bool
	secret  []byte
}

// String shows the key ID and hides the secret.
func (k Key) String() string {
	return fmt.Sprintf("{ID:%s Primary:%t Secret:[REDACTED]}", k.ID, k.Primary)
}

// Format makes every fmt verb print String.
func (k Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// Keyset is the set of keys read from the session-keys secret: the primary
// signs new tokens, any of them verifies, which is what lets a new key be
// introduced while tokens signed with the previous one stay valid.
type Keyset struct {
	keys    []Key
	primary int
}

// keyJSON is one key as stored in the secret.
type keyJSON struct {
	ID      string `json:"id"`
	Secret  string `json:"secret"`
	Primary bool   `json:"primary,omitempty"`
}

// secretJSON is the secret's shape: {"keys":[...]} or, as CloudFormation's
// GenerateSecretString writes it with GenerateStringKey "secret", a single
// key object {"id","secret","primary"}.
type secretJSON struct {
	Keys    []keyJSON `json:"keys"`
	ID      string    `json:"id"`
	Secret  string    `json:"secret"`
	Primary bool      `json:"primary"`
}

// ParseKeyset reads the session-keys secret:
//
//	{"keys":[{"id":"2026-11","secret":"<base64>","primary":true},{"id":"2026-10","secret":"<base64>"}]}
//
// or a single key {"id":"initial","secret":"<base64>"}. Secrets are
// base64 (standard or URL alphabet, padded or not) of at least MinKeyBytes
// bytes; a 64-character alphanumeric string, as GenerateSecretString makes
// with ExcludePunctuation, is such a value. With several keys exactly one
// is primary. Errors name the key at fault, never a secret.
func ParseKeyset(raw string) (Keyset, error) {
	var s secretJSON
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		// The decoder's message may quote the secret's bytes.
		return Keyset{}, errors.New("session: keys secret is not a JSON object")
	}
	list := s.Keys
	if len(list) == 0 {
		if s.Secret == "" {
			return Keyset{}, errors.New(`session: keys secret has no "keys" and no "secret"`)
		}
		list = []keyJSON{{ID: s.ID, Secret: s.Secret, Primary: true}}
		if list[0].ID == "" {
			list[0].ID = "initial"
		}
	} else if s.Secret != "" {
		return Keyset{}, errors.New(`session: keys secret has both "keys" and "secret"`)
	}
	if len(list) > MaxKeys {
		return Keyset{}, fmt.Errorf("session: keys secret has %d keys, at most %d are allowed", len(list), MaxKeys)
	}
	if len(list) == 1 {
		list[0].Primary = true
	}
	ks := Keyset{primary: -1}
	seen := map[string]bool{}
	for i, k := range list {
		if !isKeyID(k.ID) {
			return Keyset{}, fmt.Errorf("session: key %d: id must be 1-32 letters, digits, - or _", i+1)
		}
		if seen[k.ID] {
			return Keyset{}, fmt.Errorf("session: key id %s appears twice", k.ID)
		}
		seen[k.ID] = true
		secret, err := decodeSecret(k.Secret)
		if err != nil {
			return Keyset{}, fmt.Errorf("session: key %s: %w", k.ID, err)
		}
		if k.Primary {
			if ks.primary >= 0 {
				return Keyset{}, fmt.Errorf("session: keys %s and %s are both primary", ks.keys[ks.primary].ID, k.ID)
			}
			ks.primary = len(ks.keys)
		}
		ks.keys = append(ks.keys, Key{ID: k.ID, Primary: k.Primary, secret: secret})
	}
	if ks.primary < 0 {
		return Keyset{}, errors.New("session: no key is primary")
	}
	return ks, nil
}

func decodeSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("secret is empty")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) < MinKeyBytes {
				return nil, fmt.Errorf("secret must decode to at least %d bytes", MinKeyBytes)
			}
			return b, nil
		}
	}
	return nil, errors.New("secret is not base64")
}

// Primary returns the key that signs new tokens.
func (ks Keyset) Primary() (Key, bool) {
	if ks.primary < 0 || ks.primary >= len(ks.keys) {
		return Key{}, false
	}
	return ks.keys[ks.primary], true
}

// Key returns the key with the given ID.
func (ks Keyset) Key(id string) (Key, bool) {
	for _, k := range ks.keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

// IDs returns the key IDs, primary first.
func (ks Keyset) IDs() []string {
	var ids []string
	if p, ok := ks.Primary(); ok {
		ids = append(ids, p.ID)
	}
	for _, k := range ks.keys {
		if !k.Primary {
			ids = append(ids, k.ID)
		}
	}
	return ids
}

// NewKey returns a fresh random 32-byte key with the given ID.
func NewKey(id string) (Key, error) {
	if !isKeyID(id) {
		return Key{}, errors.New("session: key id must be 1-32 letters, digits, - or _")
	}
	b := make([]byte, MinKeyBytes)
	if _, err := rand.Read(b); err != nil {
		return Key{}, err
	}
	return Key{ID: id, secret: b}, nil
}

// Rotate returns the keyset a rotation stores: next as the primary, the
// current primary and the other keys behind it, at most keep of them
// (newest first, in the order they are listed). Tokens signed with a kept
// key stay valid until they expire; drop a key once SESSION_TTL's maximum
// has passed since it stopped being primary.
func (ks Keyset) Rotate(next Key, keep int) (Keyset, error) {
	if _, dup := ks.Key(next.ID); dup {
		return Keyset{}, fmt.Errorf("session: key id %s is already in the keyset", next.ID)
	}
	if len(next.secret) < MinKeyBytes {
		return Keyset{}, fmt.Errorf("session: key %s is shorter than %d bytes", next.ID, MinKeyBytes)
	}
	next.Primary = true
	out := Keyset{keys: []Key{next}, primary: 0}
	for _, id := range ks.IDs() {
		if len(out.keys) > keep || len(out.keys) >= MaxKeys {
			break
		}
		k, _ := ks.Key(id)
		k.Primary = false
		out.keys = append(out.keys, k)
	}
	return out, nil
}

// SecretString returns the keyset in the secret's JSON shape, secrets
// included, for storing with PutSecretValue. It is the only way a secret
// leaves a Keyset; never log its result.
func (ks Keyset) SecretString() (string, error) {
	var s secretJSON
	for _, id := range ks.IDs() {
		k, _ := ks.Key(id)
		s.Keys = append(s.Keys, keyJSON{ID: k.ID, Secret: base64.StdEncoding.EncodeToString(k.secret), Primary: k.Primary})
	}
	if len(s.Keys) == 0 {
		return "", errors.New("session: empty keyset")
	}
	b, err := json.Marshal(struct {
		Keys []keyJSON `json:"keys"`
	}{s.Keys})
	return string(b), err
}

// String lists the key IDs only.
func (ks Keyset) String() string {
	return fmt.Sprintf("Keyset%v", ks.IDs())
}

// Format makes every fmt verb print String: %#v would otherwise print the
// unexported secrets.
func (ks Keyset) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(ks.String())) }
