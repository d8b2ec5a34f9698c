package apigatewaysim_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/techprovider/wa-onboarding/infra/sim/apigatewaysim"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// named answers with the route's name, so a test sees which route won.
func named(name string) apigatewaysim.Handler {
	return func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: name, Headers: map[string]string{"Content-Type": "text/plain"}}, nil
	}
}

func TestMatch(t *testing.T) {
	rt, err := apigatewaysim.NewRouter([]apigatewaysim.Route{
		{Method: "GET", Path: "/", Handler: named("index")},
		{Method: "POST", Path: "/api/whatsapp/embedded-signup", Handler: named("signup")},
		{Method: "GET", Path: "/api/whatsapp/embedded-signup/{waba_id}", Handler: named("status")},
		{Method: "GET", Path: "/api/whatsapp/embedded-signup/health", Handler: named("literal")},
		{Method: "ANY", Path: "/api/{proxy+}", Handler: named("any-api")},
		{Method: "GET", Path: "/static/{file+}", Handler: named("static")},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		want         string // route name; "" for no match
		param, value string
	}{
		{"GET", "/", "index", "", ""},
		{"GET", "", "index", "", ""},
		{"POST", "/api/whatsapp/embedded-signup", "signup", "", ""},
		{"GET", "/api/whatsapp/embedded-signup", "any-api", "proxy", "whatsapp/embedded-signup"},
		{"GET", "/api/whatsapp/embedded-signup/123", "status", "waba_id", "123"},
		{"GET", "/api/whatsapp/embedded-signup/a%2Fb", "status", "waba_id", "a/b"},
		{"GET", "/api/whatsapp/embedded-signup/health", "literal", "", ""},
		{"DELETE", "/api/whatsapp/embedded-signup/123", "any-api", "proxy", "whatsapp/embedded-signup/123"},
		{"GET", "/static/css/site.css", "static", "file", "css/site.css"},
		{"GET", "/static/", "", "", ""},
		{"GET", "/static", "", "", ""},
		{"POST", "/", "", "", ""},
		{"GET", "/nothing", "", "", ""},
		{"GET", "/api/whatsapp/embedded-signup/123/extra", "any-api", "proxy", "whatsapp/embedded-signup/123/extra"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			route, params, ok := rt.Match(tt.method, tt.path)
			if tt.want == "" {
				if ok {
					t.Fatalf("matched %s, want no match", route.Key())
				}
				return
			}
			if !ok {
				t.Fatalf("no match, want %s", tt.want)
			}
			resp, _ := route.Handler(context.Background(), events.APIGatewayV2HTTPRequest{})
			if resp.Body != tt.want {
				t.Errorf("matched %s (%s), want %s", resp.Body, route.Key(), tt.want)
			}
			if tt.param != "" && params[tt.param] != tt.value {
				t.Errorf("%s = %q, want %q", tt.param, params[tt.param], tt.value)
			}
		})
	}
}

