package secrets_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

const canary = "CANARY-s3cr3t-value"

func TestParseMetaApp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		raw       string
		want      secrets.MetaApp
		wantField string // named in the error; "" means success
	}{
		{name: "valid", raw: `{"app_id":"1234","app_secret":"` + canary + `"}`, want: secrets.MetaApp{AppID: "1234", AppSecret: canary}},
		{name: "numeric app id", raw: `{"app_id":1234,"app_secret":"` + canary + `"}`, want: secrets.MetaApp{AppID: "1234", AppSecret: canary}},
		{name: "trailing newline trimmed", raw: `{"app_id":"1234","app_secret":"` + canary + `\n"}`, want: secrets.MetaApp{AppID: "1234", AppSecret: canary}},
		{name: "extra fields ignored", raw: `{"app_id":"1","app_secret":"x","note":"y"}`, want: secrets.MetaApp{AppID: "1", AppSecret: "x"}},
		{name: "missing app_id", raw: `{"app_secret":"` + canary + `"}`, wantField: "app_id"},
		{name: "missing app_secret", raw: `{"app_id":"1234"}`, wantField: "app_secret"},
		{name: "empty app_secret", raw: `{"app_id":"1234","app_secret":"  "}`, wantField: "app_secret"},
		{name: "null app_secret", raw: `{"app_id":"1234","app_secret":null}`, wantField: "app_secret"},
		{name: "app_secret not a string", raw: `{"app_id":"1234","app_secret":{"v":"` + canary + `"}}`, wantField: "app_secret"},
		{name: "not JSON", raw: canary, wantField: "JSON"},
		{name: "JSON array", raw: `["` + canary + `"]`, wantField: "JSON"},
		{name: "JSON null", raw: `null`, wantField: "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := secrets.ParseMetaApp(tt.raw)
			if tt.wantField == "" {
				if err != nil || got != tt.want {
					t.Fatalf("ParseMetaApp = %v, %v; want %v", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseMetaApp succeeded; want an error naming %s", tt.wantField)
			}
			if !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("error %q does not name %s", err, tt.wantField)
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "CANARY") {
				t.Errorf("error %q leaks the secret value", err)
			}
		})
	}
}

func TestParsePlivoCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		raw       string
		want      secrets.PlivoCredentials
		wantField string
	}{
		{name: "valid", raw: `{"auth_id":"MAXXXX","auth_token":"` + canary + `"}`, want: secrets.PlivoCredentials{AuthID: "MAXXXX", AuthToken: canary}},
		{name: "missing auth_id", raw: `{"auth_token":"` + canary + `"}`, wantField: "auth_id"},
		{name: "missing auth_token", raw: `{"auth_id":"MAXXXX"}`, wantField: "auth_token"},
		{name: "empty auth_id", raw: `{"auth_id":"","auth_token":"` + canary + `"}`, wantField: "auth_id"},
		{name: "auth_token boolean", raw: `{"auth_id":"MA","auth_token":true}`, wantField: "auth_token"},
		{name: "truncated JSON", raw: `{"auth_id":"MA","auth_token":"` + canary, wantField: "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := secrets.ParsePlivoCredentials(tt.raw)
			if tt.wantField == "" {
				if err != nil || got != tt.want {
					t.Fatalf("ParsePlivoCredentials = %v, %v; want %v", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantField) {
				t.Fatalf("error %v does not name %s", err, tt.wantField)
			}
			if strings.Contains(err.Error(), "CANARY") {
				t.Errorf("error %q leaks the secret value", err)
			}
		})
	}
}

func TestCredentialsAreRedactedWhenPrinted(t *testing.T) {
	t.Parallel()
	values := map[string]any{
		"MetaApp":          secrets.MetaApp{AppID: "1234", AppSecret: canary},
		"*MetaApp":         &secrets.MetaApp{AppID: "1234", AppSecret: canary},
		"PlivoCredentials": secrets.PlivoCredentials{AuthID: "MAXXXX", AuthToken: canary},
		"nested":           struct{ P secrets.PlivoCredentials }{secrets.PlivoCredentials{AuthID: "MAXXXX", AuthToken: canary}},
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var outs []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%T %[1]v"} {
				outs = append(outs, fmt.Sprintf(verb, v))
			}
			outs = append(outs, fmt.Sprint(v), fmt.Sprintln(v))
			var text, js bytes.Buffer
			slog.New(slog.NewTextHandler(&text, nil)).Info("creds", "v", v)
			slog.New(slog.NewJSONHandler(&js, nil)).Info("creds", "v", v)
			outs = append(outs, text.String(), js.String())
			if b, err := json.Marshal(v); err == nil {
				outs = append(outs, string(b))
			}
			for _, out := range outs {
				if strings.Contains(out, canary) {
					t.Errorf("printed form leaks the secret: %s", out)
				}
			}
			if !strings.Contains(text.String(), "REDACTED") {
				t.Errorf("slog output shows no redaction marker: %s", text.String())
			}
		})
	}
}

