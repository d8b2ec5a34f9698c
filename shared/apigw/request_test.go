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
		// Payload format 2.0 joins a repeated header with commas.
		{"content type repeated", event("POST", "application/json,application/json; charset=utf-8", okBody, false), "", ""},
		{"content type repeated, spaced", event("POST", "application/json, application/json", okBody, false), "", ""},
		{"content types that disagree", event("POST", "application/json,text/plain", okBody, false), onboarding.CodeUnsupportedMedia, ""},
		// The last value must not decide: a browser's text/plain before it.
		{"content types that disagree, json last", event("POST", "text/plain,application/json", okBody, false), onboarding.CodeUnsupportedMedia, ""},
		{"an empty content type beside json", event("POST", "application/json,", okBody, false), onboarding.CodeUnsupportedMedia, ""},
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
		{"finish waba_only", event("POST", "application/json", `{"code":"c","waba_id":"109876543210987","finish":"waba_only"}`, false), "", ""},
		{"finish waba_only naming a number", event("POST", "application/json", `{"code":"c","phone_number_id":"112233445566778","finish":"waba_only"}`, false), onboarding.CodeInvalidRequest, "finish"},
		{"other finish", event("POST", "application/json", `{"code":"c","finish":"done"}`, false), onboarding.CodeInvalidRequest, "finish"},
		{"code of 2048 bytes", event("POST", "application/json", `{"code":"`+strings.Repeat("c", 2048)+`"}`, false), "", ""},
		{"code of 2049 bytes", event("POST", "application/json", `{"code":"`+strings.Repeat("c", 2049)+`"}`, false), onboarding.CodeInvalidRequest, "code"},
		// The size limit is on the decoded body, to the byte.
		{"body of MaxBodyBytes", event("POST", "application/json", padded(apigw.MaxBodyBytes), false), "", ""},
		{"body of MaxBodyBytes, base64", event("POST", "application/json", base64.StdEncoding.EncodeToString([]byte(padded(apigw.MaxBodyBytes))), true), "", ""},
		{"body of MaxBodyBytes-1, base64", event("POST", "application/json", base64.StdEncoding.EncodeToString([]byte(padded(apigw.MaxBodyBytes-1))), true), "", ""},
		{"body of MaxBodyBytes+1", event("POST", "application/json", padded(apigw.MaxBodyBytes+1), false), onboarding.CodePayloadTooLarge, ""},
		{"body of MaxBodyBytes+1, base64", event("POST", "application/json", base64.StdEncoding.EncodeToString([]byte(padded(apigw.MaxBodyBytes+1))), true), onboarding.CodePayloadTooLarge, ""},
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

// padded is a valid signup body of n bytes: JSON allows trailing spaces.
func padded(n int) string {
	body := `{"code":"c"}`
	return body + strings.Repeat(" ", n-len(body))
}

// TestParseSignupMessages pins what a refused body is told: the field at
// fault and why. An unknown key is echoed cut to 40 letters, digits, _ or
// -, so the answer never carries the caller's markup or a huge key.
func TestParseSignupMessages(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("k", 50)
	tests := []struct {
		name, body, field, msg string
	}{
		{"unknown field", `{"code":"c","admin":"x"}`, "admin", `Unknown field "admin".`},
		{"unknown field, cut", `{"code":"c","` + long + `":"x"}`, long[:40], `Unknown field "` + long[:40] + `".`},
		{"unknown field of symbols", `{"code":"c","<>":"x"}`, "body", `Unknown field "body".`},
		{"unknown field, markup dropped", `{"code":"c","a<b>":"x"}`, "ab", `Unknown field "ab".`},
		// Each kept range's ends, beside the characters just outside them.
		{"unknown field, range edges", "{\"code\":\"c\",\"a`z{A@Z[0/9:_-\":\"x\"}", "azAZ09_-", `Unknown field "azAZ09_-".`},
		{"a string field given true", `{"code":true}`, "code", "code must be a string."},
		{"a string field given a list", `{"code":["c"]}`, "code", "code must be a string."},
		{"a number", `{"code":1}`, "code", "code must be a string."},
		{"a trailing comma", `{"code":"c",}`, "body", "The body is not valid JSON."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := apigw.ParseSignup(event("POST", "application/json", tt.body, false))
			var de *onboarding.Error
			if !errors.As(err, &de) || len(de.Fields) != 1 || de.Fields[0].Field != tt.field || de.Fields[0].Message != tt.msg {
				t.Fatalf("err %v, fields %+v; want %s: %s", err, de, tt.field, tt.msg)
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
