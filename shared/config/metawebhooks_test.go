package config

import (
	"strings"
	"testing"
)

func TestLoadMetaWebhooks(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		EnvTableName: "t", EnvDedupTableName: "d", EnvMetaSecretID: "m", EnvMetaVerifyTokenSecretID: "v",
	}
	for _, tc := range []struct {
		name, appID string
		want        string // the MetaAppID loaded
		wantErr     string
	}{
		{name: "our app ID", appID: "100000000000001", want: "100000000000001"},
		// As every variable is read: a value pasted with its newline is
		// still our app's ID, compared with Meta's as digits alone.
		{name: "our app ID with surrounding space", appID: " 100000000000001\n", want: "100000000000001"},
		// Local tools run without one: every partner event is then ours.
		{name: "none", appID: ""},
		// A placeholder would take every partner event for another app's
		// and drop our own uninstalls: refuse to start instead.
		{name: "not an app ID", appID: "<Meta App ID>", wantErr: "META_APP_ID"},
		{name: "leading zero", appID: "0100", wantErr: "META_APP_ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{EnvMetaAppID: tc.appID}
			for k, v := range base {
				env[k] = v
			}
			c, err := LoadMetaWebhooks(func(k string) string { return env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.MetaAppID != tc.want {
				t.Errorf("MetaAppID %q, err %v; want %q", c.MetaAppID, err, tc.want)
			}
		})
	}
}
