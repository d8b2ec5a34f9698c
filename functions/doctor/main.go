// Command doctor is the Lambda an operator invokes to check a deployment:
// `aws lambda invoke --function-name <DoctorFunction> out.json` returns the
// doctor's JSON report. It has no HTTP route.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/app/doctorapp"
)

func main() {
	h, err := doctorapp.New(context.Background(), os.Getenv)
	if err != nil {
		// Failing init makes Lambda report the configuration error on
		// every invocation instead of a report that cannot be trusted.
		fmt.Fprintln(os.Stderr, "doctor: init:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
