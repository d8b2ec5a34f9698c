package secretsmanagersim

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/infra/testenv"
)

// StartWithClient serves a new Server for the rest of the test and returns
// it with a real SDK client pointed at it through BaseEndpoint, so a test
// exercises the SDK's serialization and signing, not a stand-in for them.
// The client makes at most attempts tries per call: 1 keeps call counts
// exact.
func StartWithClient(t testing.TB, attempts int) (*Server, *secretsmanager.Client) {
	t.Helper()
	sim := New()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client := secretsmanager.NewFromConfig(aws.Config{
		Region:           testenv.Region,
		Credentials:      credentials.NewStaticCredentialsProvider(testenv.DummyAccessKeyID, testenv.DummySecretAccessKey, ""),
		RetryMaxAttempts: attempts,
	}, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	return sim, client
}
