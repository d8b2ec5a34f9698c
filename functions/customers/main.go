// Command customers is the Lambda behind GET
// /api/customers/{client_ref}/whatsapp (AWS_IAM): one Tech Provider
// customer's WABAs and numbers, with state, health and last error.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/app/customersapp"
)

func main() {
	h, err := customersapp.New(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "customers: init:", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
