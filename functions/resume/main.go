// Command resume is the scheduled Lambda that re-drives verified signups
// Plivo has not onboarded yet, and lifts the restrictions whose end has come.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

func main() {
	// Configuration: the signup's, whose service it re-drives.
	cfg, log, awsCfg, err := app.Load(os.Getenv, config.LoadSignup)
	if err != nil {
		initFailed(err)
	}

	// Clients. Resuming reads and writes the records and calls Plivo; it
	// never talks to Meta, and its role is not granted the Meta app secret.
	d := clients.Deps{AWS: awsCfg, Logger: log, Metrics: app.Metrics(cfg.Common, "resume")}
	d.Defaults()
	cache := secrets.NewCache(d.SecretsManager, cfg.SecretsTTL, secrets.WithStaleHook(app.SecretStaleHook(log, d.Metrics)))

	// Service: the signup's, with only what a resume uses.
	svc := &onboarding.Service{
		Store: &dynamo.Store{Client: d.DynamoDB, Table: cfg.TableName},
		Plivo: plivo.New(plivo.Config{
			BaseURL:     cfg.PlivoURL,
			HTTPClient:  d.HTTP,
			Credentials: secrets.PlivoSource(cache, cfg.PlivoSecretID),
		}),
		Policy:  cfg.Policy,
		Logger:  d.Logger,
		Metrics: d.Metrics,
	}

	// The schedule's input says nothing a run needs, so the handler takes
	// none: whatever a schedule or an operator sends, the run goes ahead.
	lambda.Start(func(ctx context.Context) (onboarding.ResumeReport, error) {
		var runID string
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			runID = lc.AwsRequestID
		}
		report, err := svc.Resume(ctx, cfg.ResumeBatchSize, runID)
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelError
		}
		log.Log(ctx, level, "resume run", "request_id", runID, "due", report.Due, "claimed", report.Claimed,
			"onboarded", report.Onboarded, "pending", report.Pending, "failed", report.Failed, "skipped", report.Skipped,
			"lifted", report.Lifted, "error", err)
		return report, err
	})
}

// initFailed ends the init: Lambda then reports the configuration error on
// every invocation instead of serving wrong answers.
func initFailed(err error) {
	fmt.Fprintln(os.Stderr, "resume: init:", err)
	os.Exit(1)
}
