// Package clients builds the collaborators the functions' services share:
// the AWS service clients and the HTTP client of Meta and Plivo. It is apart
// from package app so that a function that needs none of them (status,
// page) does not link and initialise the Secrets Manager client.
package clients

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/warmup"
)

// upstreamHTTPClient is shared by the Meta and Plivo clients: one pool of
// keep-alive connections per execution environment.
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

// Preconnect warms, during init and when PRECONNECT allows it, what a cold
// first request would otherwise open in sequence: a connection of d's
// DynamoDB client, one of d.HTTP to each upstream (Graph, Plivo), the
// extra tasks (another AWS client's connection), and secrets, which loads the secrets the first request reads; when secrets
// is nil, a bare connection of d's Secrets Manager client stands for it.
// All run concurrently within warmup.DefaultTimeout and never fail init.
// Call it after Defaults.
func (d Deps) Preconnect(ctx context.Context, getenv func(string) string, secrets warmup.Task, upstreams []string, extra ...warmup.Task) {
	if !warmup.Enabled(getenv) {
		return
	}
	tasks := append([]warmup.Task{secrets}, extra...)
	if c, ok := d.DynamoDB.(*dynamodb.Client); ok {
		o := c.Options()
		tasks = append(tasks, warmup.Connect(o.HTTPClient, warmup.AWSEndpoint(o.BaseEndpoint, "dynamodb", o.Region)))
	}
	if c, ok := d.SecretsManager.(*secretsmanager.Client); ok && secrets == nil {
		o := c.Options()
		tasks = append(tasks, warmup.Connect(o.HTTPClient, warmup.AWSEndpoint(o.BaseEndpoint, "secretsmanager", o.Region)))
	}
	for _, u := range upstreams {
		tasks = append(tasks, warmup.Connect(d.HTTP, u))
	}
	warmup.Run(ctx, warmup.DefaultTimeout, d.Logger, tasks...)
}
