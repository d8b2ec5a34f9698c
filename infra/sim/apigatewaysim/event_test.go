package apigatewaysim_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/infra/sim/apigatewaysim"
)

func TestEvent(t *testing.T) {
	body := `{"code":"abc"}`
	r := httptest.NewRequest("POST", "http://localhost:3000/api/whatsapp/embedded-signup/123%20x?b=2&a=1&a=3", strings.NewReader(body))
	r.RemoteAddr = "192.0.2.7:50123"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "test-agent/1.0")
	r.Header.Add("Accept", "text/html")
	r.Header.Add("Accept", "application/json")
	r.Header.Add("Cookie", "a=1; b=2")
	r.Header.Add("Cookie", "c=3")
	r.Header.Set("X-Forwarded-For", "203.0.113.9")

	ev, err := apigatewaysim.Event(r, "POST /api/whatsapp/embedded-signup/{waba_id}", map[string]string{"waba_id": "123 x"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", ev.Version, "2.0"},
		{"routeKey", ev.RouteKey, "POST /api/whatsapp/embedded-signup/{waba_id}"},
		// HTTP APIs decode the path they put in rawPath (a deployed API
		// answering /a%2Fb gives rawPath /a/b).
		{"rawPath", ev.RawPath, "/api/whatsapp/embedded-signup/123 x"},
		{"rawQueryString", ev.RawQueryString, "b=2&a=1&a=3"},
		{"cookies", strings.Join(ev.Cookies, "|"), "a=1|b=2|c=3"},
		{"query a", ev.QueryStringParameters["a"], "1,3"},
		{"query b", ev.QueryStringParameters["b"], "2"},
		{"path parameter", ev.PathParameters["waba_id"], "123 x"},
		{"accept joined", ev.Headers["accept"], "text/html,application/json"},
		{"content-type", ev.Headers["content-type"], "application/json"},
		{"content-length", ev.Headers["content-length"], strconv.Itoa(len(body))},
		{"host", ev.Headers["host"], "localhost:3000"},
		{"user-agent", ev.Headers["user-agent"], "test-agent/1.0"},
		{"x-forwarded-for appended", ev.Headers["x-forwarded-for"], "203.0.113.9, 192.0.2.7"},
		{"x-forwarded-proto", ev.Headers["x-forwarded-proto"], "http"},
		{"x-forwarded-port", ev.Headers["x-forwarded-port"], "3000"},
		{"no cookie header", ev.Headers["cookie"], ""},
		{"body", ev.Body, body},
		{"base64", ev.IsBase64Encoded, false},
		{"ctx routeKey", ev.RequestContext.RouteKey, ev.RouteKey},
		{"ctx stage", ev.RequestContext.Stage, "$default"},
		{"ctx account", ev.RequestContext.AccountID, apigatewaysim.AccountID},
		{"ctx apiId", ev.RequestContext.APIID, apigatewaysim.APIID},
		{"ctx domainName", ev.RequestContext.DomainName, "localhost"},
		{"ctx domainPrefix", ev.RequestContext.DomainPrefix, "localhost"},
		{"ctx method", ev.RequestContext.HTTP.Method, "POST"},
		{"ctx path", ev.RequestContext.HTTP.Path, "/api/whatsapp/embedded-signup/123 x"},
		{"ctx protocol", ev.RequestContext.HTTP.Protocol, "HTTP/1.1"},
		{"ctx sourceIp", ev.RequestContext.HTTP.SourceIP, "192.0.2.7"},
		{"ctx userAgent", ev.RequestContext.HTTP.UserAgent, "test-agent/1.0"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header %q is not lowercase", k)
		}
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{15}=$`).MatchString(ev.RequestContext.RequestID) {
		t.Errorf("requestId %q is not shaped like API Gateway's", ev.RequestContext.RequestID)
	}
	if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`).MatchString(ev.Headers["x-amzn-trace-id"]) {
		t.Errorf("x-amzn-trace-id %q", ev.Headers["x-amzn-trace-id"])
	}
	if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", ev.RequestContext.Time); err != nil {
		t.Errorf("time %q: %v", ev.RequestContext.Time, err)
	}
	if d := time.Since(time.UnixMilli(ev.RequestContext.TimeEpoch)); d < 0 || d > time.Minute {
		t.Errorf("timeEpoch %d is not now", ev.RequestContext.TimeEpoch)
	}
}

// TestEventJSONShape compares the event's JSON keys with the sample API
// Gateway documents, so a field that marshals under the wrong name shows.
func TestEventJSONShape(t *testing.T) {
	r := httptest.NewRequest("GET", "http://localhost/", nil)
	ev, err := apigatewaysim.Event(r, "GET /", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ev)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "routeKey", "rawPath", "rawQueryString", "headers", "requestContext", "isBase64Encoded"} {
		if _, ok := m[k]; !ok {
			t.Errorf("event JSON lacks %q: %s", k, b)
		}
	}
	for _, k := range []string{"queryStringParameters", "pathParameters", "cookies", "body"} {
		if _, ok := m[k]; ok {
			t.Errorf("event JSON has empty %q; API Gateway omits it: %s", k, b)
		}
	}
	rc := m["requestContext"].(map[string]any)
	for _, k := range []string{"accountId", "apiId", "domainName", "domainPrefix", "http", "requestId", "routeKey", "stage", "time", "timeEpoch"} {
		if _, ok := rc[k]; !ok {
			t.Errorf("requestContext lacks %q", k)
		}
	}
}

