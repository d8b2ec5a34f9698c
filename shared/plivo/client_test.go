package plivo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

const (
	authID   = "MAXXXXXXXXXXXXXXXXXX"
	token1   = "CANARY-AUTH-TOKEN-one-7f3a"
	token2   = "CANARY-AUTH-TOKEN-two-9c1b"
	apiID    = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
	wabaID   = "109876543210987"
	signupOK = `{"api_id":"` + apiID + `","message":"Embedded signup completed successfully.","waba_id":"` + wabaID + `"}`
)

var signup = onboarding.PlivoSignup{WABAID: wabaID, BusinessID: "198765432109876", PhoneNumberID: "112233445566778", ClientRef: "customer-12345"}

// recorded is one request as the fake Plivo saw it.
type recorded struct {
	method, path, query, user, pass, contentType string
	body                                         []byte
}

// fake is a scripted Plivo API: request n is answered by script[n] (the
// last entry repeats).
type fake struct {
	srv    *httptest.Server
	mu     sync.Mutex
	script []http.HandlerFunc
	reqs   []recorded
}

func newFake(t *testing.T, script ...http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{script: script}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, user, pass, r.Header.Get("Content-Type"), body})
		h := f.script[min(len(f.reqs), len(f.script))-1]
		f.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) all() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func errBody(msg string) string {
	return fmt.Sprintf(`{"api_id":%q,"error":%q}`, apiID, msg)
}

// creds hands out token1, then token2 once a refresh is asked for, and
// records the refresh flags.
type creds struct {
	mu       sync.Mutex
	refresh  []bool
	rotateTo secrets.PlivoCredentials
	err      error
	current  secrets.PlivoCredentials
}

func newCreds() *creds {
	return &creds{current: secrets.PlivoCredentials{AuthID: authID, AuthToken: token1}, rotateTo: secrets.PlivoCredentials{AuthID: authID, AuthToken: token2}}
}

func (c *creds) get(_ context.Context, refresh bool) (secrets.PlivoCredentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh = append(c.refresh, refresh)
	if refresh {
		if c.err != nil {
			return secrets.PlivoCredentials{}, c.err
		}
		c.current = c.rotateTo
	}
	return c.current, nil
}

func (c *creds) flags() []bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.refresh)
}

func newClient(base string, cr *creds, hc *http.Client) *plivo.Client {
	return plivo.New(plivo.Config{BaseURL: base, HTTPClient: hc, Credentials: cr.get})
}

func TestEmbeddedSignup(t *testing.T) {
	t.Parallel()
	f := newFake(t, answer(200, signupOK))
	res, err := newClient(f.srv.URL, newCreds(), nil).EmbeddedSignup(t.Context(), signup)
	if err != nil {
		t.Fatal(err)
	}
	if res.APIID != apiID || res.Message != "Embedded signup completed successfully." {
		t.Errorf("result = %+v", res)
	}
	r := f.all()[0]
	if r.method != http.MethodPost || r.path != "/v1/Account/"+authID+"/WhatsApp/EmbeddedSignup/" {
		t.Errorf("request = %s %s", r.method, r.path)
	}
	if r.user != authID || r.pass != token1 || r.contentType != "application/json" {
		t.Errorf("auth %s:%s content type %q", r.user, r.pass, r.contentType)
	}
	var body map[string]string
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"waba_id": signup.WABAID, "business_id": signup.BusinessID, "phone_number_id": signup.PhoneNumberID, "client_ref": signup.ClientRef}
	if fmt.Sprint(body) != fmt.Sprint(want) {
		t.Errorf("body = %v, want %v", body, want)
	}
}

