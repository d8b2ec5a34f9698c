// Package metawebhooksapp wires the metawebhooks function: GET and POST
// /webhooks/meta, Meta's verification handshake and signed WhatsApp
// Business Account notifications.
package metawebhooksapp

import (
	"context"
	"fmt"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// New builds the function's handler from its environment.
func New(_ context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, log, awsCfg, err := app.Load(getenv, config.LoadMetaWebhooks)
	if err != nil {
		return nil, err
	}
	r := NewReceiver(cfg, clients.Deps{AWS: awsCfg, Logger: log, Metrics: app.Metrics(cfg.Common, "metawebhooks")})
	return r.Handle, nil
}

// NewReceiver builds the receiver from its configuration.
func NewReceiver(c config.MetaWebhooks, d clients.Deps) *metawebhooks.Receiver {
	d.Defaults()
	cache := secrets.NewCache(d.SecretsManager, c.SecretsTTL)
	store := &dynamo.Store{Client: d.DynamoDB, Table: c.TableName}
	return &metawebhooks.Receiver{
		Service: &metawebhooks.Service{
			Records: store,
			Ledger:  &dynamo.CallbackLedger{Client: d.DynamoDB, Table: c.DedupTableName},
			Logger:  d.Logger,
			Metrics: d.Metrics,
		},
		AppSecret: func(ctx context.Context, refresh bool) (string, error) {
			get := cache.Get
			if refresh {
				get = cache.Refresh
			}
			raw, err := get(ctx, c.MetaSecretID)
			if err != nil {
				return "", err
			}
			m, err := secrets.ParseMetaApp(raw)
			return m.AppSecret, err
		},
		VerifyToken: func(ctx context.Context) (string, error) {
			raw, err := cache.Get(ctx, c.VerifyTokenSecretID)
			if err != nil {
				return "", err
			}
			token, err := secrets.ParseVerifyToken(raw)
			if err != nil {
				return "", fmt.Errorf("%s: %w", config.EnvMetaVerifyTokenSecretID, err)
			}
			return token, nil
		},
		Logger:  d.Logger,
		Metrics: d.Metrics,
	}
}
