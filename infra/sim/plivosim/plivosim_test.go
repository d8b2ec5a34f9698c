package plivosim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testAuthID    = "MAXXXXXXXXXXXXXXXXXX"
	testAuthToken = "plivo-token-for-tests"
	testWABA      = "109876543210987"
	testBusiness  = "198765432109876"
	testPhoneID   = "112233445566778"
	testDisplay   = "+1 555-010-0000"
)

type env struct {
	sim *Server
	srv *httptest.Server
}

func newEnv(t *testing.T, mutate ...func(*Config)) *env {
	t.Helper()
	cfg := Config{
		AuthID: testAuthID, AuthToken: testAuthToken,
		PhoneNumbers: map[string]string{testPhoneID: testDisplay},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	sim := New(cfg)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &env{sim: sim, srv: srv}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// call sends an authenticated request to path under /v1/Account/{auth_id}/.
func (e *env) call(t *testing.T, method, path string, body any) reply {
	t.Helper()
	return e.callAs(t, testAuthID, testAuthToken, method, "/v1/Account/"+testAuthID+"/"+path, body)
}

func (e *env) callAs(t *testing.T, user, pass, method, fullPath string, body any) reply {
	t.Helper()
	r, err := e.send(context.Background(), user, pass, method, fullPath, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send is the goroutine-safe core of call.
func (e *env) send(ctx context.Context, user, pass, method, fullPath string, body any) (reply, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+fullPath, rd)
	if err != nil {
		return reply{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, err
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// wantError checks Plivo's {"api_id","error"} answer.
func wantError(t *testing.T, r reply, status int, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var body map[string]any
	decode(t, r.body, &body)
	if id, _ := body["api_id"].(string); len(id) != 36 {
		t.Errorf("api_id %q is not a UUID", id)
	}
	if body["error"] != msg {
		t.Errorf("error %q, want %q", body["error"], msg)
	}
	if len(body) != 2 {
		t.Errorf("body has extra fields: %s", r.body)
	}
}

func signupBody() map[string]string {
	return map[string]string{
		"waba_id": testWABA, "business_id": testBusiness, "phone_number_id": testPhoneID, "client_ref": "customer-12345",
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		user, pass string
		pathID     string
		rotate     string
		status     int
	}{
		{name: "valid", user: testAuthID, pass: testAuthToken, pathID: testAuthID, status: 200},
		{name: "missing credentials", pathID: testAuthID, status: 401},
		{name: "wrong token", user: testAuthID, pass: "nope", pathID: testAuthID, status: 401},
		{name: "wrong user", user: "MAYYYYYYYYYYYYYYYYYY", pass: testAuthToken, pathID: testAuthID, status: 401},
		{name: "path auth id differs from user", user: testAuthID, pass: testAuthToken, pathID: "MAYYYYYYYYYYYYYYYYYY", status: 401},
		{name: "old token after rotation", user: testAuthID, pass: testAuthToken, pathID: testAuthID, rotate: "new-token", status: 401},
		{name: "new token after rotation", user: testAuthID, pass: "new-token", pathID: testAuthID, rotate: "new-token", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.rotate != "" {
				e.sim.RotateToken(tt.rotate)
			}
			for _, path := range []string{"", "WhatsApp/EmbeddedSignup/", "Message/", "WhatsApp/Template/" + testWABA + "/"} {
				method := http.MethodGet
				if path == "WhatsApp/EmbeddedSignup/" || path == "Message/" {
					method = http.MethodPost
				}
				r := e.callAs(t, tt.user, tt.pass, method, "/v1/Account/"+tt.pathID+"/"+path, map[string]string{})
				if tt.status == 401 {
					wantError(t, r, 401, MsgUnauthenticated)
				} else if r.status == 401 {
					t.Errorf("%s: unexpected 401", path)
				}
			}
		})
	}
}

func TestAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call(t, http.MethodGet, "", nil)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var acct map[string]any
	decode(t, r.body, &acct)
	for k, want := range map[string]any{
		"auth_id": testAuthID, "account_type": "standard", "name": defaultAccountName,
		"cash_credits": defaultCashCredits, "resource_uri": "/v1/Account/" + testAuthID + "/",
	} {
		if acct[k] != want {
			t.Errorf("%s = %v, want %v", k, acct[k], want)
		}
	}
	if id, _ := acct["api_id"].(string); len(id) != 36 {
		t.Errorf("api_id %v", acct["api_id"])
	}
	if r := e.call(t, http.MethodPost, "", nil); r.status != 405 {
		t.Errorf("POST account: %d", r.status)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{
		"/v1/Account/" + testAuthID + "/WhatsApp/EmbeddedSignup", // no trailing slash
		"/v1/Account/" + testAuthID + "/Call/",
	} {
		r := e.callAs(t, testAuthID, testAuthToken, http.MethodPost, p, signupBody())
		if r.status != 404 {
			t.Errorf("%s: status %d", p, r.status)
		}
	}
	if _, ok := e.sim.Onboarded(testWABA); ok {
		t.Error("a 404 must not onboard")
	}
	if r := e.callAs(t, "", "", http.MethodGet, "/v2/whatever", nil); r.status != 404 {
		t.Errorf("outside /v1/Account: %d", r.status)
	}
}

func TestEmbeddedSignup(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 65)
	tests := []struct {
		name   string
		setup  func(t *testing.T, e *env)
		body   any
		status int
		msg    string
	}{
		{name: "success", body: signupBody(), status: 200},
		{name: "success without client_ref", body: map[string]string{"waba_id": testWABA, "business_id": testBusiness, "phone_number_id": testPhoneID}, status: 200},
		{name: "success with numeric ids", body: `{"waba_id":109876543210987,"business_id":198765432109876,"phone_number_id":112233445566778}`, status: 200},
		{name: "client_ref of 64 characters", body: map[string]string{"waba_id": testWABA, "business_id": testBusiness, "phone_number_id": testPhoneID, "client_ref": long[:64]}, status: 200},
		{name: "missing waba_id", body: map[string]string{"business_id": testBusiness, "phone_number_id": testPhoneID}, status: 400, msg: "waba_id is required."},
		{name: "empty waba_id", body: map[string]string{"waba_id": " ", "business_id": testBusiness, "phone_number_id": testPhoneID}, status: 400, msg: "waba_id is required."},
		{name: "missing business_id", body: map[string]string{"waba_id": testWABA, "phone_number_id": testPhoneID}, status: 400, msg: "business_id is required."},
		{name: "missing phone_number_id", body: map[string]string{"waba_id": testWABA, "business_id": testBusiness}, status: 400, msg: "phone_number_id is required."},
		{name: "all missing reports waba_id first", body: map[string]string{}, status: 400, msg: "waba_id is required."},
		{name: "non-numeric waba_id", body: map[string]string{"waba_id": "WABA_ID_FROM_SIGNUP", "business_id": testBusiness, "phone_number_id": testPhoneID}, status: 400, msg: "waba_id is not a valid WhatsApp Business Account ID."},
		{name: "client_ref over 64 characters", body: map[string]string{"waba_id": testWABA, "business_id": testBusiness, "phone_number_id": testPhoneID, "client_ref": long}, status: 400, msg: "client_ref must be at most 64 characters."},
		{name: "not JSON", body: "waba_id=1", status: 400, msg: "Request body must be a JSON object."},
		{
			name:  "WABA already onboarded",
			setup: func(t *testing.T, e *env) { e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", signupBody()) },
			body:  signupBody(), status: 400, msg: "This WABA is already registered with Plivo.",
		},
		{
			name:  "WABA onboarded by someone else",
			setup: func(t *testing.T, e *env) { e.sim.Preregister(testWABA, "999") },
			body:  signupBody(), status: 400, msg: "This WABA is already registered with Plivo.",
		},
		{
			name:  "phone number under another WABA",
			setup: func(t *testing.T, e *env) { e.sim.Preregister("200000000000002", testPhoneID) },
			body:  signupBody(), status: 400, msg: "This phone number is already registered under another WABA.",
		},
		{
			name:  "Multi-Partner Solution not active",
			setup: func(t *testing.T, e *env) { e.sim.FailNext(RouteSignup, -1, KindSolutionInactive) },
			body:  signupBody(), status: 400, msg: "Multi-Partner Solution is not active for your app. Contact Plivo support.",
		},
		{
			name:  "account not authorized",
			setup: func(t *testing.T, e *env) { e.sim.FailNext(RouteSignup, 1, KindForbidden) },
			body:  signupBody(), status: 403, msg: "Your account is not authorized for the Embedded Signup API.",
		},
		{
			name:  "internal error",
			setup: func(t *testing.T, e *env) { e.sim.FailNext(RouteSignup, 1, KindInternal) },
			body:  signupBody(), status: 500, msg: "An internal error occurred. Please try again later.",
		},
		{
			name:  "credentials revoked",
			setup: func(t *testing.T, e *env) { e.sim.FailNext(RouteSignup, 1, KindUnauthorized) },
			body:  signupBody(), status: 401, msg: MsgUnauthenticated,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(t, e)
			}
			before := e.sim.SuccessfulSignups()
			r := e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", tt.body)
			if tt.status != 200 {
				wantError(t, r, tt.status, tt.msg)
				if e.sim.SuccessfulSignups() != before {
					t.Error("a failed call committed a signup")
				}
				return
			}
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var got map[string]string
			decode(t, r.body, &got)
			want := map[string]string{
				"message": "Embedded signup completed successfully.", "waba_id": testWABA,
				"phone_number_id": testPhoneID, "business_id": testBusiness,
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if len(got["api_id"]) != 36 || len(got) != 5 {
				t.Errorf("body %s", r.body)
			}
			su, ok := e.sim.Onboarded(testWABA)
			if !ok || su.APIID != got["api_id"] || su.DisplayPhoneNumber != testDisplay || su.Preregistered {
				t.Errorf("Onboarded = %+v, %v", su, ok)
			}
			if e.sim.SuccessfulSignups() != 1 || e.sim.SignupCalls() != 1 {
				t.Errorf("counters %d/%d", e.sim.SuccessfulSignups(), e.sim.SignupCalls())
			}
			if n := e.sim.Numbers(); len(n) != 1 || n[0] != "15550100000" {
				t.Errorf("registered numbers %v", n)
			}
		})
	}
}

func TestSignupSamePhoneSameWABAIsRegistered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sim.Preregister(testWABA, testPhoneID)
	r := e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", signupBody())
	// The WABA check comes first: the phone is not "under another WABA".
	wantError(t, r, 400, MsgWABARegistered)
}

func TestSignupFailuresCountAndClear(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sim.FailNext(RouteSignup, 2, KindInternal)
	var got []int
	for range 3 {
		got = append(got, e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", signupBody()).status)
	}
	if got[0] != 500 || got[1] != 500 || got[2] != 200 {
		t.Fatalf("statuses %v", got)
	}
	// A bad password is counted but never gets to an injected failure.
	e.sim.FailNext(RouteSignup, 1, KindInternal)
	r := e.callAs(t, testAuthID, "bad", http.MethodPost, "/v1/Account/"+testAuthID+"/WhatsApp/EmbeddedSignup/", signupBody())
	wantError(t, r, 401, MsgUnauthenticated)
	e.sim.FailNext(RouteSignup, 0, "")
	r = e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", signupBody())
	wantError(t, r, 400, MsgWABARegistered)
	if e.sim.SignupCalls() != 5 || e.sim.SuccessfulSignups() != 1 || e.sim.Calls(RouteSignup) != 5 {
		t.Errorf("calls %d, successes %d", e.sim.SignupCalls(), e.sim.SuccessfulSignups())
	}
}

func TestThrottledShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, route := range []string{RouteSignup, RouteMessage, RouteTemplate, RouteAccount} {
		e.sim.FailNext(route, 1, KindThrottled)
	}
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "WhatsApp/EmbeddedSignup/"},
		{http.MethodPost, "Message/"},
		{http.MethodGet, "WhatsApp/Template/" + testWABA + "/"},
		{http.MethodGet, ""},
	} {
		r := e.call(t, tc.method, tc.path, map[string]string{})
		if r.status != 429 {
			t.Fatalf("%s: status %d", tc.path, r.status)
		}
		var body map[string]any
		decode(t, r.body, &body)
		if body["message"] != "Too many requests" || body["error_code"] != float64(429) || len(body["api_id"].(string)) != 36 {
			t.Errorf("%s: body %s", tc.path, r.body)
		}
		if _, ok := body["error"]; ok {
			t.Errorf("429 uses the other error shape, without \"error\": %s", r.body)
		}
	}
}

func TestFailureKindsOnOtherRoutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind   Kind
		status int
	}{
		{KindUnauthorized, 401}, {KindForbidden, 403}, {KindBadRequest, 400}, {KindInternal, 500}, {KindDown, 503},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.sim.FailNext(RouteMessage, 1, tt.kind)
			r := e.call(t, http.MethodPost, "Message/", map[string]string{})
			if r.status != tt.status {
				t.Fatalf("status %d, want %d", r.status, tt.status)
			}
			if tt.kind == KindDown {
				if json.Valid(r.body) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
					t.Errorf("down must be HTML: %s", r.body)
				}
			}
		})
	}
}