// TestEmbeddedSignupErrors has a row for every error of the guide's tables,
// plus wording variants and answers that did not come from Plivo's API.
func TestEmbeddedSignupErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		script    []http.HandlerFunc
		wantKind  onboarding.Kind
		wantCode  int
		wantMsg   string // substring of UpstreamError.Message
		wantAPIID string
		wantCalls int
		status    int
	}{
		{name: "400 missing waba_id", script: []http.HandlerFunc{answer(400, errBody("waba_id is required."))}, wantKind: onboarding.KindRejected, wantMsg: "waba_id is required.", wantAPIID: apiID, status: 400},
		{name: "400 missing business_id", script: []http.HandlerFunc{answer(400, errBody("business_id is required."))}, wantKind: onboarding.KindRejected, wantMsg: "business_id", wantAPIID: apiID, status: 400},
		{name: "400 missing phone_number_id", script: []http.HandlerFunc{answer(400, errBody("phone_number_id is required."))}, wantKind: onboarding.KindRejected, wantMsg: "phone_number_id", wantAPIID: apiID, status: 400},
		{name: "400 invalid waba_id", script: []http.HandlerFunc{answer(400, errBody("waba_id is not a valid WhatsApp Business Account ID."))}, wantKind: onboarding.KindRejected, wantMsg: "not a valid", wantAPIID: apiID, status: 400},
		{name: "400 WABA already registered", script: []http.HandlerFunc{answer(400, errBody("This WABA is already registered with Plivo."))}, wantKind: onboarding.KindAlreadyRegistered, wantAPIID: apiID, status: 400},
		{name: "400 phone number taken", script: []http.HandlerFunc{answer(400, errBody("This phone number is already registered under another WABA."))}, wantKind: onboarding.KindPhoneNumberTaken, wantAPIID: apiID, status: 400},
		{name: "400 solution inactive", script: []http.HandlerFunc{answer(400, errBody("Multi-Partner Solution is not active for your app. Contact Plivo support."))}, wantKind: onboarding.KindSolutionInactive, wantAPIID: apiID, status: 400},
		{name: "variant: case and spacing", script: []http.HandlerFunc{answer(400, errBody("this  waba is ALREADY REGISTERED with plivo"))}, wantKind: onboarding.KindAlreadyRegistered, wantAPIID: apiID, status: 400},
		{name: "variant: WhatsApp Business Account wording", script: []http.HandlerFunc{answer(400, errBody("WhatsApp Business Account already onboarded."))}, wantKind: onboarding.KindAlreadyRegistered, wantAPIID: apiID, status: 400},
		{name: "variant: phone_number already registered elsewhere", script: []http.HandlerFunc{answer(400, errBody("The phone_number is already registered under another WhatsApp Business Account"))}, wantKind: onboarding.KindPhoneNumberTaken, wantAPIID: apiID, status: 400},
		{name: "variant: multi partner solution inactive", script: []http.HandlerFunc{answer(400, errBody("multi partner solution inactive"))}, wantKind: onboarding.KindSolutionInactive, wantAPIID: apiID, status: 400},
		{name: "shape error_code+message", script: []http.HandlerFunc{answer(400, `{"api_id":"`+apiID+`","error_code":1004,"message":"This WABA is already registered with Plivo."}`)}, wantKind: onboarding.KindAlreadyRegistered, wantCode: 1004, wantAPIID: apiID, status: 400},
		{name: "shape error_code as string", script: []http.HandlerFunc{answer(400, `{"api_id":"`+apiID+`","error_code":"1005","message":"This phone number is already registered under another WABA."}`)}, wantKind: onboarding.KindPhoneNumberTaken, wantCode: 1005, wantAPIID: apiID, status: 400},
		{name: "shape field errors", script: []http.HandlerFunc{answer(400, `{"api_id":"`+apiID+`","error":{"waba_id":["This field is required."]}}`)}, wantKind: onboarding.KindRejected, wantMsg: "waba_id: This field is required.", wantAPIID: apiID, status: 400},
		{name: "401 twice", script: []http.HandlerFunc{answer(401, errBody("Authentication credentials were not provided or are invalid."))}, wantKind: onboarding.KindUnauthorized, wantMsg: "Authentication", wantAPIID: apiID, wantCalls: 2, status: 401},
		{name: "403 forbidden", script: []http.HandlerFunc{answer(403, errBody("Your account is not authorized for the Embedded Signup API."))}, wantKind: onboarding.KindForbidden, wantAPIID: apiID, status: 403},
		{name: "403 solution inactive", script: []http.HandlerFunc{answer(403, errBody("Multi-Partner Solution is not active for your app."))}, wantKind: onboarding.KindSolutionInactive, wantAPIID: apiID, status: 403},
		{name: "403 HTML from a WAF", script: []http.HandlerFunc{answer(403, "<html>denied</html>")}, wantKind: onboarding.KindForbidden, status: 403},
		{name: "429 not retried", script: []http.HandlerFunc{answer(429, errBody("Too many requests")), answer(200, signupOK)}, wantKind: onboarding.KindThrottled, wantAPIID: apiID, status: 429},
		{name: "500 not retried", script: []http.HandlerFunc{answer(500, errBody("An internal error occurred. Please try again later.")), answer(200, signupOK)}, wantKind: onboarding.KindTransient, wantMsg: "internal error", wantAPIID: apiID, status: 500},
		{name: "503 empty", script: []http.HandlerFunc{answer(503, "")}, wantKind: onboarding.KindTransient, status: 503},
		{name: "502 HTML", script: []http.HandlerFunc{answer(502, "<html>Bad Gateway</html>")}, wantKind: onboarding.KindTransient, wantMsg: "not Plivo JSON", status: 502},
		{name: "400 HTML", script: []http.HandlerFunc{answer(400, "<html>Bad Request</html>")}, wantKind: onboarding.KindTransient, status: 400},
		{name: "undocumented 400", script: []http.HandlerFunc{answer(400, errBody("The phone number has not been verified."))}, wantKind: onboarding.KindUndocumented, wantAPIID: apiID, status: 400},
		{name: "documented invalid waba_id", script: []http.HandlerFunc{answer(400, errBody("waba_id is not a valid WhatsApp Business Account ID."))}, wantKind: onboarding.KindRejected, wantAPIID: apiID, status: 400},
		{name: "404 JSON", script: []http.HandlerFunc{answer(404, errBody("not found"))}, wantKind: onboarding.KindUndocumented, wantAPIID: apiID, status: 404},
		{name: "200 not JSON", script: []http.HandlerFunc{answer(200, "OK")}, wantKind: onboarding.KindTransient, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tt.script...)
			_, err := newClient(f.srv.URL, newCreds(), nil).EmbeddedSignup(t.Context(), signup)
			ue, ok := onboarding.AsUpstream(err)
			if !ok {
				t.Fatalf("error %v is not an UpstreamError", err)
			}
			if ue.Service != "plivo" || ue.Op != plivo.OpEmbeddedSignup || ue.Kind != tt.wantKind || ue.Status != tt.status || ue.Code != tt.wantCode {
				t.Errorf("got %+v; want kind %s status %d code %d", ue, tt.wantKind, tt.status, tt.wantCode)
			}
			if !strings.Contains(ue.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", ue.Message, tt.wantMsg)
			}
			if ue.APIID != tt.wantAPIID {
				t.Errorf("APIID = %q, want %q", ue.APIID, tt.wantAPIID)
			}
			wantCalls := max(tt.wantCalls, 1)
			if n := len(f.all()); n != wantCalls {
				t.Errorf("%d calls, want %d", n, wantCalls)
			}
		})
	}
}

