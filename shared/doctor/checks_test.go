package doctor

import (
	"strings"
	"testing"
	"time"
)

func TestGraphVersion(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		version string
		status  Status
		detail  string
	}{
		{"v27.0", StatusPass, "newest version this check knows"},
		// Meta has not published v26.0's end yet: two years after v27.0.
		{"v26.0", StatusPass, "works until 2028-11-04"},
		{"v25.0", StatusPass, "works until 2028-07-29"},
		{"v24.0", StatusPass, "works until 2028-02-18"},
		{"v23.0", StatusPass, "works until 2027-10-08"},
		{"v21.0", StatusWarn, "works until 2027-01-21 (56 days)"},
		{"v20.0", StatusFail, "reached its end of life on 2026-09-24"},
		{"v19.0", StatusFail, "reached its end of life on 2026-05-21"},
		{"v2.3", StatusFail, "older than v17.0"},
		{"v28.0", StatusPass, "newer than this check's table"},
		{"v30.1", StatusPass, "assumed supported"},
		{"v22.5", StatusFail, "not a Graph API version Meta released"},
		{"25.0", StatusFail, "is not a version such as"},
		{"", StatusFail, "is not a version such as"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			t.Parallel()
			r := graphVersion(tt.version, at)
			if r.Status != tt.status || !strings.Contains(r.Detail, tt.detail) {
				t.Fatalf("graphVersion(%q) = %s %q, want %s with %q", tt.version, r.Status, r.Detail, tt.status, tt.detail)
			}
			if r.Status != StatusPass && !strings.Contains(r.Next, "MetaGraphVersion") {
				t.Fatalf("no next step: %+v", r)
			}
		})
	}
}

func TestGraphVersionsTable(t *testing.T) {
	t.Parallel()
	for i, v := range GraphVersions {
		if i > 0 && !versionLess(GraphVersions[i-1].Version, v.Version) {
			t.Errorf("%s is not after %s", v.Version, GraphVersions[i-1].Version)
		}
		// Meta's published dates stay within days of its two-year rule.
		if i < len(GraphVersions)-1 {
			rule := GraphVersions[i+1].Released.AddDate(2, 0, 0)
			if d := v.Until.Sub(rule); d < -15*24*time.Hour || d > 15*24*time.Hour {
				t.Errorf("%s ends %v, far from two years after %s (%v)", v.Version, v.Until, GraphVersions[i+1].Version, rule)
			}
		}
	}
	if !GraphVersions[len(GraphVersions)-1].Until.IsZero() {
		t.Error("the newest version has an end date")
	}
}

func TestIsPlaceholder(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"REPLACE_ME": true, "replace-me": true, "ChangeMe": true, " TODO ": true, "": true, "xxxx": true,
		"<Auth Token>": true, "{{app_secret}}": true, "${SECRET}": true, "your_auth_token": true, "***": true,
		"MAXXXXXXXXXXXXXXXXXX": false, "100000000000001": false, "0f1e2d3c4b5a6978": false, "sandbox-secret": false,
	} {
		if got := isPlaceholder(v); got != want {
			t.Errorf("isPlaceholder(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestPageChecks(t *testing.T) {
	t.Parallel()
	origins := []struct {
		url    string
		local  bool
		status Status
	}{
		{"https://app.example.com/onboard", false, StatusPass},
		{"http://localhost:8080", true, StatusPass},
		{"http://127.0.0.1:8080/", true, StatusPass},
		{"http://localhost:8080", false, StatusWarn},
		{"http://app.example.com", false, StatusFail},
		{"http://app.example.com", true, StatusFail},
		{"ftp://app.example.com", false, StatusFail},
		{"app.example.com", false, StatusFail},
		{"", false, StatusFail},
	}
	for _, tt := range origins {
		if r := pageOrigin(tt.url, tt.local); r.Status != tt.status {
			t.Errorf("pageOrigin(%q, local=%v) = %s (%s), want %s", tt.url, tt.local, r.Status, r.Detail, tt.status)
		}
	}
	allowed := []struct {
		origins []string
		local   bool
		status  Status
		detail  string
	}{
		{[]string{"https://app.example.com", "https://admin.example.com:8443"}, false, StatusPass, "https://app.example.com"},
		{[]string{"http://localhost:3000"}, true, StatusPass, "localhost"},
		{[]string{"http://localhost:3000"}, false, StatusWarn, "development origins"},
		{[]string{"*"}, false, StatusFail, `"*"`},
		{[]string{"http://app.example.com"}, false, StatusFail, "is not HTTPS"},
		{[]string{"https://app.example.com/path"}, false, StatusFail, "has a path"},
		{[]string{"app.example.com"}, false, StatusFail, "is not an origin"},
		{nil, false, StatusFail, "empty"},
	}
	for _, tt := range allowed {
		r := allowedOrigins(tt.origins, tt.local)
		if r.Status != tt.status || !strings.Contains(r.Detail, tt.detail) {
			t.Errorf("allowedOrigins(%q, local=%v) = %s %q, want %s with %q", tt.origins, tt.local, r.Status, r.Detail, tt.status, tt.detail)
		}
	}
}
