package app

import (
	"context"
	"os"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/config"
)

// HTTPFunction builds one HTTP API function's handler from its environment.
// main.go of each function and the local stack call the same builder, so
// what runs locally is what runs in Lambda.
type HTTPFunction func(ctx context.Context, getenv config.Getenv) (apigw.Handler, error)

// HTTPFunctions maps template.yaml logical IDs to their builders.
var HTTPFunctions = map[string]HTTPFunction{
	"SignupFunction": Signup,
	"StatusFunction": Status,
}

// Signup builds the signup function's handler.
func Signup(ctx context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, err := config.LoadSignup(getenv)
	if err != nil {
		return nil, err
	}
	log := Logger(cfg.Common)
	awsCfg, err := AWS(ctx)
	if err != nil {
		return nil, err
	}
	svc, cache := NewSignupService(cfg, Deps{AWS: awsCfg, Logger: log, Metrics: Metrics(cfg.Common, "signup")})
	return apigw.SignupHandler(svc, SignupSessions(cfg, awsCfg, cache, log), log), nil
}

// Status builds the status function's handler.
func Status(ctx context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, err := config.LoadStatus(getenv)
	if err != nil {
		return nil, err
	}
	log := Logger(cfg.Common)
	awsCfg, err := AWS(ctx)
	if err != nil {
		return nil, err
	}
	return apigw.StatusHandler(NewStatusService(cfg, Deps{AWS: awsCfg, Logger: log, Metrics: Metrics(cfg.Common, "status")}), log), nil
}

// Getenv is the process environment.
var Getenv config.Getenv = os.Getenv
