package page_test

import (
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/page"
)

// TestSandboxSDKOrigin: with the simulated SDK on another origin, the
// sandbox page loads it from there, accepts messages from that origin
// alone, and its policy admits that origin's script and frame and nothing
// more. Outside sandbox mode, or with something that is not an origin, the
// option changes nothing.
func TestSandboxSDKOrigin(t *testing.T) {
	t.Parallel()
	const origin = "http://127.0.0.1:41234"
	tests := []struct {
		name        string
		sandbox     bool
		origin      string
		wantOrigins string
		wantSDK     string
		wantCSP     []string
		refuseCSP   []string
	}{
		{"sandbox, SDK on another origin", true, origin, origin, origin + page.SandboxSDKPath,
			[]string{"script-src 'self' " + origin + ";", "frame-src " + origin + ";", "frame-ancestors 'none'"}, []string{"connect.facebook.net"}},
		{"sandbox, same origin", true, "", "self", page.SandboxSDKPath, []string{"script-src 'self';", "frame-src 'none'"}, []string{origin}},
		{"sandbox, a URL with a path is not an origin", true, origin + "/evil", "self", page.SandboxSDKPath, []string{"frame-src 'none'"}, []string{origin}},
		{"sandbox, no scheme", true, "127.0.0.1:41234", "self", page.SandboxSDKPath, []string{"frame-src 'none'"}, []string{"127.0.0.1"}},
		{"production ignores it", false, origin, strings.Join(page.MetaOrigins, " "), page.SDKURL, []string{"frame-src https://*.facebook.com"}, []string{origin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := production()
			if tt.sandbox {
				cfg = sandbox()
			}
			r := get(t, page.Handler(cfg, quiet, page.WithSandboxSDKOrigin(tt.origin)), "GET", "/", nil)
			attrs := dataAttrs(r.Body)
			if attrs["data-origins"] != tt.wantOrigins {
				t.Errorf("data-origins %q, want %q", attrs["data-origins"], tt.wantOrigins)
			}
			if sdk, _, _ := strings.Cut(attrs["data-sdk-url"], "?"); sdk != tt.wantSDK {
				t.Errorf("data-sdk-url %q, want %q", attrs["data-sdk-url"], tt.wantSDK)
			}
			csp := r.Headers["Content-Security-Policy"]
			for _, want := range tt.wantCSP {
				if !strings.Contains(csp, want) {
					t.Errorf("policy %q lacks %q", csp, want)
				}
			}
			for _, refuse := range tt.refuseCSP {
				if strings.Contains(csp, refuse) {
					t.Errorf("policy %q admits %q", csp, refuse)
				}
			}
		})
	}
	// The relay the SDK frames on its origin is one of the sandbox files.
	if r := get(t, page.Handler(sandbox(), quiet), "GET", page.SandboxRelayPath, nil); r.StatusCode != 200 || !strings.Contains(r.Body, `src="xd.js"`) {
		t.Errorf("relay page: %d %q", r.StatusCode, r.Body)
	}
}