func TestLostResponseDrop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sim.DropNextSignupResponse()
	_, err := e.send(context.Background(), testAuthID, testAuthToken, http.MethodPost,
		"/v1/Account/"+testAuthID+"/WhatsApp/EmbeddedSignup/", signupBody())
	if err == nil {
		t.Fatal("want a transport error (EOF)")
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") {
		t.Logf("error: %v", err)
	}
	if _, ok := e.sim.Onboarded(testWABA); !ok {
		t.Fatal("Plivo must have onboarded the WABA")
	}
	// The retry meets the committed state.
	wantError(t, e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", signupBody()), 400, MsgWABARegistered)
	if e.sim.SuccessfulSignups() != 1 || e.sim.SignupCalls() != 2 {
		t.Errorf("successes %d, calls %d", e.sim.SuccessfulSignups(), e.sim.SignupCalls())
	}
}

func TestLostResponseDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sim.DelayNextSignupResponse(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.send(ctx, testAuthID, testAuthToken, http.MethodPost,
		"/v1/Account/"+testAuthID+"/WhatsApp/EmbeddedSignup/", signupBody())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a client timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if _, ok := e.sim.Onboarded(testWABA); !ok {
		t.Fatal("Plivo must have onboarded the WABA")
	}
	wantError(t, e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", signupBody()), 400, MsgWABARegistered)
}

func TestLostResponseDelayShorterThanTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sim.DelayNextSignupResponse(50 * time.Millisecond)
	start := time.Now()
	r := e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", signupBody())
	if r.status != 200 || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("status %d after %v", r.status, time.Since(start))
	}
}

func TestLostResponseWaitsForASuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sim.DropNextSignupResponse()
	// A rejected call does not use up the scenario.
	wantError(t, e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", map[string]string{}), 400, MsgWABARequired)
	if _, err := e.send(context.Background(), testAuthID, testAuthToken, http.MethodPost,
		"/v1/Account/"+testAuthID+"/WhatsApp/EmbeddedSignup/", signupBody()); err == nil {
		t.Fatal("the first successful call must lose its answer")
	}
}

func TestHangCommitsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sim.FailNext(RouteSignup, 1, KindHang)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := e.send(ctx, testAuthID, testAuthToken, http.MethodPost,
		"/v1/Account/"+testAuthID+"/WhatsApp/EmbeddedSignup/", signupBody()); err == nil {
		t.Fatal("want a timeout")
	}
	if _, ok := e.sim.Onboarded(testWABA); ok {
		t.Fatal("a hang is not a commit")
	}
	if r := e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", signupBody()); r.status != 200 {
		t.Fatalf("retry: %d", r.status)
	}
}

func TestConcurrentSignups(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Latency = time.Millisecond })
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range n {
		wg.Go(func() {
			r, err := e.send(context.Background(), testAuthID, testAuthToken, http.MethodPost,
				"/v1/Account/"+testAuthID+"/WhatsApp/EmbeddedSignup/", signupBody())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				statuses[-1]++
				return
			}
			statuses[r.status]++
		})
	}
	wg.Wait()
	if statuses[200] != 1 || statuses[400] != n-1 {
		t.Errorf("statuses %v: exactly one racer may onboard the WABA", statuses)
	}

	for i := range n {
		wg.Go(func() {
			body := signupBody()
			body["waba_id"] = "3000000000" + string(rune('0'+i/10)) + string(rune('0'+i%10))
			body["phone_number_id"] = "4000000000" + string(rune('0'+i/10)) + string(rune('0'+i%10))
			r, err := e.send(context.Background(), testAuthID, testAuthToken, http.MethodPost,
				"/v1/Account/"+testAuthID+"/WhatsApp/EmbeddedSignup/", body)
			if err != nil || r.status != 200 {
				t.Errorf("distinct WABA %d: %v %d %s", i, err, r.status, r.body)
			}
		})
	}
	wg.Wait()
	if e.sim.SuccessfulSignups() != n+1 || e.sim.SignupCalls() != 2*n {
		t.Errorf("successes %d, calls %d", e.sim.SuccessfulSignups(), e.sim.SignupCalls())
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Latency = 50 * time.Millisecond })
	start := time.Now()
	e.call(t, http.MethodGet, "", nil)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("took %v, want >= 50ms", d)
	}
}

