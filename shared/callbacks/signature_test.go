package callbacks_test

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
)

// The vectors below are facts published by Plivo's SDKs, copied as data:
//
//   - V2: plivo-go utils_test.go TestValidateSignatureV2Pass/Fail, plivo-node
//     test/utils.js ("should pass for correct url,auth_token,nonce and
//     signature", the two port cases), plivo-ruby spec/signature_spec.rb and
//     plivo-dotnet TestSignature.cs share them.
//   - V3: plivo-go utils_test.go TestValidateSignatureV3Pass1..4, identical in
//     plivo-ruby spec/signature_spec.rb and plivo-dotnet (TestSignatureV3Pass*):
//     a voice callback Plivo's own test server signed, POST and GET, with and
//     without a query on the URL.
var (
	sdkToken = "Y2Q2ZDgxZmY5YWRiOTI5YmQ1Njg0MTAxZWIyOTc4"
	sdkNonce = "31627761595286130198"
	sdkURL   = "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml"
	sdkForm  = url.Values{
		"Direction":       {"outbound"},
		"From":            {"19792014278"},
		"ALegUUID":        {"3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36"},
		"CallStatus":      {"in-progress"},
		"BillRate":        {"0.002"},
		"ParentAuthID":    {"MANWVLYTK4ZWU1YTY4QA"},
		"To":              {"sip:PlivoSignature382029104058171078704104@phone-qa.voice.plivodev.com"},
		"ALegRequestUUID": {"3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36"},
		"CallUUID":        {"3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36"},
		"RequestUUID":     {"3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36"},
		"SIP-H-To":        {"<sip:PlivoSignature382029104058171078704104@52.9.11.55;transport=udp>;tag=1"},
		"SessionStart":    {"2020-04-08 11:34:33.238707"},
		"Event":           {"StartApp"},
	}
)

func TestSignatureV3Vectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, url, want string
	}{
		{"POST with query", "POST", sdkURL + "/?a=b&c=d", "k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c="},
		{"GET with query", "GET", sdkURL + "/?a=b&c=d", "UBq8jAtd32wR8EK9VgxbBn4n5rpI/l1H9iN4WfSEHFQ="},
		{"POST", "POST", sdkURL, "iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0="},
		{"GET", "GET", sdkURL, "i/MQsaQSAd6fiKhOh2qeeeLHZ9faldADSb3/7+Akfbc="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := callbacks.SignatureV3(sdkToken, tt.method, tt.url, sdkForm, sdkNonce); got != tt.want {
				t.Errorf("SignatureV3 = %s, want %s", got, tt.want)
			}
			// The simulator is an independent implementation of the same
			// scheme: both must agree with the published value.
			if got := plivosim.SignV3(sdkToken, tt.method, tt.url, sdkForm, sdkNonce); got != tt.want {
				t.Errorf("plivosim.SignV3 = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSignatureV2Vectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, nonce, token, sig string
		ok                           bool
	}{
		{"good", "https://answer.url", "12345", "my_auth_token", "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=", true},
		{"wrong token", "https://answer.url", "12345", "my_auth_tokens", "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=", false},
		{"port is signed", "https://answer.url:8000", "12345", "my_auth_token", "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=", false},
		{"with port", "https://answer.url:8000", "24725744043720739450", "my_auth_token", "LDphWoWimP4QM5AoWI1uwP6WmlWtt5ITPZjXIWYvCNU=", true},
		{"with port, other token", "https://answer.url:8080", "123456", "my_auth_tokens", "xeV6S6BPIQJ/rgKCjCm/Fo2ve5zNe1fatQoHyRT8vxQ=", true},
		{"wrong nonce and token", "https://answer.url", "123456", "my_auth_tokens", "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=", false},
		{"query is not signed", "https://answer.url?x=1", "12345", "my_auth_token", "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := callbacks.SignatureV2(tt.token, tt.url, tt.nonce) == tt.sig; got != tt.ok {
				t.Errorf("SignatureV2 match = %v, want %v", got, tt.ok)
			}
			if got := plivosim.SignV2(tt.token, tt.url, tt.nonce) == tt.sig; got != tt.ok {
				t.Errorf("plivosim.SignV2 match = %v, want %v", got, tt.ok)
			}
		})
	}
}

