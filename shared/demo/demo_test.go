package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/demo"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/meta"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/plivo"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

func TestMain(m *testing.M) { testenv.MustDynamoDB(m) }

const (
	appID     = "100000000000001"
	appSecret = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	authID    = "MADEMOTEST0000000001"
	authToken = "demo-test-auth-token-0123456789abcdef"
	waba      = "109876543210987"
	phoneID   = "112233445566778"
	business  = "198765432109876"
	display   = "+1 555-010-0000"
	sender    = "+15550100000"
	dst       = "+14155550100"
)

// env is one isolated world: the Meta and Plivo simulators over HTTP, a
// fresh table in DynamoDB Local, the real signup service that onboards
// WABAs into it, and the demo handler under test.
type env struct {
	meta     *metasim.Server
	plivo    *plivosim.Server
	store    *dynamo.Store
	signup   *onboarding.Service
	handler  apigw.Handler
	logs     *bytes.Buffer
	plivoURL string
	refreshs atomic.Int32
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		meta:  metasim.New(metasim.Config{AppID: appID, AppSecret: appSecret}),
		plivo: plivosim.New(plivosim.Config{AuthID: authID, AuthToken: authToken, PhoneNumbers: map[string]string{phoneID: display}}),
		logs:  &bytes.Buffer{},
	}
	metaSrv := httptest.NewServer(e.meta.Handler())
	plivoSrv := httptest.NewServer(e.plivo.Handler())
	t.Cleanup(metaSrv.Close)
	t.Cleanup(plivoSrv.Close)
	e.plivoURL = plivoSrv.URL
	client := testenv.DynamoClient("")
	e.store = &dynamo.Store{Client: client, Table: testenv.MustCreateTable(t, client, "SignupTable")}
	plivoClient := plivo.New(plivo.Config{
		BaseURL:    plivoSrv.URL,
		HTTPClient: demo.TracingClient(plivoSrv.Client()),
		Credentials: func(_ context.Context, refresh bool) (secrets.PlivoCredentials, error) {
			if refresh {
				e.refreshs.Add(1)
			}
			return secrets.PlivoCredentials{AuthID: authID, AuthToken: authToken}, nil
		},
	})
	log := logging.New(e.logs, "DEBUG")
	e.signup = &onboarding.Service{
		Store: e.store,
		Meta: meta.New(meta.Config{BaseURL: metaSrv.URL, App: func(context.Context, bool) (secrets.MetaApp, error) {
			return secrets.MetaApp{AppID: appID, AppSecret: appSecret}, nil
		}}),
		Plivo:  plivoClient,
		AppID:  func(context.Context) (string, error) { return appID, nil },
		Logger: log,
		Sleep:  func(context.Context, time.Duration) error { return nil },
	}
	e.handler = apigw.DemoHandler(&demo.Service{Records: e.store, Plivo: plivoClient, Logger: log}, log)
	return e
}

// onboard runs a real Embedded Signup through the simulators, so the record
// is what production writes: onboarded, with Meta's display number.
func (e *env) onboard(t *testing.T, wabaID, phone string) {
	t.Helper()
	code := e.meta.IssueCode(metasim.Grant{WABAID: wabaID, BusinessID: business,
		PhoneNumbers: []metasim.PhoneNumber{{ID: phone, DisplayPhoneNumber: display, VerifiedName: "Acme"}}})
	res, err := e.signup.Signup(context.Background(), onboarding.SignupRequest{Code: code, RequestID: "signup-" + wabaID,
		Identity: onboarding.Identity{WABAID: wabaID, PhoneNumberID: phone, ClientRef: "customer-1"}})
	if err != nil || res.Record.State != onboarding.StateOnboarded || res.Record.DisplayPhoneNumber != display {
		t.Fatalf("onboarding %s: %+v %v", wabaID, res.Record, err)
	}
}

