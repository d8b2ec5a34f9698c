package session_test

import (
	"context"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// fakeSM serves one secret value and counts the fetches.
type fakeSM struct {
	value atomic.Value
	calls atomic.Int32
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls.Add(1)
	v := f.value.Load().(string)
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func keysJSON(id string, b byte) string {
	return `{"keys":[{"id":"` + id + `","secret":"` + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), 32))) + `"}]}`
}

func TestSecretKeys(t *testing.T) {
	t.Parallel()
	sm := &fakeSM{}
	sm.value.Store(keysJSON("2026-10", 'a'))
	keys := session.SecretKeys(secrets.NewCache(sm, 0), "keys")
	ctx := context.Background()
	steps := []struct {
		name      string
		rotate    string
		refresh   bool
		wantIDs   string
		wantCalls int32
	}{
		{name: "first read fetches", wantIDs: "2026-10", wantCalls: 1},
		{name: "cached", wantIDs: "2026-10", wantCalls: 1},
		{name: "rotation unseen from the cache", rotate: keysJSON("2026-11", 'b'), wantIDs: "2026-10", wantCalls: 1},
		{name: "refresh sees it", refresh: true, wantIDs: "2026-11", wantCalls: 2},
	}
	for _, s := range steps {
		if s.rotate != "" {
			sm.value.Store(s.rotate)
		}
		ks, err := keys(ctx, s.refresh)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := strings.Join(ks.IDs(), ","); got != s.wantIDs || sm.calls.Load() != s.wantCalls {
			t.Fatalf("%s: keys %s after %d fetches, want %s after %d", s.name, got, sm.calls.Load(), s.wantIDs, s.wantCalls)
		}
	}
	// An empty secret value is an error, never an empty keyset.
	sm.value.Store("")
	if _, err := session.SecretKeys(secrets.NewCache(sm, 0), "empty")(ctx, false); err == nil {
		t.Fatal("an empty secret value read as a keyset")
	}
	bad := `{"keys":[{"id":"k","secret":"c2hvcnQ="}]}`
	sm.value.Store(bad)
	if _, err := session.SecretKeys(secrets.NewCache(sm, 0), "other")(ctx, false); err == nil || strings.Contains(err.Error(), "c2hvcnQ") {
		t.Fatalf("bad keys: %v", err)
	}
}
