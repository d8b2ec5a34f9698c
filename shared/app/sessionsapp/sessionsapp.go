// Package sessionsapp wires the sessions function: POST
// /api/onboarding-sessions, which issues onboarding links to the Tech
// Provider's backend.
package sessionsapp

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// New builds the sessions function's handler from its environment.
func New(_ context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, err := config.LoadSessions(getenv)
	if err != nil {
		return nil, err
	}
	log := app.Logger(cfg.Common)
	awsCfg, err := app.AWS(getenv)
	if err != nil {
		return nil, err
	}
	cache := secrets.NewCache(secretsmanager.NewFromConfig(awsCfg), cfg.SecretsTTL)
	m := &session.Minter{Keys: clients.SessionKeys(cache, cfg.SecretID), TTL: cfg.TTL}
	return apigw.SessionsHandler(m, cfg.PageURL, log), nil
}
