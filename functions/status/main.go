// Command status is the Lambda behind GET /api/whatsapp/embedded-signup/{waba_id}.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/app/statusapp"
)

func main() {
	h, err := statusapp.New(context.Background(), os.Getenv)
	if err != nil {
		// Failing init makes Lambda report the configuration error on
		// every invocation instead of serving wrong answers.
		fmt.Fprintln(os.Stderr, "status: init:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
