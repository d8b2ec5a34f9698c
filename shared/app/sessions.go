package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// init registers the sessions function from its own file, so adding it
// changed no other function's wiring.
func init() { HTTPFunctions["SessionsFunction"] = Sessions }

// Sessions builds the handler of POST /api/onboarding-sessions, which
// issues onboarding links to the Tech Provider's backend.
func Sessions(ctx context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, err := config.LoadSessions(getenv)
	if err != nil {
		return nil, err
	}
	log := Logger(cfg.Common)
	awsCfg, err := AWS(ctx)
	if err != nil {
		return nil, err
	}
	cache := secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), cfg.SecretsTTL)
	m := &session.Minter{Keys: SessionKeys(cache, cfg.SecretID), TTL: cfg.TTL}
	return apigw.SessionsHandler(m, cfg.PageURL, log), nil
}

// SignupSessions returns the signup's session check when SESSION_SECRET_ID
// is set, and nil (sessions not enforced) when it is empty. The keys come
// through cache, the signup's own secrets cache; spent tokens go to
// DEDUP_TABLE_NAME.
func SignupSessions(cfg config.Signup, awsCfg aws.Config, cache *secrets.Cache, log *slog.Logger) apigw.SessionCheck {
	if cfg.SessionSecretID == "" {
		return nil
	}
	c := &session.Checker{
		Verifier: &session.Verifier{Keys: SessionKeys(cache, cfg.SessionSecretID)},
		Ledger:   &dynamo.SessionLedger{Client: dynamodb.NewFromConfig(awsCfg), Table: cfg.DedupTableName},
		Logger:   log,
	}
	return c.Check
}

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