// put writes a record as a signup in another state would have left it.
func (e *env) put(t *testing.T, rec onboarding.Record) {
	t.Helper()
	rec.CreatedAt, rec.UpdatedAt = time.Now(), time.Now()
	rec.LockOwner = "test"
	if _, err := e.store.Acquire(context.Background(), &rec, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Save(context.Background(), &rec); err != nil {
		t.Fatal(err)
	}
}

func request(method, route, path, body string) apigw.Request {
	req := apigw.Request{Version: "2.0", RouteKey: route, RawPath: path, Headers: map[string]string{"content-type": "application/json"}, Body: body}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.RequestID = "rid-demo"
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:role/app-review"},
	}
	if strings.HasPrefix(route, "GET ") {
		req.PathParameters = map[string]string{"waba_id": path[strings.LastIndex(path, "/")+1:]}
	}
	return req
}

func (e *env) call(t *testing.T, req apigw.Request) (apigw.Response, map[string]any) {
	t.Helper()
	resp, err := e.handler(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return resp, m
}

func errorCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func errorText(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	b, _ := json.Marshal(e)
	return string(b)
}

func message(fields string) apigw.Request {
	return request("POST", demo.RouteSendMessage, demo.PathMessages, `{"waba_id":"`+waba+`","dst":"`+dst+`"`+fields+`}`)
}

// demoCase is one request to the demo handler and what it must answer.
type demoCase struct {
	name    string
	setup   func(t *testing.T, e *env)
	req     apigw.Request
	status  int
	code    string // the error's code, when refused
	text    string // in the error body
	retry   bool   // Retry-After expected
	sent    int    // messages the Plivo simulator queued
	refresh int32  // credential refreshes
}

// run sends tc's request to a new handler whose WABA is onboarded, after
// tc's setup, and checks the status it answers.
func (tc demoCase) run(t *testing.T) (*env, apigw.Response, map[string]any) {
	t.Helper()
	e := newEnv(t)
	e.onboard(t, waba, phoneID)
	if tc.setup != nil {
		tc.setup(t, e)
	}
	resp, body := e.call(t, tc.req)
	if resp.StatusCode != tc.status {
		t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
	}
	return e, resp, body
}

// checkError checks a refusal: its code, its text, the request ID it
// names and whether it says when to retry.
func (tc demoCase) checkError(t *testing.T, resp apigw.Response, body map[string]any) {
	t.Helper()
	if errorCode(body) != tc.code || !strings.Contains(errorText(body), tc.text) || body["request_id"] != "rid-demo" {
		t.Fatalf("error = %s, want %s with %q", resp.Body, tc.code, tc.text)
	}
	if tc.retry != (resp.Headers["Retry-After"] != "") {
		t.Fatalf("Retry-After = %q", resp.Headers["Retry-After"])
	}
}

func TestSendMessage(t *testing.T) {
	t.Parallel()
	tests := []demoCase{
		{name: "text from the onboarded number", req: message(`,"text":"Hello from the App Review demo"`), status: 202, sent: 1},
		{name: "template with callback", req: message(`,"template":{"name":"order_update","language":"en_US","components":[{"type":"body","parameters":[{"type":"text","text":"Ana"}]}]},"url":"https://app.example.com/status","method":"post"`), status: 202, sent: 1},
		{name: "plivo 401 once: fresh credentials, sent", setup: func(t *testing.T, e *env) { e.plivo.FailNext(plivosim.RouteMessage, 1, plivosim.KindUnauthorized) },
			req: message(`,"text":"hi"`), status: 202, sent: 1, refresh: 1},
		{name: "plivo 401 twice: credentials rejected", setup: func(t *testing.T, e *env) { e.plivo.FailNext(plivosim.RouteMessage, 2, plivosim.KindUnauthorized) },
			req: message(`,"text":"hi"`), status: 502, code: "plivo_credentials_rejected", text: "Plivo credentials rejected", refresh: 1},
		{name: "plivo 400 with its message", setup: func(t *testing.T, e *env) { e.plivo.FailNext(plivosim.RouteMessage, 1, plivosim.KindBadRequest) },
			req: message(`,"text":"hi"`), status: 422, code: "plivo_rejected", text: "Plivo rejected the request: Invalid request."},
		{name: "plivo 429", setup: func(t *testing.T, e *env) { e.plivo.FailNext(plivosim.RouteMessage, 1, plivosim.KindThrottled) },
			req: message(`,"text":"hi"`), status: 429, code: "too_many_requests", retry: true},
		{name: "plivo 500", setup: func(t *testing.T, e *env) { e.plivo.FailNext(plivosim.RouteMessage, 1, plivosim.KindInternal) },
			req: message(`,"text":"hi"`), status: 502, code: "upstream_error", text: "HTTP 500"},
		{name: "plivo down (503 html)", setup: func(t *testing.T, e *env) { e.plivo.FailNext(plivosim.RouteMessage, 1, plivosim.KindDown) },
			req: message(`,"text":"hi"`), status: 502, code: "upstream_error", text: "HTTP 503"},
		{name: "waba unknown", req: request("POST", demo.RouteSendMessage, demo.PathMessages, `{"waba_id":"100000000000077","dst":"`+dst+`","text":"hi"}`),
			status: 404, code: "not_found", text: "100000000000077 was onboarded"},
		{name: "waba verified, not onboarded", setup: func(t *testing.T, e *env) {
			e.put(t, onboarding.Record{WABAID: "100000000000078", State: onboarding.StateVerified, PhoneNumberID: phoneID, DisplayPhoneNumber: display, NextRetryAt: time.Now().Add(time.Hour)})
		}, req: request("POST", demo.RouteSendMessage, demo.PathMessages, `{"waba_id":"100000000000078","dst":"`+dst+`","text":"hi"}`),
			status: 409, code: "waba_not_onboarded", text: "is verified, not onboarded"},
		{name: "waba failed", setup: func(t *testing.T, e *env) {
			e.put(t, onboarding.Record{WABAID: "100000000000079", State: onboarding.StateFailed, FailureReason: onboarding.ReasonPlivoRejected})
		}, req: request("POST", demo.RouteSendMessage, demo.PathMessages, `{"waba_id":"100000000000079","dst":"`+dst+`","text":"hi"}`),
			status: 409, code: "waba_not_onboarded", text: "is failed"},
		{name: "onboarded without a display number", setup: func(t *testing.T, e *env) {
			e.put(t, onboarding.Record{WABAID: "100000000000080", State: onboarding.StateOnboarded, PhoneNumberID: phoneID})
		}, req: request("POST", demo.RouteSendMessage, demo.PathMessages, `{"waba_id":"100000000000080","dst":"`+dst+`","text":"hi"}`),
			status: 409, code: "sender_number_unknown"},
		{name: "plivo does not know the sender: 400 with its message", setup: func(t *testing.T, e *env) {
			e.put(t, onboarding.Record{WABAID: "100000000000081", State: onboarding.StateOnboarded, PhoneNumberID: "1", DisplayPhoneNumber: "+44 20 7946 0000"})
		}, req: request("POST", demo.RouteSendMessage, demo.PathMessages, `{"waba_id":"100000000000081","dst":"`+dst+`","text":"hi"}`),
			status: 422, code: "plivo_rejected", text: "src is not a WhatsApp-enabled number on this account."},
		// A 15-digit E.164 number passes our check but not Plivo's (at most
		// 14 once sanitized): Plivo answers 202 with the number in
		// invalid_number and queues nothing, which is no "queued".
		{name: "plivo lists dst in invalid_number", req: request("POST", demo.RouteSendMessage, demo.PathMessages, `{"waba_id":"`+waba+`","dst":"+141555501001234","text":"hi"}`),
			status: 422, code: "plivo_rejected", text: "invalid_number"},
		{name: "dst not E.164", req: request("POST", demo.RouteSendMessage, demo.PathMessages, `{"waba_id":"`+waba+`","dst":"4155550100","text":"hi"}`), status: 400, code: "invalid_request", text: `"field":"dst"`},
		{name: "both text and template", req: message(`,"text":"hi","template":{"name":"a","language":"en"}`), status: 400, code: "invalid_request", text: "not both"},
		{name: "neither text nor template", req: message(``), status: 400, code: "invalid_request", text: "One of text or template is required."},
		{name: "text too long", req: message(`,"text":"` + strings.Repeat("é", 4097) + `"`), status: 400, code: "invalid_request", text: "at most 4096 characters"},
		{name: "bad template name", req: message(`,"template":{"name":"Order-Update","language":"en_US"}`), status: 400, code: "invalid_request", text: `"field":"template.name"`},
		{name: "unknown field", req: message(`,"text":"hi","src":"+15550000000"`), status: 400, code: "invalid_request", text: `Unknown field \"src\"`},
		{name: "not json", req: request("POST", demo.RouteSendMessage, demo.PathMessages, `{"waba_id":`), status: 400, code: "invalid_request", text: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, resp, body := tt.run(t)
			if got := len(e.plivo.Messages()); got != tt.sent {
				t.Fatalf("plivo queued %d messages, want %d", got, tt.sent)
			}
			if got := e.refreshs.Load(); got != tt.refresh {
				t.Errorf("credential refreshes = %d, want %d", got, tt.refresh)
			}
			if tt.status == 202 {
				msg := e.plivo.Messages()[0]
				if body["status"] != "queued" || body["src"] != sender || body["dst"] != dst || msg.Src != "15550100000" || msg.Dst != "14155550100" {
					t.Fatalf("answer %s, plivo got %+v", resp.Body, msg)
				}
				p, _ := body["plivo"].(map[string]any)
				uuids, _ := p["message_uuid"].([]any)
				if len(uuids) != 1 || uuids[0] != msg.UUID || p["api_id"] == "" {
					t.Fatalf("plivo answer not passed on: %s", resp.Body)
				}
				return
			}
			tt.checkError(t, resp, body)
			if strings.Contains(resp.Body, authToken) || strings.Contains(e.logs.String(), authToken) {
				t.Fatal("the auth token leaked")
			}
		})
	}
}

