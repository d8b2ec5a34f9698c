// Command customers is the Lambda behind GET
// /api/customers/{client_ref}/whatsapp (AWS_IAM): one Tech Provider
// customer's WABAs and numbers, with state, health and last error.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
)

func main() {
	cfg, log, awsCfg, err := app.Load(os.Getenv, config.LoadCustomers)
	if err != nil {
		initFailed(err)
	}
	store := &dynamo.Store{Client: dynamodb.NewFromConfig(awsCfg), Table: cfg.TableName}
	lambda.Start(apigw.CustomersHandler(store, log))
}

// initFailed ends the init: Lambda then reports the configuration error on
// every invocation instead of serving wrong answers.
func initFailed(err error) {
	fmt.Fprintln(os.Stderr, "customers: init:", err)
	os.Exit(1)
}
