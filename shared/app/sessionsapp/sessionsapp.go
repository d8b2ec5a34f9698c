// Package sessionsapp wires the sessions function: POST
// /api/onboarding-sessions, which issues onboarding links to the Tech
// Provider's backend.
package sessionsapp

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// New builds the sessions function's handler from its environment.
func New(_ context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, log, awsCfg, err := app.Load(getenv, config.LoadSessions)
	if err != nil {
		return nil, err
	}
	cache := secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), cfg.SecretsTTL)
	m := &session.Minter{Keys: Keys(cache, cfg.SecretID), TTL: cfg.TTL}
	return apigw.SessionsHandler(m, cfg.PageURL, log), nil
}

// Keys reads the session signing keys from secretID through cache;
// refresh bypasses the cache (see session.KeySource). The keyset parsed
// last is kept, so a warm function parses the secret once per value.
func Keys(cache *secrets.Cache, secretID string) session.KeySource {
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
