// Command callbacks is the Lambda behind POST (and GET) /webhooks/plivo/whatsapp: it
// verifies Plivo's WhatsApp callbacks and publishes each to the event bus
// once.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/eventbridge"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

func main() {
	// Configuration.
	cfg, log, awsCfg, err := app.Load(os.Getenv, config.LoadCallbacks)
	if err != nil {
		initFailed(err)
	}
	metrics := app.Metrics(cfg.Common, "callbacks")

	// Clients.
	db := dynamodb.NewFromConfig(awsCfg)
	cache := secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), cfg.SecretsTTL, secrets.WithStaleHook(app.SecretStaleHook(log, metrics)))
	bus := awseb.NewFromConfig(awsCfg)

	// Service.
	var dir callbacks.Directory = &dynamo.Store{Client: db, Table: cfg.TableName}
	if cfg.RouteCacheTTL > 0 {
		// Warm callbacks route from memory: no DynamoDB read.
		dir = &callbacks.RouteCache{Directory: dir, TTL: cfg.RouteCacheTTL, NegativeTTL: min(cfg.RouteCacheTTL, callbacks.DefaultNegativeRouteTTL)}
	}
	svc := &callbacks.Service{
		Directory: dir,
		Ledger:    &dynamo.CallbackLedger{Client: db, Table: cfg.DedupTableName},
		Publisher: &eventbridge.Publisher{Client: bus, Bus: cfg.EventBusName},
		Logger:    log,
		Metrics:   metrics,
		// The dedupe write costs more than the duplicates it prevents;
		// consumers dedupe on dedupe_key (docs/bench.md).
		NoDedupeWrite: !cfg.DedupeWrite,
	}
	receiver := &apigw.PlivoCallbacks{
		Service: svc,
		URL:     cfg.PublicURL,
		Token: func(ctx context.Context, refresh bool) (string, error) {
			creds, err := cache.Plivo(ctx, cfg.PlivoSecretID, refresh)
			return creds.AuthToken, err
		},
		Logger:   log,
		Metrics:  metrics,
		AcceptV2: cfg.AcceptV2,
		Nonces:   &dynamo.NonceLedger{Client: db, Table: cfg.DedupTableName},
	}

	lambda.Start(receiver.Handle)
}

// initFailed ends the init: Lambda then reports the configuration error on
// every invocation instead of serving wrong answers.
func initFailed(err error) {
	fmt.Fprintln(os.Stderr, "callbacks: init:", err)
	os.Exit(1)
}