func template(name, category, components string) apigw.Request {
	return request("POST", demo.RouteCreateTemplate, demo.PathTemplates,
		fmt.Sprintf(`{"waba_id":"%s","name":"%s","language":"en_US","category":"%s","components":%s}`, waba, name, category, components))
}

const tmplBody = `[{"type":"BODY","text":"Hi {{1}}, your order {{2}} has shipped.","example":{"body_text":[["Ana","#1042"]]}}]`

func TestTemplates(t *testing.T) {
	t.Parallel()
	tests := []demoCase{
		{name: "create: PENDING", req: template("order_update", "UTILITY", tmplBody), status: 201},
		{name: "create: lower-case category accepted", req: template("promo_1", "marketing", `[{"type":"HEADER","format":"TEXT","text":"Sale"},{"type":"BODY","text":"20% off"},{"type":"FOOTER","text":"Reply STOP"}]`), status: 201},
		{name: "create: name not a-z0-9_", req: template("Order Update", "UTILITY", tmplBody), status: 400, code: "invalid_request", text: `"field":"name"`},
		{name: "create: unknown category", req: template("order_update", "SERVICE", tmplBody), status: 400, code: "invalid_request", text: "MARKETING, UTILITY or AUTHENTICATION"},
		{name: "create: no components", req: template("order_update", "UTILITY", `[]`), status: 400, code: "invalid_request", text: `"field":"components"`},
		{name: "create: no body", req: template("order_update", "UTILITY", `[{"type":"FOOTER","text":"x"}]`), status: 400, code: "invalid_request", text: "exactly one BODY"},
		{name: "create: component type", req: template("order_update", "UTILITY", `[{"type":"BODY","text":"x"},{"type":"CAROUSEL"}]`), status: 400, code: "invalid_request", text: "components[1].type"},
		{name: "create: duplicate at plivo (400 with its message)", setup: func(t *testing.T, e *env) {
			if r, _ := e.call(t, template("order_update", "UTILITY", tmplBody)); r.StatusCode != 201 {
				t.Fatalf("first create: %d %s", r.StatusCode, r.Body)
			}
		}, req: template("order_update", "UTILITY", tmplBody), status: 422, code: "plivo_rejected", text: `already exists in language`},
		{name: "create: plivo 401", setup: func(t *testing.T, e *env) { e.plivo.FailNext(plivosim.RouteTemplate, 2, plivosim.KindUnauthorized) },
			req: template("order_update", "UTILITY", tmplBody), status: 502, code: "plivo_credentials_rejected"},
		{name: "create: plivo 429", setup: func(t *testing.T, e *env) { e.plivo.FailNext(plivosim.RouteTemplate, 1, plivosim.KindThrottled) },
			req: template("order_update", "UTILITY", tmplBody), status: 429, code: "too_many_requests", retry: true},
		{name: "create: plivo 500", setup: func(t *testing.T, e *env) { e.plivo.FailNext(plivosim.RouteTemplate, 1, plivosim.KindInternal) },
			req: template("order_update", "UTILITY", tmplBody), status: 502, code: "upstream_error"},
		{name: "create: waba not onboarded", setup: func(t *testing.T, e *env) {
			e.put(t, onboarding.Record{WABAID: "100000000000082", State: onboarding.StateVerifying, LockExpiresAt: time.Now().Add(time.Minute)})
		}, req: request("POST", demo.RouteCreateTemplate, demo.PathTemplates, `{"waba_id":"100000000000082","name":"a","language":"en","category":"UTILITY","components":[{"type":"BODY","text":"x"}]}`),
			status: 409, code: "waba_not_onboarded", text: "is verifying"},
		{name: "list: unknown waba", req: request("GET", demo.RouteListTemplates, demo.PathTemplates+"/100000000000083", ""), status: 404, code: "not_found"},
		{name: "list: bad waba id", req: request("GET", demo.RouteListTemplates, demo.PathTemplates+"/abc", ""), status: 400, code: "invalid_request"},
		{name: "list: plivo 500", setup: func(t *testing.T, e *env) { e.plivo.FailNext(plivosim.RouteTemplate, 1, plivosim.KindInternal) },
			req: request("GET", demo.RouteListTemplates, demo.PathTemplates+"/"+waba, ""), status: 502, code: "upstream_error"},
		{name: "list", setup: func(t *testing.T, e *env) {
			for _, n := range []string{"order_update", "welcome"} {
				if r, _ := e.call(t, template(n, "UTILITY", tmplBody)); r.StatusCode != 201 {
					t.Fatalf("create %s: %d %s", n, r.StatusCode, r.Body)
				}
			}
		}, req: request("GET", demo.RouteListTemplates, demo.PathTemplates+"/"+waba, ""), status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, resp, got := tt.run(t)
			switch tt.status {
			case 201:
				tmpl, _ := got["template"].(map[string]any)
				sim := e.plivo.Templates(waba)
				if got["status"] != "PENDING" || tmpl["status"] != "PENDING" || len(sim) != 1 || tmpl["id"] != sim[0].TemplateID ||
					sim[0].Category != strings.ToUpper(tmpl["category"].(string)) || sim[0].Name != tmpl["name"] {
					t.Fatalf("answer %s, simulator has %+v", resp.Body, sim)
				}
			case 200:
				list, _ := got["templates"].([]any)
				if got["count"] != float64(2) || len(list) != 2 || list[0].(map[string]any)["name"] != "order_update" ||
					list[0].(map[string]any)["status"] != "PENDING" {
					t.Fatalf("list = %s", resp.Body)
				}
			default:
				tt.checkError(t, resp, got)
			}
		})
	}
}

