package metasim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

const (
	testAppID     = "1111222233334444"
	testAppSecret = "app-secret-for-tests"
	testWABA      = "109876543210987"
	testBusiness  = "198765432109876"
	testPhoneID   = "112233445566778"
)

func testGrant() Grant {
	return Grant{
		WABAID:       testWABA,
		BusinessID:   testBusiness,
		BusinessName: "Acme Ltd",
		PhoneNumbers: []PhoneNumber{{ID: testPhoneID, DisplayPhoneNumber: "+1 555-010-0000", VerifiedName: "Acme"}},
	}
}

type env struct {
	sim   *Server
	srv   *httptest.Server
	clock *onboardingtest.Clock
}

func newEnv(t *testing.T, mutate ...func(*Config)) *env {
	t.Helper()
	c := onboardingtest.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	cfg := Config{AppID: testAppID, AppSecret: testAppSecret, Now: c.Now}
	for _, m := range mutate {
		m(&cfg)
	}
	sim := New(cfg)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &env{sim: sim, srv: srv, clock: c}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(t *testing.T, method, path string, q url.Values, hdr http.Header) reply {
	t.Helper()
	u := e.srv.URL + path
	var body io.Reader
	if method == http.MethodPost && q != nil {
		body = strings.NewReader(q.Encode())
	} else if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	return e.send(t, req)
}

// send makes req to the simulator and reads the whole answer.
func (e *env) send(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) get(t *testing.T, path string, q url.Values) reply {
	t.Helper()
	return e.do(t, http.MethodGet, path, q, nil)
}

// exchange trades code for a token and fails the test on any error.
func (e *env) exchange(t *testing.T, code string) string {
	t.Helper()
	r := e.get(t, "/v25.0/oauth/access_token", url.Values{
		"client_id": {testAppID}, "client_secret": {testAppSecret}, "code": {code},
	})
	if r.status != http.StatusOK {
		t.Fatalf("exchange: status %d: %s", r.status, r.body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	decode(t, r.body, &out)
	return out.AccessToken
}

func (e *env) token(t *testing.T, g Grant) string {
	t.Helper()
	return e.exchange(t, e.sim.IssueCode(g))
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// wantGraphError checks a Graph error answer.
func wantGraphError(t *testing.T, r reply, status int, typ string, code, subcode int, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var body graphErrorBody
	decode(t, r.body, &body)
	e := body.Error
	if e.Type != typ || e.Code != code || e.ErrorSubcode != subcode {
		t.Errorf("error type/code/subcode = %s/%d/%d, want %s/%d/%d", e.Type, e.Code, e.ErrorSubcode, typ, code, subcode)
	}
	if msg != "" && e.Message != msg {
		t.Errorf("message %q, want %q", e.Message, msg)
	}
	if e.FBTraceID == "" {
		t.Error("fbtrace_id missing")
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestExchangeCode(t *testing.T) {
	t.Parallel()
	creds := func(code string) url.Values {
		return url.Values{"client_id": {testAppID}, "client_secret": {testAppSecret}, "code": {code}}
	}
	tests := []struct {
		name string
		// setup returns the request parameters; it may issue codes.
		setup   func(t *testing.T, e *env) url.Values
		method  string
		path    string
		status  int
		code    int
		subcode int
		msg     string
	}{
		{
			name:   "success",
			setup:  func(t *testing.T, e *env) url.Values { return creds(e.sim.IssueCode(testGrant())) },
			status: 200,
		},
		{
			name:   "success by POST form, other version",
			setup:  func(t *testing.T, e *env) url.Values { return creds(e.sim.IssueCode(testGrant())) },
			method: http.MethodPost, path: "/v25.0/oauth/access_token",
			status: 200,
		},
		{
			name:   "success unversioned",
			setup:  func(t *testing.T, e *env) url.Values { return creds(e.sim.IssueCode(testGrant())) },
			path:   "/oauth/access_token",
			status: 200,
		},
		{
			name: "wrong client_id",
			setup: func(t *testing.T, e *env) url.Values {
				q := creds(e.sim.IssueCode(testGrant()))
				q.Set("client_id", "999")
				return q
			},
			status: 400, code: 101, msg: msgBadClientID,
		},
		{
			name: "wrong client_secret",
			setup: func(t *testing.T, e *env) url.Values {
				q := creds(e.sim.IssueCode(testGrant()))
				q.Set("client_secret", "nope")
				return q
			},
			status: 400, code: 1, msg: "Error validating client secret.",
		},
		{
			name:   "missing code",
			setup:  func(t *testing.T, e *env) url.Values { return creds("") },
			status: 400, code: 1, msg: msgMissingCode,
		},
		{
			name:   "unknown code",
			setup:  func(t *testing.T, e *env) url.Values { return creds("AQnotacode") },
			status: 400, code: 100, subcode: 36008, msg: "Invalid verification code format.",
		},
		{
			name: "expired code",
			setup: func(t *testing.T, e *env) url.Values {
				code := e.sim.IssueCode(testGrant())
				e.clock.Advance(DefaultCodeTTL)
				return creds(code)
			},
			status: 400, code: 100, subcode: 36007, msg: "This authorization code has expired.",
		},
		{
			name: "code still valid just before TTL",
			setup: func(t *testing.T, e *env) url.Values {
				code := e.sim.IssueCode(testGrant())
				e.clock.Advance(DefaultCodeTTL - time.Millisecond)
				return creds(code)
			},
			status: 200,
		},
		{
			name: "reused code",
			setup: func(t *testing.T, e *env) url.Values {
				code := e.sim.IssueCode(testGrant())
				e.exchange(t, code)
				return creds(code)
			},
			status: 400, code: 100, subcode: 36009, msg: "This authorization code has been used.",
		},
		{
			name: "redirect_uri required by the grant but missing",
			setup: func(t *testing.T, e *env) url.Values {
				g := testGrant()
				g.RedirectURI = "https://app.example/cb"
				return creds(e.sim.IssueCode(g))
			},
			status: 400, code: 100, subcode: 36008, msg: msgRedirectURI,
		},
		{
			name: "redirect_uri matching the grant",
			setup: func(t *testing.T, e *env) url.Values {
				g := testGrant()
				g.RedirectURI = "https://app.example/cb"
				q := creds(e.sim.IssueCode(g))
				q.Set("redirect_uri", "https://app.example/cb")
				return q
			},
			status: 200,
		},
		{
			name: "redirect_uri given for an SDK code",
			setup: func(t *testing.T, e *env) url.Values {
				q := creds(e.sim.IssueCode(testGrant()))
				q.Set("redirect_uri", "https://app.example/cb")
				return q
			},
			status: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			q := tt.setup(t, e)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			path := tt.path
			if path == "" {
				path = "/v25.0/oauth/access_token"
			}
			r := e.do(t, method, path, q, nil)
			if tt.status != http.StatusOK {
				wantGraphError(t, r, tt.status, "OAuthException", tt.code, tt.subcode, tt.msg)
				return
			}
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var out map[string]any
			decode(t, r.body, &out)
			tok, _ := out["access_token"].(string)
			if !strings.HasPrefix(tok, "EAA") || out["token_type"] != "bearer" {
				t.Errorf("body %s", r.body)
			}
			if _, ok := out["expires_in"]; ok {
				t.Errorf("a never-expiring system-user token has no expires_in: %s", r.body)
			}
		})
	}
}

func TestExchangeIssuesFreshTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.token(t, testGrant()), e.token(t, testGrant())
	if a == b {
		t.Fatal("two exchanges returned the same token")
	}
}

func TestDebugToken(t *testing.T) {
	t.Parallel()
	appToken := testAppID + "|" + testAppSecret
	type want struct {
		status   int
		code     int // top-level Graph error code when status != 200
		msg      string
		valid    bool
		dataErr  int // data.error.code
		dataSub  int // data.error.subcode
		typ      string
		scopes   []string
		granular map[string][]string // scope -> target_ids; nil entry = no targets
	}
	defaultGranular := map[string][]string{
		ScopeManagement:         {testWABA},
		ScopeMessaging:          {testWABA},
		ScopeBusinessManagement: nil,
	}
	tests := []struct {
		name  string
		cfg   func(*Config)
		input func(t *testing.T, e *env) string // input_token
		// auth edits the app-token credentials; biz is a fresh business token.
		auth func(q url.Values, h http.Header, biz string)
		want want
	}{
		{
			name:  "valid business token, app token in query",
			input: func(t *testing.T, e *env) string { return e.token(t, testGrant()) },
			want: want{status: 200, valid: true, typ: "SYSTEM_USER",
				scopes:   []string{ScopeManagement, ScopeMessaging, ScopeBusinessManagement, ScopePublicProfile},
				granular: defaultGranular},
		},
		{
			name:  "app token as Bearer header",
			input: func(t *testing.T, e *env) string { return e.token(t, testGrant()) },
			auth: func(q url.Values, h http.Header, biz string) {
				q.Del("access_token")
				h.Set("Authorization", "Bearer "+appToken)
			},
			want: want{status: 200, valid: true, typ: "SYSTEM_USER",
				scopes:   []string{ScopeManagement, ScopeMessaging, ScopeBusinessManagement, ScopePublicProfile},
				granular: defaultGranular},
		},
		{
			name:  "app token as OAuth header",
			input: func(t *testing.T, e *env) string { return e.token(t, testGrant()) },
			auth: func(q url.Values, h http.Header, biz string) {
				q.Del("access_token")
				h.Set("Authorization", "OAuth "+appToken)
			},
			want: want{status: 200, valid: true, typ: "SYSTEM_USER",
				scopes:   []string{ScopeManagement, ScopeMessaging, ScopeBusinessManagement, ScopePublicProfile},
				granular: defaultGranular},
		},
		{
			name: "extra WABAs make target_ids ambiguous",
			input: func(t *testing.T, e *env) string {
				g := testGrant()
				g.ExtraWABAIDs = []string{"200000000000001"}
				return e.token(t, g)
			},
			want: want{status: 200, valid: true, typ: "SYSTEM_USER",
				scopes: []string{ScopeManagement, ScopeMessaging, ScopeBusinessManagement, ScopePublicProfile},
				granular: map[string][]string{
					ScopeManagement:         {testWABA, "200000000000001"},
					ScopeMessaging:          {testWABA, "200000000000001"},
					ScopeBusinessManagement: nil,
				}},
		},
		{
			name: "renamed management scope",
			input: func(t *testing.T, e *env) string {
				g := testGrant()
				g.ManagementScope = "whatsapp_business_management_v2"
				return e.token(t, g)
			},
			want: want{status: 200, valid: true, typ: "SYSTEM_USER",
				scopes: []string{"whatsapp_business_management_v2", ScopeMessaging, ScopeBusinessManagement, ScopePublicProfile},
				granular: map[string][]string{
					"whatsapp_business_management_v2": {testWABA},
					ScopeMessaging:                    {testWABA},
					ScopeBusinessManagement:           nil,
				}},
		},
		{
			name: "messaging permission unticked",
			input: func(t *testing.T, e *env) string {
				g := testGrant()
				g.OmitScopes = []string{ScopeMessaging}
				return e.token(t, g)
			},
			want: want{status: 200, valid: true, typ: "SYSTEM_USER",
				scopes: []string{ScopeManagement, ScopeBusinessManagement, ScopePublicProfile},
				granular: map[string][]string{
					ScopeManagement:         {testWABA},
					ScopeBusinessManagement: nil,
				}},
		},
		{
			name:  "unknown input token is 200 with is_valid false",
			input: func(t *testing.T, e *env) string { return "EAAnotatoken" },
			want:  want{status: 200, valid: false, dataErr: 190, scopes: []string{}},
		},
		{
			name:  "an authorization code is not a token",
			input: func(t *testing.T, e *env) string { return e.sim.IssueCode(testGrant()) },
			want:  want{status: 200, valid: false, dataErr: 190, scopes: []string{}},
		},
		{
			name: "expired token",
			cfg:  func(c *Config) { c.TokenTTL = time.Hour },
			input: func(t *testing.T, e *env) string {
				tok := e.token(t, testGrant())
				e.clock.Advance(time.Hour)
				return tok
			},
			want: want{status: 200, valid: false, dataErr: 190, dataSub: 463, typ: "SYSTEM_USER",
				scopes:   []string{ScopeManagement, ScopeMessaging, ScopeBusinessManagement, ScopePublicProfile},
				granular: defaultGranular},
		},
		{
			name:  "input is the app token",
			input: func(t *testing.T, e *env) string { return appToken },
			want:  want{status: 200, valid: true, typ: "APP", scopes: []string{}},
		},
		{
			name:  "wrong app secret",
			input: func(t *testing.T, e *env) string { return e.token(t, testGrant()) },
			auth:  func(q url.Values, h http.Header, biz string) { q.Set("access_token", testAppID+"|wrong") },
			want:  want{status: 400, code: 190, msg: "Invalid OAuth access token signature."},
		},
		{
			name:  "garbage app token",
			input: func(t *testing.T, e *env) string { return e.token(t, testGrant()) },
			auth:  func(q url.Values, h http.Header, biz string) { q.Set("access_token", "garbage") },
			want:  want{status: 400, code: 190, msg: msgCannotParse},
		},
		{
			name:  "no app token",
			input: func(t *testing.T, e *env) string { return e.token(t, testGrant()) },
			auth:  func(q url.Values, h http.Header, biz string) { q.Del("access_token") },
			want:  want{status: 400, code: 104, msg: msgNoToken},
		},
		{
			name:  "business token instead of app token",
			input: func(t *testing.T, e *env) string { return e.token(t, testGrant()) },
			auth:  func(q url.Values, h http.Header, biz string) { q.Set("access_token", biz) },
			want:  want{status: 400, code: 100, msg: msgNeedAppToken},
		},
		{
			name:  "missing input_token",
			input: func(t *testing.T, e *env) string { return "" },
			want:  want{status: 400, code: 100, msg: msgInputRequired},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mut []func(*Config)
			if tt.cfg != nil {
				mut = append(mut, tt.cfg)
			}
			e := newEnv(t, mut...)
			input := tt.input(t, e)
			q := url.Values{"access_token": {appToken}}
			if input != "" {
				q.Set("input_token", input)
			}
			h := http.Header{}
			if tt.auth != nil {
				tt.auth(q, h, e.token(t, testGrant()))
			}
			r := e.do(t, http.MethodGet, "/v25.0/debug_token", q, h)
			if tt.want.status != 200 {
				wantGraphError(t, r, tt.want.status, "OAuthException", tt.want.code, 0, tt.want.msg)
				return
			}
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var body struct {
				Data struct {
					AppID               string    `json:"app_id"`
					Type                string    `json:"type"`
					Application         string    `json:"application"`
					DataAccessExpiresAt *int64    `json:"data_access_expires_at"`
					ExpiresAt           *int64    `json:"expires_at"`
					IsValid             *bool     `json:"is_valid"`
					IssuedAt            int64     `json:"issued_at"`
					Scopes              *[]string `json:"scopes"`
					GranularScopes      []struct {
						Scope     string   `json:"scope"`
						TargetIDs []string `json:"target_ids"`
					} `json:"granular_scopes"`
					UserID string `json:"user_id"`
					Error  *struct {
						Code    int    `json:"code"`
						Message string `json:"message"`
						Subcode int    `json:"subcode"`
					} `json:"error"`
				} `json:"data"`
			}
			decode(t, r.body, &body)
			d := body.Data
			if d.IsValid == nil || *d.IsValid != tt.want.valid {
				t.Fatalf("is_valid wrong: %s", r.body)
			}
			if d.Scopes == nil || strings.Join(*d.Scopes, ",") != strings.Join(tt.want.scopes, ",") {
				t.Errorf("scopes: %s, want %v", r.body, tt.want.scopes)
			}
			if tt.want.dataErr != 0 {
				if d.Error == nil || d.Error.Code != tt.want.dataErr || d.Error.Subcode != tt.want.dataSub || d.Error.Message == "" {
					t.Errorf("data.error: %s", r.body)
				}
			} else if d.Error != nil {
				t.Errorf("unexpected data.error: %s", r.body)
			}
			if d.Type != tt.want.typ {
				t.Errorf("type %q, want %q", d.Type, tt.want.typ)
			}
			if tt.want.typ == "SYSTEM_USER" {
				if d.AppID != testAppID || d.Application != DefaultAppName || d.UserID == "" || d.IssuedAt == 0 {
					t.Errorf("identity fields: %s", r.body)
				}
				if d.ExpiresAt == nil || d.DataAccessExpiresAt == nil {
					t.Errorf("expires_at and data_access_expires_at must be present: %s", r.body)
				}
				if tt.want.dataSub == 0 && *d.ExpiresAt != 0 {
					t.Errorf("expires_at %d, want 0", *d.ExpiresAt)
				}
			}
			got := map[string][]string{}
			for _, g := range d.GranularScopes {
				got[g.Scope] = g.TargetIDs
			}
			if len(got) != len(tt.want.granular) {
				t.Errorf("granular_scopes %s, want %v", r.body, tt.want.granular)
			}
			for sc, ids := range tt.want.granular {
				g, ok := got[sc]
				if !ok || strings.Join(g, ",") != strings.Join(ids, ",") {
					t.Errorf("granular scope %s = %v, want %v", sc, g, ids)
				}
			}
		})
	}
}

func TestPhoneNumbers(t *testing.T) {
	t.Parallel()
	const unsupported = "Unsupported get request. Object with ID '" + "300000000000003" + "' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
	tests := []struct {
		name   string
		waba   string
		params func(tok string) (url.Values, http.Header)
		status int
		typ    string
		code   int
		sub    int
		msg    string
		count  int
	}{
		{
			name: "token and proof in query",
			waba: testWABA,
			params: func(tok string) (url.Values, http.Header) {
				return url.Values{"access_token": {tok}, "appsecret_proof": {AppSecretProof(testAppSecret, tok)}}, nil
			},
			status: 200, count: 1,
		},
		{
			name: "token as Bearer header",
			waba: testWABA,
			params: func(tok string) (url.Values, http.Header) {
				return url.Values{"appsecret_proof": {AppSecretProof(testAppSecret, tok)}},
					http.Header{"Authorization": {"Bearer " + tok}}
			},
			status: 200, count: 1,
		},
		{
			name: "extra WABA has no numbers",
			waba: "200000000000002",
			params: func(tok string) (url.Values, http.Header) {
				return url.Values{"access_token": {tok}, "appsecret_proof": {AppSecretProof(testAppSecret, tok)}}, nil
			},
			status: 200, count: 0,
		},
		{
			name: "missing appsecret_proof",
			waba: testWABA,
			params: func(tok string) (url.Values, http.Header) {
				return url.Values{"access_token": {tok}}, nil
			},
			status: 400, typ: "GraphMethodException", code: 100, msg: msgProofMissing,
		},
		{
			name: "wrong appsecret_proof",
			waba: testWABA,
			params: func(tok string) (url.Values, http.Header) {
				return url.Values{"access_token": {tok}, "appsecret_proof": {AppSecretProof("other-secret", tok)}}, nil
			},
			status: 400, typ: "GraphMethodException", code: 100, msg: "Invalid appsecret_proof provided in the API argument",
		},
		{
			name: "invalid token",
			waba: testWABA,
			params: func(tok string) (url.Values, http.Header) {
				return url.Values{"access_token": {"EAAbogus"}, "appsecret_proof": {AppSecretProof(testAppSecret, "EAAbogus")}}, nil
			},
			status: 400, typ: "OAuthException", code: 190, msg: "Invalid OAuth access token - Cannot parse access token",
		},
		{
			name: "no token",
			waba: testWABA,
			params: func(tok string) (url.Values, http.Header) {
				return url.Values{}, nil
			},
			status: 400, typ: "OAuthException", code: 104, msg: msgNoToken,
		},
		{
			name: "WABA not granted",
			waba: "300000000000003",
			params: func(tok string) (url.Values, http.Header) {
				return url.Values{"access_token": {tok}, "appsecret_proof": {AppSecretProof(testAppSecret, tok)}}, nil
			},
			status: 400, typ: "GraphMethodException", code: 100, sub: 33, msg: unsupported,
		},
		{
			name: "unknown field",
			waba: testWABA,
			params: func(tok string) (url.Values, http.Header) {
				return url.Values{"access_token": {tok}, "appsecret_proof": {AppSecretProof(testAppSecret, tok)}, "fields": {"id,nope"}}, nil
			},
			status: 400, typ: "OAuthException", code: 100,
			msg: "(#100) Tried accessing nonexisting field (nope) on node type (WhatsAppBusinessPhoneNumber)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			g := testGrant()
			g.ExtraWABAIDs = []string{"200000000000002"}
			tok := e.token(t, g)
			q, h := tt.params(tok)
			r := e.do(t, http.MethodGet, "/v25.0/"+tt.waba+"/phone_numbers", q, h)
			if tt.status != 200 {
				wantGraphError(t, r, tt.status, tt.typ, tt.code, tt.sub, tt.msg)
				return
			}
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var body struct {
				Data   []map[string]string `json:"data"`
				Paging *struct {
					Cursors struct{ Before, After string } `json:"cursors"`
				} `json:"paging"`
			}
			decode(t, r.body, &body)
			if len(body.Data) != tt.count {
				t.Fatalf("%d numbers, want %d: %s", len(body.Data), tt.count, r.body)
			}
			if tt.count == 0 {
				return
			}
			want := map[string]string{
				"id": testPhoneID, "display_phone_number": "+1 555-010-0000", "verified_name": "Acme",
				"quality_rating": "GREEN", "code_verification_status": "VERIFIED",
			}
			for k, v := range want {
				if body.Data[0][k] != v {
					t.Errorf("%s = %q, want %q", k, body.Data[0][k], v)
				}
			}
			if body.Paging == nil || body.Paging.Cursors.Before == "" || body.Paging.Cursors.After == "" {
				t.Errorf("paging cursors missing: %s", r.body)
			}
		})
	}
}

func TestPhoneNumbersPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	g := testGrant()
	g.PhoneNumbers = []PhoneNumber{{ID: "1"}, {ID: "2"}, {ID: "3"}}
	tok := e.token(t, g)
	q := url.Values{"access_token": {tok}, "appsecret_proof": {AppSecretProof(testAppSecret, tok)}, "limit": {"2"}, "fields": {"id"}}
	var ids []string
	for range 3 {
		r := e.get(t, "/v25.0/"+testWABA+"/phone_numbers", q)
		var body struct {
			Data   []struct{ ID string } `json:"data"`
			Paging struct {
				Cursors struct{ After string } `json:"cursors"`
				Next    string                 `json:"next"`
			} `json:"paging"`
		}
		decode(t, r.body, &body)
		for _, d := range body.Data {
			ids = append(ids, d.ID)
		}
		if body.Paging.Next == "" {
			break
		}
		q.Set("after", body.Paging.Cursors.After)
	}
	if strings.Join(ids, ",") != "1,2,3" {
		t.Fatalf("paged ids %v", ids)
	}
}

func TestWABANode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		waba   string
		fields string
		proof  bool
		want   string // exact JSON body on success
		status int
		typ    string
		code   int
		sub    int
	}{
		{
			name: "owner_business_info", waba: testWABA, fields: "owner_business_info", proof: true,
			want: `{"owner_business_info":{"name":"Acme Ltd","id":"` + testBusiness + `"},"id":"` + testWABA + `"}`,
		},
		{
			name: "id,name,owner_business_info", waba: testWABA, fields: "id,name,owner_business_info", proof: true,
			want: `{"name":"WABA ` + testWABA + `","owner_business_info":{"name":"Acme Ltd","id":"` + testBusiness + `"},"id":"` + testWABA + `"}`,
		},
		{
			name: "default fields", waba: testWABA, proof: true,
			want: `{"name":"WABA ` + testWABA + `","id":"` + testWABA + `"}`,
		},
		{name: "proof required", waba: testWABA, fields: "owner_business_info", status: 400, typ: "GraphMethodException", code: 100},
		{name: "not granted", waba: "300000000000003", fields: "owner_business_info", proof: true, status: 400, typ: "GraphMethodException", code: 100, sub: 33},
		{name: "unknown field", waba: testWABA, fields: "owner", proof: true, status: 400, typ: "OAuthException", code: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tok := e.token(t, testGrant())
			q := url.Values{"access_token": {tok}}
			if tt.fields != "" {
				q.Set("fields", tt.fields)
			}
			if tt.proof {
				q.Set("appsecret_proof", AppSecretProof(testAppSecret, tok))
			}
			r := e.get(t, "/v25.0/"+tt.waba, q)
			if tt.status != 0 {
				wantGraphError(t, r, tt.status, tt.typ, tt.code, tt.sub, "")
				return
			}
			if r.status != 200 || string(r.body) != tt.want {
				t.Fatalf("status %d body %s, want %s", r.status, r.body, tt.want)
			}
		})
	}
}

func TestUnknownPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.get(t, "/v25.0/me/accounts", nil)
	wantGraphError(t, r, 400, "OAuthException", 2500, 0, "Unknown path components: /me/accounts")
	if e.sim.Calls(EndpointOther) != 1 {
		t.Errorf("other calls = %d", e.sim.Calls(EndpointOther))
	}
}

func TestFailNextKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind      Kind
		status    int
		code      int
		sub       int
		transient bool
	}{
		{KindTransient, 500, 1, 0, true},
		{KindUnexpected, 500, 2, 0, true},
		{KindThrottled, 403, 4, 0, true},
		{KindUserThrottled, 403, 17, 0, true},
		{KindRateLimited, 400, 613, 0, true},
		{KindWABAThrottled, 400, 80008, 0, true},
		{KindInvalidToken, 400, 190, 460, false},
		{KindDown, 503, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tok := e.token(t, testGrant())
			e.sim.FailNext(EndpointPhoneNumbers, 1, tt.kind)
			q := url.Values{"access_token": {tok}, "appsecret_proof": {AppSecretProof(testAppSecret, tok)}}
			r := e.get(t, "/v25.0/"+testWABA+"/phone_numbers", q)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.kind == KindDown {
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || json.Valid(r.body) {
					t.Errorf("down must be HTML: %s %s", ct, r.body)
				}
			} else {
				var body graphErrorBody
				decode(t, r.body, &body)
				if body.Error.Code != tt.code || body.Error.ErrorSubcode != tt.sub || body.Error.IsTransient != tt.transient {
					t.Errorf("body %s", r.body)
				}
			}
			checkUsageHeader(t, r.header, tt.kind == KindWABAThrottled)
			if r2 := e.get(t, "/v25.0/"+testWABA+"/phone_numbers", q); r2.status != 200 {
				t.Errorf("second call status %d: the failure must be used up", r2.status)
			}
			reqs := e.sim.Requests()
			last := reqs[len(reqs)-2]
			if last.Injected != tt.kind || last.Status != tt.status {
				t.Errorf("log entry %+v", last)
			}
		})
	}
}

