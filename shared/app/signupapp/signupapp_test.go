package signupapp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/app/signupapp"
	"github.com/techprovider/wa-onboarding/shared/config"
)

// Spent session tokens are recorded in the dedup table: with sessions on
// and no table, the function refuses to start instead of letting a link be
// used twice.
func TestSessionsWithoutDedupTableFailInit(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		config.EnvTableName: "t", config.EnvMetaSecretID: "m", config.EnvPlivoSecretID: "p", config.EnvSessionSecretID: "keys"}
	if _, err := signupapp.New(context.Background(), func(k string) string { return vars[k] }); err == nil || !strings.Contains(err.Error(), config.EnvDedupTableName) {
		t.Fatalf("signup with sessions but no dedup table: %v", err)
	}
}