func TestUnauthorizedRefreshesOnce(t *testing.T) {
	t.Parallel()
	unauthorized := answer(401, errBody("Authentication credentials were not provided or are invalid."))
	t.Run("rotated token succeeds", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, unauthorized, answer(200, signupOK))
		cr := newCreds()
		cr.rotateTo = secrets.PlivoCredentials{AuthID: "MAROTATED", AuthToken: token2}
		res, err := newClient(f.srv.URL, cr, nil).EmbeddedSignup(t.Context(), signup)
		if err != nil || res.APIID != apiID {
			t.Fatalf("EmbeddedSignup = %+v, %v", res, err)
		}
		reqs := f.all()
		if len(reqs) != 2 || reqs[0].pass != token1 || reqs[1].pass != token2 || reqs[1].user != "MAROTATED" {
			t.Errorf("requests = %+v", reqs)
		}
		if reqs[1].path != "/v1/Account/MAROTATED/WhatsApp/EmbeddedSignup/" || string(reqs[0].body) != string(reqs[1].body) {
			t.Errorf("retry went to %s with body %s", reqs[1].path, reqs[1].body)
		}
		if got := cr.flags(); !slices.Equal(got, []bool{false, true}) {
			t.Errorf("credential reads = %v, want [false true]", got)
		}
	})
	t.Run("second 401 is final", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, unauthorized)
		cr := newCreds()
		_, err := newClient(f.srv.URL, cr, nil).EmbeddedSignup(t.Context(), signup)
		if ue, ok := onboarding.AsUpstream(err); !ok || ue.Kind != onboarding.KindUnauthorized {
			t.Fatalf("err = %v", err)
		}
		if len(f.all()) != 2 || !slices.Equal(cr.flags(), []bool{false, true}) {
			t.Errorf("%d calls, credential reads %v", len(f.all()), cr.flags())
		}
	})
	t.Run("refresh fails", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, unauthorized)
		cr := newCreds()
		cr.err = errors.New("secrets: get \"wa/plivo\": AccessDeniedException")
		_, err := newClient(f.srv.URL, cr, nil).EmbeddedSignup(t.Context(), signup)
		if ue, ok := onboarding.AsUpstream(err); !ok || ue.Kind != onboarding.KindUnauthorized || !strings.Contains(err.Error(), "AccessDenied") {
			t.Fatalf("err = %v; want the 401 with the refresh failure attached", err)
		}
		if len(f.all()) != 1 {
			t.Errorf("%d calls, want 1", len(f.all()))
		}
	})
	t.Run("other errors do not refresh", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, answer(403, errBody("Your account is not authorized for the Embedded Signup API.")))
		cr := newCreds()
		_, _ = newClient(f.srv.URL, cr, nil).EmbeddedSignup(t.Context(), signup)
		if !slices.Equal(cr.flags(), []bool{false}) {
			t.Errorf("credential reads = %v", cr.flags())
		}
	})
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	for _, f := range onboardingtest.TransportFailures(t) {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			_, err := newClient(f.URL, newCreds(), &http.Client{Timeout: f.HTTPTimeout}).EmbeddedSignup(f.Context(t), signup)
			// The URL's path names the account.
			f.Check(t, err, authID, f.URL)
		})
	}
}

