package plivo

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

func TestParsePlivoError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		want   plivoError
		wantOK bool
	}{
		{name: "error shape", body: `{"api_id":"A","error":"waba_id is required."}`, want: plivoError{APIID: "A", Message: "waba_id is required."}, wantOK: true},
		{name: "error_code shape", body: `{"api_id":"A","error_code":1001,"message":"m"}`, want: plivoError{APIID: "A", ErrorCode: "1001", Message: "m"}, wantOK: true},
		{name: "both texts", body: `{"error":"e","message":"m"}`, want: plivoError{Message: "e: m"}, wantOK: true},
		{name: "same text twice", body: `{"error":"e","message":"e"}`, want: plivoError{Message: "e"}, wantOK: true},
		{name: "field errors", body: `{"error":{"src":["required"],"dst":["invalid","too long"]}}`, want: plivoError{Message: "dst: invalid; too long; src: required"}, wantOK: true},
		{name: "wrong types", body: `{"api_id":{},"error":true,"error_code":[1]}`, want: plivoError{}, wantOK: true},
		{name: "not JSON", body: `<html>`},
		{name: "array", body: `[]`},
		{name: "null", body: `null`},
		{name: "empty", body: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := parsePlivoError([]byte(tt.body))
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("parsePlivoError = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzParsePlivoError(f *testing.F) {
	for _, seed := range []string{
		`{"api_id":"a1","error":"This WABA is already registered with Plivo."}`,
		`{"api_id":"a1","error":"This phone number is already registered under another WABA."}`,
		`{"api_id":"a1","error_code":400,"message":"Multi-Partner Solution is not active for your app."}`,
		`{"api_id":"a1","error":{"waba_id":["This field is required."]}}`,
		`{"error":[["nested"],{"a":{"b":"c"}}]}`,
		`<html>502</html>`,
		``,
	} {
		for _, status := range []int{400, 401, 403, 429, 500} {
			f.Add([]byte(seed), status)
		}
	}
	const token = "fuzz-auth-token"
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		pe, ok := parsePlivoError(body)
		if !ok && pe != (plivoError{}) {
			t.Fatalf("not ok but returned %+v", pe)
		}
		ue := pe.upstream(OpEmbeddedSignup, status, ok, token)
		switch ue.Kind {
		case onboarding.KindTransient, onboarding.KindThrottled, onboarding.KindRejected, onboarding.KindUnauthorized,
			onboarding.KindForbidden, onboarding.KindAlreadyRegistered, onboarding.KindPhoneNumberTaken, onboarding.KindSolutionInactive,
			onboarding.KindUndocumented:
		default:
			t.Fatalf("kind %q", ue.Kind)
		}
		switch {
		case status == 401 && ue.Kind != onboarding.KindUnauthorized,
			status == 429 && ue.Kind != onboarding.KindThrottled,
			status >= 500 && ue.Kind != onboarding.KindTransient:
			t.Fatalf("status %d classified %s", status, ue.Kind)
		}
		if strings.Contains(ue.Message, token) {
			t.Fatalf("message leaks the token: %q", ue.Message)
		}
		if !utf8.ValidString(ue.Message) || len(ue.Message) > maxMessageLen+len("…") {
			t.Fatalf("message of %d bytes, valid UTF-8 %v", len(ue.Message), utf8.ValidString(ue.Message))
		}
		if ue.Status != status || ue.APIID != pe.APIID || ue.Service != onboarding.ServicePlivo {
			t.Fatalf("upstream = %+v", ue)
		}
	})
}

func TestKindMatchingIsRobust(t *testing.T) {
	t.Parallel()
	tests := []struct {
		msg  string
		want onboarding.Kind
	}{
		{"This WABA is already registered with Plivo.", onboarding.KindAlreadyRegistered},
		{"WABA ALREADY-REGISTERED", onboarding.KindAlreadyRegistered},
		{"This phone number is already registered under another WABA.", onboarding.KindPhoneNumberTaken},
		{"phone_number already in use by another waba", onboarding.KindPhoneNumberTaken},
		{"Multi-Partner Solution is not active for your app. Contact Plivo support.", onboarding.KindSolutionInactive},
		{"The multi partner solution is inactive", onboarding.KindSolutionInactive},
		{"waba_id is not a valid WhatsApp Business Account ID.", onboarding.KindRejected},
		{"phone_number_id is required.", onboarding.KindRejected},
		{"", onboarding.KindUndocumented},
		{"The phone number has not been verified.", onboarding.KindUndocumented},
	}
	for _, tt := range tests {
		if got := (plivoError{Message: tt.msg}).kind(400, true, true); got != tt.want {
			t.Errorf("kind(400, %q) = %s, want %s", tt.msg, got, tt.want)
		}
	}
}
