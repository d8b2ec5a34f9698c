package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
	"github.com/techprovider/wa-onboarding/shared/session"
)

var sessT0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func sessionKeys(t *testing.T) session.Keyset {
	t.Helper()
	k, err := session.NewKey("2026-11")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := session.Keyset{}.Rotate(k, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func sessionsEvent(body string, iam bool) apigw.Request {
	req := apigw.Request{Version: "2.0", RouteKey: "POST /api/onboarding-sessions", RawPath: "/api/onboarding-sessions",
		Headers: map[string]string{"content-type": "application/json"}, Body: body}
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.RequestID = "rid-sess"
	req.RequestContext.DomainName = "abc123.execute-api.eu-west-1.amazonaws.com"
	req.RequestContext.Stage = "$default"
	if iam {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
				AccountID: "111122223333", UserARN: "arn:aws:sts::111122223333:assumed-role/provider-backend/i-0abc",
			},
		}
	}
	return req
}

func TestSessionsHandler(t *testing.T) {
	t.Parallel()
	ks := sessionKeys(t)
	tests := []struct {
		name       string
		pageURL    string
		body       string
		iam        bool
		mutate     func(*apigw.Request)
		wantStatus int
		wantCode   onboarding.Code
		wantField  string
		// wantMessage, when set, is the field error's message.
		wantMessage string
		wantURL     string // without the session parameter
		wantTTL     time.Duration
	}{
		{name: "default ttl, page at the API root", body: `{"client_ref":"customer-1"}`, iam: true, wantStatus: 201,
			wantURL: "https://abc123.execute-api.eu-west-1.amazonaws.com/", wantTTL: 15 * time.Minute},
		{name: "configured page URL keeps its query", pageURL: "https://onboard.example.com/whatsapp?lang=de", body: `{"client_ref":"customer-1","ttl_seconds":3600}`, iam: true,
			wantStatus: 201, wantURL: "https://onboard.example.com/whatsapp?lang=de", wantTTL: time.Hour},
		// On the execute-api host a named stage is the path's first
		// segment, in rawPath too.
		{name: "named stage", body: `{"client_ref":"customer-1"}`, iam: true, mutate: func(r *apigw.Request) {
			r.RequestContext.Stage, r.RawPath, r.RequestContext.HTTP.Path = "prod", "/prod/api/onboarding-sessions", "/prod/api/onboarding-sessions"
		}, wantStatus: 201, wantURL: "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/", wantTTL: 15 * time.Minute},
		// A custom domain's API mapping names the stage: the URL, and
		// rawPath, have no stage segment.
		{name: "custom domain mapped to a named stage", body: `{"client_ref":"customer-1"}`, iam: true, mutate: func(r *apigw.Request) {
			r.RequestContext.Stage, r.RequestContext.DomainName, r.RequestContext.DomainPrefix = "prod", "api.example.com", "api"
			r.Headers["host"] = "api.example.com"
		}, wantStatus: 201, wantURL: "https://api.example.com/", wantTTL: 15 * time.Minute},
		{name: "custom domain, rawPath under a mapping path", body: `{"client_ref":"customer-1"}`, iam: true, mutate: func(r *apigw.Request) {
			r.RequestContext.DomainName, r.RawPath = "api.example.com", "/whatsapp/api/onboarding-sessions"
		}, wantStatus: 201, wantURL: "https://api.example.com/whatsapp/", wantTTL: 15 * time.Minute},
		{name: "a path prefix that is no stage or mapping falls back to the stage", body: `{"client_ref":"customer-1"}`, iam: true, mutate: func(r *apigw.Request) {
			r.RawPath = "/a%2F..%2F/../api/onboarding-sessions"
		}, wantStatus: 201, wantURL: "https://abc123.execute-api.eu-west-1.amazonaws.com/", wantTTL: 15 * time.Minute},
		{name: "null ttl is the default", body: `{"client_ref":"customer-1","ttl_seconds":null}`, iam: true, wantStatus: 201,
			wantURL: "https://abc123.execute-api.eu-west-1.amazonaws.com/", wantTTL: 15 * time.Minute},
		{name: "no IAM authorizer", body: `{"client_ref":"customer-1"}`, wantStatus: 401, wantCode: onboarding.CodeUnauthorized},
		{name: "IAM authorizer without a principal", body: `{"client_ref":"customer-1"}`, mutate: func(r *apigw.Request) {
			r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{}}
		}, wantStatus: 401, wantCode: onboarding.CodeUnauthorized},
		{name: "JWT instead of IAM", body: `{"client_ref":"customer-1"}`, mutate: func(r *apigw.Request) {
			r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": "x"}}}
		}, wantStatus: 401, wantCode: onboarding.CodeUnauthorized},
		{name: "GET", body: ``, iam: true, mutate: func(r *apigw.Request) { r.RequestContext.HTTP.Method = "GET" }, wantStatus: 405, wantCode: onboarding.CodeMethodNotAllowed},
		{name: "form body", body: `client_ref=x`, iam: true, mutate: func(r *apigw.Request) { r.Headers["content-type"] = "application/x-www-form-urlencoded" }, wantStatus: 415, wantCode: onboarding.CodeUnsupportedMedia},
		{name: "too large", body: `{"client_ref":"` + strings.Repeat("a", apigw.MaxBodyBytes) + `"}`, iam: true, wantStatus: 413, wantCode: onboarding.CodePayloadTooLarge},
		{name: "no client_ref", body: `{}`, iam: true, wantStatus: 400, wantField: "client_ref"},
		{name: "bad client_ref", body: `{"client_ref":"drop table"}`, iam: true, wantStatus: 400, wantField: "client_ref"},
		{name: "client_ref not a string", body: `{"client_ref":42}`, iam: true, wantStatus: 400, wantField: "client_ref"},
		{name: "duplicate client_ref", body: `{"client_ref":"a","client_ref":"b"}`, iam: true, wantStatus: 400, wantField: "client_ref"},
		{name: "unknown field", body: `{"client_ref":"a","admin":true}`, iam: true, wantStatus: 400, wantField: "admin"},
		{name: "nested", body: `{"client_ref":{"a":1}}`, iam: true, wantStatus: 400, wantField: "client_ref"},
		{name: "two objects", body: `{"client_ref":"a"}{}`, iam: true, wantStatus: 400, wantField: "body"},
		{name: "array", body: `["client_ref"]`, iam: true, wantStatus: 400, wantField: "body"},
		{name: "ttl too short", body: `{"client_ref":"a","ttl_seconds":59}`, iam: true, wantStatus: 400, wantField: "ttl_seconds"},
		{name: "ttl too long", body: `{"client_ref":"a","ttl_seconds":86401}`, iam: true, wantStatus: 400, wantField: "ttl_seconds"},
		{name: "ttl fractional", body: `{"client_ref":"a","ttl_seconds":90.5}`, iam: true, wantStatus: 400, wantField: "ttl_seconds"},
		{name: "ttl as a string", body: `{"client_ref":"a","ttl_seconds":"900"}`, iam: true, wantStatus: 400, wantField: "ttl_seconds",
			wantMessage: "ttl_seconds must be a number."},
		{name: "ttl as true", body: `{"client_ref":"a","ttl_seconds":true}`, iam: true, wantStatus: 400, wantField: "ttl_seconds",
			wantMessage: "ttl_seconds must be a number."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			m := &session.Minter{Keys: session.StaticKeys(ks), TTL: 15 * time.Minute, Now: func() time.Time { return sessT0 }}
			h := apigw.SessionsHandler(m, tt.pageURL, logging.New(&logs, "DEBUG"))
			req := sessionsEvent(tt.body, tt.iam)
			if tt.mutate != nil {
				tt.mutate(&req)
			}
			resp, err := h(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || resp.Headers["Cache-Control"] != "no-store" {
				t.Fatalf("status %d (%s), want %d: %s", resp.StatusCode, resp.Headers["Cache-Control"], tt.wantStatus, resp.Body)
			}
			if tt.wantStatus != 201 {
				var eb apigw.ErrorBody
				if err := json.Unmarshal([]byte(resp.Body), &eb); err != nil {
					t.Fatal(err)
				}
				if tt.wantCode != "" && eb.Error.Code != tt.wantCode {
					t.Fatalf("code %s, want %s", eb.Error.Code, tt.wantCode)
				}
				if tt.wantField != "" && (len(eb.Error.Fields) == 0 || eb.Error.Fields[0].Field != tt.wantField) {
					t.Fatalf("fields %+v, want %s", eb.Error.Fields, tt.wantField)
				}
				if tt.wantMessage != "" && eb.Error.Fields[0].Message != tt.wantMessage {
					t.Fatalf("message %q, want %q", eb.Error.Fields[0].Message, tt.wantMessage)
				}
				return
			}
			var ans apigw.SessionAnswer
			if err := json.Unmarshal([]byte(resp.Body), &ans); err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(ans.URL)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("session") != ans.Token {
				t.Fatalf("URL %s does not carry the token", ans.URL)
			}
			q.Del("session")
			u.RawQuery = q.Encode()
			if u.String() != tt.wantURL {
				t.Fatalf("URL %s, want %s + session", u, tt.wantURL)
			}
			c, err := (&session.Verifier{Keys: session.StaticKeys(ks), Now: func() time.Time { return sessT0 }}).Verify(context.Background(), ans.Token)
			if err != nil {
				t.Fatal(err)
			}
			if c.ClientRef != "customer-1" || ans.ClientRef != "customer-1" || c.ExpiresAt.Sub(c.IssuedAt) != tt.wantTTL || ans.ExpiresAt != c.ExpiresAt.Format(time.RFC3339) {
				t.Fatalf("claims %+v, answer %+v", c, ans)
			}
			out := logs.String()
			if strings.Contains(out, ans.Token) || !strings.Contains(out, "assumed-role/provider-backend") || !strings.Contains(out, c.ID) {
				t.Fatalf("logs must name the caller and session id, never the token:\n%s", out)
			}
		})
	}
}

