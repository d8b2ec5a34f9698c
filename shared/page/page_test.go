package page_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/page"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func production() config.Page {
	return config.Page{
		MetaAppID:       "1234567890",
		MetaConfigID:    "987654321",
		GraphVersion:    "v25.0",
		PlivoSolutionID: "555000111",
	}
}

func sandbox() config.Page {
	return config.Page{GraphVersion: "v25.0", Sandbox: true}
}

// get sends one request the way API Gateway would.
func get(t *testing.T, h apigw.Handler, method, target string, headers map[string]string) apigw.Response {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	req := apigw.Request{
		Version:        "2.0",
		RouteKey:       method + " " + u.Path,
		RawPath:        u.Path,
		RawQueryString: u.RawQuery,
		Headers:        map[string]string{},
	}
	if q := u.Query(); len(q) > 0 {
		req.QueryStringParameters = map[string]string{}
		for k, v := range q {
			req.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	for k, v := range headers {
		req.Headers[strings.ToLower(k)] = v
	}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.HTTP.Path = u.Path
	req.RequestContext.RequestID = "test-request"
	resp, err := h(context.Background(), req)
	if err != nil {
		t.Fatalf("%s %s: handler error %v", method, target, err)
	}
	return resp
}

func TestSecurityHeaders(t *testing.T) {
	tests := []struct {
		name        string
		cfg         config.Page
		contains    []string
		notContains []string
	}{
		{
			name: "production admits Meta's SDK only",
			cfg:  production(),
			contains: []string{
				"default-src 'none'",
				"script-src 'self' https://connect.facebook.net;",
				"frame-src https://*.facebook.com",
				"connect-src 'self' https://*.facebook.com",
				"frame-ancestors 'none'",
				"object-src 'none'",
				"base-uri 'none'",
			},
			notContains: []string{"script-src 'self' 'unsafe-inline'", "'unsafe-eval'", "*;", "http:"},
		},
		{
			name:        "sandbox admits nothing third-party",
			cfg:         sandbox(),
			contains:    []string{"script-src 'self';", "style-src 'self';", "frame-src 'none'", "connect-src 'self';", "frame-ancestors 'none'"},
			notContains: []string{"facebook", "unsafe-inline", "unsafe-eval"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := page.Handler(tt.cfg, quiet)
			for _, target := range []string{"/", "/static/onboarding.js", "/nope"} {
				resp := get(t, h, "GET", target, nil)
				csp := resp.Headers["Content-Security-Policy"]
				for _, want := range tt.contains {
					if !strings.Contains(csp, want) {
						t.Errorf("%s: CSP %q lacks %q", target, csp, want)
					}
				}
				for _, bad := range tt.notContains {
					if strings.Contains(csp, bad) {
						t.Errorf("%s: CSP %q contains %q", target, csp, bad)
					}
				}
				for k, want := range map[string]string{
					"X-Content-Type-Options": "nosniff",
					"Referrer-Policy":        "strict-origin-when-cross-origin",
					// A year, and no includeSubDomains: the page may live on
					// a Tech Provider's domain whose other hosts are not ours.
					"Strict-Transport-Security": "max-age=31536000",
				} {
					if got := resp.Headers[k]; got != want {
						t.Errorf("%s: %s = %q, want %q", target, k, got, want)
					}
				}
			}
			if got := get(t, h, "GET", "/", nil).Headers["X-Frame-Options"]; got != "DENY" {
				t.Errorf("X-Frame-Options = %q, want DENY", got)
			}
		})
	}
}

func TestIndex(t *testing.T) {
	r := get(t, page.Handler(production(), quiet), "GET", "/", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", r.StatusCode, r.Body)
	}
	if ct := r.Headers["Content-Type"]; ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := r.Headers["Cache-Control"]; cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	attrs := dataAttrs(r.Body)
	want := map[string]string{
		"data-app-id":        "1234567890",
		"data-config-id":     "987654321",
		"data-graph-version": "v25.0",
		"data-solution-id":   "555000111",
		"data-signup-url":    "/api/whatsapp/embedded-signup",
		"data-sdk-url":       page.SDKURL,
		"data-origins":       "https://facebook.com https://*.facebook.com",
		"data-sandbox":       "false",
	}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("%s = %q, want %q", k, attrs[k], v)
		}
	}
	if _, ok := attrs["data-sim-url"]; ok {
		t.Error("production page names the simulator's code endpoint")
	}
	if strings.Contains(r.Body, "sandbox/") || strings.Contains(r.Body, "Sandbox") {
		t.Error("production page mentions the sandbox")
	}
	if !strings.Contains(r.Body, `id="connect"`) || !strings.Contains(r.Body, "Connect WhatsApp") {
		t.Error("no Connect WhatsApp button")
	}
}

