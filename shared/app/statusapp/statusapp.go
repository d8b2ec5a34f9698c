// Package statusapp wires the status function: GET
// /api/whatsapp/embedded-signup/{waba_id}.
package statusapp

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/sessionsapp"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// New builds the status function's handler from its environment.
func New(_ context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, log, awsCfg, err := app.Load(getenv, config.LoadStatus)
	if err != nil {
		return nil, err
	}
	// Only a DynamoDB client: status reads records and nothing else, so it
	// does not use clients.Deps (which would link Secrets Manager too).
	svc := &onboarding.Service{
		Store:   &dynamo.Store{Client: dynamodb.NewFromConfig(awsCfg), Table: cfg.TableName},
		Logger:  log,
		Metrics: app.Metrics(cfg.Common, "status"),
	}
	return apigw.StatusHandlerWith(svc, Sessions(cfg, awsCfg), log), nil
}

// Sessions returns the check that lets a customer's own onboarding session
// see its signup's full record; nil (state only) without
// SESSION_SECRET_ID. Tokens are accepted up to apigw.StatusSessionGrace
// past their expiry: the page keeps polling while Plivo finishes.
func Sessions(cfg config.Status, awsCfg aws.Config) apigw.SessionClientRef {
	if cfg.SessionSecretID == "" {
		return nil
	}
	cache := secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), cfg.SecretsTTL)
	v := &session.Verifier{Keys: sessionsapp.Keys(cache, cfg.SessionSecretID), Leeway: apigw.StatusSessionGrace}
	return func(ctx context.Context, token string) (string, error) {
		c, err := v.Verify(ctx, token)
		return c.ClientRef, err
	}
}
