package apigw

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// Path patterns of the routes whose handlers read a path parameter, as
// template.yaml names them.
const (
	customersPattern     = "/api/customers/{client_ref}/whatsapp"
	demoTemplatesPattern = "/api/demo/templates/{waba_id}"
	// statusPattern serves both status routes: each ends in the WABA ID.
	statusPattern = "{waba_id}"
	linkCheckPath = "/api/onboarding-sessions/check"
)

// pathParam is the route's path parameter called name. An event that names no
// route (routeKey $default, as `sam local generate-event` and a catch-all
// integration make it) has no path parameters, so the segment is read
// from the raw path where pattern puts it, matched from the end (a named
// stage comes first): "" unless every literal segment matches.
func pathParam(req Request, name, pattern string) string {
	if v := req.PathParameters[name]; v != "" {
		return v
	}
	path := strings.Split(strings.TrimSuffix(RoutePath(req), "/"), "/")
	want := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	if len(path) < len(want) {
		return ""
	}
	path = path[len(path)-len(want):]
	var value string
	for i, seg := range want {
		switch {
		case seg == "{"+name+"}":
			v, err := url.PathUnescape(path[i])
			if err != nil {
				return ""
			}
			value = v
		case strings.HasPrefix(seg, "{"):
		case seg != path[i]:
			return ""
		}
	}
	return value
}

// IsLinkCheck reports whether req is the onboarding page's link check
// (LinkCheckRoute), by its route or, for an event that names none, by its
// method and path.
func IsLinkCheck(req Request) bool {
	if req.RouteKey == LinkCheckRoute {
		return true
	}
	m := Method(req)
	return (req.RouteKey == "$default" || req.RouteKey == "") && (m == http.MethodGet || m == http.MethodHead) &&
		strings.HasSuffix(strings.TrimSuffix(RoutePath(req), "/"), linkCheckPath)
}

// SignupRoutes is the signup function's handler: the onboarding page's
// link check (IsLinkCheck) goes to linkCheck, every other request to
// signup. One function serves both because the function that spends
// session tokens already holds their keys and their ledger.
func SignupRoutes(signup, linkCheck Handler) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		if IsLinkCheck(req) {
			return linkCheck(ctx, req)
		}
		return signup(ctx, req)
	}
}

// RoutePath is the request's path: rawPath, or the request context's
// path in an event that gives no rawPath.
func RoutePath(req Request) string {
	if req.RawPath != "" {
		return req.RawPath
	}
	return req.RequestContext.HTTP.Path
}
