// Package resumeapp wires the scheduled resume function, which re-drives
// verified signups that Plivo has not onboarded yet.
package resumeapp

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/app/signupapp"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Handler handles an EventBridge scheduled event.
type Handler func(ctx context.Context, ev events.EventBridgeEvent) (onboarding.ResumeReport, error)

// New builds the resume function's handler from its environment.
func New(_ context.Context, getenv config.Getenv) (Handler, error) {
	cfg, log, awsCfg, err := app.Load(getenv, config.LoadSignup)
	if err != nil {
		return nil, err
	}
	svc, _ := signupapp.NewService(cfg, clients.Deps{AWS: awsCfg, Logger: log, Metrics: app.Metrics(cfg.Common, "resume")})
	return func(ctx context.Context, ev events.EventBridgeEvent) (onboarding.ResumeReport, error) {
		runID := ev.ID
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			runID = lc.AwsRequestID
		}
		report, err := svc.Resume(ctx, cfg.ResumeBatchSize, runID)
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelError
		}
		log.Log(ctx, level, "resume run", "request_id", runID, "due", report.Due, "claimed", report.Claimed,
			"onboarded", report.Onboarded, "pending", report.Pending, "failed", report.Failed, "skipped", report.Skipped, "error", err)
		return report, err
	}, nil
}
