// Package signupapp wires the signup function: POST
// /api/whatsapp/embedded-signup.
package signupapp

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/meta"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// New builds the signup function's handler from its environment.
func New(ctx context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, log, awsCfg, err := app.Load(getenv, config.LoadSignupFunction)
	if err != nil {
		return nil, err
	}
	d := clients.Deps{AWS: awsCfg, Logger: log, Metrics: app.Metrics(cfg.Common, "signup")}
	d.Defaults()
	svc, cache := NewService(cfg, d)
	d.Preconnect(ctx, getenv, func(ctx context.Context) error { svc.Prepare(ctx); return nil }, []string{cfg.GraphURL, cfg.PlivoURL})
	return withLinkCheck(apigw.SignupHandler(svc, Sessions(cfg, cache, log), log), cfg, cache, d, log), nil
}

// Sessions returns the signup's session check when SESSION_SECRET_ID is
// set, and nil (sessions not enforced) when it is empty, which
// config.LoadSignupFunction allows only with SESSIONS=off outside prod. The keys come
// through cache, the signup's own secrets cache. The check only verifies:
// the service spends the token in DEDUP_TABLE_NAME before anything goes
// upstream (see NewService).
func Sessions(cfg config.Signup, cache *secrets.Cache, log *slog.Logger) apigw.SessionCheck {
	if cfg.SessionSecretID == "" {
		return nil
	}
	c := &session.Checker{
		Verifier: &session.Verifier{Keys: session.SecretKeys(cache, cfg.SessionSecretID)},
		Logger:   log,
	}
	return c.Check
}

// NewService builds the signup service from its configuration: for the
// function, and for the benchmark that drives it in process.
func NewService(c config.Signup, d clients.Deps) (*onboarding.Service, *secrets.Cache) {
	d.Defaults()
	cache := secrets.NewCache(d.SecretsManager, c.SecretsTTL)
	metaApp := func(ctx context.Context) (secrets.MetaApp, error) { return cache.MetaApp(ctx, c.MetaSecretID) }
	svc := &onboarding.Service{
		Store:    &dynamo.Store{Client: d.DynamoDB, Table: c.TableName, SessionTable: c.DedupTableName},
		Sessions: &dynamo.SessionLedger{Client: d.DynamoDB, Table: c.DedupTableName},
		Meta: meta.New(meta.Config{
			BaseURL:    c.GraphURL,
			Version:    c.GraphVersion,
			HTTPClient: d.HTTP,
			App:        metaApp,
		}),
		Plivo: plivo.New(plivo.Config{
			BaseURL:    c.PlivoURL,
			HTTPClient: d.HTTP,
			Credentials: func(ctx context.Context, refresh bool) (secrets.PlivoCredentials, error) {
				return cache.Plivo(ctx, c.PlivoSecretID, refresh)
			},
		}),
		AppID: func(ctx context.Context) (string, error) {
			app, err := metaApp(ctx)
			if err != nil {
				return "", fmt.Errorf("load meta app secret: %w", err)
			}
			return app.AppID, nil
		},
		Policy:  c.Policy,
		Logger:  d.Logger,
		Metrics: d.Metrics,
	}
	// A cold signup's three secrets load together (cached ones are skipped;
	// the session keys' ID is empty when sessions are off).
	secretIDs := []string{c.SessionSecretID, c.MetaSecretID, c.PlivoSecretID}
	svc.Prepare = func(ctx context.Context) { cache.Preload(ctx, secretIDs...) }
	return svc, cache
}
