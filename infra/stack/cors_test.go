package stack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/stack"
)

// TestCORSPreflight sends browser preflights to a running local stack,
// which answers them as API Gateway does for the template's
// CorsConfiguration: allowed origins get the allow headers, others none,
// and no preflight reaches a function. Not parallel: Start sets the
// process environment.
func TestCORSPreflight(t *testing.T) {
	st, err := stack.Start(context.Background(), stack.Options{Getenv: env(nil), Log: quiet, ResumeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	const allowed = "http://localhost:3000" // the AllowedOrigins parameter's default
	tests := []struct {
		name, method, path string
		headers            map[string]string
		wantStatus         int
		wantOrigin         string
		wantMethods        string
	}{
		{name: "signup preflight from the allowed origin", method: "OPTIONS", path: "/api/whatsapp/embedded-signup",
			headers:    map[string]string{"Origin": allowed, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
			wantStatus: 204, wantOrigin: allowed, wantMethods: "GET,POST"},
		{name: "status preflight from the allowed origin", method: "OPTIONS", path: "/api/whatsapp/embedded-signup/100000000000001",
			headers:    map[string]string{"Origin": allowed, "Access-Control-Request-Method": "GET"},
			wantStatus: 204, wantOrigin: allowed, wantMethods: "GET,POST"},
		{name: "preflight from another origin", method: "OPTIONS", path: "/api/whatsapp/embedded-signup",
			headers:    map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
			wantStatus: 204},
		{name: "preflight asking for an extra header", method: "OPTIONS", path: "/api/whatsapp/embedded-signup",
			headers:    map[string]string{"Origin": allowed, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,authorization"},
			wantStatus: 204},
		{name: "preflight of a method not allowed", method: "OPTIONS", path: "/api/whatsapp/embedded-signup",
			headers:    map[string]string{"Origin": allowed, "Access-Control-Request-Method": "DELETE"},
			wantStatus: 204},
		{name: "request from the allowed origin", method: "POST", path: "/api/whatsapp/embedded-signup",
			headers:    map[string]string{"Origin": allowed, "Content-Type": "application/json"},
			wantStatus: 400, wantOrigin: allowed},
		{name: "request from another origin", method: "POST", path: "/api/whatsapp/embedded-signup",
			headers:    map[string]string{"Origin": "https://evil.example", "Content-Type": "application/json"},
			wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, st.URL+tt.path, strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tt.wantOrigin)
			}
			if got := resp.Header.Get("Access-Control-Allow-Methods"); got != tt.wantMethods {
				t.Errorf("Access-Control-Allow-Methods %q, want %q", got, tt.wantMethods)
			}
			if tt.wantMethods != "" && (resp.Header.Get("Access-Control-Allow-Headers") != "content-type,x-onboarding-session" || resp.Header.Get("Access-Control-Max-Age") != "600") {
				t.Errorf("allow headers %q, max age %q", resp.Header.Get("Access-Control-Allow-Headers"), resp.Header.Get("Access-Control-Max-Age"))
			}
		})
	}
}