func TestLogsKeepNoSecrets(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	e := newEnv(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return buf.Write(p)
		}), nil))
	})
	e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", signupBody())
	e.callAs(t, testAuthID, "wrong-secret", http.MethodGet, "/v1/Account/"+testAuthID+"/", nil)
	st := e.callAs(t, "", "", http.MethodGet, "/_sim/plivo/state", nil)
	mu.Lock()
	out := buf.String() + string(st.body)
	mu.Unlock()
	for _, secret := range []string{testAuthToken, "wrong-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q leaked into logs or state", secret)
		}
	}
	if !strings.Contains(out, "status=200") || !strings.Contains(out, "status=401") {
		t.Errorf("log lines missing: %s", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestControlRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	post := func(body string) reply {
		return e.callAs(t, "", "", http.MethodPost, "/_sim/plivo/scenario", body)
	}
	if r := post(`{"route":"signup","n":-1,"kind":"solution_inactive"}`); r.status != 204 {
		t.Fatalf("scenario: %d %s", r.status, r.body)
	}
	wantError(t, e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", signupBody()), 400, MsgSolutionInactive)
	if r := post(`{"reset":true,"lose_next_signup":"drop","register_number":"+44 7700 900000","preregister":{"waba_id":"555","phone_number_id":"666"}}`); r.status != 204 {
		t.Fatalf("scenario: %d %s", r.status, r.body)
	}
	if _, err := e.send(context.Background(), testAuthID, testAuthToken, http.MethodPost,
		"/v1/Account/"+testAuthID+"/WhatsApp/EmbeddedSignup/", signupBody()); err == nil {
		t.Error("lose_next_signup over HTTP did not arm")
	}
	if su, ok := e.sim.Onboarded("555"); !ok || !su.Preregistered {
		t.Error("preregister over HTTP")
	}
	// Step 10 of docs/deploy.md, played on the simulator: the number's
	// Webhook URL, set in the console's Configure Number panel.
	if r := post(`{"configure_number":{"number":"+44 7700 900000","webhook_url":"https://hooks.example.com/webhooks/plivo/whatsapp"}}`); r.status != 204 {
		t.Fatalf("configure_number: %d %s", r.status, r.body)
	}
	for _, bad := range []string{`{"route":"nope","n":1,"kind":"internal"}`, `{"route":"signup","n":1,"kind":"nope"}`, `{"lose_next_signup":"later"}`, `nope`,
		`{"configure_number":{"number":"+1 555 999 9999","webhook_url":"https://hooks.example.com/"}}`} {
		if r := post(bad); r.status != 400 {
			t.Errorf("%s: %d", bad, r.status)
		}
	}
	r := e.callAs(t, "", "", http.MethodGet, "/_sim/plivo/state", nil)
	var st State
	decode(t, r.body, &st)
	if st.SuccessfulSignups != 1 || len(st.Signups) != 2 || len(st.Numbers) != 2 ||
		st.Webhooks["447700900000"] != "https://hooks.example.com/webhooks/plivo/whatsapp" || len(st.Webhooks) != 1 {
		t.Errorf("state %s", r.body)
	}
}

func TestFailNextPanicsOnUnknownRoute(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	New(Config{}).FailNext("embedded_signup", 1, KindInternal)
}

// TestSignupRefusesWhatMetaSays: a WABA not created under the solution and
// an unverified number are refused before anything is committed, and the
// undocumented scenario answers a 4xx the guide does not list.
func TestSignupRefusesWhatMetaSays(t *testing.T) {
	t.Parallel()
	sim := New(Config{AuthID: "MAID", AuthToken: "token", CheckAtMeta: func(waba, phone string) string {
		switch {
		case waba == "111":
			return MsgNotUnderSolution
		case phone == "333":
			return MsgNumberNotVerified
		}
		return ""
	}})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	post := func(waba, phone string) (int, string) {
		body := `{"waba_id":"` + waba + `","business_id":"222","phone_number_id":"` + phone + `"}`
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/Account/MAID/WhatsApp/EmbeddedSignup/", strings.NewReader(body))
		req.SetBasicAuth("MAID", "token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, b := post("111", "444"); st != 400 || !strings.Contains(b, MsgNotUnderSolution) {
		t.Errorf("WABA outside the solution: %d %s", st, b)
	}
	if st, b := post("555", "333"); st != 400 || !strings.Contains(b, MsgNumberNotVerified) {
		t.Errorf("unverified number: %d %s", st, b)
	}
	if sim.SuccessfulSignups() != 0 {
		t.Fatalf("%d signups committed", sim.SuccessfulSignups())
	}
	sim.FailNext(RouteSignup, 1, KindUndocumented)
	if st, b := post("555", "444"); st != http.StatusUnprocessableEntity || !strings.Contains(b, MsgUndocumented) {
		t.Errorf("undocumented scenario: %d %s", st, b)
	}
	if st, _ := post("555", "444"); st != 200 {
		t.Errorf("after the scenario: %d", st)
	}
}
