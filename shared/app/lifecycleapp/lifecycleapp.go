// Package lifecycleapp wires the lifecycle function: the signup table's
// DynamoDB Stream in, lifecycle events on the Tech Provider's bus out.
package lifecycleapp

import (
	"context"

	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/lifecycle"
)

// New builds the stream handler from its environment.
func New(_ context.Context, getenv config.Getenv) (*lifecycle.Publisher, error) {
	cfg, log, awsCfg, err := app.Load(getenv, config.LoadLifecycle)
	if err != nil {
		return nil, err
	}
	return &lifecycle.Publisher{
		Bus:     awseb.NewFromConfig(awsCfg),
		BusName: cfg.EventBusName,
		Logger:  log,
		Metrics: app.Metrics(cfg.Common, "lifecycle"),
	}, nil
}
