package session_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/session"
)

// secret32 is a base64 key of n bytes filled with b.
func secretOf(n int, b byte) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), n)))
}

func TestParseKeyset(t *testing.T) {
	t.Parallel()
	k1, k2 := secretOf(32, 'a'), secretOf(48, 'b')
	tests := []struct {
		name        string
		raw         string
		wantIDs     []string // primary first
		wantErr     string
		secretInErr string
	}{
		{name: "two keys", raw: `{"keys":[{"id":"2026-10","secret":"` + k1 + `"},{"id":"2026-11","secret":"` + k2 + `","primary":true}]}`, wantIDs: []string{"2026-11", "2026-10"}},
		{name: "one key is primary without saying so", raw: `{"keys":[{"id":"k","secret":"` + k1 + `"}]}`, wantIDs: []string{"k"}},
		{name: "GenerateSecretString single key", raw: `{"id":"initial","primary":true,"secret":"` + strings.Repeat("Ab3", 21) + `x"}`, wantIDs: []string{"initial"}},
		{name: "single key without id", raw: `{"secret":"` + k1 + `"}`, wantIDs: []string{"initial"}},
		{name: "url alphabet unpadded", raw: `{"keys":[{"id":"k","secret":"` + base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\xff", 33))) + `"}]}`, wantIDs: []string{"k"}},
		{name: "not json", raw: `{"keys":[` + k1, wantErr: "not a JSON object", secretInErr: k1},
		{name: "empty", raw: `{}`, wantErr: `no "keys"`},
		{name: "both shapes", raw: `{"keys":[{"id":"k","secret":"` + k1 + `"}],"secret":"` + k2 + `"}`, wantErr: "both"},
		{name: "short key", raw: `{"keys":[{"id":"k","secret":"` + secretOf(31, 'c') + `"}]}`, wantErr: "at least 32 bytes"},
		{name: "not base64", raw: `{"keys":[{"id":"k","secret":"%%%not-base64%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%"}]}`, wantErr: "not base64", secretInErr: "%%%not-base64"},
		{name: "no primary", raw: `{"keys":[{"id":"a","secret":"` + k1 + `"},{"id":"b","secret":"` + k2 + `"}]}`, wantErr: "no key is primary"},
		{name: "two primaries", raw: `{"keys":[{"id":"a","secret":"` + k1 + `","primary":true},{"id":"b","secret":"` + k2 + `","primary":true}]}`, wantErr: "both primary"},
		{name: "duplicate id", raw: `{"keys":[{"id":"a","secret":"` + k1 + `","primary":true},{"id":"a","secret":"` + k2 + `"}]}`, wantErr: "twice"},
		{name: "id with a dot", raw: `{"keys":[{"id":"a.b","secret":"` + k1 + `"}]}`, wantErr: "id must be"},
		{name: "id of 32 characters", raw: `{"keys":[{"id":"` + strings.Repeat("k", 32) + `","secret":"` + k1 + `"}]}`, wantIDs: []string{strings.Repeat("k", 32)}},
		{name: "id of 33 characters", raw: `{"keys":[{"id":"` + strings.Repeat("k", 33) + `","secret":"` + k1 + `"}]}`, wantErr: "id must be"},
		// Only a lone key's missing id defaults to "initial".
		{name: "empty id among several", raw: `{"keys":[{"id":"a","secret":"` + k1 + `","primary":true},{"id":"","secret":"` + k2 + `"}]}`, wantErr: "id must be"},
		{name: "as many as allowed", raw: manyKeys(session.MaxKeys, k1), wantIDs: manyIDs(session.MaxKeys)},
		{name: "too many", raw: manyKeys(session.MaxKeys+1, k1), wantErr: "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ks, err := session.ParseKeyset(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if tt.secretInErr != "" && strings.Contains(err.Error(), tt.secretInErr) {
					t.Fatalf("error quotes the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(ks.IDs()); got != fmt.Sprint(tt.wantIDs) {
				t.Fatalf("IDs = %v, want %v", got, tt.wantIDs)
			}
			if p, _ := ks.Primary(); p.ID != tt.wantIDs[0] {
				t.Fatalf("primary = %s", p.ID)
			}
		})
	}
}

// manyKeys is a keys secret of n keys k0, k1, ... with secret, k0 primary.
func manyKeys(n int, secret string) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf(`{"id":"k%d","secret":"%s","primary":%t}`, i, secret, i == 0))
	}
	return `{"keys":[` + strings.Join(parts, ",") + `]}`
}

func manyIDs(n int) []string {
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("k%d", i))
	}
	return ids
}

// TestKeyOperationsRefuse: what mints or stores keys refuses what a
// token could not carry (an ID with the token's "." separator, or past
// 32 characters), a key too short to sign with, and a secret with no key.
func TestKeyOperationsRefuse(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"a.b", "", strings.Repeat("k", 33)} {
		if _, err := session.NewKey(id); err == nil {
			t.Errorf("NewKey(%q) succeeded", id)
		}
	}
	if _, err := session.NewKey(strings.Repeat("k", 32)); err != nil {
		t.Errorf("NewKey of a 32-character id: %v", err)
	}
	ks := mustKeyset(t, "2026-10")
	// A Key made outside NewKey or ParseKeyset has no secret.
	if _, err := ks.Rotate(session.Key{ID: "2026-11"}, 1); err == nil {
		t.Error("rotated to a key without a secret")
	}
	if _, err := (session.Keyset{}).SecretString(); err == nil {
		t.Error("an empty keyset became a secret")
	}
}

// TestRotateKeepsAtMostMaxKeys: however many keys a rotation is asked to
// keep, the secret it stores must still parse.
func TestRotateKeepsAtMostMaxKeys(t *testing.T) {
	t.Parallel()
	full, err := session.ParseKeyset(manyKeys(session.MaxKeys, secretOf(32, 'a')))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := full.Rotate(mustKey(t, "next"), 100)
	if err != nil {
		t.Fatal(err)
	}
	if ids := rotated.IDs(); len(ids) != session.MaxKeys || ids[0] != "next" {
		t.Fatalf("rotated to %v, want next and %d older keys", ids, session.MaxKeys-1)
	}
	raw, err := rotated.SecretString()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := session.ParseKeyset(raw); err != nil {
		t.Fatalf("the rotated secret does not parse: %v", err)
	}
}

func TestKeysNeverPrintSecrets(t *testing.T) {
	t.Parallel()
	secret := secretOf(32, 'z')
	ks, err := session.ParseKeyset(`{"keys":[{"id":"k","secret":"` + secret + `"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ks.Primary()
	for _, s := range []string{fmt.Sprint(ks), fmt.Sprintf("%+v %#v %s %v %#v %+v", k, k, k, ks, ks, ks), ks.String()} {
		if strings.Contains(s, secret) || strings.Contains(s, "zzzz") {
			t.Fatalf("printed a secret: %s", s)
		}
	}
}

func TestRotateRoundTrip(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "2026-10")
	tests := []struct {
		name    string
		keep    int
		wantIDs string
	}{
		{"keep the previous key", 1, "[2026-11 2026-10]"},
		{"keep none", 0, "[2026-11]"},
		{"keep more than there are", 5, "[2026-11 2026-10]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			next, err := session.NewKey("2026-11")
			if err != nil {
				t.Fatal(err)
			}
			rotated, err := ks.Rotate(next, tt.keep)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := rotated.SecretString()
			if err != nil {
				t.Fatal(err)
			}
			back, err := session.ParseKeyset(raw)
			if err != nil {
				t.Fatalf("rotated secret does not parse: %v", err)
			}
			if got := fmt.Sprint(back.IDs()); got != tt.wantIDs {
				t.Fatalf("IDs = %s, want %s", got, tt.wantIDs)
			}
		})
	}
	if _, err := ks.Rotate(mustKey(t, "2026-10"), 1); err == nil {
		t.Fatal("rotating to an existing key ID succeeded")
	}
}
