// Command callbacks is the Lambda behind POST /webhooks/plivo/whatsapp: it
// verifies Plivo's WhatsApp callbacks and publishes each to the event bus
// once.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/app/callbacksapp"
)

func main() {
	h, err := callbacksapp.New(context.Background(), os.Getenv)
	if err != nil {
		// Failing init makes Lambda report the configuration error on
		// every invocation instead of refusing every callback as unsigned.
		fmt.Fprintln(os.Stderr, "callbacks: init:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