func TestTraceRecordsThePlivoRequestWithoutTheToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.onboard(t, waba, phoneID)
	ctx, trace := demo.WithTrace(context.Background())
	resp, err := e.handler(ctx, message(`,"text":"Hello"`))
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("send: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	ex := trace.Exchanges()
	if len(ex) != 1 {
		t.Fatalf("exchanges = %+v", ex)
	}
	x := ex[0]
	var sent map[string]any
	if err := json.Unmarshal([]byte(x.RequestBody), &sent); err != nil {
		t.Fatal(err)
	}
	if x.Method != "POST" || !strings.HasSuffix(x.URL, "/v1/Account/"+authID+"/Message/") || x.Status != 202 ||
		x.Headers["Authorization"] != "Basic [REDACTED]" || sent["type"] != "whatsapp" || sent["src"] != sender || sent["text"] != "Hello" ||
		!strings.Contains(x.ResponseBody, "message_uuid") {
		t.Fatalf("exchange = %+v", x)
	}
	all, _ := json.Marshal(ex)
	if bytes.Contains(all, []byte(authToken)) {
		t.Fatalf("the auth token is in the trace: %s", all)
	}
	// Without a trace nothing is recorded and calls work the same.
	if resp, _ := e.handler(context.Background(), message(`,"text":"again"`)); resp.StatusCode != 202 {
		t.Fatalf("untraced send: %d", resp.StatusCode)
	}
	if len(trace.Exchanges()) != 1 {
		t.Fatal("an untraced call was recorded")
	}
}

func TestRoutesWithoutRouteKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.onboard(t, waba, phoneID)
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", demo.PathTemplates + "/" + waba, 200},
		{"GET", demo.PathTemplates + "/" + waba + "/", 200},
		{"GET", demo.PathMessages, 405},
		{"DELETE", demo.PathTemplates + "/" + waba, 405},
		{"GET", "/api/demo/other", 404},
	}
	for _, tt := range tests {
		req := request(tt.method, "", tt.path, "")
		req.PathParameters = nil
		if resp, _ := e.call(t, req); resp.StatusCode != tt.status {
			t.Errorf("%s %s = %d, want %d: %s", tt.method, tt.path, resp.StatusCode, tt.status, resp.Body)
		}
	}
}

// A demo route deployed without its AWS_IAM authorizer (a template edit, a
// catch-all route) must not send messages for whoever calls it: the handler
// itself refuses a request API Gateway did not authenticate, before any
// record is read or Plivo is called.
func TestRequestsThatSkippedIAMAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.onboard(t, waba, phoneID)
	for _, req := range []apigw.Request{
		message(`,"text":"forged"`),
		request("POST", demo.RouteCreateTemplate, demo.PathTemplates,
			`{"waba_id":"`+waba+`","name":"forged","language":"en_US","category":"UTILITY","components":[{"type":"BODY","text":"Hi"}]}`),
		request("GET", demo.RouteListTemplates, demo.PathTemplates+"/"+waba, ""),
	} {
		req.RequestContext.Authorizer = nil
		resp, m := e.call(t, req)
		if resp.StatusCode != 401 || errorCode(m) != "unauthorized" {
			t.Errorf("%s without IAM = %d %s, want 401 unauthorized", req.RouteKey, resp.StatusCode, resp.Body)
		}
	}
	if n := len(e.plivo.Messages()); n != 0 {
		t.Errorf("Plivo got %d messages from unauthenticated requests", n)
	}
	if n := len(e.plivo.Templates(waba)); n != 0 {
		t.Errorf("Plivo got %d templates from unauthenticated requests", n)
	}
}

