package meta_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
	"github.com/techprovider/wa-onboarding/shared/meta"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

// Canaries: long, unique values that must never appear in an error.
const (
	appID      = "111222333"
	appSecret  = "CANARY-APP-SECRET-9f8e7d"
	code       = "CANARY-CODE-AQBx1y2z3"
	token      = "CANARY-TOKEN-EAAGm0PX4ZCps"
	wabaID     = "109876543210987"
	graphTrace = "AbCdEfTrace"
)

func proof(tok string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(tok))
	return hex.EncodeToString(m.Sum(nil))
}

// graph is a scripted Graph API: each request is answered by the next
// handler in the script (the last one repeats), and recorded.
type graph struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	script []http.HandlerFunc
	reqs   []*http.Request
}

func newGraph(t *testing.T, script ...http.HandlerFunc) *graph {
	t.Helper()
	g := &graph{t: t, script: script}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.reqs = append(g.reqs, r.Clone(context.Background()))
		h := g.script[min(len(g.reqs), len(g.script))-1]
		g.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *graph) calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.reqs)
}

func (g *graph) req(i int) *http.Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reqs[i]
}

func jsonAnswer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func graphErr(status, code, subcode int, transient bool) http.HandlerFunc {
	return jsonAnswer(status, fmt.Sprintf(`{"error":{"message":"(#%d) something","type":"OAuthException","code":%d,"error_subcode":%d,"is_transient":%t,"fbtrace_id":"%s"}}`,
		code, code, subcode, transient, graphTrace))
}

// sleeps records backoff sleeps without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

func staticApp(context.Context, bool) (secrets.MetaApp, error) {
	return secrets.MetaApp{AppID: appID, AppSecret: appSecret}, nil
}

func newClient(baseURL string, s *sleeps, mut ...func(*meta.Config)) *meta.Client {
	cfg := meta.Config{BaseURL: baseURL, App: staticApp, Rand: func() float64 { return 0.5 }, Sleep: s.Sleep}
	for _, m := range mut {
		m(&cfg)
	}
	return meta.New(cfg)
}

func TestExchangeCode(t *testing.T) {
	t.Parallel()
	g := newGraph(t, jsonAnswer(200, `{"access_token":"`+token+`","token_type":"bearer"}`))
	got, err := newClient(g.srv.URL, &sleeps{}).ExchangeCode(t.Context(), code)
	if err != nil || got != token {
		t.Fatalf("ExchangeCode = %q, %v", got, err)
	}
	r := g.req(0)
	q := r.URL.Query()
	if r.Method != http.MethodGet || r.URL.Path != "/v25.0/oauth/access_token" {
		t.Errorf("request = %s %s", r.Method, r.URL.Path)
	}
	if q.Get("client_id") != appID || q.Get("client_secret") != appSecret || q.Get("code") != code {
		t.Errorf("query = %v", q)
	}
}

func TestDebugToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want onboarding.TokenInfo
	}{
		{
			name: "valid system user token",
			body: `{"data":{"app_id":"` + appID + `","type":"SYSTEM_USER","is_valid":true,"expires_at":0,
				"scopes":["whatsapp_business_management","whatsapp_business_messaging","public_profile"],
				"granular_scopes":[{"scope":"whatsapp_business_management","target_ids":["` + wabaID + `"]},
				{"scope":"whatsapp_business_messaging","target_ids":[` + wabaID + `]}]}}`,
			want: onboarding.TokenInfo{AppID: appID, Valid: true, Scopes: map[string][]string{
				"whatsapp_business_management": {wabaID},
				"whatsapp_business_messaging":  {wabaID},
				"public_profile":               nil,
			}},
		},
		{
			name: "numeric app id and expiry",
			body: `{"data":{"app_id":111222333,"is_valid":true,"expires_at":1767225600}}`,
			want: onboarding.TokenInfo{AppID: appID, Valid: true, ExpiresAt: time.Unix(1767225600, 0).UTC(), Scopes: map[string][]string{}},
		},
		{
			// Meta documents numbers and booleans; quoted ones must not
			// fail a signup whose code is already spent.
			name: "quoted expiry and validity",
			body: `{"data":{"app_id":"` + appID + `","is_valid":"true","expires_at":"1767225600"}}`,
			want: onboarding.TokenInfo{AppID: appID, Valid: true, ExpiresAt: time.Unix(1767225600, 0).UTC(), Scopes: map[string][]string{}},
		},
		{
			name: "invalid token is an answer, not an error",
			body: `{"data":{"app_id":"` + appID + `","is_valid":false,"error":{"code":190,"message":"Session has expired"}}}`,
			want: onboarding.TokenInfo{AppID: appID, Valid: false, Scopes: map[string][]string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGraph(t, jsonAnswer(200, tt.body))
			got, err := newClient(g.srv.URL, &sleeps{}).DebugToken(t.Context(), token)
			if err != nil {
				t.Fatal(err)
			}
			if got.AppID != tt.want.AppID || got.Valid != tt.want.Valid || !got.ExpiresAt.Equal(tt.want.ExpiresAt) || fmt.Sprint(got.Scopes) != fmt.Sprint(tt.want.Scopes) {
				t.Errorf("DebugToken = %+v, want %+v", got, tt.want)
			}
			r := g.req(0)
			q := r.URL.Query()
			if r.URL.Path != "/v25.0/debug_token" || q.Get("input_token") != token || q.Get("access_token") != appID+"|"+appSecret {
				t.Errorf("request = %s ? %v", r.URL.Path, q)
			}
		})
	}
}

// TestDebugTokenUnreadableExpiry: an expiry that is not a Unix time is
// refused, never read as a token that does not expire.
func TestDebugTokenUnreadableExpiry(t *testing.T) {
	t.Parallel()
	for _, expires := range []string{`"1500000000.5"`, `1.5e9`, `"soon"`} {
		g := newGraph(t, jsonAnswer(200, `{"data":{"app_id":"`+appID+`","is_valid":true,"expires_at":`+expires+`}}`))
		if info, err := newClient(g.srv.URL, &sleeps{}).DebugToken(t.Context(), token); err == nil {
			t.Errorf("expires_at %s: %+v, want an error", expires, info)
		}
	}
}

