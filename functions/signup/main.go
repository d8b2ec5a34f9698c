// Command signup is the Lambda behind POST /api/whatsapp/embedded-signup.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/app/signupapp"
)

func main() {
	h, err := signupapp.New(context.Background(), os.Getenv)
	if err != nil {
		// Failing init makes Lambda report the configuration error on
		// every invocation instead of serving wrong answers.
		fmt.Fprintln(os.Stderr, "signup: init:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
