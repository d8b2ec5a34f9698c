package session_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// fuzzKeys is fixed so that a crasher found once reproduces.
var fuzzKeys = func() session.Keyset {
	ks, err := session.ParseKeyset(`{"keys":[{"id":"2026-11","primary":true,"secret":"` +
		base64.StdEncoding.EncodeToString([]byte("fuzz-key-0123456789abcdefghijklmnop")) + `"},{"id":"2026-10","secret":"` +
		base64.StdEncoding.EncodeToString([]byte("fuzz-key-previous-0123456789abcdefg")) + `"}]}`)
	if err != nil {
		panic(err)
	}
	return ks
}()

// FuzzVerify feeds the token parser arbitrary tokens, and arbitrary claims
// payloads signed with a real key (what only a key holder could send), and
// checks that it never panics, refuses with session codes only, and accepts
// only claims that are within their rules.
func FuzzVerify(f *testing.F) {
	primary, _ := fuzzKeys.Primary()
	m := &session.Minter{Keys: session.StaticKeys(fuzzKeys), Now: fixed(t0)}
	iss, err := m.Mint(context.Background(), "customer-1", 15*time.Minute)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(iss.Token, `{"ref":"c","exp":1795608000,"jti":"AAAAAAAAAAAAAAAAAAAAAA","iat":1795607000}`)
	f.Add("", "")
	f.Add("v1...", "{}")
	f.Add("v1.2026-10."+strings.Split(iss.Token, ".")[2]+".AAAA", `{"ref":"c","exp":1e30,"jti":"x","iat":-1}`)
	f.Add(strings.Replace(iss.Token, "v1", "v2", 1), `{"ref":"a\u0000b","exp":1795608000,"jti":"AAAAAAAAAAAAAAAAAAAAAA","iat":1795607000,"ref":"d"}`)
	f.Add(iss.Token+"=", `[]`)

	v := &session.Verifier{Keys: session.StaticKeys(fuzzKeys), Now: fixed(t0.Add(time.Minute))}
	f.Fuzz(func(t *testing.T, token, payload string) {
		check := func(tok string) {
			c, err := v.Verify(context.Background(), tok)
			if err != nil {
				var de *onboarding.Error
				if !errors.As(err, &de) {
					t.Fatalf("Verify(%q) error is not a domain error: %v", tok, err)
				}
				switch de.Code {
				case onboarding.CodeSessionMissing, onboarding.CodeSessionInvalid, onboarding.CodeSessionExpired:
				default:
					t.Fatalf("Verify(%q) code %s", tok, de.Code)
				}
				if (tok == "") != (de.Code == onboarding.CodeSessionMissing) {
					t.Fatalf("Verify(%q) code %s", tok, de.Code)
				}
				return
			}
			if session.CheckClientRef(c.ClientRef) != nil || c.ID == "" || !c.ExpiresAt.After(c.IssuedAt) ||
				c.ExpiresAt.Sub(c.IssuedAt) > session.MaxTTL || len(tok) > session.MaxTokenBytes {
				t.Fatalf("Verify(%q) accepted claims out of rule: %+v", tok, c)
			}
			// What was accepted re-encodes to a token with the same claims.
			k, _ := fuzzKeys.Key(c.KeyID)
			again, err := v.Verify(context.Background(), session.Encode(k, c))
			if err != nil || again != c {
				t.Fatalf("re-encoded claims %+v verify as %+v, %v", c, again, err)
			}
		}
		check(token)
		check(resign(primary.ID, payload, keySecret(t, fuzzKeys, primary.ID)))
	})
}
