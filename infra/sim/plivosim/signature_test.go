package plivosim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// callParams are the parameters of the V3 vectors in plivo-go's
// utils_test.go (TestValidateSignatureV3Pass1..4), signed by Plivo's servers.
func callParams() url.Values {
	p := url.Values{}
	for k, v := range map[string]string{
		"Direction":       "outbound",
		"From":            "19792014278",
		"ALegUUID":        "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
		"CallStatus":      "in-progress",
		"BillRate":        "0.002",
		"ParentAuthID":    "MANWVLYTK4ZWU1YTY4QA",
		"To":              "sip:PlivoSignature382029104058171078704104@phone-qa.voice.plivodev.com",
		"ALegRequestUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
		"CallUUID":        "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
		"RequestUUID":     "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
		"SIP-H-To":        "<sip:PlivoSignature382029104058171078704104@52.9.11.55;transport=udp>;tag=1",
		"SessionStart":    "2020-04-08 11:34:33.238707",
		"Event":           "StartApp",
	} {
		p.Set(k, v)
	}
	return p
}

func TestSignV3PublishedVectors(t *testing.T) {
	t.Parallel()
	const (
		token = "Y2Q2ZDgxZmY5YWRiOTI5YmQ1Njg0MTAxZWIyOTc4"
		nonce = "31627761595286130198"
		base  = "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml"
	)
	tests := []struct {
		name, method, uri, want string
	}{
		{"POST with query", "POST", base + "/?a=b&c=d", "k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c="},
		{"GET with query", "GET", base + "/?a=b&c=d", "UBq8jAtd32wR8EK9VgxbBn4n5rpI/l1H9iN4WfSEHFQ="},
		{"POST without query", "POST", base, "iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0="},
		{"GET without query", "GET", base, "i/MQsaQSAd6fiKhOh2qeeeLHZ9faldADSb3/7+Akfbc="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := SignV3(token, tt.method, tt.uri, callParams(), nonce); got != tt.want {
				t.Errorf("SignV3 = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestSignV3Message pins the signed string for cases the published vectors
// do not cover, by signing the expected message directly.
func TestSignV3Message(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, uri string
		params            url.Values
		message           string
	}{
		{"POST, no params, no query", "POST", "https://x.example/cb", nil, "https://x.example/cb.n"},
		{"POST, no params, query", "POST", "https://x.example/cb?b=2&a=1", nil, "https://x.example/cb?a=1&b=2.n"},
		{"POST, params, no query", "POST", "https://x.example/cb", url.Values{"b": {"2"}, "a": {"1"}}, "https://x.example/cb?a1b2.n"},
		{"POST, repeated key sorted by value", "POST", "https://x.example/cb", url.Values{"a": {"2", "1"}}, "https://x.example/cb?a1a2.n"},
		{"POST, query decoded before signing", "POST", "https://x.example/cb?q=a%20b", url.Values{"k": {"v"}}, "https://x.example/cb?q=a b.kv.n"},
		{"GET, params merged into query", "GET", "https://x.example:8443/cb?z=9", url.Values{"a": {"1"}}, "https://x.example:8443/cb?a=1&z=9.n"},
		{"fragment dropped", "GET", "https://x.example/cb#ct=2000", nil, "https://x.example/cb.n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, want := SignV3("tok", tt.method, tt.uri, tt.params, "n"), hmacBase64("tok", tt.message); got != want {
				t.Errorf("SignV3 does not sign %q", tt.message)
			}
		})
	}
}

func TestSignV2PublishedVectors(t *testing.T) {
	t.Parallel()
	// From the V2 tests of plivo-python, plivo-node and plivo-go.
	tests := []struct {
		uri, nonce, token, want string
	}{
		{"https://answer.url", "12345", "my_auth_token", "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc="},
		{"https://answer.url:8000", "24725744043720739450", "my_auth_token", "LDphWoWimP4QM5AoWI1uwP6WmlWtt5ITPZjXIWYvCNU="},
		{"https://answer.url:8080", "123456", "my_auth_tokens", "xeV6S6BPIQJ/rgKCjCm/Fo2ve5zNe1fatQoHyRT8vxQ="},
		// The query is not part of a V2 signature.
		{"https://answer.url?x=1", "12345", "my_auth_token", "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc="},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			t.Parallel()
			if got := SignV2(tt.token, tt.uri, tt.nonce); got != tt.want {
				t.Errorf("SignV2 = %s, want %s", got, tt.want)
			}
		})
	}
	if SignV2("my_auth_tokens", "https://answer.url", "12345") == "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=" {
		t.Error("a different token must give a different signature")
	}
}

