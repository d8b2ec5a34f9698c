package binaries

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// handshakeEvent is Meta's verification request, GET /webhooks/meta with
// the hub.* query parameters, as API Gateway hands it to the function.
func handshakeEvent(t *testing.T, query map[string]string) []byte {
	t.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "GET /webhooks/meta", RawPath: "/webhooks/meta", QueryStringParameters: query,
		Headers: map[string]string{"user-agent": "facebookplatform/1.0 (+http://developers.facebook.com)"},
	}
	var raw []string
	for k, v := range query {
		raw = append(raw, k+"="+v)
	}
	ev.RawQueryString = strings.Join(raw, "&")
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = http.MethodGet, "/webhooks/meta"
	ev.RequestContext.RequestID, ev.RequestContext.RouteKey = "handshake", ev.RouteKey
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWebhookVerificationHandshake runs Meta's subscription handshake
// against the real metawebhooks binary. The verify token is the one the
// template generates into MetaWebhookVerifyTokenSecret, read back from the
// Secrets Manager simulator the way an operator copies it into Meta's App
// Dashboard. Meta's request with that token gets hub.challenge back as
// plain text; any other request is refused and the token is never logged.
func TestWebhookVerificationHandshake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := privateStack(ctx, t)
	arn := s.SecretARNs["MetaWebhookVerifyTokenSecret"]
	if arn == "" {
		t.Fatal("the template has no MetaWebhookVerifyTokenSecret")
	}
	srv := httptest.NewServer(s.Secrets)
	defer srv.Close()
	sm := secretsmanager.New(secretsmanager.Options{
		Region: testenv.Region, BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(testenv.DummyAccessKeyID, testenv.DummySecretAccessKey, ""),
	})
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	var secret struct {
		VerifyToken string `json:"verify_token"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &secret); err != nil || len(secret.VerifyToken) < 16 {
		t.Fatalf("verify token secret %v: %d characters", err, len(secret.VerifyToken))
	}

	fn, err := s.StartFunction(ctx, "MetawebhooksFunction")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fn.Stop)
	const challenge = "1158201444"
	cases := []struct {
		name   string
		query  map[string]string
		status int
	}{
		{"Meta with our token", map[string]string{"hub.mode": "subscribe", "hub.verify_token": secret.VerifyToken, "hub.challenge": challenge}, http.StatusOK},
		{"another token", map[string]string{"hub.mode": "subscribe", "hub.verify_token": secret.VerifyToken + "x", "hub.challenge": challenge}, http.StatusForbidden},
		{"token prefix", map[string]string{"hub.mode": "subscribe", "hub.verify_token": secret.VerifyToken[:8], "hub.challenge": challenge}, http.StatusForbidden},
		{"other mode", map[string]string{"hub.mode": "unsubscribe", "hub.verify_token": secret.VerifyToken, "hub.challenge": challenge}, http.StatusForbidden},
		{"no challenge", map[string]string{"hub.mode": "subscribe", "hub.verify_token": secret.VerifyToken}, http.StatusForbidden},
		{"no token", map[string]string{"hub.mode": "subscribe", "hub.challenge": challenge}, http.StatusForbidden},
	}
	handshake := func(name string, query map[string]string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		raw, err := fn.Invoke(ctx, handshakeEvent(t, query))
		if err != nil {
			t.Fatal(err)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatalf("%s: answer %s: %v", name, raw, err)
		}
		return resp
	}
	for _, c := range cases {
		resp := handshake(c.name, c.query)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.status, resp.Body)
			continue
		}
		if c.status == http.StatusOK {
			if resp.Body != challenge || !strings.HasPrefix(resp.Headers["Content-Type"], "text/plain") {
				t.Errorf("%s: answered %q (%s), want the challenge as plain text", c.name, resp.Body, resp.Headers["Content-Type"])
			}
		} else if strings.Contains(resp.Body, challenge) {
			t.Errorf("%s: a refused handshake echoes the challenge: %s", c.name, resp.Body)
		}
	}
	// An operator puts a token of their own for Meta (they cannot read the
	// generated one) and saves it in the App Dashboard at once: the warm
	// function, which cached the old token, must accept the new one.
	ownToken := "operator-chosen-verify-token-0123456789"
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn),
		SecretString: aws.String(`{"verify_token":"` + ownToken + `"}`)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(secrets.RefreshInterval) // the refused cases above just refreshed
	put := map[string]string{"hub.mode": "subscribe", "hub.verify_token": ownToken, "hub.challenge": challenge}
	if resp := handshake("token just put", put); resp.StatusCode != http.StatusOK || resp.Body != challenge {
		t.Errorf("token just put: status %d %q, want 200 and the challenge", resp.StatusCode, resp.Body)
	}
	old := map[string]string{"hub.mode": "subscribe", "hub.verify_token": secret.VerifyToken, "hub.challenge": challenge}
	if resp := handshake("token replaced", old); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the replaced token: status %d, want 403", resp.StatusCode)
	}
	logs, err := os.ReadFile(fn.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(logs), secret.VerifyToken[:12]) {
		t.Errorf("log %s shows the verify token", fn.LogPath)
	}
	if !strings.Contains(string(logs), "meta webhook verified") {
		t.Errorf("log %s has no line for the accepted handshake", fn.LogPath)
	}
}
