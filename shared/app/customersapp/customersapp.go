// Package customersapp wires the customers function: GET
// /api/customers/{client_ref}/whatsapp.
package customersapp

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
)

// New builds the function's handler from its environment.
func New(_ context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, log, awsCfg, err := app.Load(getenv, config.LoadCustomers)
	if err != nil {
		return nil, err
	}
	return apigw.CustomersHandler(&dynamo.Store{Client: dynamodb.NewFromConfig(awsCfg), Table: cfg.TableName}, log), nil
}
