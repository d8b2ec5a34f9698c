package app

import (
	"context"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/demo"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// init registers the demo function from its own file, so adding it changed
// no other function's wiring.
func init() { HTTPFunctions["DemoFunction"] = Demo }

// Demo builds the App Review demo function's handler: the IAM-authorized
// routes that send a message and create or list templates through Plivo.
func Demo(ctx context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, err := config.LoadDemo(getenv)
	if err != nil {
		return nil, err
	}
	log := Logger(cfg.Common)
	awsCfg, err := AWS(ctx)
	if err != nil {
		return nil, err
	}
	return demo.Handler(NewDemoService(cfg, Deps{AWS: awsCfg, Logger: log}), log), nil
}

// NewDemoService builds the demo service. Its Plivo client records each
// exchange for callers that ask with demo.WithTrace (the local operator
// console); otherwise the tracing transport only passes calls through.
func NewDemoService(c config.Demo, d Deps) *demo.Service {
	d.defaults()
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
