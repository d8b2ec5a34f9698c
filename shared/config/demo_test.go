package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/config"
)

func TestLoadDemoAllowList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		list    string
		want    []string
		wantErr string
	}{
		{name: "unset: every onboarded WABA", list: ""},
		{name: "one", list: "109876543210987", want: []string{"109876543210987"}},
		{name: "several with spaces", list: "109876543210987, 109876543210988,", want: []string{"109876543210987", "109876543210988"}},
		{name: "not an ID", list: "109876543210987,acme", wantErr: "DEMO_WABA_ALLOWLIST must list WABA IDs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{config.EnvTableName: "signups", config.EnvPlivoSecretID: "plivo", config.EnvDemoWABAAllowList: tt.list}
			c, err := config.LoadDemo(func(k string) string { return vars[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.AllowedWABAs, tt.want) {
				t.Errorf("AllowedWABAs %q, want %q", c.AllowedWABAs, tt.want)
			}
		})
	}
}