// With an allow-list, the demos use only the listed WABAs: another
// onboarded WABA is refused before Plivo is called.
func TestAllowList(t *testing.T) {
	t.Parallel()
	const other = "109876543210999"
	e := newEnv(t)
	e.onboard(t, waba, phoneID)
	e.onboard(t, other, "112233445566779")
	log := logging.New(e.logs, "DEBUG")
	plivoClient := plivo.New(plivo.Config{BaseURL: e.plivoURL, Credentials: func(context.Context, bool) (secrets.PlivoCredentials, error) {
		return secrets.PlivoCredentials{AuthID: authID, AuthToken: authToken}, nil
	}})
	h := apigw.DemoHandler(&demo.Service{Records: e.store, Plivo: plivoClient, Logger: log, AllowedWABAs: []string{waba}}, log)
	tests := []struct {
		wabaID string
		status int
		code   string
	}{
		{waba, 202, ""},
		{other, 403, "waba_not_allowed"},
	}
	for _, tt := range tests {
		req := request("POST", demo.RouteSendMessage, demo.PathMessages, `{"waba_id":"`+tt.wabaID+`","dst":"`+dst+`","text":"hi"}`)
		resp, err := h(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(resp.Body), &m)
		if resp.StatusCode != tt.status || errorCode(m) != tt.code {
			t.Errorf("message from %s = %d %s, want %d %q", tt.wabaID, resp.StatusCode, resp.Body, tt.status, tt.code)
		}
	}
	if n := len(e.plivo.Messages()); n != 1 {
		t.Errorf("Plivo queued %d messages, want 1 (the allowed WABA's)", n)
	}
}