// headers adapts a map to the case-insensitive lookup VerifySignature takes.
func headers(h map[string]string) func(string) string {
	return func(name string) string {
		for k, v := range h {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	const token = "tok-a"
	u := "https://hooks.example.com/prod/webhooks/plivo/whatsapp"
	form := url.Values{"MessageUUID": {"m-1"}, "Status": {"delivered"}, "From": {"+15550100"}}
	v3 := callbacks.SignatureV3(token, "POST", u, form, "111")
	v3other := callbacks.SignatureV3("tok-b", "POST", u, form, "111")
	v2 := callbacks.SignatureV2(token, u, "222")
	tampered := url.Values{"MessageUUID": {"m-1"}, "Status": {"read"}, "From": {"+15550100"}}
	// Signatures an attacker can make without the token: for an empty
	// nonce, which a nonce-less request would otherwise check against.
	v3noNonce := callbacks.SignatureV3(token, "POST", u, form, "")
	v2noNonce := callbacks.SignatureV2(token, u, "")
	// isNonce's bounds: Plivo's nonces are about 20 digits.
	longest, tooLong := strings.Repeat("7", 128), strings.Repeat("7", 129)
	tests := []struct {
		name   string
		h      map[string]string
		form   url.Values
		url    string
		scheme callbacks.Scheme
		ok     bool
	}{
		{"v3", map[string]string{"x-plivo-signature-v3": v3, "x-plivo-signature-v3-nonce": "111"}, form, u, callbacks.SchemeV3, true},
		{"v3 in the -Ma- header", map[string]string{"X-Plivo-Signature-Ma-V3": v3, "X-Plivo-Signature-V3": v3other, "X-Plivo-Signature-V3-Nonce": "111"}, form, u, callbacks.SchemeV3, true},
		{"v3 among several", map[string]string{"x-plivo-signature-v3": v3other + ", " + v3, "x-plivo-signature-v3-nonce": "111"}, form, u, callbacks.SchemeV3, true},
		{"v3 tampered body", map[string]string{"x-plivo-signature-v3": v3, "x-plivo-signature-v3-nonce": "111"}, tampered, u, callbacks.SchemeV3, false},
		{"v3 extra field", map[string]string{"x-plivo-signature-v3": v3, "x-plivo-signature-v3-nonce": "111"}, withField(form, "Evil", "1"), u, callbacks.SchemeV3, false},
		{"v3 other url", map[string]string{"x-plivo-signature-v3": v3, "x-plivo-signature-v3-nonce": "111"}, form, u + "/", callbacks.SchemeV3, false},
		{"v3 wrong nonce", map[string]string{"x-plivo-signature-v3": v3, "x-plivo-signature-v3-nonce": "112"}, form, u, callbacks.SchemeV3, false},
		{"v3 without nonce", map[string]string{"x-plivo-signature-v3": v3}, form, u, callbacks.SchemeV3, false},
		{"v3 without nonce, signed for the empty one", map[string]string{"x-plivo-signature-v3": v3noNonce}, form, u, callbacks.SchemeV3, false},
		{"v3 nonce of one character", map[string]string{"x-plivo-signature-v3": callbacks.SignatureV3(token, "POST", u, form, "7"),
			"x-plivo-signature-v3-nonce": "7"}, form, u, callbacks.SchemeV3, true},
		{"v3 nonce of 128 characters", map[string]string{"x-plivo-signature-v3": callbacks.SignatureV3(token, "POST", u, form, longest),
			"x-plivo-signature-v3-nonce": longest}, form, u, callbacks.SchemeV3, true},
		{"v3 nonce of 129 characters", map[string]string{"x-plivo-signature-v3": callbacks.SignatureV3(token, "POST", u, form, tooLong),
			"x-plivo-signature-v3-nonce": tooLong}, form, u, callbacks.SchemeV3, false},
		{"v3 wrong token", map[string]string{"x-plivo-signature-v3": v3other, "x-plivo-signature-v3-nonce": "111"}, form, u, callbacks.SchemeV3, false},
		// A valid V2 beside a failing V3 does not rescue it: V2 signs no
		// body, so falling back would accept any tampered body.
		{"failed v3 never falls back to v2", map[string]string{"x-plivo-signature-v3": v3other, "x-plivo-signature-v3-nonce": "111",
			"x-plivo-signature-v2": v2, "x-plivo-signature-v2-nonce": "222"}, tampered, u, callbacks.SchemeV3, false},
		{"v3 nonce alone blocks v2", map[string]string{"x-plivo-signature-v3-nonce": "111",
			"x-plivo-signature-v2": v2, "x-plivo-signature-v2-nonce": "222"}, form, u, callbacks.SchemeV3, false},
		{"v2", map[string]string{"x-plivo-signature-v2": v2, "x-plivo-signature-v2-nonce": "222"}, form, u, callbacks.SchemeV2, true},
		{"v2 -Ma-", map[string]string{"x-plivo-signature-ma-v2": v2, "x-plivo-signature-v2-nonce": "222"}, form, u, callbacks.SchemeV2, true},
		{"v2 other url", map[string]string{"x-plivo-signature-v2": v2, "x-plivo-signature-v2-nonce": "222"}, form, "https://evil.example.com/webhooks/plivo/whatsapp", callbacks.SchemeV2, false},
		{"v2 wrong nonce", map[string]string{"x-plivo-signature-v2": v2, "x-plivo-signature-v2-nonce": "223"}, form, u, callbacks.SchemeV2, false},
		// Still V2 (its failure is counted as such), never "unsigned".
		{"v2 without nonce, signed for the empty one", map[string]string{"x-plivo-signature-v2": v2noNonce}, form, u, callbacks.SchemeV2, false},
		{"no signature", map[string]string{"content-type": "application/x-www-form-urlencoded"}, form, u, callbacks.SchemeNone, false},
		{"empty signatures", map[string]string{"x-plivo-signature-v3": " , "}, form, u, callbacks.SchemeNone, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			scheme, ok := callbacks.VerifySignature(headers(tt.h), token, http.MethodPost, tt.url, tt.form)
			if scheme != tt.scheme || ok != tt.ok {
				t.Errorf("VerifySignature = %s, %v; want %s, %v", scheme, ok, tt.scheme, tt.ok)
			}
		})
	}
	// An unset token verifies nothing, not even what anyone can sign with
	// the empty key.
	for _, h := range []map[string]string{
		{"x-plivo-signature-v3": v3, "x-plivo-signature-v3-nonce": "111"},
		{"x-plivo-signature-v3": callbacks.SignatureV3("", "POST", u, form, "111"), "x-plivo-signature-v3-nonce": "111"},
		{"x-plivo-signature-v2": callbacks.SignatureV2("", u, "222"), "x-plivo-signature-v2-nonce": "222"},
	} {
		if scheme, ok := callbacks.VerifySignature(headers(h), "", "POST", u, form); ok {
			t.Errorf("an empty token verified a %s signature", scheme)
		}
	}
}

func withField(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for key, vs := range v {
		out[key] = append([]string(nil), vs...)
	}
	out.Add(k, val)
	return out
}

// TestSignaturesAgreeWithSimulator compares this package with the Plivo
// simulator's independent implementation on random callbacks: repeated
// keys, empty values, escapes and queries included.
func TestSignaturesAgreeWithSimulator(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 3))
	alphabet := []string{"a", "B", "z", "0", " ", "&", "=", ".", "+", "%", "é", "?", "/", "~", "<"}
	word := func() string {
		var b strings.Builder
		for range r.IntN(6) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	for i := range 500 {
		form := url.Values{}
		for range r.IntN(6) {
			form.Add(word()+"k", word())
		}
		// Paths stay unescaped: the simulator signs the decoded path where
		// the SDKs (and SignatureV3) sign the path as the URL spells it.
		u := "https://hooks.example.com:8443/p/" + strings.Map(func(c rune) rune {
			if strings.ContainsRune("aBz0.~", c) {
				return c
			}
			return -1
		}, word())
		if r.IntN(2) == 0 {
			u += "?" + url.Values{"q" + word(): {word()}}.Encode()
		}
		nonce := word()
		for _, method := range []string{"POST", "GET"} {
			if a, b := callbacks.SignatureV3("t", method, u, form, nonce), plivosim.SignV3("t", method, u, form, nonce); a != b {
				t.Fatalf("case %d %s %s %v: SignatureV3 %s, simulator %s", i, method, u, form, a, b)
			}
		}
		if a, b := callbacks.SignatureV2("t", u, nonce), plivosim.SignV2("t", u, nonce); a != b {
			t.Fatalf("case %d %s: SignatureV2 %s, simulator %s", i, u, a, b)
		}
	}
}