func TestDefaultTimeout(t *testing.T) {
	t.Parallel()
	if plivo.DefaultTimeout <= 0 || plivo.DefaultTimeout > 30*time.Second {
		t.Errorf("DefaultTimeout = %v", plivo.DefaultTimeout)
	}
}

// TestConfigAndCredentialErrors: broken wiring and a Secrets Manager that
// did not answer are not Plivo's failures; a secret that is refused or
// malformed fails like credentials Plivo refused, so that it pages
// (PlivoUnauthorizedAlarm) and the records wait at the longest backoff
// instead of passing for a network fault. Nothing reaches Plivo.
func TestConfigAndCredentialErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t, answer(200, signupOK))
	loader := func(c secrets.PlivoCredentials, err error) func(context.Context, bool) (secrets.PlivoCredentials, error) {
		return func(context.Context, bool) (secrets.PlivoCredentials, error) { return c, err }
	}
	tests := []struct {
		name string
		cfg  plivo.Config
		want onboarding.Kind // "" when the error must not be an UpstreamError
	}{
		{name: "no credentials", cfg: plivo.Config{BaseURL: f.srv.URL}},
		{name: "relative base", cfg: plivo.Config{BaseURL: "api.plivo.com", Credentials: newCreds().get}},
		{name: "secrets manager did not answer", cfg: plivo.Config{BaseURL: f.srv.URL,
			Credentials: loader(secrets.PlivoCredentials{}, errors.New("secrets: get: context deadline exceeded"))}},
		{name: "secret refused", cfg: plivo.Config{BaseURL: f.srv.URL,
			Credentials: loader(secrets.PlivoCredentials{}, fmt.Errorf("%w: secrets: ResourceNotFoundException", upstream.ErrUnusableSecret))},
			want: onboarding.KindUnauthorized},
		{name: "empty token", cfg: plivo.Config{BaseURL: f.srv.URL, Credentials: loader(secrets.PlivoCredentials{AuthID: authID}, nil)},
			want: onboarding.KindUnauthorized},
		{name: "auth ID with a slash", cfg: plivo.Config{BaseURL: f.srv.URL, Credentials: loader(secrets.PlivoCredentials{AuthID: "MA/../x", AuthToken: token1}, nil)},
			want: onboarding.KindUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := plivo.New(tt.cfg).EmbeddedSignup(t.Context(), signup)
			if err == nil {
				t.Fatal("no error")
			}
			ue, ok := onboarding.AsUpstream(err)
			switch {
			case tt.want == "" && ok:
				t.Errorf("%v is an UpstreamError; it is not Plivo's failure", err)
			case tt.want != "" && (!ok || ue.Kind != tt.want):
				t.Errorf("%v: want an UpstreamError of kind %s", err, tt.want)
			}
		})
	}
	if n := len(f.all()); n != 0 {
		t.Errorf("%d calls with broken configuration", n)
	}
}

