// Command sessions is the Lambda behind POST /api/onboarding-sessions: the
// Tech Provider's backend (AWS_IAM-authorized) gets an onboarding link that
// binds a signup to one of its customers.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/session"
)

func main() {
	// Configuration.
	cfg, log, awsCfg, err := app.Load(os.Getenv, config.LoadSessions)
	if err != nil {
		initFailed(err)
	}

	// Clients: Secrets Manager, for the signing keys only.
	cache := secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), cfg.SecretsTTL, secrets.WithStaleHook(app.SecretStaleHook(log, nil)))

	// Service: the minter signs links with the keyset's primary key.
	minter := &session.Minter{Keys: session.SecretKeys(cache, cfg.SecretID), TTL: cfg.TTL}

	lambda.Start(apigw.SessionsHandler(minter, cfg.PageURL, log))
}

// initFailed ends the init: Lambda then reports the configuration error on
// every invocation instead of serving wrong answers.
func initFailed(err error) {
	fmt.Fprintln(os.Stderr, "sessions: init:", err)
	os.Exit(1)
}