func signupWithSession(code, waba, clientRef, token string) apigw.Request {
	body := map[string]string{"code": code, "waba_id": waba, "phone_number_id": "112233445566778", "business_id": "198765432109876"}
	if clientRef != "" {
		body["client_ref"] = clientRef
	}
	if token != "" {
		body["session"] = token
	}
	b, _ := json.Marshal(body)
	req := apigw.Request{Version: "2.0", RouteKey: "POST /api/whatsapp/embedded-signup", RawPath: "/api/whatsapp/embedded-signup",
		Headers: map[string]string{"content-type": "application/json"}, Body: string(b)}
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.RequestID = "rid-" + waba
	return req
}

// TestSignupSessionFailuresTouchNothing sends every kind of bad session
// through the real signup handler: each is refused with its code and
// status, nothing is written to the signup table, and neither Meta nor
// Plivo is called.
func TestSignupSessionFailuresTouchNothing(t *testing.T) {
	t.Parallel()
	ks := sessionKeys(t)
	const waba = "109876543210987"
	m := &session.Minter{Keys: session.StaticKeys(ks), Now: func() time.Time { return sessT0 }}
	good, err := m.Mint(context.Background(), "customer-1", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		token      string
		clientRef  string
		now        time.Time
		spent      *onboarding.SessionUse // already spent
		storeErr   error
		wantStatus int
		wantCode   onboarding.Code
	}{
		{name: "missing", token: "", now: sessT0, wantStatus: 401, wantCode: onboarding.CodeSessionMissing},
		{name: "tampered", token: good.Token[:len(good.Token)-3] + "AAA", now: sessT0, wantStatus: 401, wantCode: onboarding.CodeSessionInvalid},
		{name: "garbage", token: "hello", now: sessT0, wantStatus: 401, wantCode: onboarding.CodeSessionInvalid},
		{name: "expired", token: good.Token, now: sessT0.Add(time.Hour), wantStatus: 401, wantCode: onboarding.CodeSessionExpired},
		{name: "reused for another WABA", token: good.Token, now: sessT0,
			spent:      &onboarding.SessionUse{ID: good.ID, ClientRef: "customer-1", WABAID: "100000000000001", ExpiresAt: good.ExpiresAt.Add(time.Minute)},
			wantStatus: 401, wantCode: onboarding.CodeSessionUsed},
		{name: "client_ref of another customer", token: good.Token, clientRef: "customer-2", now: sessT0, wantStatus: 403, wantCode: onboarding.CodeClientRefMismatch},
		{name: "store unavailable", token: good.Token, now: sessT0, storeErr: errors.New("throttled"), wantStatus: 503, wantCode: onboarding.CodeUpstreamUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			log := logging.New(&logs, "DEBUG")
			store := memstore.New()
			if tt.storeErr != nil {
				store.Fail = func(string, *onboarding.Record) error { return tt.storeErr }
			}
			meta, plivo := &onboardingtest.Meta{AppID: "app"}, &onboardingtest.Plivo{}
			svc := &onboarding.Service{Store: store, Sessions: store, Meta: meta, Plivo: plivo, Logger: log,
				AppID: func(context.Context) (string, error) { return "app", nil }}
			if tt.spent != nil {
				store.PutUse(*tt.spent)
			}
			checker := &session.Checker{Verifier: &session.Verifier{Keys: session.StaticKeys(ks), Now: func() time.Time { return tt.now }}, Logger: log}
			h := apigw.SignupHandler(svc, checker.Check, log)
			resp, err := h(context.Background(), signupWithSession("AQD-code", waba, tt.clientRef, tt.token))
			if err != nil {
				t.Fatal(err)
			}
			var eb apigw.ErrorBody
			_ = json.Unmarshal([]byte(resp.Body), &eb)
			if resp.StatusCode != tt.wantStatus || eb.Error.Code != tt.wantCode {
				t.Fatalf("answer %d %s, want %d %s: %s", resp.StatusCode, eb.Error.Code, tt.wantStatus, tt.wantCode, resp.Body)
			}
			if plivoCalls, _ := plivo.Counts(); store.Writes != 0 || meta.Calls() != 0 || plivoCalls != 0 {
				t.Fatalf("refused signup wrote %d records, made %d Meta and %d Plivo calls", store.Writes, meta.Calls(), plivoCalls)
			}
			if use, spent := store.Use(good.ID); spent != (tt.spent != nil) || spent && use != *tt.spent {
				t.Fatalf("a refused signup spent the token: %+v", use)
			}
			if tt.token != "" && strings.Contains(logs.String()+resp.Body, tt.token) {
				t.Fatal("the token was logged or echoed")
			}
		})
	}
}

