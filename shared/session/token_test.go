package session_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/session"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func mustKey(t testing.TB, id string) session.Key {
	t.Helper()
	k, err := session.NewKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mustKeyset builds a keyset of fresh keys; the first ID is primary.
func mustKeyset(t testing.TB, ids ...string) session.Keyset {
	t.Helper()
	var ks session.Keyset
	for i := len(ids) - 1; i >= 0; i-- {
		var err error
		ks, err = ks.Rotate(mustKey(t, ids[i]), len(ids))
		if err != nil {
			t.Fatal(err)
		}
	}
	return ks
}

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

func mint(t testing.TB, ks session.Keyset, ref string, ttl time.Duration, at time.Time) session.Issued {
	t.Helper()
	m := &session.Minter{Keys: session.StaticKeys(ks), Now: fixed(at)}
	iss, err := m.Mint(context.Background(), ref, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// resign replaces a token's payload with raw JSON and signs it with secret, as
// only a holder of the key could.
func resign(kid, rawJSON string, secret []byte) string {
	input := "v1." + kid + "." + base64.RawURLEncoding.EncodeToString([]byte(rawJSON))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestMint(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "2026-11", "2026-10")
	tests := []struct {
		name      string
		ref       string
		ttl       time.Duration
		wantTTL   time.Duration
		wantField string
	}{
		{name: "default ttl", ref: "customer-1", wantTTL: 10 * time.Minute},
		{name: "caller ttl", ref: "acct:42/eu@example.com", ttl: time.Hour, wantTTL: time.Hour},
		{name: "max ttl", ref: "c", ttl: session.MaxTTL, wantTTL: session.MaxTTL},
		{name: "min ttl", ref: "c", ttl: session.MinTTL, wantTTL: session.MinTTL},
		{name: "ttl too short", ref: "c", ttl: 59 * time.Second, wantField: "ttl_seconds"},
		{name: "ttl too long", ref: "c", ttl: session.MaxTTL + time.Second, wantField: "ttl_seconds"},
		{name: "no client_ref", ref: "", wantField: "client_ref"},
		{name: "bad client_ref", ref: "a b", wantField: "client_ref"},
		{name: "long client_ref", ref: strings.Repeat("x", 65), wantField: "client_ref"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := &session.Minter{Keys: session.StaticKeys(ks), TTL: 10 * time.Minute, Now: fixed(t0.Add(500 * time.Millisecond))}
			iss, err := m.Mint(context.Background(), tt.ref, tt.ttl)
			if tt.wantField != "" {
				var de *onboarding.Error
				if !errors.As(err, &de) || de.Code != onboarding.CodeInvalidRequest || len(de.Fields) == 0 || de.Fields[0].Field != tt.wantField {
					t.Fatalf("err = %#v, want invalid %s", err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if iss.KeyID != "2026-11" || !iss.IssuedAt.Equal(t0) || iss.ExpiresAt.Sub(iss.IssuedAt) != tt.wantTTL || iss.ClientRef != tt.ref {
				t.Fatalf("issued %+v", iss.Claims)
			}
			if !strings.HasPrefix(iss.Token, "v1.2026-11.") || strings.ContainsAny(iss.Token, "+/=?&# ") || len(iss.Token) > session.MaxTokenBytes {
				t.Fatalf("token %q is not a URL-safe v1 token", iss.Token)
			}
			got, err := (&session.Verifier{Keys: session.StaticKeys(ks), Now: fixed(t0)}).Verify(context.Background(), iss.Token)
			if err != nil {
				t.Fatal(err)
			}
			if got != iss.Claims {
				t.Fatalf("verified %+v, minted %+v", got, iss.Claims)
			}
		})
	}
}

// TestMintDefaultTTL: a Minter whose TTL is unset mints DefaultTTL links.
func TestMintDefaultTTL(t *testing.T) {
	t.Parallel()
	m := &session.Minter{Keys: session.StaticKeys(mustKeyset(t, "k")), Now: fixed(t0)}
	iss, err := m.Mint(context.Background(), "customer-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := iss.ExpiresAt.Sub(iss.IssuedAt); got != session.DefaultTTL {
		t.Fatalf("ttl %v, want DefaultTTL %v", got, session.DefaultTTL)
	}
}

func TestMintIDsAreUnique(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "k")
	seen := map[string]bool{}
	for range 1000 {
		iss := mint(t, ks, "c", time.Hour, t0)
		if seen[iss.ID] {
			t.Fatalf("duplicate token ID %s", iss.ID)
		}
		seen[iss.ID] = true
	}
}

func code(err error) onboarding.Code {
	if err == nil {
		return ""
	}
	return onboarding.ErrorCode(err)
}

// TestVerifyFailureModes covers every way a token is refused.
func TestVerifyFailureModes(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "2026-11", "2026-10")
	other := mustKeyset(t, "2026-11") // same key ID, different secret
	good := mint(t, ks, "customer-1", 15*time.Minute, t0)
	parts := strings.Split(good.Token, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	forged := mint(t, other, "customer-1", 15*time.Minute, t0)
	otherCustomer := mint(t, ks, "customer-2", 15*time.Minute, t0)
	secret := keySecret(t, ks, "2026-11")

	tests := []struct {
		name  string
		token string
		now   time.Time
		want  onboarding.Code
	}{
		{"valid", good.Token, t0, ""},
		{"valid with the previous key", mint(t, mustKeysetFrom(t, ks, "2026-10"), "customer-1", time.Hour, t0).Token, t0, ""},
		{"missing", "", t0, onboarding.CodeSessionMissing},
		{"garbage", "not-a-token", t0, onboarding.CodeSessionInvalid},
		{"three parts", strings.Join(parts[:3], "."), t0, onboarding.CodeSessionInvalid},
		{"five parts", good.Token + ".x", t0, onboarding.CodeSessionInvalid},
		{"other version", "v2" + strings.TrimPrefix(good.Token, "v1"), t0, onboarding.CodeSessionInvalid},
		{"unknown key", strings.Replace(good.Token, "2026-11", "2027-01", 1), t0, onboarding.CodeSessionInvalid},
		{"key id swapped to the other listed key", strings.Replace(good.Token, "2026-11", "2026-10", 1), t0, onboarding.CodeSessionInvalid},
		{"bad key id", strings.Replace(good.Token, "2026-11", "20*6", 1), t0, onboarding.CodeSessionInvalid},
		{"tampered payload", parts[0] + "." + parts[1] + "." + flip(parts[2], 5) + "." + parts[3], t0, onboarding.CodeSessionInvalid},
		{"payload of another customer", parts[0] + "." + parts[1] + "." + strings.Split(otherCustomer.Token, ".")[2] + "." + parts[3], t0, onboarding.CodeSessionInvalid},
		{"tampered signature", parts[0] + "." + parts[1] + "." + parts[2] + "." + flip(parts[3], 10), t0, onboarding.CodeSessionInvalid},
		{"truncated signature", good.Token[:len(good.Token)-2], t0, onboarding.CodeSessionInvalid},
		{"padded signature", good.Token + "=", t0, onboarding.CodeSessionInvalid},
		{"non-canonical signature", parts[0] + "." + parts[1] + "." + parts[2] + "." + nonCanonical(parts[3]), t0, onboarding.CodeSessionInvalid},
		{"signed with a foreign key", forged.Token, t0, onboarding.CodeSessionInvalid},
		{"too long", good.Token + strings.Repeat("A", session.MaxTokenBytes), t0, onboarding.CodeSessionInvalid},
		// Refused for its length alone, although signed: JSON allows
		// whitespace enough to carry a genuine signature past the bound.
		{"signed but too long", resign("2026-11", `{"ref":"c",`+strings.Repeat(" ", session.MaxTokenBytes)+`"exp":`+unix(t0.Add(time.Hour))+`,"jti":"AAAAAAAAAAAAAAAAAAAAAA","iat":`+unix(t0)+`}`, secret), t0, onboarding.CodeSessionInvalid},
		{"expired", good.Token, t0.Add(15*time.Minute + session.DefaultLeeway), onboarding.CodeSessionExpired},
		{"expired long ago", good.Token, t0.Add(48 * time.Hour), onboarding.CodeSessionExpired},
		{"expiry within clock-skew leeway", good.Token, t0.Add(15*time.Minute + session.DefaultLeeway - time.Second), ""},
		{"issued slightly in the future", good.Token, t0.Add(-session.DefaultLeeway), ""},
		{"issued in the future", good.Token, t0.Add(-session.DefaultLeeway - time.Second), onboarding.CodeSessionInvalid},
		{"claims span too long", resign("2026-11", `{"ref":"c","exp":`+unix(t0.Add(session.MaxTTL+time.Second))+`,"jti":"AAAAAAAAAAAAAAAAAAAAAA","iat":`+unix(t0)+`}`, secret), t0, onboarding.CodeSessionInvalid},
		{"exp before iat", resign("2026-11", `{"ref":"c","exp":`+unix(t0)+`,"jti":"AAAAAAAAAAAAAAAAAAAAAA","iat":`+unix(t0)+`}`, secret), t0, onboarding.CodeSessionInvalid},
		{"invalid ref claim", resign("2026-11", `{"ref":"a b","exp":`+unix(t0.Add(time.Hour))+`,"jti":"AAAAAAAAAAAAAAAAAAAAAA","iat":`+unix(t0)+`}`, secret), t0, onboarding.CodeSessionInvalid},
		{"empty ref claim", resign("2026-11", `{"ref":"","exp":`+unix(t0.Add(time.Hour))+`,"jti":"AAAAAAAAAAAAAAAAAAAAAA","iat":`+unix(t0)+`}`, secret), t0, onboarding.CodeSessionInvalid},
		{"jti of 16 characters", resign("2026-11", `{"ref":"c","exp":`+unix(t0.Add(time.Hour))+`,"jti":"`+strings.Repeat("A", 16)+`","iat":`+unix(t0)+`}`, secret), t0, ""},
		{"jti of 15 characters", resign("2026-11", `{"ref":"c","exp":`+unix(t0.Add(time.Hour))+`,"jti":"`+strings.Repeat("A", 15)+`","iat":`+unix(t0)+`}`, secret), t0, onboarding.CodeSessionInvalid},
		{"jti of 64 characters", resign("2026-11", `{"ref":"c","exp":`+unix(t0.Add(time.Hour))+`,"jti":"`+strings.Repeat("A", 64)+`","iat":`+unix(t0)+`}`, secret), t0, ""},
		{"jti of 65 characters", resign("2026-11", `{"ref":"c","exp":`+unix(t0.Add(time.Hour))+`,"jti":"`+strings.Repeat("A", 65)+`","iat":`+unix(t0)+`}`, secret), t0, onboarding.CodeSessionInvalid},
		{"short jti", resign("2026-11", `{"ref":"c","exp":`+unix(t0.Add(time.Hour))+`,"jti":"short","iat":`+unix(t0)+`}`, secret), t0, onboarding.CodeSessionInvalid},
		{"unknown claim", resign("2026-11", `{"ref":"c","exp":`+unix(t0.Add(time.Hour))+`,"jti":"AAAAAAAAAAAAAAAAAAAAAA","iat":`+unix(t0)+`,"admin":true}`, secret), t0, onboarding.CodeSessionInvalid},
		{"trailing data", resign("2026-11", `{"ref":"c","exp":`+unix(t0.Add(time.Hour))+`,"jti":"AAAAAAAAAAAAAAAAAAAAAA","iat":`+unix(t0)+`}{}`, secret), t0, onboarding.CodeSessionInvalid},
		// Refused as a forgery, not answered "expired": a genuine token is
		// never issued at 0.
		{"iat zero", resign("2026-11", `{"ref":"c","exp":1000,"jti":"AAAAAAAAAAAAAAAAAAAAAA","iat":0}`, secret), t0, onboarding.CodeSessionInvalid},
		{"huge exp", resign("2026-11", `{"ref":"c","exp":9223372036854775807,"jti":"AAAAAAAAAAAAAAAAAAAAAA","iat":`+unix(t0)+`}`, secret), t0, onboarding.CodeSessionInvalid},
		{"well-formed hand-signed claims", resign("2026-11", `{"ref":"c","exp":`+unix(t0.Add(time.Hour))+`,"jti":"AAAAAAAAAAAAAAAAAAAAAA","iat":`+unix(t0)+`}`, secret), t0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := &session.Verifier{Keys: session.StaticKeys(ks), Now: fixed(tt.now)}
			c, err := v.Verify(context.Background(), tt.token)
			if got := code(err); got != tt.want {
				t.Fatalf("Verify = %+v, %v; want code %q", c, err, tt.want)
			}
			if err != nil {
				// The caller sees a fixed message, never the reason.
				msg := onboarding.ErrorMessage(err)
				for _, leak := range []string{"signature", "key", "2026", "jti", "claim"} {
					if strings.Contains(msg, leak) {
						t.Fatalf("message %q tells why (%s)", msg, leak)
					}
				}
			}
		})
	}
}

// TestVerifyWithoutLeeway: a negative Leeway tolerates no skew at all; a
// token is expired at its exp to the nanosecond.
func TestVerifyWithoutLeeway(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "k")
	iss := mint(t, ks, "c", time.Hour, t0)
	for _, tt := range []struct {
		now  time.Time
		want onboarding.Code
	}{
		{iss.ExpiresAt.Add(-time.Nanosecond), ""},
		{iss.ExpiresAt, onboarding.CodeSessionExpired},
	} {
		v := &session.Verifier{Keys: session.StaticKeys(ks), Leeway: -1, Now: fixed(tt.now)}
		if _, err := v.Verify(context.Background(), iss.Token); code(err) != tt.want {
			t.Errorf("at %v: %v, want %q", tt.now, err, tt.want)
		}
	}
}

// TestMintKeysUnavailable: keys that cannot be read are an outage to
// retry (503), not an internal error.
func TestMintKeysUnavailable(t *testing.T) {
	t.Parallel()
	m := &session.Minter{Now: fixed(t0), Keys: func(context.Context, bool) (session.Keyset, error) {
		return session.Keyset{}, errors.New("secrets manager down")
	}}
	if _, err := m.Mint(context.Background(), "c", 0); code(err) != onboarding.CodeUpstreamUnavailable {
		t.Fatalf("Mint: %v, want upstream_unavailable", err)
	}
}

// TestMintWithoutRandomness: a token ID that could not be drawn fails the
// mint. Minted anyway, such links would share a predictable ID, and
// one-time use is keyed on it: spending one would spend the others.
func TestMintWithoutRandomness(t *testing.T) {
	t.Parallel()
	m := &session.Minter{Keys: session.StaticKeys(mustKeyset(t, "k")), Now: fixed(t0), Rand: strings.NewReader("short")}
	if iss, err := m.Mint(context.Background(), "c", 0); code(err) != onboarding.CodeInternal {
		t.Fatalf("Mint = %+v, %v; want internal error", iss, err)
	}
}

func TestVerifyKeysUnavailable(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "k")
	tok := mint(t, ks, "c", time.Hour, t0).Token
	v := &session.Verifier{Now: fixed(t0), Keys: func(context.Context, bool) (session.Keyset, error) {
		return session.Keyset{}, errors.New("secrets manager down")
	}}
	if _, err := v.Verify(context.Background(), tok); code(err) != onboarding.CodeUpstreamUnavailable {
		t.Fatalf("err = %v, want upstream_unavailable", err)
	}
	// A missing token is answered without reading the keys.
	if _, err := v.Verify(context.Background(), ""); code(err) != onboarding.CodeSessionMissing {
		t.Fatalf("err = %v", err)
	}
}

