// Command demo is the Lambda behind the IAM-authorized App Review demo
// routes: POST /api/demo/messages, POST /api/demo/templates and
// GET /api/demo/templates/{waba_id}.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/app/demoapp"
)

func main() {
	h, err := demoapp.New(context.Background(), os.Getenv)
	if err != nil {
		// Failing init makes Lambda report the configuration error on
		// every invocation instead of serving wrong answers.
		fmt.Fprintln(os.Stderr, "demo: init:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
