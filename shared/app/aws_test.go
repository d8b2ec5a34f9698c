package app_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/config"
)

// lambdaEnv is what Lambda sets in every execution environment, plus extra.
func lambdaEnv(extra map[string]string) func(string) string {
	m := map[string]string{
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "ASIAEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "secret-example",
		"AWS_SESSION_TOKEN":     "session-example",
	}
	for k, v := range extra {
		if v == "-" {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func TestAWSFromLambdaEnvironment(t *testing.T) {
	t.Parallel()
	cfg, err := app.AWS(lambdaEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" || creds.AccessKeyID != "ASIAEXAMPLE" || creds.SecretAccessKey != "secret-example" || creds.SessionToken != "session-example" {
		t.Fatalf("config %q, credentials %+v", cfg.Region, creds)
	}

	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		region  string
	}{
		{name: "AWS_DEFAULT_REGION when AWS_REGION is unset", env: map[string]string{"AWS_REGION": "-", "AWS_DEFAULT_REGION": "us-west-2"}, region: "us-west-2"},
		{name: "no region", env: map[string]string{"AWS_REGION": "-"}, wantErr: "AWS_REGION"},
		{name: "no key", env: map[string]string{"AWS_ACCESS_KEY_ID": "-"}, wantErr: "AWS_ACCESS_KEY_ID"},
		{name: "no secret", env: map[string]string{"AWS_SECRET_ACCESS_KEY": "-"}, wantErr: "AWS_SECRET_ACCESS_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := app.AWS(lambdaEnv(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret-example") {
					t.Fatal("the error quotes the secret key")
				}
				return
			}
			if err != nil || cfg.Region != tt.region {
				t.Fatalf("region %q, err %v", cfg.Region, err)
			}
		})
	}
}

// TestAWSEndpoints builds real SDK clients from the configuration and reads
// the endpoint each resolved: the standard variables point them at local
// emulators.
func TestAWSEndpoints(t *testing.T) {
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_EVENTBRIDGE"} {
		if _, set := os.LookupEnv(k); set {
			// The SDK's clients also consult the process environment.
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	tests := []struct {
		name                 string
		env                  map[string]string
		dynamo, secrets, bus string
	}{
		{name: "none: the SDK's own endpoints"},
		{
			name:   "one per service",
			env:    map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:9000", "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:9100"},
			dynamo: "http://127.0.0.1:8000", secrets: "http://127.0.0.1:9000", bus: "http://127.0.0.1:9100",
		},
		{
			name:   "the global one where a service has none",
			env:    map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"},
			dynamo: "http://127.0.0.1:8000", secrets: "http://127.0.0.1:4566", bus: "http://127.0.0.1:4566",
		},
		{
			name: "ignored on request",
			env:  map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := app.AWS(lambdaEnv(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			got := []string{
				aws.ToString(dynamodb.NewFromConfig(cfg).Options().BaseEndpoint),
				aws.ToString(secretsmanager.NewFromConfig(cfg).Options().BaseEndpoint),
				aws.ToString(eventbridge.NewFromConfig(cfg).Options().BaseEndpoint),
			}
			want := []string{tt.dynamo, tt.secrets, tt.bus}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("endpoints %q, want %q", got, want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	errConfig := errors.New("TABLE_NAME is required")
	tests := []struct {
		name    string
		env     map[string]string
		loadErr error
		wantErr string
	}{
		{name: "configured", env: nil},
		{name: "configuration refused", loadErr: errConfig, wantErr: "TABLE_NAME"},
		{name: "no AWS region", env: map[string]string{"AWS_REGION": "-"}, wantErr: "AWS_REGION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			load := func(getenv config.Getenv) (config.Status, error) {
				return config.Status{Common: config.Common{LogLevel: "WARN"}, TableName: "t"}, tt.loadErr
			}
			cfg, log, awsCfg, err := app.Load(lambdaEnv(tt.env), load)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || log != nil {
					t.Fatalf("err = %v, logger %v; want an error naming %s and no logger", err, log, tt.wantErr)
				}
				return
			}
			if err != nil || cfg.TableName != "t" || log == nil || awsCfg.Region != "eu-west-1" {
				t.Fatalf("Load = %+v, %v, %q, %v", cfg, log, awsCfg.Region, err)
			}
		})
	}
}
