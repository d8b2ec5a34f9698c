package config

import (
	"strings"
	"testing"
)

func TestLoadPage(t *testing.T) {
	t.Parallel()
	prod := map[string]string{
		EnvMetaAppID:       "100000000000001",
		EnvMetaConfigID:    "200000000000002",
		EnvPlivoSolutionID: "555000111222333",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr []string // each must appear in the init error
		check   func(t *testing.T, c Page)
	}{
		{name: "production defaults to ES v4", env: prod, check: func(t *testing.T, c Page) {
			if c.ESVersion != "v4" || c.PlivoSolutionID != "555000111222333" {
				t.Errorf("ESVersion %q, solution %q", c.ESVersion, c.PlivoSolutionID)
			}
		}},
		{name: "missing solution ID names the variable", env: with(prod, EnvPlivoSolutionID, ""),
			wantErr: []string{"PLIVO_SOLUTION_ID is required"}},
		{name: "malformed solution ID", env: with(prod, EnvPlivoSolutionID, "abc"),
			wantErr: []string{"PLIVO_SOLUTION_ID", "not a Meta solution ID"}},
		{name: "retired ES version refuses to start", env: with(prod, EnvMetaESVersion, "v2"),
			wantErr: []string{"META_ES_VERSION", "retired by Meta on 2026-10-15"}},
		{name: "unknown ES version", env: with(prod, EnvMetaESVersion, "v9"),
			wantErr: []string{"META_ES_VERSION", "not one Meta documents"}},
		{name: "several problems reported at once", env: map[string]string{EnvMetaESVersion: "v3"},
			wantErr: []string{"META_ES_VERSION", "PLIVO_SOLUTION_ID is required", "META_APP_ID", "META_CONFIG_ID"}},
		{name: "sandbox gets the simulated solution", env: map[string]string{EnvSandbox: "true"}, check: func(t *testing.T, c Page) {
			if c.PlivoSolutionID != SandboxSolutionID {
				t.Errorf("sandbox solution %q, want %q", c.PlivoSolutionID, SandboxSolutionID)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := LoadPage(func(k string) string { return tc.env[k] })
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("LoadPage: %v", err)
				}
				tc.check(t, c)
				return
			}
			if err == nil {
				t.Fatalf("LoadPage succeeded, want an error naming %v", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
