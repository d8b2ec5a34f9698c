package clients

import (
	"context"
	"fmt"
	"sync"

	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// SessionKeys reads the session signing keys from secretID through cache;
// refresh bypasses the cache (see session.KeySource). The keyset parsed
// last is kept, so a warm function parses the secret once per value.
func SessionKeys(cache *secrets.Cache, secretID string) session.KeySource {
	var (
		mu      sync.Mutex
		lastRaw string
		last    session.Keyset
	)
	return func(ctx context.Context, refresh bool) (session.Keyset, error) {
		get := cache.Get
		if refresh {
			get = cache.Refresh
		}
		raw, err := get(ctx, secretID)
		if err != nil {
			return session.Keyset{}, err
		}
		mu.Lock()
		defer mu.Unlock()
		if raw == lastRaw && lastRaw != "" {
			return last, nil
		}
		ks, err := session.ParseKeyset(raw)
		if err != nil {
			return session.Keyset{}, fmt.Errorf("secrets: %q: %w", secretID, err)
		}
		lastRaw, last = raw, ks
		return ks, nil
	}
}
