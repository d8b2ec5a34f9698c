package binaries

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	infrastack "github.com/techprovider/wa-onboarding/infra/stack"
)

// TestConfigurationAndUndocumentedFailures runs the real signup binary
// against a wrong Meta app secret and an undocumented Plivo 4xx. Neither
// is reported as an outage or a final failure, and each emits the metric
// its alarm watches.
func TestConfigurationAndUndocumentedFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := privateStack(ctx, t)
	raw, err := os.ReadFile(filepath.Join(s.Root, "events", "signup-ok.json"))
	if err != nil {
		t.Fatal(err)
	}
	invoke := func(t *testing.T, n int) (status int, body, log string) {
		t.Helper()
		f, err := s.StartFunction(ctx, "SignupFunction")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Stop()
		payload, err := s.PrepareEvent(ctx, freshIdentity(t, raw, n))
		if err != nil {
			t.Fatal(err)
		}
		out, err := f.Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("answer %s: %v", out, err)
		}
		logs, _ := os.ReadFile(f.LogPath)
		return resp.StatusCode, resp.Body, string(logs)
	}

	t.Run("wrong app secret is meta_config", func(t *testing.T) {
		s.Secrets.Put(infrastack.MetaSecretID, `{"app_id":"`+MetaAppID+`","app_secret":"not-the-app-secret-0000"}`)
		defer s.Secrets.Put(infrastack.MetaSecretID, `{"app_id":"`+MetaAppID+`","app_secret":"`+MetaAppSecret+`"}`)
		status, body, log := invoke(t, 8101)
		if status != 503 || !strings.Contains(body, `"code":"provider_config"`) {
			t.Errorf("answer %d %s, want 503 provider_config", status, body)
		}
		if strings.Contains(body, "Meta is not answering") || strings.Contains(log, `"reason":"meta_unavailable"`) {
			t.Errorf("reported as a Meta outage: %s", body)
		}
		if !strings.Contains(log, `"MetaConfigError"`) || !strings.Contains(log, `"reason":"meta_config"`) {
			t.Errorf("no MetaConfigError metric or meta_config reason in the log %s", f(log))
		}
	})

	t.Run("undocumented Plivo 4xx stays verified", func(t *testing.T) {
		s.Plivo.FailNext(plivosim.RouteSignup, 1, plivosim.KindUndocumented)
		status, body, log := invoke(t, 8102)
		// The customer's answer does not name Plivo or its error; the
		// provider's view and the log do.
		if status != 202 || !strings.Contains(body, `"state":"verified"`) || strings.Contains(body, "plivo") {
			t.Errorf("answer %d %s, want 202 verified without Plivo's error", status, body)
		}
		if !strings.Contains(log, `"Outcome":"undocumented"`) {
			t.Errorf("no UpstreamError metric with Outcome undocumented in the log %s", f(log))
		}
	})
}

// f shortens a log for a failure message.
func f(log string) string {
	if len(log) > 4000 {
		return log[len(log)-4000:]
	}
	return log
}