func TestTypedLoadersThroughSDK(t *testing.T) {
	t.Parallel()
	sim, client := secretsmanagersim.StartWithClient(t, 1)
	sim.Put("meta", `{"app_id":"1234","app_secret":"`+canary+`"}`)
	sim.Put("plivo", `{"auth_id":"MA1","auth_token":"t1"}`)
	sim.Put("broken", `{"auth_id":"MA1"}`)
	clk := onboardingtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	c := secrets.NewCache(client, time.Hour, secrets.WithClock(clk.Now))
	ctx := t.Context()

	app, err := secrets.MetaAppSource(c, "meta")(ctx, false)
	if err != nil || app.AppID != "1234" || app.AppSecret != canary {
		t.Fatalf("MetaApp = %v, %v", app, err)
	}

	plivo := secrets.PlivoSource(c, "plivo")
	if p, err := plivo(ctx, false); err != nil || p.AuthToken != "t1" {
		t.Fatalf("Plivo = %v, %v", p, err)
	}
	sim.Put("plivo", `{"auth_id":"MA1","auth_token":"t2"}`)
	if p, _ := plivo(ctx, false); p.AuthToken != "t1" {
		t.Errorf("Plivo without refresh = %v, want the cached token", p)
	}
	if p, err := plivo(ctx, true); err != nil || p.AuthToken != "t2" {
		t.Errorf("Plivo with refresh = %v, %v; want the rotated token", p, err)
	}

	_, err = c.Plivo(ctx, "broken", false)
	if err == nil || !strings.Contains(err.Error(), "auth_token") || !strings.Contains(err.Error(), "broken") {
		t.Errorf("Plivo(broken) error = %v; want it to name the secret and the field", err)
	}
	if _, err := c.MetaApp(ctx, "absent", false); err == nil {
		t.Error("MetaApp of a missing secret succeeded")
	}
	if n := sim.Calls(secretsmanagersim.OpGetSecretValue); n != 5 {
		t.Errorf("%d calls, want 5 (meta, plivo, plivo refresh, broken, absent)", n)
	}
}

// TestUnusableSecretsAreMarked: the typed loaders mark a secret that is
// refused or malformed (upstream.ErrUnusableSecret), which the clients
// report as our own configuration's failure and page on, and leave a
// Secrets Manager that did not answer unmarked, a passing fault.
func TestUnusableSecretsAreMarked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		value  string                   // the secret's value; "" for none
		fault  *secretsmanagersim.Fault // the answer instead of the value
		marked bool
	}{
		{name: "not JSON", value: "MA1:t1", marked: true},
		{name: "a field missing", value: `{"auth_id":"MA1"}`, marked: true},
		{name: "not found", fault: &secretsmanagersim.Fault{Type: "ResourceNotFoundException", Status: 400, Message: "not found"}, marked: true},
		{name: "access denied", fault: &secretsmanagersim.Fault{Type: "AccessDeniedException", Status: 400, Message: "not authorized"}, marked: true},
		{name: "throttled", fault: &secretsmanagersim.Fault{Type: "ThrottlingException", Status: 400, Message: "slow down"}},
		{name: "failing", fault: &secretsmanagersim.Fault{Type: "InternalServiceError", Status: 500, Message: "oops"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, client := secretsmanagersim.StartWithClient(t, 1)
			if tt.value != "" {
				sim.Put("plivo", tt.value)
			}
			if tt.fault != nil {
				sim.Put("plivo", `{"auth_id":"MA1","auth_token":"t1"}`)
				sim.FailNext(secretsmanagersim.OpGetSecretValue, -1, *tt.fault)
			}
			_, err := secrets.PlivoSource(secrets.NewCache(client, time.Hour), "plivo")(t.Context(), false)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, upstream.ErrUnusableSecret); got != tt.marked {
				t.Errorf("%v: marked unusable %v, want %v", err, got, tt.marked)
			}
		})
	}
}
