// Command lifecycle is the Lambda behind the signup table's DynamoDB
// Stream: it publishes every committed state change of a signup record to
// the event bus as whatsapp.onboarding.<state>.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/app/lifecycleapp"
)

func main() {
	p, err := lifecycleapp.New(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lifecycle: init:", err)
		os.Exit(1)
	}
	lambda.Start(p.Handle)
}