func TestBusinessTokenCalls(t *testing.T) {
	t.Parallel()
	t.Run("owner business", func(t *testing.T) {
		t.Parallel()
		g := newGraph(t, jsonAnswer(200, `{"owner_business_info":{"id":"198765432109876","name":"Acme"},"id":"`+wabaID+`"}`))
		got, err := newClient(g.srv.URL, &sleeps{}).OwnerBusinessID(t.Context(), token, wabaID)
		if err != nil || got != "198765432109876" {
			t.Fatalf("OwnerBusinessID = %q, %v", got, err)
		}
		checkBusinessCall(t, g.req(0), http.MethodGet, "/v25.0/"+wabaID)
		if f := g.req(0).URL.Query().Get("fields"); f != "owner_business_info" {
			t.Errorf("fields = %q", f)
		}
	})

	t.Run("owner business absent", func(t *testing.T) {
		t.Parallel()
		g := newGraph(t, jsonAnswer(200, `{"id":"`+wabaID+`"}`))
		got, err := newClient(g.srv.URL, &sleeps{}).OwnerBusinessID(t.Context(), token, wabaID)
		if err != nil || got != "" {
			t.Fatalf("OwnerBusinessID = %q, %v; want empty", got, err)
		}
	})

	t.Run("phone numbers with paging", func(t *testing.T) {
		t.Parallel()
		var g *graph
		page2 := func(w http.ResponseWriter, r *http.Request) {
			jsonAnswer(200, `{"data":[{"id":"2","display_phone_number":"+1 555 0002","verified_name":"Acme 2"}],"paging":{"cursors":{"before":"b","after":"c"}}}`)(w, r)
		}
		page1 := func(w http.ResponseWriter, r *http.Request) {
			// Meta echoes access_token in next links; the client must drop it.
			next := g.srv.URL + "/v25.0/" + wabaID + "/phone_numbers?access_token=" + url.QueryEscape(token) + "&fields=id&after=c1&appsecret_proof=stale"
			jsonAnswer(200, `{"data":[{"id":"1","display_phone_number":"+1 555 0001","verified_name":"Acme","code_verification_status":"NOT_VERIFIED","status":"PENDING"}],"paging":{"next":"`+next+`"}}`)(w, r)
		}
		g = newGraph(t, page1, page2)
		got, err := newClient(g.srv.URL, &sleeps{}).PhoneNumbers(t.Context(), token, wabaID)
		if err != nil {
			t.Fatal(err)
		}
		want := []onboarding.PhoneNumber{{ID: "1", DisplayPhoneNumber: "+1 555 0001", VerifiedName: "Acme", CodeVerificationStatus: "NOT_VERIFIED", Status: "PENDING"}, {ID: "2", DisplayPhoneNumber: "+1 555 0002", VerifiedName: "Acme 2"}}
		if !slices.Equal(got, want) {
			t.Errorf("PhoneNumbers = %+v", got)
		}
		if g.calls() != 2 {
			t.Fatalf("%d calls, want 2", g.calls())
		}
		checkBusinessCall(t, g.req(0), http.MethodGet, "/v25.0/"+wabaID+"/phone_numbers")
		checkBusinessCall(t, g.req(1), http.MethodGet, "/v25.0/"+wabaID+"/phone_numbers")
		if f := g.req(0).URL.Query().Get("fields"); f != "id,display_phone_number,verified_name,code_verification_status,status" {
			t.Errorf("fields = %q", f)
		}
		if a := g.req(1).URL.Query().Get("after"); a != "c1" {
			t.Errorf("second page after = %q", a)
		}
	})
}

func TestPagingGuards(t *testing.T) {
	t.Parallel()
	var foreignCalls atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignCalls.Add(1)
		jsonAnswer(200, `{"data":[]}`)(w, r)
	}))
	t.Cleanup(foreign.Close)

	tests := []struct {
		name string
		next func(base string) string
	}{
		{name: "next on another origin", next: func(string) string { return foreign.URL + "/v25.0/" + wabaID + "/phone_numbers?after=x" }},
		{name: "next repeats the page", next: func(base string) string {
			return base + "/v25.0/" + wabaID + "/phone_numbers?appsecret_proof=" + proof(token) + "&fields=id%2Cdisplay_phone_number%2Cverified_name"
		}},
		{name: "endless pages", next: func(base string) string {
			return base + "/v25.0/" + wabaID + "/phone_numbers?after=" + fmt.Sprint(time.Now().UnixNano())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var g *graph
			g = newGraph(t, func(w http.ResponseWriter, r *http.Request) {
				jsonAnswer(200, `{"data":[{"id":"1"}],"paging":{"next":"`+tt.next(g.srv.URL)+`"}}`)(w, r)
			})
			_, err := newClient(g.srv.URL, &sleeps{}).PhoneNumbers(t.Context(), token, wabaID)
			if err == nil {
				t.Fatal("PhoneNumbers succeeded")
			}
			if g.calls() > 10 {
				t.Errorf("%d pages fetched", g.calls())
			}
		})
	}
	if foreignCalls.Load() != 0 {
		t.Error("the business token was sent to another origin")
	}
}

func TestRejectsBadInputWithoutCalling(t *testing.T) {
	t.Parallel()
	g := newGraph(t, jsonAnswer(200, `{}`))
	c := newClient(g.srv.URL, &sleeps{})
	ctx := t.Context()
	for name, call := range map[string]func() error{
		"empty code":             func() error { _, err := c.ExchangeCode(ctx, ""); return err },
		"empty token":            func() error { _, err := c.DebugToken(ctx, ""); return err },
		"dot-dot WABA":           func() error { _, err := c.PhoneNumbers(ctx, token, ".."); return err },
		"slash WABA":             func() error { _, err := c.OwnerBusinessID(ctx, token, "1/../me"); return err },
		"empty WABA":             func() error { _, err := c.PhoneNumbers(ctx, token, ""); return err },
		"empty biz token":        func() error { _, err := c.OwnerBusinessID(ctx, "", wabaID); return err },
		"subscribe: bad WABA":    func() error { return c.SubscribeApp(ctx, token, "1/../me") },
		"subscribe: empty token": func() error { return c.SubscribeApp(ctx, "", wabaID) },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		} else if _, ok := onboarding.AsUpstream(err); ok {
			t.Errorf("%s: %v is an UpstreamError; bad input is ours", name, err)
		}
	}
	if g.calls() != 0 {
		t.Errorf("%d calls for invalid input", g.calls())
	}
}