// TestSignupSessionBindsClientRef: the record gets the token's client_ref,
// a retry of the same WABA with the same token is answered (a resend of
// the first post from the record, a new code once it is proven), another WABA
// with it is refused. The first signup writes three times: its lock and the
// token's spending are one write.
func TestSignupSessionBindsClientRef(t *testing.T) {
	t.Parallel()
	ks := sessionKeys(t)
	m := &session.Minter{Keys: session.StaticKeys(ks), Now: func() time.Time { return sessT0 }}
	iss, err := m.Mint(context.Background(), "customer-7", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	log := logging.New(&bytes.Buffer{}, "DEBUG")
	store := memstore.New()
	meta, plivo := &onboardingtest.Meta{AppID: "app"}, &onboardingtest.Plivo{}
	svc := &onboarding.Service{Store: store, Sessions: store, Meta: meta, Plivo: plivo, Logger: log,
		AppID: func(context.Context) (string, error) { return "app", nil }}
	checker := &session.Checker{Verifier: &session.Verifier{Keys: session.StaticKeys(ks), Now: func() time.Time { return sessT0.Add(time.Minute) }}, Logger: log}
	h := apigw.SignupHandler(svc, checker.Check, log)

	steps := []struct {
		name       string
		req        apigw.Request
		wantStatus int
		wantCode   onboarding.Code
		writes     int
	}{
		{"first signup", signupWithSession("AQD-code", "109876543210987", "", iss.Token), 200, "", 4},
		// A new code for the WABA it onboarded, even seconds later, is a new
		// run of Meta's flow: the token's reuse is counted, and our app,
		// subscribed again, is stamped on the record.
		{"new run for the same WABA", signupWithSession("AQD-code-2", "109876543210987", "customer-7", iss.Token), 200, "", 2},
		{"resend of the first post", signupWithSession("AQD-code", "109876543210987", "customer-7", iss.Token), 200, "", 1},
		{"another WABA", signupWithSession("AQD-code-3", "109876543210988", "", iss.Token), 401, onboarding.CodeSessionUsed, 0},
	}
	for _, s := range steps {
		before := store.Writes
		resp, err := h(context.Background(), s.req)
		if err != nil {
			t.Fatal(err)
		}
		var eb apigw.ErrorBody
		_ = json.Unmarshal([]byte(resp.Body), &eb)
		if resp.StatusCode != s.wantStatus || eb.Error.Code != s.wantCode {
			t.Fatalf("%s: %d %s, want %d %s: %s", s.name, resp.StatusCode, eb.Error.Code, s.wantStatus, s.wantCode, resp.Body)
		}
		if got := store.Writes - before; got != s.writes {
			t.Fatalf("%s: %d writes, want %d", s.name, got, s.writes)
		}
	}
	rec, err := store.Get(context.Background(), "109876543210987")
	if err != nil {
		t.Fatal(err)
	}
	if rec.ClientRef != "customer-7" || rec.State != onboarding.StateOnboarded {
		t.Fatalf("record %+v", rec)
	}
	if _, err := store.Get(context.Background(), "109876543210988"); !errors.Is(err, onboarding.ErrNotFound) {
		t.Fatalf("the refused WABA has a record: %v", err)
	}
}

// flakyMeta is unavailable for its first code exchange.
func flakyMeta() *onboardingtest.Meta {
	var failed atomic.Bool
	return &onboardingtest.Meta{AppID: "app", Exchange: func(code string) (string, error) {
		if failed.CompareAndSwap(false, true) {
			return "", &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: "exchange_code", Kind: onboarding.KindTransient, Status: 503}
		}
		return "token-" + code, nil
	}}
}

