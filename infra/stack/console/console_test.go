package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/infra/stack/console"
	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/demo"
	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

const (
	authID    = "MACONSOLETEST0000001"
	authToken = "console-test-auth-token-0123456789"
	waba      = "109876543210987"
)

type setup struct {
	srv   *httptest.Server
	plivo *plivosim.Server
}

func newConsole(t *testing.T) setup {
	t.Helper()
	sim := plivosim.New(plivosim.Config{AuthID: authID, AuthToken: authToken, PhoneNumbers: map[string]string{"1": "+1 555-010-0000"}})
	plivoSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(plivoSrv.Close)
	store := memstore.New()
	store.Put(onboarding.Record{WABAID: waba, State: onboarding.StateOnboarded, PhoneNumberID: "1", DisplayPhoneNumber: "+1 555-010-0000", CreatedAt: time.Now()})
	store.Put(onboarding.Record{WABAID: "100000000000002", State: onboarding.StateVerified, CreatedAt: time.Now()})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	client := plivo.New(plivo.Config{
		BaseURL:    plivoSrv.URL,
		HTTPClient: demo.TracingClient(plivoSrv.Client()),
		Credentials: func(context.Context, bool) (secrets.PlivoCredentials, error) {
			return secrets.PlivoCredentials{AuthID: authID, AuthToken: authToken}, nil
		},
	})
	// Onboarded at Plivo too, as the signup does: the number can send and
	// the WABA can hold templates.
	if _, err := client.EmbeddedSignup(context.Background(), onboarding.PlivoSignup{WABAID: waba, BusinessID: "2", PhoneNumberID: "1"}); err != nil {
		t.Fatal(err)
	}
	svc := &demo.Service{Records: store, Logger: log, Plivo: client}
	env := map[string]string{"SANDBOX": "true", "PLIVO_API_URL": plivoSrv.URL, "TABLE_NAME": "wa-onboarding-local"}
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	c := console.New(next, func(k string) string { return env[k] }, apigw.DemoHandler(svc, log))
	c.Doctor = func(context.Context, string) (any, error) {
		return map[string]any{"target": "test", "ok": true, "checks": []any{}}, nil
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return setup{srv: srv, plivo: sim}
}

func post(t *testing.T, s setup, path, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestRunShowsAPICallAndPlivoExchange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		path      string
		body      string
		apiStatus int
		plivoURL  string // suffix of the recorded Plivo URL; "" when Plivo is not called
		answer    string // in the API answer
		plivoBody string // in the request body sent to Plivo
	}{
		{"message", "/console/run/message", `{"waba_id":"` + waba + `","dst":"+14155550100","text":"Hello from the demo"}`,
			202, "/v1/Account/" + authID + "/Message/", `"status":"queued"`, `"src":"+15550100000"`},
		{"template", "/console/run/template", `{"waba_id":"` + waba + `","name":"order_update","language":"en_US","category":"UTILITY","components":[{"type":"BODY","text":"Hi"}]}`,
			201, "/v1/Account/" + authID + "/WhatsApp/Template/" + waba + "/", `"status":"PENDING"`, `"category":"UTILITY"`},
		{"not onboarded: plivo not called", "/console/run/message", `{"waba_id":"100000000000002","dst":"+14155550100","text":"x"}`,
			409, "", `"code":"waba_not_onboarded"`, ""},
		{"invalid: plivo not called", "/console/run/message", `{"waba_id":"` + waba + `","dst":"0","text":"x"}`,
			400, "", `"field":"dst"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newConsole(t)
			resp, raw := post(t, s, tt.path, tt.body, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("console answered %d: %s", resp.StatusCode, raw)
			}
			var run console.Run
			if err := json.Unmarshal(raw, &run); err != nil {
				t.Fatal(err)
			}
			answer, sent := compact(t, run.API.ResponseBody), compact(t, run.API.RequestBody)
			if run.API.Method != "POST" || !strings.Contains(answer, tt.answer) || sent != tt.body {
				t.Fatalf("api %s %s: sent %s, answer %s", run.API.Method, run.API.Path, sent, answer)
			}
			if run.API.Status != tt.apiStatus {
				t.Fatalf("api status = %d, want %d: %s", run.API.Status, tt.apiStatus, run.API.ResponseBody)
			}
			if tt.plivoURL == "" {
				if len(run.Plivo) != 0 {
					t.Fatalf("plivo was called: %+v", run.Plivo)
				}
				return
			}
			if len(run.Plivo) != 1 {
				t.Fatalf("plivo exchanges = %+v", run.Plivo)
			}
			x := run.Plivo[0]
			if x.Method != "POST" || !strings.HasSuffix(x.URL, tt.plivoURL) || x.Headers["Authorization"] != "Basic [REDACTED]" ||
				!strings.Contains(x.RequestBody, tt.plivoBody) || x.Status < 200 || x.Status > 299 || x.ResponseBody == "" {
				t.Fatalf("exchange = %+v", x)
			}
			if strings.Contains(string(raw), authToken) {
				t.Fatal("the auth token is in the console's answer")
			}
		})
	}
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return b.String()
}

func TestRunRefusesCrossSiteRequests(t *testing.T) {
	t.Parallel()
	s := newConsole(t)
	body := `{"waba_id":"` + waba + `","dst":"+14155550100","text":"x"}`
	for name, h := range map[string]map[string]string{
		"other origin":     {"Origin": "https://evil.example"},
		"cross-site fetch": {"Sec-Fetch-Site": "cross-site"},
		"form post":        {"Content-Type": "text/plain"},
	} {
		resp, raw := post(t, s, "/console/run/message", body, h)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d %s", name, resp.StatusCode, raw)
		}
	}
	if n := len(s.plivo.Messages()); n != 0 {
		t.Fatalf("%d messages were sent", n)
	}
	u := strings.TrimPrefix(s.srv.URL, "http://")
	if resp, raw := post(t, s, "/console/run/message", body, map[string]string{"Origin": "http://" + u, "Sec-Fetch-Site": "same-origin"}); resp.StatusCode != 200 {
		t.Fatalf("same origin refused: %d %s", resp.StatusCode, raw)
	}
}

func TestPageAssetsAndPassThrough(t *testing.T) {
	t.Parallel()
	s := newConsole(t)
	get := func(path string) (*http.Response, string) {
		resp, err := s.srv.Client().Get(s.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, page := get("/console")
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.Contains(page, "App Review demos") || !strings.Contains(page, "Sandbox") ||
		!strings.Contains(csp, "script-src 'self'") || strings.Contains(page, "<script>") {
		t.Fatalf("page %d csp %q:\n%s", resp.StatusCode, csp, page)
	}
	for _, a := range []string{"console.css", "console.js"} {
		i := strings.Index(page, "/console/assets/"+a+"?v=")
		if i < 0 {
			t.Fatalf("page does not link %s", a)
		}
		if r, body := get("/console/assets/" + a); r.StatusCode != 200 || len(body) < 100 {
			t.Fatalf("%s: %d", a, r.StatusCode)
		}
	}
	if r, body := get("/console/doctor"); r.StatusCode != 200 || !strings.Contains(body, `"target": "test"`) {
		t.Fatalf("doctor: %d %s", r.StatusCode, body)
	}
	if r, _ := get("/api/whatsapp/embedded-signup/1"); r.StatusCode != http.StatusTeapot {
		t.Fatalf("other paths are not passed on: %d", r.StatusCode)
	}
	if r, _ := get("/consoles"); r.StatusCode != http.StatusTeapot {
		t.Fatalf("/consoles is the console's: %d", r.StatusCode)
	}
	if r, _ := get("/console/run/templates/" + waba); r.StatusCode != 200 {
		t.Fatalf("list templates: %d", r.StatusCode)
	}
}

// TestDoctorChecksTheServedOrigin: the console's doctor checks the origin
// the operator's browser reached the stack on, tunnels included.
func TestDoctorChecksTheServedOrigin(t *testing.T) {
	t.Parallel()
	c := console.New(nil, nil, nil)
	var got []string
	c.Doctor = func(_ context.Context, pageURL string) (any, error) {
		got = append(got, pageURL)
		return map[string]any{"ok": true}, nil
	}
	for _, tt := range []struct {
		host    string
		headers map[string]string
		want    string
	}{
		{"127.0.0.1:8080", nil, "http://127.0.0.1:8080"},
		{"localhost:8080", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "abc.tunnel.example"}, "https://abc.tunnel.example"},
	} {
		got = nil
		r := httptest.NewRequest(http.MethodGet, console.DoctorPath, nil)
		r.Host = tt.host
		for k, v := range tt.headers {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		if w.Code != http.StatusOK || len(got) != 1 || got[0] != tt.want {
			t.Errorf("host %s %v: status %d, doctor checked %q, want %q", tt.host, tt.headers, w.Code, got, tt.want)
		}
	}
}

func TestWABAsList(t *testing.T) {
	t.Parallel()
	c := console.New(nil, nil, nil)
	get := func() (int, string) {
		w := httptest.NewRecorder()
		c.ServeHTTP(w, httptest.NewRequest(http.MethodGet, console.WABAsPath, nil))
		return w.Code, w.Body.String()
	}
	if code, body := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("without a table: %d %s", code, body)
	}
	c.WABAs = func(context.Context) ([]console.WABA, error) {
		return []console.WABA{{WABAID: waba, DisplayPhoneNumber: "+1 555-010-0000", ClientRef: "customer-42"}}, nil
	}
	if code, body := get(); code != http.StatusOK || !strings.Contains(body, `"waba_id": "`+waba+`"`) || !strings.Contains(body, "customer-42") {
		t.Fatalf("list: %d %s", code, body)
	}
}