// checkUsageHeader checks X-Business-Use-Case-Usage, which Meta's Rate
// Limits page says comes with a business-use-case limit: keyed by the
// business object (here the WABA), the limit's type and, once it is
// reached, a positive estimated_time_to_regain_access in minutes.
func checkUsageHeader(t *testing.T, h http.Header, want bool) {
	t.Helper()
	raw := h.Get("X-Business-Use-Case-Usage")
	if !want {
		if raw != "" {
			t.Errorf("X-Business-Use-Case-Usage %s on a failure that is no business-use-case limit", raw)
		}
		return
	}
	var usage map[string][]struct {
		Type      string `json:"type"`
		CallCount int    `json:"call_count"`
		Regain    int    `json:"estimated_time_to_regain_access"`
	}
	if err := json.Unmarshal([]byte(raw), &usage); err != nil {
		t.Fatalf("X-Business-Use-Case-Usage %q: %v", raw, err)
	}
	limits := usage[testWABA]
	if len(limits) != 1 || limits[0].Type != "whatsapp_business_management" || limits[0].CallCount < 100 || limits[0].Regain <= 0 {
		t.Errorf("X-Business-Use-Case-Usage %s; want the WABA's whatsapp_business_management limit reached, with a time to regain access", raw)
	}
}

func TestFailNextQueueAndSticky(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token(t, testGrant())
	q := url.Values{"access_token": {testAppID + "|" + testAppSecret}, "input_token": {tok}}
	statuses := func(n int) []int {
		var out []int
		for range n {
			out = append(out, e.get(t, "/v25.0/debug_token", q).status)
		}
		return out
	}
	e.sim.FailNext(EndpointDebugToken, 2, KindTransient)
	e.sim.FailNext(EndpointDebugToken, 1, KindThrottled)
	if got := statuses(4); !slices.Equal(got, []int{500, 500, 403, 200}) {
		t.Errorf("queued: %v", got)
	}
	e.sim.FailNext(EndpointDebugToken, -1, KindDown)
	if got := statuses(3); !slices.Equal(got, []int{503, 503, 503}) {
		t.Errorf("sticky: %v", got)
	}
	e.sim.FailNext(EndpointDebugToken, 0, "")
	if got := statuses(1); !slices.Equal(got, []int{200}) {
		t.Errorf("cleared: %v", got)
	}
	if n := e.sim.Calls(EndpointDebugToken); n != 8 {
		t.Errorf("Calls = %d, want 8", n)
	}
	e.sim.FailNext(EndpointDebugToken, -1, KindDown)
	e.sim.Reset()
	if e.sim.Calls(EndpointDebugToken) != 0 || len(e.sim.Requests()) != 0 {
		t.Error("Reset kept counters")
	}
	if got := e.get(t, "/v25.0/debug_token", q); got.status != 200 {
		// The token is gone after Reset, but debug_token still answers 200.
		t.Errorf("after Reset: %d", got.status)
	}
}

func TestTransientAfterCommitConsumesCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	code := e.sim.IssueCode(testGrant())
	e.sim.FailNext(EndpointOAuth, 1, KindTransientAfterCommit)
	q := url.Values{"client_id": {testAppID}, "client_secret": {testAppSecret}, "code": {code}}
	if r := e.get(t, "/v25.0/oauth/access_token", q); r.status != 500 {
		t.Fatalf("first exchange status %d", r.status)
	}
	r := e.get(t, "/v25.0/oauth/access_token", q)
	wantGraphError(t, r, 400, "OAuthException", 100, 36009, "This authorization code has been used.")
}

func TestHangUntilClientTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sim.FailNext(EndpointOAuth, 1, KindHang)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/v25.0/oauth/access_token", nil)
	start := time.Now()
	resp, err := e.srv.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("want a timeout")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestFailNextPanicsOnUnknownEndpoint(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	New(Config{}).FailNext("phone-numbers", 1, KindTransient)
}

func TestLatency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Latency = 50 * time.Millisecond })
	start := time.Now()
	e.get(t, "/v25.0/debug_token", nil)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("request took %v, want >= 50ms", d)
	}

	// With an hour of latency, control routes still answer, and a Graph
	// request ends when its client gives up.
	slow := newEnv(t, func(c *Config) { c.Latency = time.Hour })
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(slow.srv.URL + "/_sim/meta/requests")
	if err != nil {
		t.Fatalf("control route was slowed down: %v", err)
	}
	resp.Body.Close()
	client.Timeout = 50 * time.Millisecond
	if _, err := client.Get(slow.srv.URL + "/v25.0/debug_token"); err == nil {
		t.Fatal("want a client timeout")
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Latency = time.Millisecond })
	const n = 50

	// Distinct customers, each through the whole flow.
	var wg sync.WaitGroup
	errs := make(chan string, n*3)
	for i := range n {
		wg.Go(func() {
			g := testGrant()
			g.WABAID = strconv.Itoa(100000000000000 + i)
			code := e.sim.IssueCode(g)
			r := get(e, "/v25.0/oauth/access_token", url.Values{"client_id": {testAppID}, "client_secret": {testAppSecret}, "code": {code}})
			if r.status != 200 {
				errs <- "exchange " + string(r.body)
				return
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			_ = json.Unmarshal(r.body, &tok)
			r = get(e, "/v25.0/"+g.WABAID+"/phone_numbers", url.Values{"access_token": {tok.AccessToken}, "appsecret_proof": {AppSecretProof(testAppSecret, tok.AccessToken)}})
			if r.status != 200 {
				errs <- "phone_numbers " + string(r.body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}

	// One code raced by many: exactly one exchange wins.
	code := e.sim.IssueCode(testGrant())
	var mu sync.Mutex
	won, used := 0, 0
	for range n {
		wg.Go(func() {
			r := get(e, "/v25.0/oauth/access_token", url.Values{"client_id": {testAppID}, "client_secret": {testAppSecret}, "code": {code}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.status == 200:
				won++
			case strings.Contains(string(r.body), `"error_subcode":36009`):
				used++
			}
		})
	}
	wg.Wait()
	if won != 1 || used != n-1 {
		t.Errorf("won %d, used %d; want 1 and %d", won, used, n-1)
	}
	if got := e.sim.Calls(EndpointOAuth); got != 2*n {
		t.Errorf("oauth calls %d, want %d", got, 2*n)
	}
}

// get is a goroutine-safe GET that reports errors in the reply.
func get(e *env, path string, q url.Values) reply {
	resp, err := e.srv.Client().Get(e.srv.URL + path + "?" + q.Encode())
	if err != nil {
		return reply{body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func TestLogsKeepNoSecrets(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var logMu sync.Mutex
	e := newEnv(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	})
	code := e.sim.IssueCode(testGrant())
	tok := e.exchange(t, code)
	proof := AppSecretProof(testAppSecret, tok)
	e.get(t, "/v25.0/debug_token", url.Values{"access_token": {testAppID + "|" + testAppSecret}, "input_token": {tok}})
	e.get(t, "/v25.0/"+testWABA+"/phone_numbers", url.Values{"access_token": {tok}, "appsecret_proof": {proof}})
	e.do(t, http.MethodGet, "/v25.0/"+testWABA+"/phone_numbers", url.Values{"appsecret_proof": {proof}}, http.Header{"Authorization": {"Bearer " + tok}})
	e.get(t, "/v25.0/"+testWABA, url.Values{"access_token": {tok}, "fields": {"owner_business_info"}, "appsecret_proof": {proof}})

	reqs := e.sim.Requests()
	logMu.Lock()
	printed := marshal(reqs) + logs.String()
	logMu.Unlock()
	rr := e.do(t, http.MethodGet, "/_sim/meta/requests", nil, nil)
	printed += string(rr.body)
	for name, secret := range map[string]string{"token": tok, "code": code, "proof": proof, "app secret": testAppSecret} {
		if strings.Contains(printed, secret) {
			t.Errorf("the %s appears in the log or request record", name)
		}
	}

	byEndpoint := map[string][]Request{}
	for _, r := range reqs {
		byEndpoint[r.Endpoint] = append(byEndpoint[r.Endpoint], r)
	}
	if len(byEndpoint[EndpointOAuth]) != 1 || byEndpoint[EndpointOAuth][0].Status != 200 {
		t.Errorf("the code must be exchanged exactly once: %+v", byEndpoint[EndpointOAuth])
	}
	for _, ep := range []string{EndpointPhoneNumbers, EndpointOwner} {
		for _, r := range byEndpoint[ep] {
			if !r.HasQueryKey("appsecret_proof") {
				t.Errorf("%s call without appsecret_proof: %+v", ep, r)
			}
		}
	}
	if got := byEndpoint[EndpointPhoneNumbers][1].TokenIn; got != "header" {
		t.Errorf("TokenIn = %q, want header", got)
	}
	if !strings.Contains(logs.String(), "query_keys") {
		t.Error("logger got no request lines")
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func marshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestControlRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	post := func(path, body string) reply { return postJSON(t, e, path, body) }

	r := post("/_sim/meta/codes", `{"waba_id":"`+testWABA+`","business_id":"`+testBusiness+`","phone_numbers":[{"id":"`+testPhoneID+`","display_phone_number":"+1 555-010-0000","verified_name":"Acme"}]}`)
	if r.status != 200 {
		t.Fatalf("codes: %d %s", r.status, r.body)
	}
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("no CORS header")
	}
	var out struct{ Code string }
	decode(t, r.body, &out)
	tok := e.exchange(t, out.Code)
	pr := e.get(t, "/v25.0/"+testWABA+"/phone_numbers", url.Values{"access_token": {tok}, "appsecret_proof": {AppSecretProof(testAppSecret, tok)}})
	if !strings.Contains(string(pr.body), testPhoneID) {
		t.Errorf("grant from JSON lost its phone number: %s", pr.body)
	}

	for _, tc := range []struct{ path, body string }{
		{"/_sim/meta/codes", `{"business_id":"1"}`},
		{"/_sim/meta/codes", `not json`},
		{"/_sim/meta/scenario", `{"endpoint":"nope","n":1,"kind":"transient"}`},
		{"/_sim/meta/scenario", `{"endpoint":"oauth","n":1,"kind":"nope"}`},
	} {
		if r := post(tc.path, tc.body); r.status != 400 {
			t.Errorf("%s %s: status %d", tc.path, tc.body, r.status)
		}
	}

	if r := post("/_sim/meta/scenario", `{"endpoint":"owner","n":1,"kind":"throttled"}`); r.status != 204 {
		t.Fatalf("scenario: %d %s", r.status, r.body)
	}
	or := e.get(t, "/v25.0/"+testWABA, url.Values{"access_token": {tok}, "appsecret_proof": {AppSecretProof(testAppSecret, tok)}})
	if or.status != 403 {
		t.Errorf("owner after scenario: %d", or.status)
	}
	if r := post("/_sim/meta/scenario", `{"reset":true}`); r.status != 204 {
		t.Fatalf("reset: %d", r.status)
	}
	if e.sim.Calls(EndpointOwner) != 0 {
		t.Error("reset over HTTP kept counters")
	}
	if r := e.do(t, http.MethodOptions, "/_sim/meta/codes", nil, nil); r.status != 204 {
		t.Errorf("preflight: %d", r.status)
	}
}

func TestDisplayNumber(t *testing.T) {
	t.Parallel()
	s := New(Config{AppID: "app", AppSecret: "secret"})
	s.IssueCode(Grant{WABAID: "100", BusinessID: "300", PhoneNumbers: []PhoneNumber{
		{ID: "201", DisplayPhoneNumber: "+1 555-010-0001"}, {ID: "202", DisplayPhoneNumber: "+1 555-010-0002"}}})
	tests := []struct {
		id, want string
		ok       bool
	}{
		{"201", "+1 555-010-0001", true},
		{"202", "+1 555-010-0002", true},
		{"999", "", false},
	}
	for _, tt := range tests {
		if got, ok := s.DisplayNumber(tt.id); got != tt.want || ok != tt.ok {
			t.Errorf("DisplayNumber(%s) = %q, %v; want %q, %v", tt.id, got, ok, tt.want, tt.ok)
		}
	}
}