// TestConfigErrors: broken wiring and a Secrets Manager that did not
// answer are not Meta's failures; a Meta secret that is refused or
// incomplete is our own configuration's (KindConfig), which pages
// (MetaConfigAlarm) like an app secret Meta refused. The code stays unspent.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	loader := func(app secrets.MetaApp, err error) func(context.Context, bool) (secrets.MetaApp, error) {
		return func(context.Context, bool) (secrets.MetaApp, error) { return app, err }
	}
	tests := []struct {
		name string
		cfg  meta.Config
		want onboarding.Kind // "" when the error must not be an UpstreamError
	}{
		{name: "no app", cfg: meta.Config{BaseURL: "http://127.0.0.1:1"}},
		{name: "relative base", cfg: meta.Config{BaseURL: "graph.facebook.com", App: staticApp}},
		{name: "base with query", cfg: meta.Config{BaseURL: "https://graph.facebook.com/?x=1", App: staticApp}},
		{name: "secrets manager did not answer", cfg: meta.Config{BaseURL: "http://127.0.0.1:1",
			App: loader(secrets.MetaApp{}, errors.New("secrets: get \"wa/meta\": context deadline exceeded"))}},
		{name: "secret refused", cfg: meta.Config{BaseURL: "http://127.0.0.1:1",
			App: loader(secrets.MetaApp{}, fmt.Errorf("%w: secrets: get \"wa/meta\": AccessDenied", upstream.ErrUnusableSecret))},
			want: onboarding.KindConfig},
		{name: "app incomplete", cfg: meta.Config{BaseURL: "http://127.0.0.1:1", App: loader(secrets.MetaApp{AppID: appID}, nil)},
			want: onboarding.KindConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := meta.New(tt.cfg).ExchangeCode(t.Context(), code)
			if err == nil {
				t.Fatal("no error")
			}
			ue, ok := onboarding.AsUpstream(err)
			switch {
			case tt.want == "" && ok:
				t.Errorf("%v is an UpstreamError; it is not Meta's failure", err)
			case tt.want != "" && (!ok || ue.Kind != tt.want):
				t.Errorf("%v: want an UpstreamError of kind %s", err, tt.want)
			}
		})
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		answer      http.HandlerFunc
		wantKind    onboarding.Kind
		wantStatus  int
		wantCode    int
		wantSubcode int
	}{
		{name: "app rate limit 4", answer: graphErr(400, 4, 0, false), wantKind: onboarding.KindThrottled, wantStatus: 400, wantCode: 4},
		{name: "user rate limit 17", answer: graphErr(400, 17, 2446079, false), wantKind: onboarding.KindThrottled, wantStatus: 400, wantCode: 17, wantSubcode: 2446079},
		{name: "page rate limit 32", answer: graphErr(400, 32, 0, false), wantKind: onboarding.KindThrottled, wantStatus: 400, wantCode: 32},
		{name: "custom rate limit 613", answer: graphErr(400, 613, 0, false), wantKind: onboarding.KindThrottled, wantStatus: 400, wantCode: 613},
		{name: "business use case 80000", answer: graphErr(400, 80000, 0, false), wantKind: onboarding.KindThrottled, wantStatus: 400, wantCode: 80000},
		{name: "business use case 80008", answer: graphErr(400, 80008, 0, false), wantKind: onboarding.KindThrottled, wantStatus: 400, wantCode: 80008},
		{name: "business use case 80014", answer: graphErr(400, 80014, 0, false), wantKind: onboarding.KindThrottled, wantStatus: 400, wantCode: 80014},
		{name: "throttle code on a 500", answer: graphErr(500, 4, 0, false), wantKind: onboarding.KindThrottled, wantStatus: 500, wantCode: 4},
		{name: "HTTP 429 without body", answer: jsonAnswer(429, ``), wantKind: onboarding.KindThrottled, wantStatus: 429},
		{name: "unknown error 1", answer: graphErr(500, 1, 0, false), wantKind: onboarding.KindTransient, wantStatus: 500, wantCode: 1},
		{name: "service error 2", answer: graphErr(503, 2, 0, false), wantKind: onboarding.KindTransient, wantStatus: 503, wantCode: 2},
		{name: "is_transient flag", answer: graphErr(400, 100, 33, true), wantKind: onboarding.KindTransient, wantStatus: 400, wantCode: 100, wantSubcode: 33},
		{name: "5xx with a rejecting code", answer: graphErr(500, 100, 0, false), wantKind: onboarding.KindTransient, wantStatus: 500, wantCode: 100},
		{name: "HTML 502 from a proxy", answer: jsonAnswer(502, `<html>Bad Gateway</html>`), wantKind: onboarding.KindTransient, wantStatus: 502},
		{name: "non-JSON 400", answer: jsonAnswer(400, `oops`), wantKind: onboarding.KindTransient, wantStatus: 400},
		{name: "JSON 404 without error object", answer: jsonAnswer(404, `{"x":1}`), wantKind: onboarding.KindTransient, wantStatus: 404},
		{name: "2xx non-JSON", answer: jsonAnswer(200, `<html>`), wantKind: onboarding.KindTransient, wantStatus: 200},
		{name: "invalid parameter 100", answer: graphErr(400, 100, 33, false), wantKind: onboarding.KindRejected, wantStatus: 400, wantCode: 100, wantSubcode: 33},
		{name: "expired token 190", answer: graphErr(400, 190, 463, false), wantKind: onboarding.KindRejected, wantStatus: 400, wantCode: 190, wantSubcode: 463},
		// Codes 10 and 200-299 say our app lacks a permission: an operator
		// fixes that, not the customer.
		{name: "permission 200", answer: graphErr(403, 200, 0, false), wantKind: onboarding.KindConfig, wantStatus: 403, wantCode: 200},
		{name: "permission 10", answer: graphErr(400, 10, 0, false), wantKind: onboarding.KindConfig, wantStatus: 400, wantCode: 10},
		{name: "capability 3 on a 500", answer: graphErr(500, 3, 0, false), wantKind: onboarding.KindConfig, wantStatus: 500, wantCode: 3},
		{name: "application limit 341", answer: graphErr(400, 341, 0, false), wantKind: onboarding.KindThrottled, wantStatus: 400, wantCode: 341},
		{name: "customer removed the app 190/458", answer: jsonAnswer(400, `{"error":{"message":"Error validating access token: The user has not authorized application `+appID+`.","type":"OAuthException","code":190,"error_subcode":458}}`),
			wantKind: onboarding.KindRejected, wantStatus: 400, wantCode: 190, wantSubcode: 458},
		{name: "string code", answer: jsonAnswer(400, `{"error":{"message":"bad","code":"190"}}`), wantKind: onboarding.KindRejected, wantStatus: 400, wantCode: 190},
		{name: "string error", answer: jsonAnswer(400, `{"error":"invalid_request"}`), wantKind: onboarding.KindRejected, wantStatus: 400},
		// Meta's WhatsApp error codes page tells callers to try these again,
		// and to decide by the code rather than by the HTTP status.
		{name: "something went wrong 131000 on a 400", answer: graphErr(400, 131000, 0, false), wantKind: onboarding.KindTransient, wantStatus: 400, wantCode: 131000},
		{name: "service unavailable 131016 on a 400", answer: graphErr(400, 131016, 0, false), wantKind: onboarding.KindTransient, wantStatus: 400, wantCode: 131016},
		{name: "server unavailable 133004 on a 400", answer: graphErr(400, 133004, 0, false), wantKind: onboarding.KindTransient, wantStatus: 400, wantCode: 133004},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGraph(t, tt.answer)
			_, err := newClient(g.srv.URL, &sleeps{}, func(c *meta.Config) { c.MaxAttempts = 1 }).PhoneNumbers(t.Context(), token, wabaID)
			ue, ok := onboarding.AsUpstream(err)
			if !ok {
				t.Fatalf("error %v is not an UpstreamError", err)
			}
			if ue.Service != "meta" || ue.Op != meta.OpPhoneNumbers || ue.Kind != tt.wantKind || ue.Status != tt.wantStatus || ue.Code != tt.wantCode || ue.Subcode != tt.wantSubcode {
				t.Errorf("got %+v; want kind %s status %d code %d/%d", ue, tt.wantKind, tt.wantStatus, tt.wantCode, tt.wantSubcode)
			}
			if tt.wantCode != 0 && strings.Contains(ue.Message, "(#") && !strings.Contains(ue.Message, graphTrace) {
				t.Errorf("message %q lost the fbtrace_id", ue.Message)
			}
		})
	}
}

