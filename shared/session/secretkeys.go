package session

import (
	"context"
	"fmt"
	"sync"
)

// SecretStrings reads a secret's string value, from a cache or past it;
// *secrets.Cache implements it.
type SecretStrings interface {
	Get(ctx context.Context, secretID string) (string, error)
	Refresh(ctx context.Context, secretID string) (string, error)
}

// SecretKeys is the KeySource of the keyset stored in the secret
// secretID: refresh reads past the cache. The keyset parsed last is kept,
// so a warm function parses the secret once per value.
func SecretKeys(src SecretStrings, secretID string) KeySource {
	var (
		mu      sync.Mutex
		lastRaw string
		last    Keyset
	)
	return func(ctx context.Context, refresh bool) (Keyset, error) {
		get := src.Get
		if refresh {
			get = src.Refresh
		}
		raw, err := get(ctx, secretID)
		if err != nil {
			return Keyset{}, err
		}
		mu.Lock()
		defer mu.Unlock()
		if raw == lastRaw && lastRaw != "" {
			return last, nil
		}
		ks, err := ParseKeyset(raw)
		if err != nil {
			// The error names the secret, never its value.
			return Keyset{}, fmt.Errorf("session keys %q: %w", secretID, err)
		}
		lastRaw, last = raw, ks
		return ks, nil
	}
}
