package clients

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// countingTLSServer counts the TLS connections it accepts.
func countingTLSServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// With PRECONNECT=on, init opens one connection to DynamoDB, one to Secrets
// Manager (no secrets task given) and one to each upstream; with it unset,
// none.
func TestPreconnectOpensEachClientsConnection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		preconnect string
		want       int32
	}{{"on", 1}, {"", 0}, {"off", 0}} {
		t.Run("PRECONNECT="+tc.preconnect, func(t *testing.T) {
			t.Parallel()
			dynamo, dynamoConns := countingTLSServer(t)
			sm, smConns := countingTLSServer(t)
			graph, graphConns := countingTLSServer(t)
			d := Deps{
				AWS: aws.Config{
					Region:      "eu-west-1",
					Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret-example", ""),
					HTTPClient:  dynamo.Client(), // trusts httptest's certificate, shared by both servers
				},
				HTTP: graph.Client(),
			}
			d.Defaults()
			// Point the SDK clients at the stand-ins as AWS_ENDPOINT_URL_* would.
			d.AWS.BaseEndpoint = aws.String(dynamo.URL)
			d.DynamoDB = nil
			d.Defaults()
			smCfg := d.AWS.Copy()
			smCfg.BaseEndpoint = aws.String(sm.URL)
			d.SecretsManager = secretsmanager.NewFromConfig(smCfg)

			getenv := func(k string) string {
				if k == "PRECONNECT" {
					return tc.preconnect
				}
				return ""
			}
			d.Preconnect(context.Background(), getenv, nil, []string{graph.URL + "/v23.0"})
			for name, n := range map[string]*atomic.Int32{"DynamoDB": dynamoConns, "Secrets Manager": smConns, "Graph": graphConns} {
				if got := n.Load(); got != tc.want {
					t.Errorf("%s: %d connections opened, want %d", name, got, tc.want)
				}
			}
		})
	}
}
