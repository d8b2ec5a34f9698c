// Command metawebhooks is the Lambda behind GET and POST /webhooks/meta:
// Meta's verification handshake, and the signed WhatsApp Business Account
// webhooks (account_update, phone number quality and name) that change the
// signup records after the signup.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/app/metawebhooksapp"
)

func main() {
	h, err := metawebhooksapp.New(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "metawebhooks: init:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
