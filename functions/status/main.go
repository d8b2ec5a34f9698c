// Command status is the Lambda behind GET /api/whatsapp/embedded-signup/{waba_id}.
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
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/session"
)

func main() {
	// Configuration.
	cfg, log, awsCfg, err := app.Load(os.Getenv, config.LoadStatus)
	if err != nil {
		initFailed(err)
	}
	metrics := app.Metrics(cfg.Common, "status")

	// Clients: DynamoDB, and Secrets Manager only for the session keys.
	store := &dynamo.Store{Client: dynamodb.NewFromConfig(awsCfg), Table: cfg.TableName}
	// A customer's own onboarding session sees its signup's full record;
	// without SESSION_SECRET_ID the answer is the state only. Tokens are
	// accepted up to apigw.StatusSessionGrace past their expiry: the page
	// keeps polling while Plivo finishes.
	var sessions apigw.SessionClientRef
	if cfg.SessionSecretID != "" {
		cache := secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), cfg.SecretsTTL, secrets.WithStaleHook(app.SecretStaleHook(log, metrics)))
		v := &session.Verifier{Keys: session.SecretKeys(cache, cfg.SessionSecretID), Leeway: apigw.StatusSessionGrace}
		sessions = func(ctx context.Context, token string) (string, error) {
			c, err := v.Verify(ctx, token)
			return c.ClientRef, err
		}
	}

	// Service.
	svc := &onboarding.Service{Store: store, Logger: log, Metrics: metrics}

	lambda.Start(apigw.StatusHandler(svc, sessions, log))
}

// initFailed ends the init: Lambda then reports the configuration error on
// every invocation instead of serving wrong answers.
func initFailed(err error) {
	fmt.Fprintln(os.Stderr, "status: init:", err)
	os.Exit(1)
}
