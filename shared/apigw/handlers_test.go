package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

const (
	canaryCode  = "CANARY-CODE-93f1"
	canaryToken = "CANARY-TOKEN-1c2d"
)

// canaryMeta exchanges only canaryCode, for canaryToken, so that the logs
// can be searched for both.
func canaryMeta() *onboardingtest.Meta {
	return &onboardingtest.Meta{AppID: "app", Exchange: func(code string) (string, error) {
		if code != canaryCode {
			return "", &onboarding.UpstreamError{Service: "meta", Op: "exchange_code", Kind: onboarding.KindRejected, Status: 400, Code: 100, Message: "This authorization code has been used."}
		}
		return canaryToken, nil
	}}
}

func newHandlers(t *testing.T, plivo *onboardingtest.Plivo) (apigw.Handler, apigw.Handler, *memstore.Store, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	log := logging.New(&logs, "DEBUG")
	store := memstore.New()
	svc := &onboarding.Service{Store: store, Meta: canaryMeta(), Plivo: plivo, Logger: log,
		AppID: func(context.Context) (string, error) { return "app", nil },
		Sleep: func(context.Context, time.Duration) error { return nil }}
	return apigw.SignupHandler(svc, nil, log), apigw.StatusHandler(svc, nil, log), store, &logs
}

func statusEvent(waba string) apigw.Request {
	req := apigw.Request{Version: "2.0", RouteKey: "GET /api/whatsapp/embedded-signup/{waba_id}", RawPath: "/api/whatsapp/embedded-signup/" + waba,
		PathParameters: map[string]string{"waba_id": waba}, Headers: map[string]string{}}
	req.RequestContext.HTTP.Method = "GET"
	req.RequestContext.RequestID = "rid-status"
	return req
}

func decodeBody(t *testing.T, resp apigw.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return m
}