// TestErrorKeepsUserTitleAndMessage: Graph's error-handling guide lists
// error_user_title and error_user_msg, Meta's explanation meant for a
// person, which often says what the terse message does not. The operator
// reading the log gets them; secrets in them are still scrubbed.
func TestErrorKeepsUserTitleAndMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		want     []string
		unwanted []string
	}{
		{
			name: "title and message",
			body: `{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2388093,"is_transient":false,` +
				`"error_user_title":"Account not eligible","error_user_msg":"This WhatsApp Business Account cannot be managed by this app.","fbtrace_id":"` + graphTrace + `"}}`,
			want: []string{"Invalid parameter", "Account not eligible", "This WhatsApp Business Account cannot be managed by this app.", graphTrace},
		},
		{
			name: "message only, already in the message",
			body: `{"error":{"message":"Invalid parameter: bad id","code":100,"error_user_msg":"bad id"}}`,
			want: []string{"Invalid parameter: bad id"},
		},
		{
			name:     "secrets scrubbed",
			body:     `{"error":{"message":"m","code":100,"error_user_title":"t","error_user_msg":"token ` + token + `"}}`,
			want:     []string{"[REDACTED]"},
			unwanted: []string{token},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGraph(t, jsonAnswer(400, tt.body))
			_, err := newClient(g.srv.URL, &sleeps{}).PhoneNumbers(t.Context(), token, wabaID)
			ue, ok := onboarding.AsUpstream(err)
			if !ok {
				t.Fatalf("error %v is not an UpstreamError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(ue.Message, w) {
					t.Errorf("message %q lacks %q", ue.Message, w)
				}
			}
			for _, u := range tt.unwanted {
				if strings.Contains(ue.Message, u) {
					t.Errorf("message %q holds %q", ue.Message, u)
				}
			}
			if strings.Count(ue.Message, "bad id") > 1 {
				t.Errorf("message %q repeats Meta's text", ue.Message)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	for _, f := range onboardingtest.TransportFailures(t) {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			c := newClient(f.URL, &sleeps{}, func(c *meta.Config) {
				c.HTTPClient = &http.Client{Timeout: f.HTTPTimeout}
				c.MaxAttempts = 1
			})
			_, err := c.DebugToken(f.Context(t), token)
			// The query carries the token being inspected.
			f.Check(t, err, "?", "input_token")
		})
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	ok := jsonAnswer(200, `{"data":[{"id":"1"}]}`)
	tests := []struct {
		name      string
		script    []http.HandlerFunc
		attempts  int
		wantCalls int
		wantErr   bool
	}{
		{name: "transient then success", script: []http.HandlerFunc{graphErr(500, 2, 0, true), ok}, wantCalls: 2},
		{name: "throttled then success", script: []http.HandlerFunc{graphErr(400, 80004, 0, false), ok}, wantCalls: 2},
		{name: "5xx HTML then success", script: []http.HandlerFunc{jsonAnswer(502, "bad gateway"), ok}, wantCalls: 2},
		{name: "rejected is not retried", script: []http.HandlerFunc{graphErr(400, 100, 0, false), ok}, wantCalls: 1, wantErr: true},
		{name: "capability 3 on a 500 is not retried", script: []http.HandlerFunc{graphErr(500, 3, 0, false), ok}, wantCalls: 1, wantErr: true},
		{name: "application limit 341 is retried", script: []http.HandlerFunc{graphErr(400, 341, 0, false), ok}, wantCalls: 2},
		{name: "gives up after MaxAttempts", script: []http.HandlerFunc{graphErr(500, 1, 0, false)}, wantCalls: 3, wantErr: true},
		{name: "MaxAttempts 5", script: []http.HandlerFunc{graphErr(500, 1, 0, false)}, attempts: 5, wantCalls: 5, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGraph(t, tt.script...)
			s := &sleeps{}
			_, err := newClient(g.srv.URL, s, func(c *meta.Config) { c.MaxAttempts = tt.attempts }).PhoneNumbers(t.Context(), token, wabaID)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if g.calls() != tt.wantCalls {
				t.Errorf("%d calls, want %d", g.calls(), tt.wantCalls)
			}
			if len(s.all()) != tt.wantCalls-1 {
				t.Errorf("%d sleeps, want %d", len(s.all()), tt.wantCalls-1)
			}
		})
	}
}

