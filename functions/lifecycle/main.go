// Command lifecycle is the Lambda behind the signup table's DynamoDB
// Stream: it publishes every committed state change of a signup record to
// the event bus as whatsapp.onboarding.<state>.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/lifecycle"
)

func main() {
	cfg, log, awsCfg, err := app.Load(os.Getenv, config.LoadLifecycle)
	if err != nil {
		initFailed(err)
	}
	publisher := &lifecycle.Publisher{
		Bus:     awseb.NewFromConfig(awsCfg),
		BusName: cfg.EventBusName,
		Logger:  log,
		Metrics: app.Metrics(cfg.Common, "lifecycle"),
	}
	lambda.Start(publisher.Handle)
}

// initFailed ends the init: Lambda then reports the configuration error on
// every invocation instead of serving wrong answers.
func initFailed(err error) {
	fmt.Fprintln(os.Stderr, "lifecycle: init:", err)
	os.Exit(1)
}
