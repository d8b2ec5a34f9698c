package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/config"
)

func TestLoadCallbacks(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		config.EnvTableName: "signups", config.EnvDedupTableName: "dedup", config.EnvEventBusName: "bus",
		config.EnvPlivoSecretID: "plivo", config.EnvCallbackPublicURL: "https://hooks.example.com/prod/webhooks/plivo/whatsapp/",
	}
	tests := []struct {
		name    string
		set     map[string]string
		wantErr []string
	}{
		{name: "complete"},
		{name: "http on localhost", set: map[string]string{config.EnvCallbackPublicURL: "http://localhost:8080/webhooks/plivo/whatsapp"}},
		{name: "with a query", set: map[string]string{config.EnvCallbackPublicURL: "https://h.example.com/w?tenant=1"}},
		{name: "all missing", set: map[string]string{config.EnvTableName: "", config.EnvDedupTableName: "", config.EnvEventBusName: "",
			config.EnvPlivoSecretID: "", config.EnvCallbackPublicURL: ""},
			wantErr: []string{"TABLE_NAME is required", "DEDUP_TABLE_NAME is required", "EVENT_BUS_NAME is required",
				"PLIVO_SECRET_ID is required", "CALLBACK_PUBLIC_URL is required"}},
		{name: "relative", set: map[string]string{config.EnvCallbackPublicURL: "/webhooks/plivo/whatsapp"}, wantErr: []string{"CALLBACK_PUBLIC_URL must be an absolute URL"}},
		{name: "plain http", set: map[string]string{config.EnvCallbackPublicURL: "http://hooks.example.com/w"}, wantErr: []string{"must be https"}},
		{name: "fragment", set: map[string]string{config.EnvCallbackPublicURL: "https://hooks.example.com/w#x"}, wantErr: []string{"fragment"}},
		{name: "credentials", set: map[string]string{config.EnvCallbackPublicURL: "https://u:p@hooks.example.com/w"}, wantErr: []string{"credentials"}},
		// Plivo's SDKs sign these URLs differently from Go's reading of
		// them, so every callback to them would be refused.
		{name: "non-ASCII path", set: map[string]string{config.EnvCallbackPublicURL: "https://hooks.example.com/café/plivo"}, wantErr: []string{"percent-encoded"}},
		{name: "a character Go escapes in the path", set: map[string]string{config.EnvCallbackPublicURL: "https://hooks.example.com/w{x}|y"}, wantErr: []string{"percent-encoded"}},
		{name: "no path, a slash in the query", set: map[string]string{config.EnvCallbackPublicURL: "https://hooks.example.com?next=/a"}},
		{name: "percent-encoded path", set: map[string]string{config.EnvCallbackPublicURL: "https://hooks.example.com/caf%C3%A9/plivo"}},
		{name: "semicolon in query", set: map[string]string{config.EnvCallbackPublicURL: "https://hooks.example.com/w?a=1;b=2"}, wantErr: []string{"query"}},
		{name: "bad escape in query", set: map[string]string{config.EnvCallbackPublicURL: "https://hooks.example.com/w?p=%zz"}, wantErr: []string{"query"}},
		{name: "V2 neither refuse nor accept", set: map[string]string{config.EnvCallbackSignatureV2: "true"}, wantErr: []string{"CALLBACK_SIGNATURE_V2 must be refuse or accept"}},
		{name: "bad TTL", set: map[string]string{config.EnvSecretsTTL: "soon"}, wantErr: []string{"SECRETS_TTL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{}
			for k, v := range base {
				vars[k] = v
			}
			for k, v := range tt.set {
				vars[k] = v
			}
			c, err := config.LoadCallbacks(func(k string) string { return vars[k] })
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if c.PublicURL != vars[config.EnvCallbackPublicURL] || c.SecretsTTL != config.DefaultSecretsTTL ||
					c.TableName != "signups" || c.DedupTableName != "dedup" || c.EventBusName != "bus" || c.PlivoSecretID != "plivo" {
					t.Errorf("config %+v", c)
				}
				return
			}
			for _, want := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("err %v, want %q", err, want)
				}
			}
		})
	}
	c, _ := config.LoadCallbacks(func(k string) string {
		if k == config.EnvSecretsTTL {
			return "30s"
		}
		return base[k]
	})
	if c.SecretsTTL != 30*time.Second || c.AcceptV2 {
		t.Errorf("SecretsTTL %v, AcceptV2 %v (V2 must be refused by default)", c.SecretsTTL, c.AcceptV2)
	}
	for v, want := range map[string]bool{"refuse": false, "accept": true} {
		c, err := config.LoadCallbacks(func(k string) string {
			if k == config.EnvCallbackSignatureV2 {
				return v
			}
			return base[k]
		})
		if err != nil || c.AcceptV2 != want {
			t.Errorf("%s=%s: AcceptV2 %v, %v; want %v", config.EnvCallbackSignatureV2, v, c.AcceptV2, err, want)
		}
	}
}
