// Package callbacksapp wires the callbacks function: POST
// /webhooks/plivo/whatsapp, which receives Plivo's WhatsApp callbacks and
// publishes them to the event bus.
package callbacksapp

import (
	"context"

	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/eventbridge"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/warmup"
)

// New builds the callbacks function's handler from its environment.
func New(ctx context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, log, awsCfg, err := app.Load(getenv, config.LoadCallbacks)
	if err != nil {
		return nil, err
	}
	deps := clients.Deps{AWS: awsCfg, Logger: log, Metrics: app.Metrics(cfg.Common, "callbacks")}
	deps.Defaults()
	bus := awseb.NewFromConfig(awsCfg)
	r := NewReceiver(cfg, deps, bus)
	busOpts := bus.Options()
	deps.Preconnect(ctx, getenv, func(ctx context.Context) error { _, err := r.Token(ctx, false); return err }, nil,
		warmup.Connect(busOpts.HTTPClient, warmup.AWSEndpoint(busOpts.BaseEndpoint, "events", busOpts.Region)))
	return r.Handle, nil
}

// NewReceiver builds the callback receiver from its configuration; bus
// defaults to an EventBridge client built from d.AWS.
func NewReceiver(c config.Callbacks, d clients.Deps, bus eventbridge.API) *callbacks.Receiver {
	d.Defaults()
	if bus == nil {
		bus = awseb.NewFromConfig(d.AWS)
	}
	cache := secrets.NewCache(d.SecretsManager, c.SecretsTTL)
	var dir callbacks.Directory = &dynamo.Store{Client: d.DynamoDB, Table: c.TableName}
	if c.RouteCacheTTL > 0 {
		// Warm callbacks route from memory: no DynamoDB read.
		dir = &callbacks.RouteCache{Directory: dir, TTL: c.RouteCacheTTL, NegativeTTL: min(c.RouteCacheTTL, callbacks.DefaultNegativeRouteTTL)}
	}
	svc := &callbacks.Service{
		Directory: dir,
		Ledger:    &dynamo.CallbackLedger{Client: d.DynamoDB, Table: c.DedupTableName},
		Publisher: &eventbridge.Publisher{Client: bus, Bus: c.EventBusName},
		Logger:    d.Logger,
		Metrics:   d.Metrics,
		// The dedupe write costs more than the duplicates it prevents;
		// consumers dedupe on dedupe_key (docs/bench.md).
		NoDedupeWrite: !c.DedupeWrite,
	}
	return &callbacks.Receiver{
		Service: svc,
		URL:     c.PublicURL,
		Token: func(ctx context.Context, refresh bool) (string, error) {
			creds, err := cache.Plivo(ctx, c.PlivoSecretID, refresh)
			return creds.AuthToken, err
		},
		Logger:   d.Logger,
		Metrics:  d.Metrics,
		AcceptV2: c.AcceptV2,
		Nonces:   &dynamo.NonceLedger{Client: d.DynamoDB, Table: c.DedupTableName},
	}
}
