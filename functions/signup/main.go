// Command signup is the Lambda behind POST /api/whatsapp/embedded-signup,
// and behind the onboarding page's link check: the function that spends
// session tokens is the one that already holds their keys and their ledger.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/meta"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/session"
)

func main() {
	// Configuration. Sessions are on unless SESSIONS=off outside prod, and
	// then their keys and their ledger (the dedup table) are required.
	cfg, log, awsCfg, err := app.Load(os.Getenv, config.LoadSignupFunction)
	if err != nil {
		initFailed(err)
	}

	// Clients: DynamoDB, Secrets Manager behind one cache, and one HTTP
	// client with a pool of keep-alive connections for Graph and Plivo.
	d := clients.Deps{AWS: awsCfg, Logger: log, Metrics: app.Metrics(cfg.Common, "signup")}
	d.Defaults()
	cache := secrets.NewCache(d.SecretsManager, cfg.SecretsTTL, secrets.WithStaleHook(app.SecretStaleHook(log, d.Metrics)))
	metaApp := secrets.MetaAppSource(cache, cfg.MetaSecretID)

	// Service.
	spent := &dynamo.SessionLedger{Client: d.DynamoDB, Table: cfg.DedupTableName}
	svc := &onboarding.Service{
		Store:    &dynamo.Store{Client: d.DynamoDB, Table: cfg.TableName},
		Sessions: spent,
		Meta: meta.New(meta.Config{
			BaseURL:    cfg.GraphURL,
			Version:    cfg.GraphVersion,
			HTTPClient: d.HTTP,
			App:        metaApp,
		}),
		Plivo: plivo.New(plivo.Config{
			BaseURL:     cfg.PlivoURL,
			HTTPClient:  d.HTTP,
			Credentials: secrets.PlivoSource(cache, cfg.PlivoSecretID),
		}),
		AppID: func(ctx context.Context) (string, error) {
			app, err := metaApp(ctx, false)
			if err != nil {
				return "", fmt.Errorf("load meta app secret: %w", err)
			}
			return app.AppID, nil
		},
		Policy:  cfg.Policy,
		Logger:  d.Logger,
		Metrics: d.Metrics,
	}
	// A cold signup's secrets load together; cached ones are skipped, and
	// the session keys' ID is empty when sessions are off.
	secretIDs := []string{cfg.SessionSecretID, cfg.MetaSecretID, cfg.PlivoSecretID}
	svc.Prepare = func(ctx context.Context) { cache.Preload(ctx, secretIDs...) }

	// Sessions: the signup only verifies the token here; the service spends
	// it in the dedup table before anything goes upstream. The link check
	// reads the same keys and ledger without spending. Without sessions
	// every link is usable.
	var sessions apigw.SessionCheck
	linkCheck := func(context.Context, string) (*onboarding.SessionUse, error) { return nil, nil }
	if cfg.SessionSecretID != "" {
		verifier := &session.Verifier{Keys: session.SecretKeys(cache, cfg.SessionSecretID)}
		sessions = (&session.Checker{Verifier: verifier, Logger: log}).Check
		linkCheck = (&session.LinkCheck{Verifier: verifier, Spent: spent}).Check
	}

	// Routes: the signup, and the page's link check.
	signup := apigw.SignupHandler(svc, sessions, log)
	links := apigw.LinkCheckHandler(linkCheck, log)
	lambda.Start(apigw.SignupRoutes(signup, links))
}

// initFailed ends the init: Lambda then reports the configuration error on
// every invocation instead of serving wrong answers.
func initFailed(err error) {
	fmt.Fprintln(os.Stderr, "signup: init:", err)
	os.Exit(1)
}