// TestRotation walks a key rotation as an operator performs it: a new
// primary is added while a token of the previous key is in flight, and a
// verifier whose cached keyset predates the rotation learns the new key at
// once instead of refusing its tokens until the cache expires.
func TestRotation(t *testing.T) {
	t.Parallel()
	before := mustKeyset(t, "2026-10")
	after, err := before.Rotate(mustKey(t, "2026-11"), 1)
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := after.Rotate(mustKey(t, "2026-12"), 0)
	if err != nil {
		t.Fatal(err)
	}
	oldToken := mint(t, before, "c", time.Hour, t0).Token
	newToken := mint(t, after, "c", time.Hour, t0).Token

	tests := []struct {
		name         string
		cached, live session.Keyset
		token        string
		want         onboarding.Code
		wantRefresh  int32
	}{
		{"old token, cache before rotation", before, after, oldToken, "", 0},
		{"old token, cache after rotation", after, after, oldToken, "", 0},
		{"new token, cache after rotation", after, after, newToken, "", 0},
		{"new token, stale cache refreshes once", before, after, newToken, "", 1},
		{"old token after its key was dropped", dropped, dropped, oldToken, onboarding.CodeSessionInvalid, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var refreshes atomic.Int32
			v := &session.Verifier{Now: fixed(t0), Keys: func(_ context.Context, refresh bool) (session.Keyset, error) {
				if refresh {
					refreshes.Add(1)
					return tt.live, nil
				}
				return tt.cached, nil
			}}
			_, err := v.Verify(context.Background(), tt.token)
			if got := code(err); got != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if refreshes.Load() != tt.wantRefresh {
				t.Fatalf("refreshes = %d, want %d", refreshes.Load(), tt.wantRefresh)
			}
		})
	}
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// nonCanonical re-encodes s's last character with non-zero padding bits:
// the same bytes for a lenient decoder, another token string.
func nonCanonical(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last|1])
}

// keySecret reads a key's secret back through the secret's JSON.
func keySecret(t testing.TB, ks session.Keyset, id string) []byte {
	t.Helper()
	raw, err := ks.SecretString()
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(raw, `"id":"`+id+`","secret":"`)
	if i < 0 {
		t.Fatalf("no key %s", id)
	}
	rest := raw[i+len(`"id":"`+id+`","secret":"`):]
	b, err := base64.StdEncoding.DecodeString(rest[:strings.IndexByte(rest, '"')])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustKeysetFrom returns ks with id as the only, primary key.
func mustKeysetFrom(t testing.TB, ks session.Keyset, id string) session.Keyset {
	t.Helper()
	secret := keySecret(t, ks, id)
	out, err := session.ParseKeyset(`{"keys":[{"id":"` + id + `","secret":"` + base64.StdEncoding.EncodeToString(secret) + `"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
