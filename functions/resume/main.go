// Command resume is the scheduled Lambda that re-drives verified signups Plivo has not onboarded yet.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/app/resumeapp"
)

func main() {
	h, err := resumeapp.New(context.Background(), os.Getenv)
	if err != nil {
		// Failing init makes Lambda report the configuration error on
		// every invocation instead of serving wrong answers.
		fmt.Fprintln(os.Stderr, "resume: init:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
