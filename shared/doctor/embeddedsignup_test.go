package doctor

import (
	"strings"
	"testing"
	"time"
)

func TestESVersionCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version string
		at      time.Time
		status  Status
		detail  string
	}{
		{"v4", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), StatusPass, "no end date"},
		{"", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), StatusPass, "v4"},
		{"v2", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), StatusFail, "retired by Meta on 2026-10-15"},
		{"v3", time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), StatusWarn, "2026-10-15 (44 days)"},
		{"v3", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), StatusPass, "works until 2026-10-15"},
		{"v7", time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), StatusFail, "not one Meta documents"},
	} {
		r := esVersion(tc.version, tc.at)
		if r.Status != tc.status || !strings.Contains(r.Detail, tc.detail) {
			t.Errorf("esVersion(%q) = %s %q, want %s with %q", tc.version, r.Status, r.Detail, tc.status, tc.detail)
		}
		if r.Status != StatusPass && !strings.Contains(r.Next, "MetaEsVersion") {
			t.Errorf("esVersion(%q): no next step naming the parameter: %+v", tc.version, r)
		}
	}
}

func TestSolutionIDCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id     string
		status Status
		detail string
	}{
		{"555000111222333", StatusPass, "555000111222333"},
		{"", StatusFail, "PLIVO_SOLUTION_ID is required"},
		{"REPLACE_ME", StatusFail, "not a Meta solution ID"},
		{"0123", StatusFail, "not a Meta solution ID"},
	} {
		r := solutionID(tc.id)
		if r.Status != tc.status || !strings.Contains(r.Detail, tc.detail) {
			t.Errorf("solutionID(%q) = %s %q, want %s with %q", tc.id, r.Status, r.Detail, tc.status, tc.detail)
		}
		if r.Status == StatusFail && !strings.Contains(r.Next, "PlivoSolutionId") {
			t.Errorf("solutionID(%q): next step does not name the parameter: %q", tc.id, r.Next)
		}
	}
}
