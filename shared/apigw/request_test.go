package apigw_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

func event(method, contentType, body string, b64 bool) apigw.Request {
	req := apigw.Request{Version: "2.0", RouteKey: "POST /api/whatsapp/embedded-signup", RawPath: "/api/whatsapp/embedded-signup",
		Headers: map[string]string{}, Body: body, IsBase64Encoded: b64}
	if contentType != "" {
		req.Headers["content-type"] = contentType
	}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.RequestID = "rid-1"
	return req
}

const okBody = `{"code":"AQD-code","waba_id":"109876543210987","phone_number_id":"112233445566778","business_id":"198765432109876","client_ref":"customer-12345"}`

func TestParseSignup(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"a":`, 2000) + "1" + strings.Repeat("}", 2000)
	tests := []struct {
		name  string
		req   apigw.Request
		code  onboarding.Code
		field string
	}{
		{"ok", event("POST", "application/json", okBody, false), "", ""},
		{"ok with charset", event("POST", "application/json; charset=utf-8", okBody, false), "", ""},
		{"ok base64", event("POST", "application/json", base64.StdEncoding.EncodeToString([]byte(okBody)), true), "", ""},
		{"ok code only", event("POST", "application/json", `{"code":"c"}`, false), "", ""},
		{"ok nulls", event("POST", "application/json", `{"code":"c","waba_id":null}`, false), "", ""},
		{"wrong method", event("GET", "application/json", okBody, false), onboarding.CodeMethodNotAllowed, ""},
		{"put", event("PUT", "application/json", okBody, false), onboarding.CodeMethodNotAllowed, ""},
		{"missing content type", event("POST", "", okBody, false), onboarding.CodeUnsupportedMedia, ""},
		{"form content type", event("POST", "application/x-www-form-urlencoded", okBody, false), onboarding.CodeUnsupportedMedia, ""},
		{"text/plain", event("POST", "text/plain", okBody, false), onboarding.CodeUnsupportedMedia, ""},
		{"huge body", event("POST", "application/json", `{"code":"`+strings.Repeat("a", 20000)+`"}`, false), onboarding.CodePayloadTooLarge, ""},
		{"huge base64 body", event("POST", "application/json", base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", 20000))), true), onboarding.CodePayloadTooLarge, ""},
		{"bad base64", event("POST", "application/json", "!!!", true), onboarding.CodeInvalidRequest, "body"},
		{"empty body", event("POST", "application/json", "", false), onboarding.CodeInvalidRequest, "body"},
		{"array", event("POST", "application/json", `[1]`, false), onboarding.CodeInvalidRequest, "body"},
		{"malformed", event("POST", "application/json", `{"code":`, false), onboarding.CodeInvalidRequest, "body"},
		{"trailing data", event("POST", "application/json", `{"code":"c"} {}`, false), onboarding.CodeInvalidRequest, "body"},
		{"deep json", event("POST", "application/json", deep, false), onboarding.CodeInvalidRequest, "a"},
		{"deep json in a known field", event("POST", "application/json", `{"code":`+deep+`}`, false), onboarding.CodeInvalidRequest, "code"},
		{"nested value", event("POST", "application/json", `{"code":{"x":1}}`, false), onboarding.CodeInvalidRequest, "code"},
		{"numeric id", event("POST", "application/json", `{"code":"c","waba_id":109876543210987}`, false), onboarding.CodeInvalidRequest, "waba_id"},
		{"unknown field", event("POST", "application/json", `{"code":"c","admin":true}`, false), onboarding.CodeInvalidRequest, "admin"},
		{"duplicate key", event("POST", "application/json", `{"code":"c","waba_id":"1","waba_id":"2"}`, false), onboarding.CodeInvalidRequest, "waba_id"},
		{"missing code", event("POST", "application/json", `{"waba_id":"109876543210987"}`, false), onboarding.CodeInvalidRequest, "code"},
		{"blank code", event("POST", "application/json", `{"code":"  "}`, false), onboarding.CodeInvalidRequest, "code"},
		{"letters in waba", event("POST", "application/json", `{"code":"c","waba_id":"12x"}`, false), onboarding.CodeInvalidRequest, "waba_id"},
		{"leading zero", event("POST", "application/json", `{"code":"c","phone_number_id":"0112"}`, false), onboarding.CodeInvalidRequest, "phone_number_id"},
		{"21 digits", event("POST", "application/json", `{"code":"c","business_id":"123456789012345678901"}`, false), onboarding.CodeInvalidRequest, "business_id"},
		{"control chars in client_ref", event("POST", "application/json", `{"code":"c","client_ref":"a\u0000b"}`, false), onboarding.CodeInvalidRequest, "client_ref"},
		{"unicode client_ref", event("POST", "application/json", "{\"code\":\"c\",\"client_ref\":\"\u00fc\u202e\"}", false), onboarding.CodeInvalidRequest, "client_ref"},
		{"long client_ref", event("POST", "application/json", `{"code":"c","client_ref":"`+strings.Repeat("a", 65)+`"}`, false), onboarding.CodeInvalidRequest, "client_ref"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := apigw.ParseSignup(tt.req)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				if in.Request.Code == "" || in.Request.RequestID != "rid-1" {
					t.Fatalf("parsed %+v", in)
				}
				return
			}
			if got := onboarding.ErrorCode(err); got != tt.code {
				t.Fatalf("code = %s (%v), want %s", got, err, tt.code)
			}
			if status := apigw.StatusOf(onboarding.ErrorCode(err).Kind()); status >= 500 {
				t.Fatalf("status %d for bad input", status)
			}
			var de *onboarding.Error
			if tt.field != "" && (!errors.As(err, &de) || len(de.Fields) == 0 || de.Fields[0].Field != tt.field) {
				t.Fatalf("fields = %+v, want %s", de, tt.field)
			}
		})
	}
}

// FuzzParseSignup: no input panics, and every rejection is a 4xx.
func FuzzParseSignup(f *testing.F) {
	for _, s := range []string{okBody, `{"code":"c"}`, `{}`, `[]`, `{"code":"c","code":"d"}`, `{"a":{"b":[1,2]}}`, "\x00", `{"client_ref":"\ud800"}`} {
		f.Add(s, false, "application/json")
	}
	f.Add(base64.StdEncoding.EncodeToString([]byte(okBody)), true, "application/json")
	f.Fuzz(func(t *testing.T, body string, b64 bool, contentType string) {
		in, err := apigw.ParseSignup(event("POST", contentType, body, b64))
		if err != nil {
			if status := apigw.StatusOf(onboarding.ErrorCode(err).Kind()); status < 400 || status >= 500 {
				t.Fatalf("status %d for %q", status, body)
			}
			return
		}
		if in.Request.Code == "" {
			t.Fatal("accepted a request without a code")
		}
		if err := onboarding.ValidateIdentity(in.Request.Identity); err != nil {
			t.Fatalf("accepted invalid identity: %v", err)
		}
	})
}
