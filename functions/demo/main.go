// Command demo is the Lambda behind the IAM-authorized App Review demo
// routes: POST /api/demo/messages, POST /api/demo/templates and
// GET /api/demo/templates/{waba_id}.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/demo"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

func main() {
	// Configuration.
	cfg, log, awsCfg, err := app.Load(os.Getenv, config.LoadDemo)
	if err != nil {
		initFailed(err)
	}

	// Clients.
	d := clients.Deps{AWS: awsCfg, Logger: log}
	d.Defaults()
	cache := secrets.NewCache(d.SecretsManager, cfg.SecretsTTL, secrets.WithStaleHook(app.SecretStaleHook(log, nil)))

	// Service. Its Plivo client records each exchange for callers that ask
	// with demo.WithTrace; here the tracing transport only passes calls
	// through.
	svc := &demo.Service{
		Records: &dynamo.Store{Client: d.DynamoDB, Table: cfg.TableName},
		Plivo: plivo.New(plivo.Config{
			BaseURL:     cfg.PlivoURL,
			HTTPClient:  demo.TracingClient(d.HTTP),
			Credentials: secrets.PlivoSource(cache, cfg.PlivoSecretID),
		}),
		Logger:       log,
		AllowedWABAs: cfg.AllowedWABAs,
	}

	lambda.Start(apigw.DemoHandler(svc, log))
}

// initFailed ends the init: Lambda then reports the configuration error on
// every invocation instead of serving wrong answers.
func initFailed(err error) {
	fmt.Fprintln(os.Stderr, "demo: init:", err)
	os.Exit(1)
}