// bucThrottled answers Graph's business-use-case rate limit (80008, the
// WhatsApp Business Management API's) with the X-Business-Use-Case-Usage
// header Meta's Rate Limits page describes: per business object, the
// limit's type, usage percentages and estimated_time_to_regain_access in
// minutes. header "" sends no header.
func bucThrottled(header string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if header != "" {
			w.Header().Set("X-Business-Use-Case-Usage", header)
		}
		graphErr(400, 80008, 0, false)(w, r)
	}
}

// TestThrottleRetriedOnlyWhenMetaSaysSoon: once a rate limit is reached,
// Meta's Rate Limits page says every further call fails until the count
// drops, and for business-use-case limits it says when, in minutes. A
// retry a second later is then one more refused call; the client returns
// Meta's answer at once, with the estimate in its message.
func TestThrottleRetriedOnlyWhenMetaSaysSoon(t *testing.T) {
	t.Parallel()
	ok := jsonAnswer(200, `{"data":[{"id":"1"}]}`)
	usage := func(regain string) string {
		return `{"` + wabaID + `":[{"type":"whatsapp_business_management","call_count":100,"total_cputime":3,"total_time":4,"estimated_time_to_regain_access":` + regain + `}]}`
	}
	tests := []struct {
		name      string
		header    string
		wantCalls int
		wantInMsg string
	}{
		{name: "access back in 12 minutes", header: usage("12"), wantCalls: 1, wantInMsg: "12 min"},
		{name: "estimate as a string", header: usage(`"7"`), wantCalls: 1, wantInMsg: "7 min"},
		{name: "largest estimate of several objects", header: `{"1":[{"type":"whatsapp_business_management","estimated_time_to_regain_access":0}],"2":[{"type":"whatsapp_business_management","estimated_time_to_regain_access":3}]}`,
			wantCalls: 1, wantInMsg: "3 min"},
		{name: "absurd estimate bounded to a day", header: usage("99999999999"), wantCalls: 1, wantInMsg: "1440 min"},
		{name: "access back now", header: usage("0"), wantCalls: 2},
		{name: "no usage header", wantCalls: 2},
		{name: "unreadable usage header", header: `{oops`, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGraph(t, bucThrottled(tt.header), ok)
			_, err := newClient(g.srv.URL, &sleeps{}).PhoneNumbers(t.Context(), token, wabaID)
			if g.calls() != tt.wantCalls {
				t.Errorf("%d calls, want %d", g.calls(), tt.wantCalls)
			}
			if tt.wantCalls > 1 {
				if err != nil {
					t.Fatalf("err = %v after the retry", err)
				}
				return
			}
			ue, isUpstream := onboarding.AsUpstream(err)
			if !isUpstream || ue.Kind != onboarding.KindThrottled || ue.Code != 80008 || !strings.Contains(ue.Message, tt.wantInMsg) {
				t.Errorf("err = %v; want throttled 80008 whose message says %q", err, tt.wantInMsg)
			}
		})
	}
}

// TestUsageEstimateSpeaksOnlyOfRateLimits: Graph sends
// X-Business-Use-Case-Usage with calls of the WhatsApp Business
// Management API whatever their answer, and its estimate is about a rate
// limit. A WhatsApp error whose remedy is to try again is retried though
// the header carries an estimate; and a rate limit Meta gives no estimate
// for, still refused at the last attempt, claims none in its message.
func TestUsageEstimateSpeaksOnlyOfRateLimits(t *testing.T) {
	t.Parallel()
	usage := func(regain string) string {
		return `{"` + wabaID + `":[{"type":"whatsapp_business_management","call_count":100,"estimated_time_to_regain_access":` + regain + `}]}`
	}
	tryAgain := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Business-Use-Case-Usage", usage("12"))
		graphErr(500, 131000, 0, false)(w, r)
	}
	tests := []struct {
		name      string
		script    []http.HandlerFunc
		wantCalls int
		wantErr   bool
	}{
		{"something went wrong (131000), with an estimate", []http.HandlerFunc{tryAgain, jsonAnswer(200, `{"data":[{"id":"1"}]}`)}, 2, false},
		{"rate limit, access back now, to the last attempt", []http.HandlerFunc{bucThrottled(usage("0"))}, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGraph(t, tt.script...)
			_, err := newClient(g.srv.URL, &sleeps{}, func(c *meta.Config) { c.MaxAttempts = 3 }).PhoneNumbers(t.Context(), token, wabaID)
			if g.calls() != tt.wantCalls || (err != nil) != tt.wantErr {
				t.Fatalf("%d calls, err = %v; want %d calls, an error: %t", g.calls(), err, tt.wantCalls, tt.wantErr)
			}
			if ue, ok := onboarding.AsUpstream(err); ok && strings.Contains(ue.Message, "expects access back") {
				t.Errorf("message %q claims an estimate Meta did not give", ue.Message)
			}
		})
	}
}

func TestBackoffIsFullJitterCapped(t *testing.T) {
	t.Parallel()
	g := newGraph(t, graphErr(500, 2, 0, false))
	s := &sleeps{}
	_, _ = newClient(g.srv.URL, s, func(c *meta.Config) {
		c.MaxAttempts = 8
		c.Rand = func() float64 { return 0.999999 }
	}).OwnerBusinessID(t.Context(), token, wabaID)
	ceilings := []time.Duration{100, 200, 400, 800, 1600, 2000, 2000}
	got := s.all()
	if len(got) != len(ceilings) {
		t.Fatalf("sleeps = %v", got)
	}
	for i, c := range ceilings {
		c *= time.Millisecond
		if got[i] > c || got[i] < c*99/100 {
			t.Errorf("sleep %d = %v, want just under %v", i, got[i], c)
		}
	}

	g2 := newGraph(t, graphErr(500, 2, 0, false))
	s2 := &sleeps{}
	_, _ = newClient(g2.srv.URL, s2, func(c *meta.Config) { c.Rand = func() float64 { return 0 } }).OwnerBusinessID(t.Context(), token, wabaID)
	for _, d := range s2.all() {
		if d != 0 {
			t.Errorf("full jitter with rand 0 slept %v", d)
		}
	}
}

