package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/config"
)

func env(m map[string]string) config.Getenv { return func(k string) string { return m[k] } }

var signupBase = map[string]string{
	config.EnvTableName: "signups", config.EnvMetaSecretID: "meta", config.EnvPlivoSecretID: "plivo",
}

func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestLoadSignupSessionSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		env       map[string]string
		wantErr   string
		wantTable string
	}{
		{name: "sessions off", env: signupBase},
		{name: "sessions on", env: with(signupBase, config.EnvSessionSecretID, "keys", config.EnvDedupTableName, "dedup"), wantTable: "dedup"},
		{name: "sessions on without the dedup table", env: with(signupBase, config.EnvSessionSecretID, "keys"), wantErr: "DEDUP_TABLE_NAME is required"},
		{name: "dedup table without sessions is harmless", env: with(signupBase, config.EnvDedupTableName, "dedup"), wantTable: "dedup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.LoadSignup(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.DedupTableName != tt.wantTable {
				t.Fatalf("LoadSignup = %+v, %v", c, err)
			}
		})
	}
}

// TestLoadSignupFunctionFailsClosed: the signup function never runs
// without sessions by accident. Without SESSION_SECRET_ID it refuses to
// start, naming the variable; SESSIONS=off is the one way out, and
// STAGE=prod refuses it.
func TestLoadSignupFunctionFailsClosed(t *testing.T) {
	t.Parallel()
	on := with(signupBase, config.EnvSessionSecretID, "keys", config.EnvDedupTableName, "dedup")
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		off     bool
	}{
		{name: "sessions configured", env: on},
		{name: "secret unset", env: signupBase, wantErr: "SESSION_SECRET_ID is required"},
		{name: "secret unset in prod", env: with(signupBase, config.EnvStage, "prod"), wantErr: "SESSION_SECRET_ID is required"},
		{name: "SESSIONS=on without a secret", env: with(signupBase, config.EnvSessions, "on"), wantErr: "SESSION_SECRET_ID is required"},
		{name: "SESSIONS=off in dev", env: with(signupBase, config.EnvSessions, "off"), off: true},
		{name: "SESSIONS=off wins over a secret", env: with(on, config.EnvSessions, "off", config.EnvStage, "staging"), off: true},
		{name: "SESSIONS=off in prod", env: with(on, config.EnvSessions, "off", config.EnvStage, "prod"), wantErr: "SESSIONS=off is refused with STAGE=prod"},
		{name: "SESSIONS misspelt", env: with(on, config.EnvSessions, "false"), wantErr: "SESSIONS must be on or off"},
		// Spent tokens are recorded in the dedup table: without it a link
		// could be used twice, so the function refuses to start.
		{name: "sessions without a dedup table", env: with(signupBase, config.EnvSessionSecretID, "keys"), wantErr: config.EnvDedupTableName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.LoadSignupFunction(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.SessionsOff != tt.off || (c.SessionSecretID == "") != tt.off {
				t.Fatalf("LoadSignupFunction = %+v, %v; want sessions off %v", c, err, tt.off)
			}
		})
	}
}

func TestLoadSessions(t *testing.T) {
	t.Parallel()
	base := map[string]string{config.EnvSessionSecretID: "arn:aws:secretsmanager:us-east-1:1:secret:keys"}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		wantTTL time.Duration
		wantURL string
	}{
		{name: "defaults", env: base, wantTTL: config.DefaultSessionTTL},
		{name: "page URL and TTL", env: with(base, config.EnvPageURL, "https://onboard.example.com/wa?x=1", config.EnvSessionTTL, "1h"), wantTTL: time.Hour, wantURL: "https://onboard.example.com/wa?x=1"},
		{name: "local page over http", env: with(base, config.EnvPageURL, "http://localhost:3000/"), wantTTL: config.DefaultSessionTTL, wantURL: "http://localhost:3000/"},
		{name: "no secret", env: map[string]string{}, wantErr: "SESSION_SECRET_ID is required"},
		{name: "plain http elsewhere", env: with(base, config.EnvPageURL, "http://onboard.example.com/"), wantErr: "must be https"},
		{name: "relative page URL", env: with(base, config.EnvPageURL, "/onboard"), wantErr: "absolute URL"},
		{name: "fragment", env: with(base, config.EnvPageURL, "https://x.example/#a"), wantErr: "absolute URL"},
		{name: "TTL too long", env: with(base, config.EnvSessionTTL, "48h"), wantErr: "SESSION_TTL"},
		{name: "TTL too short", env: with(base, config.EnvSessionTTL, "30s"), wantErr: "SESSION_TTL"},
		{name: "TTL not a duration", env: with(base, config.EnvSessionTTL, "soon"), wantErr: "SESSION_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.LoadSessions(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.TTL != tt.wantTTL || c.PageURL != tt.wantURL || c.SecretsTTL != config.DefaultSecretsTTL {
				t.Fatalf("LoadSessions = %+v, %v", c, err)
			}
		})
	}
}
