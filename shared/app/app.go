// Package app wires configuration, AWS clients and adapters into services,
// once per cold start. Function main packages call it and nothing else.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/meta"
	"github.com/techprovider/wa-onboarding/shared/metrics"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// Logger builds the JSON stdout logger of a function.
func Logger(c config.Common) *slog.Logger {
	return logging.New(os.Stdout, c.LogLevel)
}

// AWS loads the SDK configuration the standard way, so AWS_ENDPOINT_URL_*
// variables point clients at local emulators.
func AWS(ctx context.Context) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx)
}

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

func (d *Deps) defaults() {
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

// NewSignupService builds the signup/resume service from its configuration.
func NewSignupService(c config.Signup, d Deps) (*onboarding.Service, *secrets.Cache) {
	d.defaults()
	cache := secrets.NewCache(d.SecretsManager, c.SecretsTTL)
	metaApp := func(ctx context.Context) (secrets.MetaApp, error) { return cache.MetaApp(ctx, c.MetaSecretID) }
	svc := &onboarding.Service{
		Store: &dynamo.Store{Client: d.DynamoDB, Table: c.TableName},
		Meta: meta.New(meta.Config{
			BaseURL:    c.GraphURL,
			Version:    c.GraphVersion,
			HTTPClient: d.HTTP,
			App:        metaApp,
		}),
		Plivo: plivo.New(plivo.Config{
			BaseURL:    c.PlivoURL,
			HTTPClient: d.HTTP,
			Credentials: func(ctx context.Context, refresh bool) (secrets.PlivoCredentials, error) {
				return cache.Plivo(ctx, c.PlivoSecretID, refresh)
			},
		}),
		AppID: func(ctx context.Context) (string, error) {
			app, err := metaApp(ctx)
			if err != nil {
				return "", fmt.Errorf("load meta app secret: %w", err)
			}
			return app.AppID, nil
		},
		Policy:  c.Policy,
		Logger:  d.Logger,
		Metrics: d.Metrics,
	}
	return svc, cache
}

// NewStatusService builds a read-only service for the status function.
func NewStatusService(c config.Status, d Deps) *onboarding.Service {
	if d.DynamoDB == nil {
		d.DynamoDB = dynamodb.NewFromConfig(d.AWS)
	}
	return &onboarding.Service{
		Store:   &dynamo.Store{Client: d.DynamoDB, Table: c.TableName},
		Logger:  d.Logger,
		Metrics: d.Metrics,
	}
}

// Metrics returns the CloudWatch metrics recorder of a function: EMF lines
// on stdout, beside the logs.
func Metrics(c config.Common, function string) onboarding.Metrics {
	return &metrics.EMF{W: os.Stdout, Namespace: c.MetricsNamespace, Function: function}
}