func TestRetryNeverSleepsPastDeadline(t *testing.T) {
	t.Parallel()
	g := newGraph(t, graphErr(503, 2, 0, true))
	s := &sleeps{}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	// With rand near 1 the sleeps are ~100, 200, 400ms, 700ms in all; the
	// next, ~800ms, would cross the 1s deadline, so the client stops after
	// the fourth call with Meta's error instead of sleeping into a
	// deadline error.
	_, err := newClient(g.srv.URL, s, func(c *meta.Config) {
		c.Rand = func() float64 { return 0.999 }
		c.MaxAttempts = 10
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			_ = s.Sleep(ctx, d)
			time.Sleep(d)
			return ctx.Err()
		}
	}).PhoneNumbers(ctx, token, wabaID)
	ue, ok := onboarding.AsUpstream(err)
	if !ok || ue.Code != 2 || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want the last Graph error, not a deadline error", err)
	}
	if ctx.Err() != nil {
		t.Error("the client slept past the deadline")
	}
	if g.calls() != 4 || len(s.all()) != 3 {
		t.Errorf("%d calls and sleeps %v; want 4 calls and three sleeps", g.calls(), s.all())
	}
}

func TestExchangeCodeRetriesOnlyProvenFailures(t *testing.T) {
	t.Parallel()
	okToken := jsonAnswer(200, `{"access_token":"`+token+`"}`)
	tests := []struct {
		name      string
		script    []http.HandlerFunc
		wantCalls int
		wantErr   bool
	}{
		{name: "Graph transient code retried", script: []http.HandlerFunc{graphErr(500, 2, 0, false), okToken}, wantCalls: 2},
		{name: "Graph is_transient retried", script: []http.HandlerFunc{graphErr(400, 100, 0, true), okToken}, wantCalls: 2},
		{name: "Graph throttle retried", script: []http.HandlerFunc{graphErr(400, 4, 0, false), okToken}, wantCalls: 2},
		{name: "proxy 502 not retried", script: []http.HandlerFunc{jsonAnswer(502, "<html>"), okToken}, wantCalls: 1, wantErr: true},
		{name: "empty 503 not retried", script: []http.HandlerFunc{jsonAnswer(503, ""), okToken}, wantCalls: 1, wantErr: true},
		{name: "dropped connection not retried", script: []http.HandlerFunc{dropConnection, okToken}, wantCalls: 1, wantErr: true},
		{name: "timeout not retried", script: []http.HandlerFunc{hangUp, okToken}, wantCalls: 1, wantErr: true},
		{name: "garbled 200 not retried", script: []http.HandlerFunc{jsonAnswer(200, "{"), okToken}, wantCalls: 1, wantErr: true},
		{name: "code rejected not retried", script: []http.HandlerFunc{graphErr(400, 100, 36009, false), okToken}, wantCalls: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGraph(t, tt.script...)
			c := newClient(g.srv.URL, &sleeps{}, func(c *meta.Config) { c.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond} })
			got, err := c.ExchangeCode(t.Context(), code)
			if (err != nil) != tt.wantErr || (err == nil && got != token) {
				t.Fatalf("ExchangeCode = %q, %v", got, err)
			}
			if g.calls() != tt.wantCalls {
				t.Errorf("%d calls, want %d", g.calls(), tt.wantCalls)
			}
			if err != nil {
				if _, ok := onboarding.AsUpstream(err); !ok {
					t.Errorf("%v is not an UpstreamError", err)
				}
			}
		})
	}
}

// TestNoSecretInErrors drives every operation into every failure class and
// checks that no error text carries the code, a token or the app secret,
// even when Meta echoes them back.
func TestNoSecretInErrors(t *testing.T) {
	t.Parallel()
	// Meta can only echo what it was sent: the URL, decoded or not, and
	// the Authorization header.
	echo := func(w http.ResponseWriter, r *http.Request) {
		q, _ := url.QueryUnescape(r.URL.RawQuery)
		msg := "Invalid parameter in " + r.URL.String() + " decoded " + q + " auth " + r.Header.Get("Authorization")
		jsonAnswer(400, fmt.Sprintf(`{"error":{"message":%q,"code":100,"fbtrace_id":"x"}}`, msg))(w, r)
	}
	echo5xx := func(w http.ResponseWriter, r *http.Request) {
		jsonAnswer(500, fmt.Sprintf(`{"error":{"message":%q,"code":2}}`, r.URL.String()+" "+r.Header.Get("Authorization")))(w, r)
	}
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	bases := map[string]string{"refused": closed.URL}
	for name, h := range map[string]http.HandlerFunc{"echo": echo, "echo5xx": echo5xx, "hang": hang, "html": jsonAnswer(500, "<html>"+token)} {
		bases[name] = newGraph(t, h).srv.URL
	}
	for name, base := range bases {
		c := newClient(base, &sleeps{}, func(c *meta.Config) { c.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond} })
		ctx := t.Context()
		calls := map[string]func() error{
			"exchange":  func() error { _, err := c.ExchangeCode(ctx, code); return err },
			"debug":     func() error { _, err := c.DebugToken(ctx, token); return err },
			"numbers":   func() error { _, err := c.PhoneNumbers(ctx, token, wabaID); return err },
			"owner":     func() error { _, err := c.OwnerBusinessID(ctx, token, wabaID); return err },
			"subscribe": func() error { return c.SubscribeApp(ctx, token, wabaID) },
		}
		for op, call := range calls {
			err := call()
			if err == nil {
				t.Errorf("%s/%s: no error", name, op)
				continue
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				for _, canary := range []string{code, token, appSecret} {
					if strings.Contains(text, canary) {
						t.Errorf("%s/%s: error leaks %q: %s", name, op, canary, text)
					}
				}
			}
			for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), appSecret) || strings.Contains(e.Error(), code) {
					t.Errorf("%s/%s: wrapped error leaks: %s", name, op, e)
				}
			}
		}
	}
}