// TestNoInlineScript checks that every script is an external file, which is
// what lets the policy omit 'unsafe-inline'.
func TestNoInlineScript(t *testing.T) {
	for _, cfg := range []config.Page{production(), sandbox()} {
		r := get(t, page.Handler(cfg, quiet), "GET", "/", nil)
		for _, tag := range regexp.MustCompile(`(?is)<script\b[^>]*>(.*?)</script>`).FindAllStringSubmatch(r.Body, -1) {
			if !strings.Contains(tag[0], " src=") || strings.TrimSpace(tag[1]) != "" {
				t.Errorf("sandbox=%v: inline script %q", cfg.Sandbox, tag[0])
			}
		}
		if regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(r.Body) {
			t.Errorf("sandbox=%v: inline event handler attribute", cfg.Sandbox)
		}
		if regexp.MustCompile(`(?i)\sstyle=`).MatchString(r.Body) {
			t.Errorf("sandbox=%v: inline style attribute", cfg.Sandbox)
		}
	}
}

func TestSettingsAreEscaped(t *testing.T) {
	evil := `"><script>alert(1)</script><x a='`
	cfg := production()
	cfg.MetaAppID = evil
	cfg.MetaConfigID = "a&b"
	cfg.PlivoSolutionID = `javascript:alert(1)`
	r := get(t, page.Handler(cfg, quiet), "GET", "/", nil)
	if strings.Contains(r.Body, "<script>alert(1)") {
		t.Fatal("a setting broke out of its attribute")
	}
	attrs := dataAttrs(r.Body)
	if got := attrs["data-app-id"]; got != evil {
		t.Errorf("data-app-id = %q, want %q", got, evil)
	}
	if got := attrs["data-config-id"]; got != "a&b" {
		t.Errorf("data-config-id = %q", got)
	}
	if got := attrs["data-solution-id"]; got != "javascript:alert(1)" {
		t.Errorf("data-solution-id = %q: plain attributes keep their text", got)
	}
}

func TestSandboxAssets(t *testing.T) {
	tests := []struct {
		name       string
		cfg        config.Page
		wantSDK    string
		wantStatus int
	}{
		{"sandbox off serves no simulated SDK", production(), page.SDKURL, http.StatusNotFound},
		{"sandbox on serves the simulated SDK", sandbox(), page.SandboxSDKPath + "?v=", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := page.Handler(tt.cfg, quiet)
			attrs := dataAttrs(get(t, h, "GET", "/", nil).Body)
			if !strings.HasPrefix(attrs["data-sdk-url"], tt.wantSDK) {
				t.Errorf("data-sdk-url = %q, want prefix %q", attrs["data-sdk-url"], tt.wantSDK)
			}
			for _, p := range []string{"/static/sandbox/sdk.js", "/static/sandbox/sdk.css"} {
				if r := get(t, h, "GET", p, nil); r.StatusCode != tt.wantStatus {
					t.Errorf("GET %s = %d, want %d", p, r.StatusCode, tt.wantStatus)
				}
			}
			if tt.cfg.Sandbox {
				if attrs["data-origins"] != "self" {
					t.Errorf("sandbox data-origins = %q, want self", attrs["data-origins"])
				}
				if attrs["data-sim-url"] != page.SimPath {
					t.Errorf("data-sim-url = %q", attrs["data-sim-url"])
				}
				if attrs["data-app-id"] == "" || attrs["data-config-id"] == "" {
					t.Error("sandbox page without placeholder app and config IDs")
				}
			}
		})
	}
}

// TestReferencedAssetsExist fetches every stylesheet, script and icon the
// page links, so a renamed file fails here rather than in a browser.
func TestReferencedAssetsExist(t *testing.T) {
	for _, cfg := range []config.Page{production(), sandbox()} {
		h := page.Handler(cfg, quiet)
		body := get(t, h, "GET", "/", nil).Body
		refs := regexp.MustCompile(`(?:href|src|data-sdk-url)="(/[^"]+)"`).FindAllStringSubmatch(body, -1)
		if len(refs) < 3 {
			t.Fatalf("sandbox=%v: only %d local references", cfg.Sandbox, len(refs))
		}
		for _, m := range refs {
			target := html.UnescapeString(m[1])
			r := get(t, h, "GET", target, nil)
			if r.StatusCode != http.StatusOK {
				t.Errorf("sandbox=%v: %s = %d", cfg.Sandbox, target, r.StatusCode)
				continue
			}
			if cc := r.Headers["Cache-Control"]; !strings.Contains(cc, "immutable") {
				t.Errorf("%s: versioned asset Cache-Control %q", target, cc)
			}
			if r.Headers["Content-Type"] == "" || r.Headers["ETag"] == "" {
				t.Errorf("%s: headers %v", target, r.Headers)
			}
		}
	}
}

