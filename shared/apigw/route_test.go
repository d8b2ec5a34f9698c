package apigw

import (
	"context"
	"net/http"
	"testing"
)

// defaultRoute is an event as `sam local generate-event apigateway
// http-api-proxy` and a catch-all integration make it: routeKey $default,
// no path parameters, the path in rawPath.
func defaultRoute(method, rawPath, stage string) Request {
	var req Request
	req.RouteKey, req.RawPath = "$default", rawPath
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = method, rawPath
	req.RequestContext.Stage = stage
	return req
}

func TestPathParamWithoutARoute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, rawPath, param, pattern, want string
	}{
		{"customer", "/api/customers/acme-1/whatsapp", "client_ref", customersPattern, "acme-1"},
		{"customer, trailing slash", "/api/customers/acme-1/whatsapp/", "client_ref", customersPattern, "acme-1"},
		{"customer, escaped", "/api/customers/acme%3A1/whatsapp", "client_ref", customersPattern, "acme:1"},
		{"customer under a stage", "/prod/api/customers/acme-1/whatsapp", "client_ref", customersPattern, "acme-1"},
		{"another route", "/api/other/acme-1/whatsapp", "client_ref", customersPattern, ""},
		{"too short", "/whatsapp", "client_ref", customersPattern, ""},
		{"status", "/api/whatsapp/embedded-signup/102290129340398", "waba_id", statusPattern, "102290129340398"},
		{"provider status", "/api/provider/whatsapp/embedded-signup/102290129340398/", "waba_id", statusPattern, "102290129340398"},
		{"demo templates", "/api/demo/templates/102290129340398", "waba_id", demoTemplatesPattern, "102290129340398"},
		{"bad escape", "/api/customers/acme%zz/whatsapp", "client_ref", customersPattern, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := pathParam(defaultRoute(http.MethodGet, tt.rawPath, "$default"), tt.param, tt.pattern); got != tt.want {
				t.Errorf("pathParam(%q) = %q, want %q", tt.rawPath, got, tt.want)
			}
		})
	}
	// A route's own parameter wins.
	req := defaultRoute(http.MethodGet, "/api/customers/acme-1/whatsapp", "$default")
	req.PathParameters = map[string]string{"client_ref": "from-route"}
	if got := pathParam(req, "client_ref", customersPattern); got != "from-route" {
		t.Errorf("pathParam = %q, want the route's parameter", got)
	}
}

func TestIsLinkCheck(t *testing.T) {
	t.Parallel()
	routed := defaultRoute(http.MethodGet, "/api/onboarding-sessions/check", "$default")
	routed.RouteKey = LinkCheckRoute
	tests := []struct {
		name string
		req  Request
		want bool
	}{
		{"its route", routed, true},
		{"$default GET", defaultRoute(http.MethodGet, "/api/onboarding-sessions/check", "$default"), true},
		{"$default HEAD under a stage", defaultRoute(http.MethodHead, "/prod/api/onboarding-sessions/check/", "prod"), true},
		{"$default POST", defaultRoute(http.MethodPost, "/api/onboarding-sessions/check", "$default"), false},
		{"$default signup", defaultRoute(http.MethodPost, "/api/whatsapp/embedded-signup", "$default"), false},
		{"the signup route", func() Request {
			r := defaultRoute(http.MethodPost, "/api/whatsapp/embedded-signup", "$default")
			r.RouteKey = "POST /api/whatsapp/embedded-signup"
			return r
		}(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsLinkCheck(tt.req); got != tt.want {
				t.Errorf("IsLinkCheck = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestSignupRoutes(t *testing.T) {
	t.Parallel()
	answer := func(status int) Handler {
		return func(context.Context, Request) (Response, error) { return Response{StatusCode: status}, nil }
	}
	h := SignupRoutes(answer(http.StatusAccepted), answer(http.StatusOK))
	for _, tt := range []struct {
		req  Request
		want int
	}{
		{defaultRoute(http.MethodGet, "/api/onboarding-sessions/check", "$default"), http.StatusOK},
		{defaultRoute(http.MethodPost, "/api/whatsapp/embedded-signup", "$default"), http.StatusAccepted},
	} {
		if got, _ := h(t.Context(), tt.req); got.StatusCode != tt.want {
			t.Errorf("%s %s answered by the handler of %d, want %d", tt.req.RequestContext.HTTP.Method, tt.req.RawPath, got.StatusCode, tt.want)
		}
	}
}