func TestDefaultsAndVersion(t *testing.T) {
	t.Parallel()
	g := newGraph(t, jsonAnswer(200, `{"owner_business_info":{"id":"9"}}`))
	c := meta.New(meta.Config{BaseURL: g.srv.URL + "/", Version: "v99.0", App: staticApp})
	if _, err := c.OwnerBusinessID(t.Context(), token, wabaID); err != nil {
		t.Fatal(err)
	}
	if p := g.req(0).URL.Path; p != "/v99.0/"+wabaID {
		t.Errorf("path = %s", p)
	}
}

// TestTokenErrorBlamesTheRightParty: code 190 is our configuration only on
// the call that sends our app token; on the calls that send the customer's
// business token it is the customer's token, even when the message names
// "application" (a customer who removed our app).
func TestTokenErrorBlamesTheRightParty(t *testing.T) {
	t.Parallel()
	revoked := jsonAnswer(400, `{"error":{"message":"Error validating access token: The user has not authorized application `+appID+`.","type":"OAuthException","code":190,"error_subcode":458}}`)
	appTokenRefused := jsonAnswer(400, `{"error":{"message":"Invalid OAuth access token signature.","type":"OAuthException","code":190}}`)
	appDeleted := jsonAnswer(400, `{"error":{"message":"Error validating application. Application has been deleted.","type":"OAuthException","code":190}}`)
	calls := map[string]func(c *meta.Client, ctx context.Context) error{
		meta.OpDebugToken: func(c *meta.Client, ctx context.Context) error { _, err := c.DebugToken(ctx, token); return err },
		meta.OpPhoneNumbers: func(c *meta.Client, ctx context.Context) error {
			_, err := c.PhoneNumbers(ctx, token, wabaID)
			return err
		},
		meta.OpOwnerBusiness: func(c *meta.Client, ctx context.Context) error {
			_, err := c.OwnerBusinessID(ctx, token, wabaID)
			return err
		},
		meta.OpSubscribeApp: func(c *meta.Client, ctx context.Context) error { return c.SubscribeApp(ctx, token, wabaID) },
	}
	tests := []struct {
		name   string
		op     string
		answer http.HandlerFunc
		want   onboarding.Kind
	}{
		{name: "debug_token: app token refused", op: meta.OpDebugToken, answer: appTokenRefused, want: onboarding.KindConfig},
		{name: "phone_numbers: customer removed the app", op: meta.OpPhoneNumbers, answer: revoked, want: onboarding.KindRejected},
		{name: "owner_business: customer removed the app", op: meta.OpOwnerBusiness, answer: revoked, want: onboarding.KindRejected},
		{name: "subscribe_app: customer removed the app", op: meta.OpSubscribeApp, answer: revoked, want: onboarding.KindRejected},
		{name: "phone_numbers: our app deleted", op: meta.OpPhoneNumbers, answer: appDeleted, want: onboarding.KindConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGraph(t, tt.answer)
			err := calls[tt.op](newClient(g.srv.URL, &sleeps{}), t.Context())
			ue, ok := onboarding.AsUpstream(err)
			if !ok || ue.Op != tt.op || ue.Kind != tt.want {
				t.Fatalf("err = %v; want %s on %s", err, tt.want, tt.op)
			}
			if g.calls() != 1 {
				t.Errorf("%d calls; a token error is not retried", g.calls())
			}
		})
	}
}

func TestSubscribeApp(t *testing.T) {
	t.Parallel()
	success := jsonAnswer(200, `{"success":true}`)
	tests := []struct {
		name      string
		script    []http.HandlerFunc
		wantCalls int
		wantKind  onboarding.Kind // "" for success
		wantCode  int
	}{
		{name: "subscribed", script: []http.HandlerFunc{success}, wantCalls: 1},
		{name: "success quoted", script: []http.HandlerFunc{jsonAnswer(200, `{"success":"true"}`)}, wantCalls: 1},
		{name: "success false", script: []http.HandlerFunc{jsonAnswer(200, `{"success":false}`)}, wantCalls: 1, wantKind: onboarding.KindTransient},
		{name: "no success member", script: []http.HandlerFunc{jsonAnswer(200, `{}`)}, wantCalls: 1, wantKind: onboarding.KindTransient},
		{name: "WABA the token cannot see", script: []http.HandlerFunc{graphErr(400, 100, 33, false), success}, wantCalls: 1, wantKind: onboarding.KindRejected, wantCode: 100},
		{name: "app lacks the permission", script: []http.HandlerFunc{graphErr(403, 200, 0, false), success}, wantCalls: 1, wantKind: onboarding.KindConfig, wantCode: 200},
		{name: "Graph transient then subscribed", script: []http.HandlerFunc{graphErr(500, 2, 0, true), success}, wantCalls: 2},
		{name: "throttled then subscribed", script: []http.HandlerFunc{graphErr(400, 80008, 0, false), success}, wantCalls: 2},
		// Meta may have subscribed the app before the answer was lost;
		// subscribing again is harmless, so these are retried.
		{name: "timeout then subscribed", script: []http.HandlerFunc{hangUp, success}, wantCalls: 2},
		{name: "dropped connection then subscribed", script: []http.HandlerFunc{dropConnection, success}, wantCalls: 2},
		{name: "proxy 502 then subscribed", script: []http.HandlerFunc{jsonAnswer(502, "<html>"), success}, wantCalls: 2},
		{name: "gives up after MaxAttempts", script: []http.HandlerFunc{graphErr(500, 1, 0, false)}, wantCalls: 3, wantKind: onboarding.KindTransient, wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGraph(t, tt.script...)
			c := newClient(g.srv.URL, &sleeps{}, func(c *meta.Config) { c.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond} })
			err := c.SubscribeApp(t.Context(), token, wabaID)
			if g.calls() != tt.wantCalls {
				t.Errorf("%d calls, want %d", g.calls(), tt.wantCalls)
			}
			if tt.wantKind == "" {
				if err != nil {
					t.Fatalf("SubscribeApp = %v", err)
				}
			} else {
				ue, ok := onboarding.AsUpstream(err)
				if !ok || ue.Op != meta.OpSubscribeApp || ue.Kind != tt.wantKind || ue.Code != tt.wantCode {
					t.Fatalf("err = %v; want %s code %d on %s", err, tt.wantKind, tt.wantCode, meta.OpSubscribeApp)
				}
			}
			for i := range g.calls() {
				checkBusinessCall(t, g.req(i), http.MethodPost, "/v25.0/"+wabaID+"/subscribed_apps")
			}
		})
	}
}