func TestAccount(t *testing.T) {
	t.Parallel()
	f := newFake(t, answer(401, errBody("invalid")), answer(200, `{"account_type":"standard","api_id":"`+apiID+`","auth_id":"`+authID+`","auto_recharge":true,"billing_mode":"prepaid","cash_credits":"12.34500","name":"Acme","resource_uri":"/v1/Account/`+authID+`/","timezone":"Asia/Kolkata"}`))
	cr := newCreds()
	acc, err := newClient(f.srv.URL, cr, nil).Account(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := plivo.Account{APIID: apiID, AuthID: authID, Name: "Acme", AccountType: "standard", BillingMode: "prepaid", CashCredits: "12.34500", AutoRecharge: true, Timezone: "Asia/Kolkata", ResourceURI: "/v1/Account/" + authID + "/"}
	if acc != want {
		t.Errorf("Account = %+v", acc)
	}
	reqs := f.all()
	if reqs[1].method != http.MethodGet || reqs[1].path != "/v1/Account/"+authID+"/" || reqs[1].pass != token2 {
		t.Errorf("request = %+v", reqs[1])
	}
}

func TestSendMessage(t *testing.T) {
	t.Parallel()
	ok := answer(202, `{"api_id":"`+apiID+`","message":"message(s) queued","message_uuid":["u-1"]}`)
	tests := []struct {
		name     string
		msg      plivo.Message
		wantBody string
	}{
		{
			name:     "text",
			msg:      plivo.Message{Src: "+14155550100", Dst: "+14155550101", Text: "hello", URL: "https://cb.example/status", Method: "POST"},
			wantBody: `{"type":"whatsapp","src":"+14155550100","dst":"+14155550101","text":"hello","url":"https://cb.example/status","method":"POST"}`,
		},
		{
			name: "template",
			msg: plivo.Message{Src: "+14155550100", Dst: "+14155550101", Template: &plivo.MessageTemplate{Name: "order_update", Language: "en_US", Components: []plivo.Component{
				{Type: "header", Parameters: []plivo.Parameter{{Type: "media", Media: "https://img.example/a.png"}}},
				{Type: "body", Parameters: []plivo.Parameter{{Type: "text", Text: "42"}}},
				{Type: "button", SubType: "url", Index: "0", Parameters: []plivo.Parameter{{Type: "text", Text: "track/42"}}},
			}}},
			wantBody: `{"type":"whatsapp","src":"+14155550100","dst":"+14155550101","template":{"name":"order_update","language":"en_US","components":[` +
				`{"type":"header","parameters":[{"type":"media","media":"https://img.example/a.png"}]},` +
				`{"type":"body","parameters":[{"type":"text","text":"42"}]},` +
				`{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"track/42"}]}]}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, ok)
			res, err := newClient(f.srv.URL, newCreds(), nil).SendMessage(t.Context(), tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if res.APIID != apiID || !slices.Equal(res.MessageUUIDs, []string{"u-1"}) || res.Message != "message(s) queued" {
				t.Errorf("result = %+v", res)
			}
			r := f.all()[0]
			if r.method != http.MethodPost || r.path != "/v1/Account/"+authID+"/Message/" {
				t.Errorf("request = %s %s", r.method, r.path)
			}
			if string(r.body) != tt.wantBody {
				t.Errorf("body = %s\nwant   %s", r.body, tt.wantBody)
			}
		})
	}

	t.Run("invalid messages are not sent", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, ok)
		c := newClient(f.srv.URL, newCreds(), nil)
		for _, m := range []plivo.Message{
			{Src: "+1", Dst: "+2"},
			{Src: "+1", Dst: "+2", Text: "x", Template: &plivo.MessageTemplate{Name: "t"}},
			{Dst: "+2", Text: "x"},
		} {
			if _, err := c.SendMessage(t.Context(), m); err == nil {
				t.Errorf("SendMessage(%+v) succeeded", m)
			}
		}
		if len(f.all()) != 0 {
			t.Errorf("%d calls", len(f.all()))
		}
	})

	// Plivo answers 202 even when it queued nothing: a destination that
	// fails its checks is listed in invalid_number, not refused with a 4xx.
	t.Run("invalid destinations", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name     string
			answer   string
			rejected bool
			wantUUID []string
		}{
			{
				name:     "none queued",
				answer:   `{"api_id":"` + apiID + `","message":"message(s) queued","message_uuid":[],"invalid_number":["141555501012345"]}`,
				rejected: true,
			},
			{
				name:     "none queued, no uuid key",
				answer:   `{"api_id":"` + apiID + `","message":"message(s) queued","invalid_number":["141555501012345"]}`,
				rejected: true,
			},
			{
				name:     "some queued",
				answer:   `{"api_id":"` + apiID + `","message":"message(s) queued","message_uuid":["u-1"],"invalid_number":["bad"]}`,
				wantUUID: []string{"u-1"},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				f := newFake(t, answer(202, tt.answer))
				res, err := newClient(f.srv.URL, newCreds(), nil).SendMessage(t.Context(), plivo.Message{Src: "+14155550100", Dst: "+141555501012345", Text: "hi"})
				if !tt.rejected {
					if err != nil || !slices.Equal(res.MessageUUIDs, tt.wantUUID) || len(res.InvalidNumbers) != 1 {
						t.Errorf("SendMessage = %+v, %v", res, err)
					}
					return
				}
				ue, ok := onboarding.AsUpstream(err)
				if !ok || ue.Kind != onboarding.KindRejected || ue.Op != plivo.OpSendMessage || ue.APIID != apiID ||
					ue.Status != http.StatusAccepted || !strings.Contains(ue.Message, "invalid_number") {
					t.Errorf("SendMessage = %+v, %v; want a rejection naming invalid_number", res, err)
				}
			})
		}
	})

	t.Run("errors are mapped", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, answer(400, `{"api_id":"`+apiID+`","error":"invalid dst"}`))
		_, err := newClient(f.srv.URL, newCreds(), nil).SendMessage(t.Context(), plivo.Message{Src: "+1", Dst: "x", Text: "hi"})
		if ue, ok := onboarding.AsUpstream(err); !ok || ue.Kind != onboarding.KindRejected || ue.Op != plivo.OpSendMessage || ue.APIID != apiID {
			t.Errorf("err = %+v", err)
		}
	})
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	body := json.RawMessage(`{"type":"BODY","text":"Order {{1}} shipped","example":{"body_text":[["42"]]}}`)
	t.Run("create", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, answer(401, errBody("invalid")), answer(201, `{"api_id":"`+apiID+`","message":"template created","id":"594425479261596","status":"PENDING"}`))
		res, err := newClient(f.srv.URL, newCreds(), nil).CreateTemplate(t.Context(), wabaID, plivo.Template{
			Name: "order_update", Language: "en_US", Category: "UTILITY", Components: []json.RawMessage{body}, Status: "ignored",
		})
		if err != nil {
			t.Fatal(err)
		}
		if res != (plivo.TemplateResult{APIID: apiID, Message: "template created", TemplateID: "594425479261596", Status: "PENDING"}) {
			t.Errorf("result = %+v", res)
		}
		r := f.all()[1]
		if r.method != http.MethodPost || r.path != "/v1/Account/"+authID+"/WhatsApp/Template/"+wabaID+"/" || r.pass != token2 {
			t.Errorf("request = %+v", r)
		}
		want := `{"name":"order_update","language":"en_US","category":"UTILITY","components":[` + string(body) + `]}`
		if string(r.body) != want {
			t.Errorf("body = %s\nwant   %s", r.body, want)
		}
	})
	t.Run("list with paging", func(t *testing.T) {
		t.Parallel()
		page1 := answer(200, `{"api_id":"a","meta":{"limit":1,"offset":0,"next":"/v1/Account/`+authID+`/WhatsApp/Template/`+wabaID+`/?limit=1&offset=1"},"objects":[{"id":"1","name":"a","language":"en_US","category":"UTILITY","status":"APPROVED","components":[`+string(body)+`]}]}`)
		page2 := answer(200, `{"api_id":"b","meta":{"limit":1,"offset":1,"next":null},"objects":[{"id":"2","name":"b","language":"en","category":"MARKETING","status":"REJECTED","components":[]}]}`)
		f := newFake(t, page1, page2)
		got, err := newClient(f.srv.URL, newCreds(), nil).ListTemplates(t.Context(), wabaID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Name != "a" || got[0].Status != "APPROVED" || string(got[0].Components[0]) != string(body) || got[1].ID != "2" {
			t.Errorf("templates = %+v", got)
		}
		reqs := f.all()
		if len(reqs) != 2 || reqs[1].query != "limit=1&offset=1" || reqs[1].path != "/v1/Account/"+authID+"/WhatsApp/Template/"+wabaID+"/" || reqs[1].method != http.MethodGet {
			t.Errorf("requests = %+v", reqs)
		}
	})
	// Plivo's template object names its Meta ID template_id (a number in
	// some answers), and a create answer may carry template_status only.
	t.Run("documented field names", func(t *testing.T) {
		t.Parallel()
		f := newFake(t,
			answer(200, `{"api_id":"a","meta":{"next":null},"objects":[{"template_id":594425479261596,"name":"a","language":"en_US","category":"UTILITY","status":"APPROVED","components":[]}]}`),
			answer(201, `{"api_id":"b","message":"created","template_id":"77","template_name":"a","template_status":"PENDING"}`))
		c := newClient(f.srv.URL, newCreds(), nil)
		got, err := c.ListTemplates(t.Context(), wabaID)
		if err != nil || len(got) != 1 || got[0].ID != "594425479261596" {
			t.Errorf("templates = %+v, %v", got, err)
		}
		res, err := c.CreateTemplate(t.Context(), wabaID, plivo.Template{Name: "a", Language: "en_US", Category: "UTILITY"})
		if err != nil || res.TemplateID != "77" || res.Status != "PENDING" {
			t.Errorf("created = %+v, %v", res, err)
		}
	})
	// Plivo's create answer has the request's outcome in status
	// ("success") and the template's review state in template_status; a
	// status that is none of the template statuses is not the template's.
	t.Run("create answer's status is not always the template's", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name, answer, want string
		}{
			{"request outcome only", `{"api_id":"b","message":"template submitted","template_id":"77","status":"success"}`, ""},
			{"both", `{"api_id":"b","template_id":"77","status":"success","template_status":"PENDING"}`, "PENDING"},
			{"template status in status", `{"api_id":"b","template_id":"77","status":"PENDING"}`, "PENDING"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				f := newFake(t, answer(200, tt.answer))
				res, err := newClient(f.srv.URL, newCreds(), nil).CreateTemplate(t.Context(), wabaID, plivo.Template{Name: "a", Language: "en_US", Category: "UTILITY"})
				if err != nil || res.TemplateID != "77" || res.Status != tt.want {
					t.Errorf("CreateTemplate = %+v, %v; want status %q", res, err, tt.want)
				}
			})
		}
	})
	// The WhatsAppTemplate object's quality_score (null or absent while
	// PENDING) and rejected_reason ("NONE" unless REJECTED) say why a
	// template cannot be used: a listing passes them on.
	t.Run("review outcome is kept", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, answer(200, `{"api_id":"a","meta":{"next":null},"objects":[`+
			`{"template_id":"1","name":"a","language":"en","category":"UTILITY","status":"REJECTED","quality_score":null,"rejected_reason":"INVALID_FORMAT","components":[]},`+
			`{"template_id":"2","name":"b","language":"en","category":"UTILITY","status":"APPROVED","quality_score":{"score":"GREEN"},"rejected_reason":"NONE","components":[]},`+
			`{"template_id":"3","name":"c","language":"en","category":"UTILITY","status":"PENDING","components":[]}]}`))
		got, err := newClient(f.srv.URL, newCreds(), nil).ListTemplates(t.Context(), wabaID)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			`{"id":"1","name":"a","language":"en","category":"UTILITY","status":"REJECTED","rejected_reason":"INVALID_FORMAT","components":[]}`,
			`{"id":"2","name":"b","language":"en","category":"UTILITY","status":"APPROVED","quality_score":{"score":"GREEN"},"rejected_reason":"NONE","components":[]}`,
			`{"id":"3","name":"c","language":"en","category":"UTILITY","status":"PENDING","components":[]}`,
		}
		for i, tmpl := range got {
			b, _ := json.Marshal(tmpl)
			if i >= len(want) || string(b) != want[i] {
				t.Errorf("template %d = %s", i, b)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%d templates", len(got))
		}
	})
	t.Run("foreign next link is not followed", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, answer(200, `{"meta":{"next":"https://evil.example/v1/Account/MA/x/"},"objects":[{"id":"1","name":"a"}]}`))
		got, err := newClient(f.srv.URL, newCreds(), nil).ListTemplates(t.Context(), wabaID)
		if ue, ok := onboarding.AsUpstream(err); !ok || ue.Op != plivo.OpListTemplates || got != nil || len(f.all()) != 1 {
			t.Errorf("ListTemplates = %v, %v after %d calls", got, err, len(f.all()))
		}
	})
	t.Run("bad input is not sent", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, answer(200, `{}`))
		c := newClient(f.srv.URL, newCreds(), nil)
		if _, err := c.ListTemplates(t.Context(), "../Message"); err == nil {
			t.Error("ListTemplates with a path in the WABA ID succeeded")
		}
		if _, err := c.CreateTemplate(t.Context(), wabaID, plivo.Template{Name: "x"}); err == nil {
			t.Error("CreateTemplate without language and category succeeded")
		}
		if len(f.all()) != 0 {
			t.Errorf("%d calls", len(f.all()))
		}
	})
	t.Run("errors are mapped", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, answer(429, `{"api_id":"`+apiID+`","error":"too many requests"}`))
		_, err := newClient(f.srv.URL, newCreds(), nil).ListTemplates(t.Context(), wabaID)
		if ue, ok := onboarding.AsUpstream(err); !ok || ue.Kind != onboarding.KindThrottled || ue.Op != plivo.OpListTemplates || len(f.all()) != 1 {
			t.Errorf("err = %+v after %d calls", err, len(f.all()))
		}
	})
}

// TestNoTokenInErrors checks that the auth token never reaches error text,
// even when an error page echoes the request.
func TestNoTokenInErrors(t *testing.T) {
	t.Parallel()
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			_, pass, _ := r.BasicAuth()
			answer(status, fmt.Sprintf(`{"api_id":"x","error":%q}`, "bad credentials "+pass+" "+r.Header.Get("Authorization")))(w, r)
		}
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	bases := map[string]string{"refused": closed.URL}
	for _, status := range []int{400, 401, 403, 500} {
		bases[fmt.Sprint(status)] = newFake(t, echo(status)).srv.URL
	}
	for name, base := range bases {
		_, err := newClient(base, newCreds(), nil).EmbeddedSignup(t.Context(), signup)
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(text, token1) || strings.Contains(text, token2) {
				t.Errorf("%s: error leaks the auth token: %s", name, text)
			}
		}
	}
}

// TestMendedSecretHoldsFromTheNextCall: once the operator mends a Plivo
// secret that was incomplete, the next call uses it, not after the
// cache's TTL: a broken secret is read again before it fails a call.
func TestMendedSecretHoldsFromTheNextCall(t *testing.T) {
	t.Parallel()
	f := newFake(t, answer(200, signupOK))
	sim, client := secretsmanagersim.StartWithClient(t, 1)
	clk := onboardingtest.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	sim.Put("plivo", `{"auth_id":"`+authID+`"}`)
	c := plivo.New(plivo.Config{BaseURL: f.srv.URL, Credentials: secrets.PlivoSource(secrets.NewCache(client, time.Hour, secrets.WithClock(clk.Now)), "plivo")})
	if _, err := c.EmbeddedSignup(t.Context(), signup); err == nil {
		t.Fatal("broken secret: no error")
	}
	clk.Advance(secrets.RefreshInterval) // the mend comes later than the last refresh
	sim.Put("plivo", `{"auth_id":"`+authID+`","auth_token":"`+token1+`"}`)
	if _, err := c.EmbeddedSignup(t.Context(), signup); err != nil {
		t.Errorf("after the secret was mended: %v; the cached broken secret is still used", err)
	}
}