func TestStatic(t *testing.T) {
	h := page.Handler(production(), quiet)
	tests := []struct {
		name, method, target string
		headers              map[string]string
		status               int
		contentType          string
		emptyBody            bool
	}{
		{name: "script", method: "GET", target: "/static/onboarding.js", status: 200, contentType: "text/javascript; charset=utf-8"},
		{name: "stylesheet", method: "GET", target: "/static/onboarding.css", status: 200, contentType: "text/css; charset=utf-8"},
		{name: "head of the page", method: "HEAD", target: "/", status: 200, contentType: "text/html; charset=utf-8", emptyBody: true},
		{name: "post is refused", method: "POST", target: "/", status: 405},
		{name: "unknown path", method: "GET", target: "/static/../go.mod", status: 404},
		{name: "template is not served", method: "GET", target: "/index.html.tmpl", status: 404},
		{name: "revalidation", method: "GET", target: "/static/onboarding.css", headers: map[string]string{"If-None-Match": "*"}, status: 304},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, h, tt.method, tt.target, tt.headers)
			if r.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, tt.status, r.Body)
			}
			if tt.contentType != "" && !strings.EqualFold(r.Headers["Content-Type"], tt.contentType) {
				t.Errorf("Content-Type %q, want %q", r.Headers["Content-Type"], tt.contentType)
			}
			if tt.emptyBody && r.Body != "" {
				t.Errorf("HEAD body %d bytes", len(r.Body))
			}
			if tt.status >= 400 {
				var e apigw.ErrorBody
				if err := json.Unmarshal([]byte(r.Body), &e); err != nil || e.Error.Code == "" || e.RequestID != "test-request" {
					t.Errorf("error body %q", r.Body)
				}
			}
		})
	}

	first := get(t, h, "GET", "/static/onboarding.js", nil)
	again := get(t, h, "GET", "/static/onboarding.js", map[string]string{"If-None-Match": first.Headers["ETag"]})
	if again.StatusCode != http.StatusNotModified || again.Body != "" {
		t.Errorf("conditional GET = %d with %d bytes, want 304 and none", again.StatusCode, len(again.Body))
	}
	if cc := first.Headers["Cache-Control"]; cc != "no-cache" {
		t.Errorf("unversioned asset Cache-Control %q, want no-cache", cc)
	}
}

func TestBasePath(t *testing.T) {
	cfg := sandbox()
	cfg.APIBasePath = "/onboarding/"
	h := page.Handler(cfg, quiet)
	r := get(t, h, "GET", "/onboarding", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /onboarding = %d", r.StatusCode)
	}
	attrs := dataAttrs(r.Body)
	if attrs["data-signup-url"] != "/onboarding/api/whatsapp/embedded-signup" {
		t.Errorf("data-signup-url = %q", attrs["data-signup-url"])
	}
	if !strings.HasPrefix(attrs["data-sdk-url"], "/onboarding/static/sandbox/sdk.js?v=") {
		t.Errorf("data-sdk-url = %q", attrs["data-sdk-url"])
	}
	if r := get(t, h, "GET", "/onboarding/static/onboarding.js", nil); r.StatusCode != http.StatusOK {
		t.Errorf("prefixed asset = %d", r.StatusCode)
	}
	// Whether API Gateway leaves a custom domain's mapping path in rawPath
	// or not, the page and its assets are served, with prefixed URLs.
	r = get(t, h, "GET", "/", nil)
	if r.StatusCode != http.StatusOK || dataAttrs(r.Body)["data-signup-url"] != "/onboarding/api/whatsapp/embedded-signup" {
		t.Errorf("GET / = %d, data-signup-url %q", r.StatusCode, dataAttrs(r.Body)["data-signup-url"])
	}
	if r := get(t, h, "GET", "/static/onboarding.js", nil); r.StatusCode != http.StatusOK {
		t.Errorf("asset without the prefix = %d", r.StatusCode)
	}
}

// dataAttrs returns the data- attributes of the body tag, unescaped.
func dataAttrs(body string) map[string]string {
	tag := regexp.MustCompile(`(?s)<body\b(.*?)>`).FindStringSubmatch(body)
	out := map[string]string{}
	if tag == nil {
		return out
	}
	for _, m := range regexp.MustCompile(`(data-[a-z-]+)="([^"]*)"`).FindAllStringSubmatch(tag[1], -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}