func TestEventBodyEncoding(t *testing.T) {
	tests := []struct {
		contentType string
		body        []byte
		base64      bool
	}{
		{"application/json", []byte(`{"a":1}`), false},
		{"application/json; charset=utf-8", []byte(`{}`), false},
		{"text/plain", []byte("hello"), false},
		{"text/html; charset=utf-8", []byte("<p>"), false},
		{"application/xml", []byte("<a/>"), false},
		{"application/javascript", []byte("x()"), false},
		{"application/x-www-form-urlencoded", []byte("a=1"), true},
		{"", []byte("no type"), true},
		{"application/octet-stream", []byte{0, 1, 2, 255}, true},
		{"application/problem+json", []byte(`{}`), true},
		{"text/plain", []byte{0xff, 0xfe}, true}, // not UTF-8: JSON cannot carry it as text
		{"not a media type;;", []byte("x"), true},
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://localhost/x", bytes.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			ev, err := apigatewaysim.Event(r, "POST /x", nil)
			if err != nil {
				t.Fatal(err)
			}
			if ev.IsBase64Encoded != tt.base64 {
				t.Fatalf("isBase64Encoded = %v, want %v", ev.IsBase64Encoded, tt.base64)
			}
			got := []byte(ev.Body)
			if ev.IsBase64Encoded {
				got, err = base64.StdEncoding.DecodeString(ev.Body)
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, tt.body) {
				t.Errorf("body %q, want %q", got, tt.body)
			}
		})
	}
}

func TestEventBodyTooLarge(t *testing.T) {
	r := httptest.NewRequest("POST", "http://localhost/x", bytes.NewReader(make([]byte, apigatewaysim.MaxBodyBytes+1)))
	if _, err := apigatewaysim.Event(r, "POST /x", nil); !errors.Is(err, apigatewaysim.ErrBodyTooLarge) {
		t.Fatalf("err = %v, want ErrBodyTooLarge", err)
	}
}

// FuzzEvent feeds raw HTTP requests through net/http's parser and Event:
// whatever a client sends, Event must not panic and must produce an event
// that marshals to JSON, with lowercase header names, no cookie header, and
// a body that decodes back to what was sent.
func FuzzEvent(f *testing.F) {
	f.Add("GET", "/", "", []byte(nil))
	f.Add("POST", "/api/whatsapp/embedded-signup?x=1&x=2", "Content-Type: application/json\r\nCookie: a=b; c=d\r\n", []byte(`{"code":"c"}`))
	f.Add("GET", "/api/whatsapp/embedded-signup/%31%32%33", "X-Forwarded-For: 1.2.3.4\r\nAccept: a\r\nAccept: b\r\n", []byte(nil))
	f.Add("PUT", "/static/a/b/c?%zz=1&=&a", "Content-Type: image/png\r\n", []byte{0x89, 'P', 'N', 'G', 0, 0xff})
	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte) {
		raw := method + " " + target + " HTTP/1.1\r\nHost: localhost:3000\r\n" + headers +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // net/http would have answered 400 before any handler ran
		}
		r.RemoteAddr = "127.0.0.1:40000"
		rt, err := apigatewaysim.NewRouter([]apigatewaysim.Route{
			{Method: "GET", Path: "/api/whatsapp/embedded-signup/{waba_id}", Handler: nopHandler},
			{Method: "ANY", Path: "/static/{proxy+}", Handler: nopHandler},
			{Method: "GET", Path: "/", Handler: nopHandler},
		})
		if err != nil {
			t.Fatal(err)
		}
		route, params, ok := rt.Match(r.Method, r.URL.EscapedPath())
		key := "$default"
		if ok {
			key = route.Key()
		}
		ev, err := apigatewaysim.Event(r, key, params)
		if err != nil {
			if errors.Is(err, apigatewaysim.ErrBodyTooLarge) {
				t.Fatalf("body of %d bytes refused as too large", len(body))
			}
			return // a body that could not be read (e.g. bad chunking)
		}
		if ev.Version != "2.0" || ev.RouteKey != key || ev.RequestContext.RouteKey != key {
			t.Fatalf("version %q routeKey %q/%q", ev.Version, ev.RouteKey, ev.RequestContext.RouteKey)
		}
		for k := range ev.Headers {
			if k != strings.ToLower(k) {
				t.Fatalf("header %q not lowercase", k)
			}
		}
		if _, ok := ev.Headers["cookie"]; ok {
			t.Fatal("cookie header kept")
		}
		got := []byte(ev.Body)
		if ev.IsBase64Encoded {
			if got, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
				t.Fatalf("body flagged base64 does not decode: %v", err)
			}
		} else if !utf8.ValidString(ev.Body) {
			t.Fatal("text body is not UTF-8")
		}
		// The fuzzed headers may hide the Content-Length line (a header
		// block without its final CRLF); then net/http saw no body.
		if r.ContentLength == int64(len(body)) && len(r.TransferEncoding) == 0 && !bytes.Equal(got, body) {
			t.Fatalf("body %q, want %q", got, body)
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("event does not marshal: %v", err)
		}
	})
}

func nopHandler(_ context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return events.APIGatewayV2HTTPResponse{StatusCode: 204}, nil
}