func TestNewRouterRejects(t *testing.T) {
	h := named("x")
	tests := []struct {
		name   string
		routes []apigatewaysim.Route
	}{
		{"duplicate", []apigatewaysim.Route{{Method: "GET", Path: "/a/{x}", Handler: h}, {Method: "get", Path: "/a/{y}", Handler: h}}},
		{"greedy not last", []apigatewaysim.Route{{Method: "GET", Path: "/a/{p+}/b", Handler: h}}},
		{"partial variable", []apigatewaysim.Route{{Method: "GET", Path: "/a/x{p}", Handler: h}}},
		{"relative", []apigatewaysim.Route{{Method: "GET", Path: "a", Handler: h}}},
		{"no handler", []apigatewaysim.Route{{Method: "GET", Path: "/a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := apigatewaysim.NewRouter(tt.routes); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestDefaultRoute(t *testing.T) {
	rt, err := apigatewaysim.NewRouter([]apigatewaysim.Route{
		{Path: apigatewaysim.DefaultRoute, Handler: named("default")},
		{Method: "GET", Path: "/a", Handler: named("a")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := rt.Match("GET", "/a"); r.Path != "/a" {
		t.Errorf("GET /a matched %s", r.Key())
	}
	if r, _, ok := rt.Match("PATCH", "/zzz"); !ok || r.Key() != "$default" {
		t.Errorf("PATCH /zzz matched %v %s", ok, r.Key())
	}
}

func TestServeHTTP(t *testing.T) {
	var seen events.APIGatewayV2HTTPRequest
	var lc *lambdacontext.LambdaContext
	routes := []apigatewaysim.Route{
		{Method: "POST", Path: "/echo/{id}", Function: "EchoFunction", Handler: func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			seen = ev
			lc, _ = lambdacontext.FromContext(ctx)
			if _, ok := ctx.Deadline(); !ok {
				t.Error("invocation without a deadline")
			}
			return events.APIGatewayV2HTTPResponse{
				StatusCode:        201,
				Headers:           map[string]string{"Content-Type": "text/plain", "X-One": "1"},
				MultiValueHeaders: map[string][]string{"X-Many": {"a", "b"}},
				Cookies:           []string{"s=1; HttpOnly", "t=2"},
				Body:              base64.StdEncoding.EncodeToString([]byte("hello")),
				IsBase64Encoded:   true,
			}, nil
		}},
		{Method: "GET", Path: "/fail", Handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{}, errors.New("boom")
		}},
		{Method: "GET", Path: "/panic", Handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			panic("boom")
		}},
		{Method: "GET", Path: "/nostatus", Handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{Body: "x"}, nil
		}},
		{Method: "GET", Path: "/badbase64", Handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "%%%", IsBase64Encoded: true}, nil
		}},
		{Method: "GET", Path: "/plain", Handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: `{"ok":true}`}, nil
		}},
		{Method: "GET", Path: "/slow", Handler: func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond)
			return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
		}},
	}
	rt, err := apigatewaysim.NewRouter(routes)
	if err != nil {
		t.Fatal(err)
	}
	rt.Timeout = 200 * time.Millisecond
	rt.Log = quiet
	srv := httptest.NewServer(rt)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/echo/42?q=1", strings.NewReader(`{"a":1}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || string(body) != "hello" {
		t.Errorf("answer %d %q, want 201 hello", resp.StatusCode, body)
	}
	// Payload format 2.0 answers have no multiValueHeaders: API Gateway
	// drops them.
	if got := resp.Header.Values("X-Many"); len(got) != 0 {
		t.Errorf("X-Many = %v, want none", got)
	}
	if got := resp.Header.Values("Set-Cookie"); len(got) != 2 {
		t.Errorf("Set-Cookie = %v", got)
	}
	if resp.Header.Get("Apigw-Requestid") != seen.RequestContext.RequestID || seen.RequestContext.RequestID == "" {
		t.Errorf("Apigw-Requestid %q, event requestId %q", resp.Header.Get("Apigw-Requestid"), seen.RequestContext.RequestID)
	}
	if seen.RouteKey != "POST /echo/{id}" || seen.PathParameters["id"] != "42" || seen.Body != `{"a":1}` || seen.QueryStringParameters["q"] != "1" {
		t.Errorf("event %+v", seen)
	}
	if lc == nil || lc.AwsRequestID == "" || !strings.HasSuffix(lc.InvokedFunctionArn, ":function:EchoFunction") {
		t.Errorf("lambda context %+v", lc)
	}

	tests := []struct {
		method, path string
		status       int
		body         string
		contentType  string
	}{
		{"GET", "/nope", 404, `{"message":"Not Found"}`, "application/json"},
		{"GET", "/echo/42", 404, `{"message":"Not Found"}`, "application/json"},
		{"GET", "/fail", 500, `{"message":"Internal Server Error"}`, "application/json"},
		{"GET", "/panic", 500, `{"message":"Internal Server Error"}`, "application/json"},
		{"GET", "/nostatus", 500, `{"message":"Internal Server Error"}`, "application/json"},
		{"GET", "/badbase64", 500, `{"message":"Internal Server Error"}`, "application/json"},
		{"GET", "/plain", 200, `{"ok":true}`, "application/json"},
		{"GET", "/slow", 503, `{"message":"Service Unavailable"}`, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || string(b) != tt.body {
				t.Errorf("answer %d %s, want %d %s", resp.StatusCode, b, tt.status, tt.body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tt.contentType)
			}
		})
	}

	big, _ := http.NewRequest("POST", srv.URL+"/echo/1", strings.NewReader(strings.Repeat("x", apigatewaysim.MaxBodyBytes+1)))
	resp, err = http.DefaultClient.Do(big)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body answered %d, want 413", resp.StatusCode)
	}
}

