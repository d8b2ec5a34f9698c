package apigatewaysim_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sim/apigatewaysim"
)

// backend answers like a function that sets its own (ignored) CORS header.
var backend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		http.Error(w, "a preflight reached the function", http.StatusTeapot)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "https://function-chose.example")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
})

func TestCORS(t *testing.T) {
	t.Parallel()
	cfg := apigatewaysim.CORSConfig{AllowOrigins: []string{"http://localhost:3000", "https://app.example.com"},
		AllowMethods: []string{"GET", "POST"}, AllowHeaders: []string{"content-type"}, MaxAge: 600}
	tests := []struct {
		name        string
		cfg         apigatewaysim.CORSConfig
		method      string
		headers     map[string]string
		wantStatus  int
		wantHeaders map[string]string // "" means absent
	}{
		{name: "preflight from an allowed origin", cfg: cfg, method: "OPTIONS",
			headers:    map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "Content-Type"},
			wantStatus: 204, wantHeaders: map[string]string{"Access-Control-Allow-Origin": "http://localhost:3000",
				"Access-Control-Allow-Methods": "GET,POST", "Access-Control-Allow-Headers": "content-type", "Access-Control-Max-Age": "600"}},
		{name: "origin matched without case", cfg: cfg, method: "OPTIONS",
			headers:    map[string]string{"Origin": "https://APP.example.com", "Access-Control-Request-Method": "GET"},
			wantStatus: 204, wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://APP.example.com"}},
		{name: "preflight from another origin", cfg: cfg, method: "OPTIONS",
			headers:    map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
			wantStatus: 204, wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}},
		{name: "preflight for a method not allowed", cfg: cfg, method: "OPTIONS",
			headers:    map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "DELETE"},
			wantStatus: 204, wantHeaders: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "preflight for a header not allowed", cfg: cfg, method: "OPTIONS",
			headers:    map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, x-api-key"},
			wantStatus: 204, wantHeaders: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "OPTIONS that is not a preflight reaches the route", cfg: cfg, method: "OPTIONS",
			headers: map[string]string{"Origin": "http://localhost:3000"}, wantStatus: http.StatusTeapot},
		{name: "request from an allowed origin", cfg: cfg, method: "POST",
			headers:    map[string]string{"Origin": "http://localhost:3000"},
			wantStatus: 200, wantHeaders: map[string]string{"Access-Control-Allow-Origin": "http://localhost:3000"}},
		{name: "request from another origin loses the function's CORS header", cfg: cfg, method: "POST",
			headers:    map[string]string{"Origin": "https://evil.example"},
			wantStatus: 200, wantHeaders: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "request without origin is untouched", cfg: cfg, method: "GET",
			wantStatus: 200, wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://function-chose.example"}},
		{name: "wildcard", cfg: apigatewaysim.CORSConfig{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}}, method: "OPTIONS",
			headers:    map[string]string{"Origin": "https://any.example", "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "x-anything"},
			wantStatus: 204, wantHeaders: map[string]string{"Access-Control-Allow-Origin": "*"}},
		{name: "scheme wildcard", cfg: apigatewaysim.CORSConfig{AllowOrigins: []string{"https://*"}, AllowMethods: []string{"GET"}}, method: "OPTIONS",
			headers:    map[string]string{"Origin": "http://plain.example", "Access-Control-Request-Method": "GET"},
			wantStatus: 204, wantHeaders: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "credentials echo the origin", cfg: apigatewaysim.CORSConfig{AllowOrigins: []string{"*"}, AllowCredentials: true, ExposeHeaders: []string{"x-request-id"}}, method: "GET",
			headers:    map[string]string{"Origin": "https://any.example"},
			wantStatus: 200, wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://any.example", "Access-Control-Allow-Credentials": "true", "Access-Control-Expose-Headers": "x-request-id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, "/api/whatsapp/embedded-signup", nil)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			apigatewaysim.CORS(tt.cfg, backend).ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			for k, want := range tt.wantHeaders {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}
