// Package demoapp wires the App Review demo function: the IAM-authorized
// routes that send a message and create or list templates through Plivo.
package demoapp

import (
	"context"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/demo"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// New builds the demo function's handler from its environment.
func New(_ context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, log, awsCfg, err := app.Load(getenv, config.LoadDemo)
	if err != nil {
		return nil, err
	}
	return demo.Handler(NewService(cfg, clients.Deps{AWS: awsCfg, Logger: log}), log), nil
}

// NewService builds the demo service. Its Plivo client records each
// exchange for callers that ask with demo.WithTrace (the local operator
// console); otherwise the tracing transport only passes calls through.
func NewService(c config.Demo, d clients.Deps) *demo.Service {
	d.Defaults()
	cache := secrets.NewCache(d.SecretsManager, c.SecretsTTL)
	return &demo.Service{
		Records: &dynamo.Store{Client: d.DynamoDB, Table: c.TableName},
		Plivo: plivo.New(plivo.Config{
			BaseURL:     c.PlivoURL,
			HTTPClient:  demo.TracingClient(d.HTTP),
			Credentials: secrets.PlivoSource(cache, c.PlivoSecretID),
		}),
		Logger: d.Logger,
	}
}
