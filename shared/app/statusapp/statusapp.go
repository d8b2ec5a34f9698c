// Package statusapp wires the status function: GET
// /api/whatsapp/embedded-signup/{waba_id}.
package statusapp

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
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
	return apigw.StatusHandler(svc, log), nil
}
