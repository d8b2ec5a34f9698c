package esversion

import (
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	before := time.Date(2026, 10, 14, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		at      time.Time
		wantErr string
	}{
		{"v4", now, ""},
		{"v4-public-preview", now, ""},
		{"v2", now, "retired by Meta on 2026-10-15"},
		{"v3", now, "retired by Meta on 2026-10-15"},
		{"v3-public-preview", now, "retired"},
		{"v3", before, ""},
		{"v5", now, "not one Meta documents"},
		{"", now, "not one Meta documents"},
	} {
		err := Check(tc.name, tc.at)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("Check(%q, %s) = %v, want nil", tc.name, tc.at.Format(time.DateOnly), err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Check(%q, %s) = %v, want %q", tc.name, tc.at.Format(time.DateOnly), err, tc.wantErr)
		}
	}
}

func TestExtrasForV4CarriesOnlyTheSolution(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ version, want string }{
		{"v4", `{"setup":{"solutionID":"123456789012345"}}`},
		{"v4-public-preview", `{"setup":{"solutionID":"123456789012345"},"version":"v4-public-preview"}`},
	} {
		if got := ExtrasFor(tc.version, "123456789012345").JSON(); got != tc.want {
			t.Errorf("ExtrasFor(%s) = %s, want %s", tc.version, got, tc.want)
		}
	}
}

func TestVersionsAreOrderedAndDefaultIsLive(t *testing.T) {
	t.Parallel()
	for i := 1; i < len(Versions); i++ {
		if Versions[i].Introduced.Before(Versions[i-1].Introduced) {
			t.Errorf("%s is listed after %s but was introduced earlier", Versions[i].Name, Versions[i-1].Name)
		}
	}
	if err := Check(Default, time.Now()); err != nil {
		t.Errorf("the default version cannot be launched: %v", err)
	}
}