func TestIAMAuthorizer(t *testing.T) {
	var seen events.APIGatewayV2HTTPRequest
	rt, err := apigatewaysim.NewRouter([]apigatewaysim.Route{{
		Method: "POST", Path: "/sessions", Auth: apigatewaysim.AuthIAM,
		Handler: func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			seen = ev
			return events.APIGatewayV2HTTPResponse{StatusCode: 201}, nil
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rt.Log = quiet
	srv := httptest.NewServer(rt)
	defer srv.Close()

	tests := []struct {
		name, auth string
		status     int
		key        string
	}{
		{"unsigned", "", 403, ""},
		{"bearer", "Bearer x", 403, ""},
		{"sigv4", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc", 201, "AKIDEXAMPLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = events.APIGatewayV2HTTPRequest{}
			req, _ := http.NewRequest("POST", srv.URL+"/sessions", strings.NewReader("{}"))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, b, tt.status)
			}
			if tt.status == 403 && string(b) != `{"message":"Forbidden"}` {
				t.Errorf("body %s", b)
			}
			if tt.key != "" {
				a := seen.RequestContext.Authorizer
				if a == nil || a.IAM == nil || a.IAM.AccessKey != tt.key || a.IAM.UserARN == "" {
					t.Errorf("authorizer %+v", a)
				}
			}
		})
	}
}

// TestRequestLoggedOnce: a request the function answered is in the log
// once, as the function's own access line; the router adds an info line
// only when API Gateway answers itself.
func TestRequestLoggedOnce(t *testing.T) {
	t.Parallel()
	rt, err := apigatewaysim.NewRouter([]apigatewaysim.Route{
		{Method: "GET", Path: "/ok", Function: "OkFunction", Handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{StatusCode: 201, Body: "{}"}, nil
		}},
		{Method: "GET", Path: "/broken", Function: "BrokenFunction", Handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{}, errors.New("init failed")
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	rt.Log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tests := []struct {
		path   string
		status int
		lines  int // "apigw request" lines at info
	}{
		{"/ok", 201, 0},
		{"/nowhere", 404, 1},
		{"/broken", 500, 1},
	}
	for _, tt := range tests {
		buf.Reset()
		// ServeHTTP returns after its log line: no waiting on a server.
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if w.Code != tt.status {
			t.Fatalf("%s: status %d, want %d", tt.path, w.Code, tt.status)
		}
		if n := strings.Count(buf.String(), `msg="apigw request"`); n != tt.lines {
			t.Errorf("%s: %d router lines at info, want %d:\n%s", tt.path, n, tt.lines, buf.String())
		}
	}
}

// TestServeMatchesTheDecodedPath: an HTTP API decodes the request path
// before it matches a route, and decodes each path variable once more as
// it hands it to the function. So %2F splits a segment (a client_ref with
// a slash cannot be named in one path segment: 404 with no route that
// takes two), and only a double-encoded %252F reaches the function as a
// variable holding "/".
func TestServeMatchesTheDecodedPath(t *testing.T) {
	t.Parallel()
	var got map[string]string
	capture := func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		got = ev.PathParameters
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	}
	rt, err := apigatewaysim.NewRouter([]apigatewaysim.Route{
		{Method: "GET", Path: "/api/customers/{client_ref}/whatsapp", Handler: capture},
	})
	if err != nil {
		t.Fatal(err)
	}
	rt.Log = quiet
	for _, tt := range []struct {
		path   string
		status int
		ref    string
	}{
		{"/api/customers/customer-1/whatsapp", 200, "customer-1"},
		{"/api/customers/a%2Fb/whatsapp", 404, ""},
		{"/api/customers/a%252Fb/whatsapp", 200, "a/b"},
		{"/api/customers/a%20b/whatsapp", 200, "a b"},
	} {
		got = nil
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if w.Code != tt.status || got["client_ref"] != tt.ref {
			t.Errorf("%s: %d with client_ref %q, want %d with %q", tt.path, w.Code, got["client_ref"], tt.status, tt.ref)
		}
	}
}
