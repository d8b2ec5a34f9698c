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
		{name: "too many", raw: func() string {
			var parts []string
			for i := range session.MaxKeys + 1 {
				parts = append(parts, fmt.Sprintf(`{"id":"k%d","secret":"%s","primary":%t}`, i, k1, i == 0))
			}
			return `{"keys":[` + strings.Join(parts, ",") + `]}`
		}(), wantErr: "at most"},
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
