// Package app holds what every function's wiring shares: the logger, the
// metrics writer and the AWS configuration read from Lambda's environment
// (shared/app/clients has the clients only some of them need). Each
// function's wiring is in its functions/<name>/main.go, and every tool
// runs that built binary, so a binary links and initialises only what its
// function uses.
package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/metrics"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// newLogger builds the JSON stdout logger of a function.
func newLogger(c config.Common) *slog.Logger {
	return logging.New(os.Stdout, c.LogLevel)
}

// Config is a function's configuration: every one embeds config.Common.
type Config interface{ CommonConfig() config.Common }

// Load is how every function's wiring starts: it reads the configuration
// with load, then builds the logger and the AWS configuration.
func Load[C Config](getenv config.Getenv, load func(config.Getenv) (C, error)) (C, *slog.Logger, aws.Config, error) {
	cfg, err := load(getenv)
	if err != nil {
		return cfg, nil, aws.Config{}, err
	}
	awsCfg, err := AWS(getenv)
	if err != nil {
		return cfg, nil, aws.Config{}, err
	}
	return cfg, newLogger(cfg.CommonConfig()), awsCfg, nil
}

// AWS builds the SDK configuration from the variables Lambda sets in every
// execution environment: AWS_REGION (or AWS_DEFAULT_REGION) and the role's
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. The SDK's
// config.LoadDefaultConfig would also find them, but it links and starts
// every other credential source (profiles, SSO, STS, IMDS), which doubled
// the binaries and the cold start for a chain Lambda never walks.
//
// The standard AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> variables
// are honoured (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), so local
// runs and tests point the clients at DynamoDB Local and the simulators.
func AWS(getenv config.Getenv) (aws.Config, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("app: AWS_REGION is not set")
	}
	keyID, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if keyID == "" || secret == "" {
		return aws.Config{}, errors.New("app: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the function's role)")
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(keyID, secret, getenv("AWS_SESSION_TOKEN"))),
	}
	endpoints := envEndpoints(getenv)
	if u := endpoints.global(); u != "" {
		cfg.BaseEndpoint = aws.String(u)
	}
	cfg.ConfigSources = []any{endpoints}
	return cfg, nil
}

// envEndpoints resolves the SDK's service endpoint variables through getenv.
// Service clients built from a config that lists it among ConfigSources ask
// it for their base endpoint.
type envEndpoints config.Getenv

func (e envEndpoints) ignored() bool {
	return strings.EqualFold(e("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true")
}

func (e envEndpoints) global() string {
	if e.ignored() {
		return ""
	}
	return e("AWS_ENDPOINT_URL")
}

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<SDK ID> (the SDK ID
// upper-cased, spaces as underscores: DYNAMODB, SECRETS_MANAGER,
// EVENTBRIDGE), falling back to AWS_ENDPOINT_URL.
func (e envEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if e.ignored() {
		return "", false, nil
	}
	name := "AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_"))
	if u := e(name); u != "" {
		return u, true, nil
	}
	if u := e("AWS_ENDPOINT_URL"); u != "" {
		return u, true, nil
	}
	return "", false, nil
}

// Metrics returns the CloudWatch metrics recorder of a function: EMF lines
// on stdout, beside the logs.
func Metrics(c config.Common, function string) onboarding.Metrics {
	return &metrics.EMF{W: os.Stdout, Namespace: c.MetricsNamespace, Function: function}
}

// MetricSecretStaleServed counts each read of a secret a function answered
// from its cache past SECRETS_TTL because Secrets Manager failed to return
// the secret again (shared/secrets: Cache.Get).
const MetricSecretStaleServed = "SecretStaleServed"

// SecretStaleHook is the hook a function gives its secrets cache
// (secrets.WithStaleHook): a WARN line naming the secret and the error,
// never the value, and a count of MetricSecretStaleServed in m, which may be
// nil for a function that writes no metrics. The request goes on with the
// stale value, so this is a warning of an outage, not a failure.
func SecretStaleHook(log *slog.Logger, m onboarding.Metrics) func(secretID string, err error) {
	m = onboarding.MetricsOrNop(m)
	return func(secretID string, err error) {
		log.Warn("secret served stale after a failed refresh", "secret_id", secretID, "error", err)
		m.Count(MetricSecretStaleServed, nil)
	}
}