// TestSignupSessionRetryAfterTransientFailure is the trade-off the
// checker makes: the token is spent by the first attempt, Meta is briefly
// down (503, the page offers Try again), and the retry with the same token
// and WABA onboards instead of asking the customer for a new link.
func TestSignupSessionRetryAfterTransientFailure(t *testing.T) {
	t.Parallel()
	ks := sessionKeys(t)
	iss, err := (&session.Minter{Keys: session.StaticKeys(ks), Now: func() time.Time { return sessT0 }}).Mint(context.Background(), "customer-8", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	log := logging.New(&bytes.Buffer{}, "DEBUG")
	store := memstore.New()
	svc := &onboarding.Service{Store: store, Sessions: store, Meta: flakyMeta(), Plivo: &onboardingtest.Plivo{}, Logger: log,
		AppID: func(context.Context) (string, error) { return "app", nil }}
	checker := &session.Checker{Verifier: &session.Verifier{Keys: session.StaticKeys(ks), Now: func() time.Time { return sessT0.Add(time.Minute) }}, Logger: log}
	h := apigw.SignupHandler(svc, checker.Check, log)
	req := signupWithSession("AQD-code", "109876543210987", "", iss.Token)
	for i, want := range []int{503, 200} {
		resp, err := h(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d: %s", i+1, resp.StatusCode, want, resp.Body)
		}
		if _, spent := store.Use(iss.ID); !spent {
			t.Fatalf("attempt %d did not spend the token", i+1)
		}
	}
	rec, err := store.Get(context.Background(), "109876543210987")
	if err != nil || rec.State != onboarding.StateOnboarded || rec.ClientRef != "customer-8" {
		t.Fatalf("record %+v, %v", rec, err)
	}
}