func TestSignupAndStatusHandlers(t *testing.T) {
	t.Parallel()
	signup, status, _, logs := newHandlers(t, &onboardingtest.Plivo{})
	body := strings.Replace(okBody, "AQD-code", canaryCode, 1)
	resp, _ := signup(context.Background(), event("POST", "application/json", body, false))
	if resp.StatusCode != 200 || resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("signup = %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
	m := decodeBody(t, resp)
	rec := m["record"].(map[string]any)
	if m["status"] != "onboarded" || rec["state"] != "onboarded" || m["request_id"] != "rid-1" {
		t.Fatalf("body = %s", resp.Body)
	}
	// The customer's browser gets no word of Plivo (the provider's BSP).
	for _, internal := range []string{"plivo_api_id", "plivo_attempts", "last_error", "last_error_message"} {
		if _, ok := rec[internal]; ok {
			t.Errorf("the signup answer shows %s: %s", internal, resp.Body)
		}
	}

	// The same payload again: stored answer, no upstream call.
	again, _ := signup(context.Background(), event("POST", "application/json", strings.Replace(body, canaryCode, "another-code", 1), false))
	if again.StatusCode != 200 || decodeBody(t, again)["replayed"] != true {
		t.Fatalf("replay = %d %s", again.StatusCode, again.Body)
	}
	conflict, _ := signup(context.Background(), event("POST", "application/json", strings.Replace(body, "customer-12345", "someone-else", 1), false))
	if conflict.StatusCode != 409 || decodeBody(t, conflict)["error"].(map[string]any)["code"] != "conflict" {
		t.Fatalf("conflict = %d %s", conflict.StatusCode, conflict.Body)
	}

	// Anonymous: the state only.
	found, _ := status(context.Background(), statusEvent("109876543210987"))
	if found.StatusCode != 200 || len(decodeBody(t, found)["record"].(map[string]any)) != 2 || strings.Contains(found.Body, "customer-12345") {
		t.Fatalf("status = %d %s", found.StatusCode, found.Body)
	}
	for _, s := range []string{"lock_owner", "payload_hash", canaryCode, canaryToken} {
		if strings.Contains(found.Body, s) || strings.Contains(resp.Body, s) {
			t.Fatalf("%q leaked into a response", s)
		}
	}
	missing, _ := status(context.Background(), statusEvent("100000000000001"))
	bad, _ := status(context.Background(), statusEvent("abc"))
	if missing.StatusCode != 404 || bad.StatusCode != 400 {
		t.Fatalf("missing = %d, bad = %d", missing.StatusCode, bad.StatusCode)
	}
	for _, s := range []string{canaryCode, canaryToken} {
		if strings.Contains(logs.String(), s) {
			t.Fatalf("%q leaked into the logs:\n%s", s, logs.String())
		}
	}
	if !strings.Contains(logs.String(), `"msg":"signup onboarded"`) {
		t.Fatalf("no state change logged:\n%s", logs.String())
	}
}

func TestSignupHandlerAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		plivo  error
		code   string
		status int
		want   string
	}{
		{"plivo down: 202 pending", &onboarding.UpstreamError{Service: "plivo", Kind: onboarding.KindTransient, Status: 500}, canaryCode, 202, `"status":"pending"`},
		{"meta refused the code: 422", nil, "used-code", 422, `"code":"meta_rejected"`},
		{"phone elsewhere: 409", &onboarding.UpstreamError{Service: "plivo", Kind: onboarding.KindPhoneNumberTaken, Status: 400, Message: "This phone number is already registered under another WABA."}, canaryCode, 409, `"code":"phone_number_registered_elsewhere"`},
		{"plivo rejected: 502", &onboarding.UpstreamError{Service: "plivo", Kind: onboarding.KindRejected, Status: 400, Message: "waba_id is not a valid WhatsApp Business Account ID."}, canaryCode, 502, `"code":"upstream_error"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			signup, _, _, _ := newHandlers(t, &onboardingtest.Plivo{Err: tt.plivo})
			resp, _ := signup(context.Background(), event("POST", "application/json", strings.Replace(okBody, "AQD-code", tt.code, 1), false))
			if resp.StatusCode != tt.status || !strings.Contains(resp.Body, tt.want) || !strings.Contains(resp.Body, `"request_id":"rid-1"`) {
				t.Fatalf("got %d %s", resp.StatusCode, resp.Body)
			}
			if strings.Contains(resp.Body, "WhatsApp Business Account ID.") || strings.Contains(resp.Body, "HTTP") {
				t.Fatalf("internal detail leaked: %s", resp.Body)
			}
		})
	}
}

func TestInProgressAnswerHasRetryAfter(t *testing.T) {
	t.Parallel()
	signup, _, store, _ := newHandlers(t, &onboardingtest.Plivo{})
	store.Put(onboarding.Record{WABAID: "109876543210987", State: onboarding.StateVerifying, LockOwner: "x", LockExpiresAt: time.Now().Add(10 * time.Second)})
	resp, _ := signup(context.Background(), event("POST", "application/json", okBody, false))
	if resp.StatusCode != 409 || resp.Headers["Retry-After"] == "" || !strings.Contains(resp.Body, "signup_in_progress") {
		t.Fatalf("got %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
	}
}

// TestSignupPreparesOnlyValidRequests: the secrets preload runs for a
// request that parsed, before anything else, and never for one refused at
// the door (which must cost no AWS call).
func TestSignupPreparesOnlyValidRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		body        string
		want        int
	}{
		{"valid", "application/json", okBody, 1},
		{"wrong content type", "text/plain", okBody, 0},
		{"not JSON", "application/json", "{", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var prepared atomic.Int32
			svc := &onboarding.Service{Store: memstore.New(), Meta: canaryMeta(), Plivo: &onboardingtest.Plivo{}, Logger: logging.New(io.Discard, "INFO"),
				AppID:   func(context.Context) (string, error) { return "app", nil },
				Prepare: func(context.Context) { prepared.Add(1) }}
			_, _ = apigw.SignupHandler(svc, nil, svc.Logger)(context.Background(), event("POST", tt.contentType, tt.body, false))
			if got := int(prepared.Load()); got != tt.want {
				t.Fatalf("Prepare ran %d times, want %d", got, tt.want)
			}
		})
	}
}

// TestRestrictedReplayIsOnboarded: a replay for a WABA Meta restricts after
// its onboarding is answered 200 like an onboarded one, with the record's
// state. A 202 would set the page polling a record that no longer moves.
func TestRestrictedReplayIsOnboarded(t *testing.T) {
	t.Parallel()
	signup, _, store, _ := newHandlers(t, &onboardingtest.Plivo{})
	body := strings.Replace(okBody, "AQD-code", canaryCode, 1)
	if resp, _ := signup(context.Background(), event("POST", "application/json", body, false)); resp.StatusCode != 200 {
		t.Fatalf("first signup: %d %s", resp.StatusCode, resp.Body)
	}
	rec, err := store.Get(context.Background(), "109876543210987")
	if err != nil {
		t.Fatal(err)
	}
	rec.State, rec.StateReason = onboarding.StateRestricted, "account_violation:SCAM"
	store.Put(*rec)
	again, _ := signup(context.Background(), event("POST", "application/json", strings.Replace(body, canaryCode, "another-code", 1), false))
	if again.StatusCode != 200 || !strings.Contains(again.Body, `"replayed":true`) || !strings.Contains(again.Body, `"state":"restricted"`) {
		t.Errorf("replay of a restricted WABA: %d %s; want 200, replayed, state restricted", again.StatusCode, again.Body)
	}
}
