package app

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// ScheduledHandler handles an EventBridge scheduled event.
type ScheduledHandler func(ctx context.Context, ev events.EventBridgeEvent) (onboarding.ResumeReport, error)

// ScheduledFunctions maps template logical IDs of scheduled functions to
// their builders; the local stack runs them on a ticker.
var ScheduledFunctions = map[string]func(ctx context.Context, getenv config.Getenv) (ScheduledHandler, error){
	"ResumeFunction": Resume,
}

// Resume builds the resume function's handler: each run re-drives verified
// signups that Plivo has not onboarded yet.
func Resume(ctx context.Context, getenv config.Getenv) (ScheduledHandler, error) {
	cfg, err := config.LoadSignup(getenv)
	if err != nil {
		return nil, err
	}
	log := Logger(cfg.Common)
	awsCfg, err := AWS(ctx)
	if err != nil {
		return nil, err
	}
	svc, _ := NewSignupService(cfg, Deps{AWS: awsCfg, Logger: log, Metrics: Metrics(cfg.Common, "resume")})
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
