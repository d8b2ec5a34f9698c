package sessionsapp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app/sessionsapp"
	"github.com/techprovider/wa-onboarding/shared/app/signupapp"
	"github.com/techprovider/wa-onboarding/shared/config"
)

// env is a Lambda environment holding m and the variables Lambda always sets.
func env(m map[string]string) config.Getenv {
	return func(k string) string {
		switch k {
		case "AWS_REGION":
			return "us-east-1"
		case "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY":
			return "test"
		}
		return m[k]
	}
}

func TestSessionsWiring(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := sessionsapp.New(ctx, env(nil)); err == nil || !strings.Contains(err.Error(), config.EnvSessionSecretID) {
		t.Fatalf("Sessions without its secret: %v", err)
	}
	h, err := sessionsapp.New(ctx, env(map[string]string{config.EnvSessionSecretID: "keys"}))
	if err != nil {
		t.Fatal(err)
	}
	// Without an IAM authorizer the handler answers before any AWS call.
	req := apigw.Request{RawPath: apigw.SessionsPath, Headers: map[string]string{"content-type": "application/json"}, Body: `{"client_ref":"c"}`}
	req.RequestContext.HTTP.Method = "POST"
	resp, _ := h(ctx, req)
	if resp.StatusCode != 401 {
		t.Fatalf("unauthorized call answered %d %s", resp.StatusCode, resp.Body)
	}

	signup := map[string]string{config.EnvTableName: "t", config.EnvMetaSecretID: "m", config.EnvPlivoSecretID: "p", config.EnvSessionSecretID: "keys"}
	if _, err := signupapp.New(ctx, env(signup)); err == nil || !strings.Contains(err.Error(), config.EnvDedupTableName) {
		t.Fatalf("Signup with sessions but no dedup table: %v", err)
	}
}
