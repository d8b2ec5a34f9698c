package app_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/metrics"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

func TestSecretStaleHook(t *testing.T) {
	t.Parallel()
	failure := errors.New(`secrets: get "wa/plivo": api error ThrottlingException: Rate exceeded`)
	tests := []struct {
		name        string
		withMetrics bool
	}{
		{name: "logs and counts", withMetrics: true},
		{name: "logs only without metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs, emf bytes.Buffer
			var m onboarding.Metrics
			if tt.withMetrics {
				m = &metrics.EMF{W: &emf, Namespace: "WhatsAppOnboarding", Function: "signup"}
			}
			app.SecretStaleHook(logging.New(&logs, "INFO"), m)("wa/plivo", failure)

			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("log %q: %v", logs.String(), err)
			}
			if line["level"] != "WARN" || line["msg"] != "secret served stale after a failed refresh" ||
				line["secret_id"] != "wa/plivo" || line["error"] != failure.Error() {
				t.Errorf("log line = %v", line)
			}
			var point map[string]any
			if tt.withMetrics {
				if err := json.Unmarshal(emf.Bytes(), &point); err != nil {
					t.Fatalf("EMF %q: %v", emf.String(), err)
				}
			}
			if got := point[app.MetricSecretStaleServed]; tt.withMetrics != (got == 1.0) {
				t.Errorf("%s = %v in %q", app.MetricSecretStaleServed, got, emf.String())
			}
			if strings.Contains(emf.String(), "wa/plivo") {
				t.Errorf("metric dimensions name the secret: %s", emf.String())
			}
		})
	}
}