// hangUp answers nothing until the client gives up (or 2 s pass): a Graph
// call that times out, after which Meta may or may not have acted.
func hangUp(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(2 * time.Second):
	}
}

// dropConnection closes the connection without an answer.
func dropConnection(w http.ResponseWriter, _ *http.Request) {
	conn, _, _ := w.(http.Hijacker).Hijack()
	_ = conn.Close()
}

// checkBusinessCall holds a call made with the customer's business token
// to Meta's rules: the token in the Authorization header and never in the
// URL, with its appsecret_proof.
func checkBusinessCall(t *testing.T, r *http.Request, method, path string) {
	t.Helper()
	if r.Method != method || r.URL.Path != path {
		t.Errorf("request = %s %s, want %s %s", r.Method, r.URL.Path, method, path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("Authorization = %q", got)
	}
	q := r.URL.Query()
	if q.Has("access_token") || strings.Contains(r.URL.RawQuery, token) {
		t.Errorf("token in the URL: %s", r.URL.RawQuery)
	}
	if q.Get("appsecret_proof") != proof(token) {
		t.Errorf("appsecret_proof = %q, want %q", q.Get("appsecret_proof"), proof(token))
	}
}

// TestRefusedAppSecretIsReadAgain: after an operator puts the right app
// secret in Secrets Manager, the next signup must not fail on the cached
// wrong one for a whole cache TTL. A refusal of our app's credentials
// reads the secret again, and calls once more when it changed.
func TestRefusedAppSecretIsReadAgain(t *testing.T) {
	t.Parallel()
	const stale = "CANARY-STALE-SECRET-0a1b"
	refused := jsonAnswer(400, `{"error":{"message":"Error validating client secret.","type":"OAuthException","code":1,"fbtrace_id":"`+graphTrace+`"}}`)
	secretOf := func(r *http.Request) string {
		if s := r.URL.Query().Get("client_secret"); s != "" {
			return s
		}
		_, s, _ := strings.Cut(r.URL.Query().Get("access_token"), "|")
		return s
	}
	graphWith := func(ok string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if secretOf(r) != appSecret {
				refused(w, r)
				return
			}
			jsonAnswer(200, ok)(w, r)
		}
	}
	tests := []struct {
		name      string
		fresh     string // what a refresh reads
		call      func(*meta.Client) error
		ok        string
		wantCalls int
		wantErr   bool
	}{
		{name: "exchange, secret fixed", fresh: appSecret, ok: `{"access_token":"` + token + `"}`, wantCalls: 2,
			call: func(c *meta.Client) error { _, err := c.ExchangeCode(t.Context(), code); return err }},
		{name: "debug_token, secret fixed", fresh: appSecret, ok: `{"data":{"app_id":"` + appID + `","is_valid":true}}`, wantCalls: 2,
			call: func(c *meta.Client) error { _, err := c.DebugToken(t.Context(), token); return err }},
		{name: "exchange, secret still wrong: one call", fresh: stale, ok: `{"access_token":"` + token + `"}`, wantCalls: 1, wantErr: true,
			call: func(c *meta.Client) error { _, err := c.ExchangeCode(t.Context(), code); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGraph(t, graphWith(tt.ok))
			var refreshes int
			c := newClient(g.srv.URL, &sleeps{}, func(cfg *meta.Config) {
				cfg.App = func(_ context.Context, refresh bool) (secrets.MetaApp, error) {
					if refresh {
						refreshes++
						return secrets.MetaApp{AppID: appID, AppSecret: tt.fresh}, nil
					}
					return secrets.MetaApp{AppID: appID, AppSecret: stale}, nil
				}
			})
			err := tt.call(c)
			if (err != nil) != tt.wantErr || g.calls() != tt.wantCalls || refreshes != 1 {
				t.Fatalf("err %v, %d calls, %d refreshes; want error %t, %d calls, 1 refresh", err, g.calls(), refreshes, tt.wantErr, tt.wantCalls)
			}
			if tt.wantErr {
				if ue, ok := onboarding.AsUpstream(err); !ok || ue.Kind != onboarding.KindConfig {
					t.Errorf("err %v, want a config error", err)
				}
				if strings.Contains(err.Error(), stale) {
					t.Errorf("the secret leaked into the error: %v", err)
				}
			}
		})
	}
}

// TestMendedSecretHoldsFromTheNextCall: once the operator mends a Meta
// secret that was incomplete, the next call uses it, not after the
// cache's TTL: a broken secret is read again before it fails a signup.
func TestMendedSecretHoldsFromTheNextCall(t *testing.T) {
	t.Parallel()
	sim, client := secretsmanagersim.StartWithClient(t, 1)
	clk := onboardingtest.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	sim.Put("meta", `{"app_id":"123"}`)
	c := meta.New(meta.Config{BaseURL: "http://127.0.0.1:1", App: secrets.MetaAppSource(secrets.NewCache(client, time.Hour, secrets.WithClock(clk.Now)), "meta")})
	if _, err := c.ExchangeCode(t.Context(), "code-1"); !isKind(err, onboarding.KindConfig) {
		t.Fatalf("broken secret: %v, want a config failure", err)
	}
	clk.Advance(secrets.RefreshInterval) // the mend comes later than the last refresh
	sim.Put("meta", `{"app_id":"123","app_secret":"mended"}`)
	if _, err := c.ExchangeCode(t.Context(), "code-2"); isKind(err, onboarding.KindConfig) {
		t.Errorf("after the secret was mended: %v; the cached broken secret is still used", err)
	}
}

func isKind(err error, k onboarding.Kind) bool {
	ue, ok := onboarding.AsUpstream(err)
	return ok && ue.Kind == k
}
