// Package clients builds the collaborators the functions' services share:
// the AWS service clients and the HTTP client of Meta and Plivo. It is apart
// from package app so that a function that needs none of them (status,
// page) does not link and initialise the Secrets Manager client.
package clients

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// upstreamHTTPClient is shared by the Meta and Plivo clients: one pool of
// keep-alive connections per execution environment. Its 10 s bound is
// also Plivo's, below plivo.DefaultTimeout on purpose: a signup whose
// Plivo call hangs still has time, within the function's 25 s, for a
// second call, which finds the WABA onboarded by the first and reconciles
// (infra/e2e/binaries TestLostPlivoResponseIsReconciled).
func upstreamHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, Timeout: 10 * time.Second}
}

// Deps are the collaborators of the signup service that tests and the local
// stack may replace.
type Deps struct {
	AWS     aws.Config
	Logger  *slog.Logger
	Metrics onboarding.Metrics
	HTTP    *http.Client
	// DynamoDB and SecretsManager default to clients built from AWS.
	DynamoDB       dynamo.API
	SecretsManager secrets.Client
}

// Defaults fills in the collaborators left nil.
func (d *Deps) Defaults() {
	if d.HTTP == nil {
		d.HTTP = upstreamHTTPClient()
	}
	if d.DynamoDB == nil {
		d.DynamoDB = dynamodb.NewFromConfig(d.AWS)
	}
	if d.SecretsManager == nil {
		d.SecretsManager = secretsmanager.NewFromConfig(d.AWS)
	}
}
