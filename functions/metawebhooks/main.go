// Command metawebhooks is the Lambda behind GET and POST /webhooks/meta:
// Meta's verification handshake, and the signed WhatsApp Business Account
// webhooks (account_update, phone number quality and name) that change the
// signup records after the signup.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

func main() {
	// Configuration.
	cfg, log, awsCfg, err := app.Load(os.Getenv, config.LoadMetaWebhooks)
	if err != nil {
		initFailed(err)
	}
	metrics := app.Metrics(cfg.Common, "metawebhooks")

	// Clients.
	db := dynamodb.NewFromConfig(awsCfg)
	cache := secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), cfg.SecretsTTL, secrets.WithStaleHook(app.SecretStaleHook(log, metrics)))

	// Service.
	receiver := &apigw.MetaWebhooks{
		Service: &metawebhooks.Service{
			Records: &dynamo.Store{Client: db, Table: cfg.TableName},
			Ledger:  &dynamo.CallbackLedger{Client: db, Table: cfg.DedupTableName},
			Logger:  log,
			Metrics: metrics,
			AppID:   cfg.MetaAppID,
		},
		AppSecret: func(ctx context.Context, refresh bool) (string, error) {
			app, err := cache.MetaApp(ctx, cfg.MetaSecretID, refresh)
			return app.AppSecret, err
		},
		VerifyToken: func(ctx context.Context, refresh bool) (string, error) {
			return cache.VerifyToken(ctx, cfg.VerifyTokenSecretID, refresh)
		},
		Logger:  log,
		Metrics: metrics,
	}

	lambda.Start(receiver.Handle)
}

// initFailed ends the init: Lambda then reports the configuration error on
// every invocation instead of serving wrong answers.
func initFailed(err error) {
	fmt.Fprintln(os.Stderr, "metawebhooks: init:", err)
	os.Exit(1)
}
