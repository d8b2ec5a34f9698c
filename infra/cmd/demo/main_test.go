package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/apiclient"
)

// recorder is a stand-in demo API that keeps the last request.
type recorder struct {
	method, path, auth string
	body               map[string]any
	status             int
}

func (r *recorder) server(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.method, r.path, r.auth = req.Method, req.URL.Path, req.Header.Get("Authorization")
		b, _ := io.ReadAll(req.Body)
		r.body = nil
		_ = json.Unmarshal(b, &r.body)
		w.Header().Set("Content-Type", "application/json")
		if r.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "5")
		}
		w.WriteHeader(r.status)
		_, _ = w.Write([]byte(`{"status":"queued","request_id":"rid"}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		status int
		code   int
		method string
		path   string
		check  func(t *testing.T, body map[string]any, out string)
	}{
		{"message text", []string{"message", "-waba", "109876543210987", "-dst", "+14155550100", "-text", "Hello"}, 202, 0, "POST", "/api/demo/messages",
			func(t *testing.T, b map[string]any, out string) {
				if b["text"] != "Hello" || b["dst"] != "+14155550100" || b["waba_id"] != "109876543210987" || b["template"] != nil {
					t.Errorf("body %v", b)
				}
				if !strings.Contains(out, "→ POST ") || !strings.Contains(out, "[SigV4-signed for the local stack") || !strings.Contains(out, "← HTTP 202 Accepted") {
					t.Errorf("output:\n%s", out)
				}
			}},
		{"message template", []string{"message", "-waba", "1", "-dst", "+1", "-template", "hello_world", "-params", "Ana, #1042", "-callback", "https://x.example/cb", "-method", "POST"}, 202, 0, "POST", "/api/demo/messages",
			func(t *testing.T, b map[string]any, _ string) {
				tm, _ := b["template"].(map[string]any)
				comps, _ := tm["components"].([]any)
				params, _ := comps[0].(map[string]any)["parameters"].([]any)
				if tm["name"] != "hello_world" || tm["language"] != "en_US" || len(params) != 2 || b["url"] != "https://x.example/cb" || b["text"] != nil {
					t.Errorf("body %v", b)
				}
			}},
		{"template", []string{"template", "-waba", "1", "-name", "order_update", "-body", "Hi {{1}}", "-examples", "Ana", "-header", "Order", "-footer", "Bye"}, 201, 0, "POST", "/api/demo/templates",
			func(t *testing.T, b map[string]any, _ string) {
				comps, _ := b["components"].([]any)
				if b["category"] != "UTILITY" || b["name"] != "order_update" || len(comps) != 3 || comps[1].(map[string]any)["type"] != "BODY" ||
					comps[1].(map[string]any)["example"] == nil {
					t.Errorf("body %v", b)
				}
			}},
		{"template with raw components", []string{"template", "-waba", "1", "-name", "x", "-category", "MARKETING", "-components", `[{"type":"BODY","text":"Sale"}]`}, 201, 0, "POST", "/api/demo/templates",
			func(t *testing.T, b map[string]any, _ string) {
				if comps, _ := b["components"].([]any); len(comps) != 1 || b["category"] != "MARKETING" {
					t.Errorf("body %v", b)
				}
			}},
		{"templates", []string{"templates", "-waba", "109876543210987"}, 200, 0, "GET", "/api/demo/templates/109876543210987", nil},
		{"an error answer exits 1", []string{"message", "-waba", "1", "-dst", "+1", "-text", "x"}, 409, 1, "POST", "/api/demo/messages", nil},
		{"429 shows Retry-After", []string{"message", "-waba", "1", "-dst", "+1", "-text", "x"}, 429, 1, "POST", "/api/demo/messages",
			func(t *testing.T, _ map[string]any, out string) {
				if !strings.Contains(out, "Retry-After: 5") {
					t.Errorf("output:\n%s", out)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{status: tt.status}
			srv := rec.server(t)
			var out, errOut bytes.Buffer
			args := append(append([]string{}, tt.args...), "-api", srv.URL)
			code, err := run(context.Background(), args, &out, &errOut)
			if err != nil || code != tt.code {
				t.Fatalf("run = %d, %v\n%s%s", code, err, out.String(), errOut.String())
			}
			if rec.method != tt.method || rec.path != tt.path || !strings.HasPrefix(rec.auth, "AWS4-HMAC-SHA256 Credential="+apiclient.LocalAccessKeyID+"/") {
				t.Fatalf("request %s %s auth %q", rec.method, rec.path, rec.auth)
			}
			if tt.check != nil {
				tt.check(t, rec.body, out.String())
			}
		})
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"frobnicate"}, {"message", "-dst", "+1"}} {
		var out, errOut bytes.Buffer
		if code, _ := run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}

// TestSigning signs with static credentials from the environment, as the
// SDK's default chain reads them; t.Setenv rules out t.Parallel here.
func TestSigning(t *testing.T) {
	testenv.SetAWSEnv(t, nil)
	rec := &recorder{status: 200}
	srv := rec.server(t)
	var out, errOut bytes.Buffer
	code, err := run(context.Background(), []string{"templates", "-waba", "1", "-api", srv.URL, "-sign", "true", "-region", "eu-west-1"}, &out, &errOut)
	if err != nil || code != 0 {
		t.Fatalf("run = %d, %v: %s", code, err, errOut.String())
	}
	if !strings.HasPrefix(rec.auth, "AWS4-HMAC-SHA256 Credential="+testenv.DummyAccessKeyID+"/") || !strings.Contains(rec.auth, "/eu-west-1/execute-api/aws4_request") {
		t.Fatalf("Authorization = %q", rec.auth)
	}
	if !strings.Contains(out.String(), "SigV4-signed as "+testenv.DummyAccessKeyID) {
		t.Fatalf("output:\n%s", out.String())
	}
}

// TestErrorsNameMakeVariables runs the command as `make demo-message`
// does (make exports MAKELEVEL): its errors name WABA= and API=, which the
// user typed, not the Go flags. t.Setenv rules out t.Parallel.
func TestErrorsNameMakeVariables(t *testing.T) {
	tests := []struct {
		makelevel string
		args      []string
		want      string
		notWant   string
	}{
		{"1", []string{"message", "-dst", "+14155550100", "-text", "x"}, "WABA= is required", "-waba"},
		{"1", []string{"message", "-waba", "1", "-dst", "+1", "-text", "x", "-api", "ftp://x"}, `API="ftp://x" is not`, "-api"},
		{"1", []string{"message", "-waba", "1", "-text", "x", "-colour", "red"}, "COLOUR=", "-colour"},
		{"", []string{"message", "-dst", "+14155550100", "-text", "x"}, "-waba is required", "WABA="},
	}
	for _, tt := range tests {
		t.Setenv("MAKELEVEL", tt.makelevel)
		var out, errOut bytes.Buffer
		code, err := run(context.Background(), tt.args, &out, &errOut)
		if code != 2 && code != 1 || err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), tt.notWant) {
			t.Errorf("MAKELEVEL=%q run(%q) = %d, %v; want an error with %q and without %q", tt.makelevel, tt.args, code, err, tt.want, tt.notWant)
		}
	}
}

// TestMain clears MAKELEVEL: `make test` runs go test from a recipe, which
// would make every message name Make variables; the tests that want that
// set it themselves.
func TestMain(m *testing.M) {
	_ = os.Unsetenv("MAKELEVEL")
	os.Exit(m.Run())
}
