// Command page is the Lambda behind GET / : the onboarding page that
// launches WhatsApp Embedded Signup, and its static assets.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/app/pageapp"
)

func main() {
	h, err := pageapp.New(context.Background(), os.Getenv)
	if err != nil {
		// Failing init makes Lambda report the configuration error on
		// every invocation instead of serving a page that cannot work.
		fmt.Fprintln(os.Stderr, "page: init:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
