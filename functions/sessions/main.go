// Command sessions is the Lambda behind POST /api/onboarding-sessions: the
// Tech Provider's backend (AWS_IAM-authorized) gets an onboarding link that
// binds a signup to one of its customers.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/app/sessionsapp"
)

func main() {
	h, err := sessionsapp.New(context.Background(), os.Getenv)
	if err != nil {
		// Failing init makes Lambda report the configuration error on
		// every invocation instead of serving wrong answers.
		fmt.Fprintln(os.Stderr, "sessions: init:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
