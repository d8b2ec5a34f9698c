package apigw

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestDecodeJSON pins what the demo routes' nested bodies are refused for
// and told: the same method, media type and size rules as a signup's,
// and field errors that name the field without echoing the body.
func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	type message struct {
		To   string   `json:"to"`
		Tags []string `json:"tags"`
		Opts struct {
			Media map[string]string `json:"media"`
		} `json:"opts"`
	}
	req := func(method, contentType, body string, b64 bool) Request {
		var r Request
		r.RequestContext.HTTP.Method = method
		r.Headers = map[string]string{"content-type": contentType}
		r.Body, r.IsBase64Encoded = body, b64
		return r
	}
	long := strings.Repeat("u", 41)
	tests := []struct {
		name  string
		req   Request
		code  onboarding.Code
		field string
		msg   string
	}{
		{"ok", req("POST", "application/json", `{"to":"1","tags":["a"],"opts":{"media":{"k":"v"}}}`, false), "", "", ""},
		{"ok base64", req("POST", "application/json", base64.StdEncoding.EncodeToString([]byte(`{"to":"1"}`)), true), "", "", ""},
		{"GET", req("GET", "application/json", `{"to":"1"}`, false), onboarding.CodeMethodNotAllowed, "", ""},
		{"text/plain", req("POST", "text/plain", `{"to":"1"}`, false), onboarding.CodeUnsupportedMedia, "", ""},
		{"too large", req("POST", "application/json", `{"to":"`+strings.Repeat("1", MaxBodyBytes)+`"}`, false), onboarding.CodePayloadTooLarge, "", ""},
		{"bad base64", req("POST", "application/json", "!!", true), onboarding.CodeInvalidRequest, "body", "The body is not valid base64."},
		{"not JSON", req("POST", "application/json", `{"to":`, false), onboarding.CodeInvalidRequest, "body", "The body is not valid JSON."},
		{"a list", req("POST", "application/json", `[1]`, false), onboarding.CodeInvalidRequest, "body", "The body must be a JSON object."},
		{"trailing data", req("POST", "application/json", `{"to":"1"} {}`, false), onboarding.CodeInvalidRequest, "body", "The body must hold one JSON object."},
		{"a string given a number", req("POST", "application/json", `{"to":1}`, false), onboarding.CodeInvalidRequest, "to", "to must be a string."},
		{"a list given a string", req("POST", "application/json", `{"tags":"a"}`, false), onboarding.CodeInvalidRequest, "tags", "tags must be a list."},
		{"an object given a list", req("POST", "application/json", `{"opts":{"media":[1]}}`, false), onboarding.CodeInvalidRequest, "opts.media", "opts.media must be a JSON object."},
		{"unknown field", req("POST", "application/json", `{"admin":true}`, false), onboarding.CodeInvalidRequest, "admin", `Unknown field "admin".`},
		{"unknown field, cut", req("POST", "application/json", `{"`+long+`":true}`, false), onboarding.CodeInvalidRequest, long[:40], `Unknown field "` + long[:40] + `".`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var m message
			err := decodeJSON(tt.req, &m)
			if got := onboarding.ErrorCode(err); err != nil && got != tt.code || err == nil && tt.code != "" {
				t.Fatalf("err %v, want %q", err, tt.code)
			}
			if tt.field == "" {
				return
			}
			var de *onboarding.Error
			if !errors.As(err, &de) || len(de.Fields) != 1 || de.Fields[0].Field != tt.field || de.Fields[0].Message != tt.msg {
				t.Fatalf("err %v, fields %+v; want %s: %s", err, de, tt.field, tt.msg)
			}
		})
	}
}