func TestSendCallback(t *testing.T) {
	t.Parallel()
	type received struct {
		header http.Header
		form   url.Values
		url    string
		ctype  string
	}
	tests := []struct {
		name   string
		scheme string
		main   string // Config.MainAuthToken
		rotate string
	}{
		{name: "v3", scheme: SchemeV3},
		{name: "default is v3", scheme: ""},
		{name: "v3 with a separate main account", scheme: SchemeV3, main: "main-token"},
		{name: "v3 after rotation", scheme: SchemeV3, rotate: "rotated-token"},
		{name: "v2", scheme: SchemeV2, main: "main-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var got received
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(body))
				mu.Lock()
				got = received{header: r.Header.Clone(), form: form, url: "http://" + r.Host + r.URL.RequestURI(), ctype: r.Header.Get("Content-Type")}
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
			}))
			defer rcv.Close()

			e := newEnv(t, func(c *Config) { c.MainAuthToken = tt.main })
			token, main := testAuthToken, tt.main
			if tt.rotate != "" {
				e.sim.RotateToken(tt.rotate)
				token = tt.rotate
			}
			if main == "" {
				main = token
			}
			params := url.Values{"MessageUUID": {"b1f6f9a6-0000-4000-8000-000000000001"}, "Status": {"delivered"}, "Type": {"whatsapp"}}
			cbURL := rcv.URL + "/plivo/status?tenant=42"
			status, err := e.sim.SendCallback(context.Background(), "", cbURL, params, tt.scheme)
			if err != nil || status != http.StatusNoContent {
				t.Fatalf("SendCallback = %d, %v", status, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if got.ctype != "application/x-www-form-urlencoded" || got.form.Get("Status") != "delivered" || got.url != cbURL {
				t.Errorf("received %+v", got)
			}
			h := got.header
			if tt.scheme == SchemeV2 {
				nonce := h.Get(HeaderNonceV2)
				if len(nonce) != 20 {
					t.Errorf("nonce %q", nonce)
				}
				if h.Get(HeaderSignatureV2) != SignV2(token, cbURL, nonce) || h.Get(HeaderSignatureMaV2) != SignV2(main, cbURL, nonce) {
					t.Error("V2 headers do not verify")
				}
				return
			}
			nonce := h.Get(HeaderNonceV3)
			if len(nonce) != 20 {
				t.Errorf("nonce %q", nonce)
			}
			if h.Get(HeaderSignatureV3) != SignV3(token, "POST", cbURL, got.form, nonce) {
				t.Error("X-Plivo-Signature-V3 does not verify with the account token")
			}
			if h.Get(HeaderSignatureMaV3) != SignV3(main, "POST", cbURL, got.form, nonce) {
				t.Error("X-Plivo-Signature-Ma-V3 does not verify with the main account token")
			}
			if tt.rotate != "" && h.Get(HeaderSignatureV3) == SignV3(testAuthToken, "POST", cbURL, got.form, nonce) {
				t.Error("signed with the rotated-out token")
			}
		})
	}
}

// TestSendCallbackByGET: with GET, Plivo puts the fields in the query,
// after the URL's own, and signs the URL it called with no body.
func TestSendCallbackByGET(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var body []byte
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		got = r.Clone(context.Background())
	}))
	defer rcv.Close()
	e := newEnv(t)
	params := url.Values{"MessageUUID": {"m-get"}, "Status": {"read"}}
	if status, err := e.sim.SendCallback(context.Background(), http.MethodGet, rcv.URL+"/cb?tenant=42", params, SchemeV3); err != nil || status != http.StatusOK {
		t.Fatalf("SendCallback = %d, %v", status, err)
	}
	called := rcv.URL + got.URL.RequestURI()
	if got.Method != http.MethodGet || len(body) != 0 || got.URL.Query().Get("tenant") != "42" || got.URL.Query().Get("Status") != "read" {
		t.Fatalf("received %s %s with body %q", got.Method, called, body)
	}
	if want := SignV3(testAuthToken, http.MethodGet, called, nil, got.Header.Get(HeaderNonceV3)); got.Header.Get(HeaderSignatureV3) != want {
		t.Errorf("V3 signature %q, want %q over %s", got.Header.Get(HeaderSignatureV3), want, called)
	}
	if _, err := e.sim.SendCallback(context.Background(), http.MethodPut, rcv.URL, params, SchemeV3); err == nil {
		t.Error("PUT accepted")
	}
}

func TestSendCallbackErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.sim.SendCallback(context.Background(), "", "http://127.0.0.1:1/cb", nil, "v4"); err == nil {
		t.Error("unknown scheme accepted")
	}
	if _, err := e.sim.SendCallback(context.Background(), "", "http://127.0.0.1:1/cb", nil, SchemeV3); err == nil {
		t.Error("connection refused not reported")
	}
}
