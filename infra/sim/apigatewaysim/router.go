package apigatewaysim

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// Handler is a Lambda handler for payload v2 events; apigw.Handler is one.
type Handler = func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// DefaultRoute is the route key of the catch-all route.
const DefaultRoute = "$default"

// DefaultTimeout is API Gateway's integration timeout for HTTP APIs.
const DefaultTimeout = 30 * time.Second

// Route is one route of the API: a method (or ANY) and a path whose
// segments may be {name} variables or end in a greedy {name+}; or the path
// DefaultRoute.
type Route struct {
	Method  string
	Path    string
	Handler Handler
	// Function names the Lambda function behind the route, for logs and
	// lambdacontext; optional.
	Function string
	// Auth is the route's authorizer. AuthIAM is emulated (see
	// iamAuthorizer); any other authorizer is not enforced locally.
	Auth string
}

// Key is the route key API Gateway puts in events: "GET /path" or "$default".
func (r Route) Key() string {
	if r.Path == DefaultRoute {
		return DefaultRoute
	}
	return strings.ToUpper(r.Method) + " " + r.Path
}

type segment struct {
	literal string
	param   string // set for {param} and {param+}
	greedy  bool
}

type compiled struct {
	Route
	method   string // upper case; "ANY" matches every method
	segments []segment
	greedy   bool
	fallback bool // $default
}

// Router serves HTTP requests by calling the handler of the matching route
// with the event API Gateway would send, and answers like API Gateway when
// no route matches or the function fails. The zero value has no routes.
type Router struct {
	routes []compiled
	// Timeout bounds each invocation, as the integration timeout does;
	// zero means DefaultTimeout.
	Timeout time.Duration
	// Log receives a line for each request the router answered itself (no
	// route, no signature, a body too large, a failed or timed-out
	// function), and at debug level for the others, whose functions log
	// their own access line; nil means slog.Default().
	Log *slog.Logger
}

// NewRouter checks and compiles routes. Two routes with the same key are an
// error, as API Gateway refuses them.
func NewRouter(routes []Route) (*Router, error) {
	rt := &Router{}
	seen := map[string]bool{}
	for _, r := range routes {
		if r.Handler == nil {
			return nil, fmt.Errorf("apigatewaysim: route %s has no handler", r.Key())
		}
		c, err := compile(r)
		if err != nil {
			return nil, err
		}
		key := c.method + " " + canonical(c.segments)
		if c.fallback {
			key = DefaultRoute
		}
		if seen[key] {
			return nil, fmt.Errorf("apigatewaysim: duplicate route %s", r.Key())
		}
		seen[key] = true
		rt.routes = append(rt.routes, c)
	}
	sort.SliceStable(rt.routes, func(i, j int) bool { return moreSpecific(rt.routes[i], rt.routes[j]) })
	return rt, nil
}

func compile(r Route) (compiled, error) {
	if r.Path == DefaultRoute {
		return compiled{Route: r, method: "ANY", fallback: true}, nil
	}
	c := compiled{Route: r, method: strings.ToUpper(r.Method)}
	if c.method == "" || c.method == "*" {
		c.method = "ANY"
	}
	if !strings.HasPrefix(r.Path, "/") {
		return c, fmt.Errorf("apigatewaysim: route path %q must start with /", r.Path)
	}
	parts := strings.Split(r.Path[1:], "/")
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}"):
			if i != len(parts)-1 || len(p) < 4 {
				return c, fmt.Errorf("apigatewaysim: route %q: a greedy variable must be the last segment", r.Path)
			}
			c.segments = append(c.segments, segment{param: p[1 : len(p)-2], greedy: true})
			c.greedy = true
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			if len(p) < 3 {
				return c, fmt.Errorf("apigatewaysim: route %q has an empty variable", r.Path)
			}
			c.segments = append(c.segments, segment{param: p[1 : len(p)-1]})
		case strings.ContainsAny(p, "{}"):
			return c, fmt.Errorf("apigatewaysim: route %q: a variable must be a whole segment", r.Path)
		default:
			c.segments = append(c.segments, segment{literal: p})
		}
	}
	return c, nil
}

func canonical(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		switch {
		case s.greedy:
			b.WriteString("{+}")
		case s.param != "":
			b.WriteString("{}")
		default:
			b.WriteString(s.literal)
		}
	}
	return b.String()
}

// moreSpecific orders routes the way API Gateway prefers them: full matches
// before greedy ones, literal segments before variables, a named method
// before ANY, and $default last.
func moreSpecific(a, b compiled) bool {
	if a.fallback != b.fallback {
		return b.fallback
	}
	if a.greedy != b.greedy {
		return !a.greedy
	}
	for i := 0; i < len(a.segments) && i < len(b.segments); i++ {
		al, bl := a.segments[i].param == "", b.segments[i].param == ""
		if al != bl {
			return al
		}
	}
	if len(a.segments) != len(b.segments) {
		return len(a.segments) > len(b.segments)
	}
	return a.method != "ANY" && b.method == "ANY"
}

// Match finds the route for a method and a request path as API Gateway
// matches it (ServeHTTP passes the path decoded once), and the values of
// its path variables, each decoded once more.
func (rt *Router) Match(method, path string) (Route, map[string]string, bool) {
	if rt == nil {
		return Route{}, nil, false
	}
	method = strings.ToUpper(method)
	path = cmp.Or(path, "/")
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, c := range rt.routes {
		if c.fallback {
			return c.Route, nil, true
		}
		if c.method != "ANY" && c.method != method {
			continue
		}
		if params, ok := c.match(parts); ok {
			return c.Route, params, true
		}
	}
	return Route{}, nil, false
}

func (c compiled) match(parts []string) (map[string]string, bool) {
	var params map[string]string
	set := func(k, v string) {
		if params == nil {
			params = map[string]string{}
		}
		params[k] = v
	}
	for i, s := range c.segments {
		if s.greedy {
			rest := parts[i:]
			joined := strings.Join(rest, "/")
			if joined == "" {
				return nil, false
			}
			set(s.param, unescape(joined))
			return params, true
		}
		if i >= len(parts) {
			return nil, false
		}
		seg := unescape(parts[i])
		if s.param != "" {
			if seg == "" {
				return nil, false
			}
			set(s.param, seg)
			continue
		}
		if seg != s.literal {
			return nil, false
		}
	}
	return params, len(parts) == len(c.segments)
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// ServeHTTP answers one request like API Gateway: 404 {"message":"Not
// Found"} without a route, 413 for a body over the limit, 500 when the
// function fails or returns a malformed answer, 503 after the timeout.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	log := rt.Log
	if log == nil {
		log = slog.Default()
	}
	// An HTTP API decodes the path before it matches a route (a %2F splits
	// the segment), and Match decodes each variable once more, as API
	// Gateway does before it hands the variables to the integration.
	route, params, ok := rt.Match(r.Method, eventPath(r.URL))
	if !ok {
		writeMessage(w, http.StatusNotFound, "Not Found", "")
		log.Info("apigw request", "method", r.Method, "path", r.URL.Path, "status", http.StatusNotFound)
		return
	}
	var iam *events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription
	if route.Auth == AuthIAM {
		if iam = iamAuthorizer(r); iam == nil {
			writeMessage(w, http.StatusForbidden, "Forbidden", "")
			log.Info("apigw request", "route", route.Key(), "status", http.StatusForbidden, "reason", "no SigV4 signature")
			return
		}
	}
	ev, err := Event(r, route.Key(), params)
	if iam != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: iam}
	}
	if err != nil {
		status, msg := http.StatusBadRequest, "Bad Request"
		if errors.Is(err, ErrBodyTooLarge) {
			status, msg = http.StatusRequestEntityTooLarge, "Request Entity Too Large"
		}
		writeMessage(w, status, msg, ev.RequestContext.RequestID)
		log.Info("apigw request", "route", route.Key(), "status", status, "error", err)
		return
	}
	resp, status := rt.invoke(r.Context(), route, ev, log)
	if status == 0 {
		w.Header().Set("Apigw-Requestid", ev.RequestContext.RequestID)
		if err := writeResponse(w, resp); errors.Is(err, errInvalidResponse) {
			status = http.StatusInternalServerError
			writeMessage(w, status, "Internal Server Error", ev.RequestContext.RequestID)
			log.Error("function returned a malformed answer", "route", route.Key(), "function", route.Function, "error", err)
		} else {
			status = resp.StatusCode
		}
	} else {
		writeMessage(w, status, http.StatusText(status), ev.RequestContext.RequestID)
	}
	// Every function writes its own access line ("request", with the same
	// request ID, route and status); repeating it here wrote each request
	// twice. The stand-in only speaks up when API Gateway answered itself.
	level := slog.LevelDebug
	if status != resp.StatusCode {
		level = slog.LevelInfo
	}
	log.Log(r.Context(), level, "apigw request", "route", route.Key(), "function", route.Function, "request_id", ev.RequestContext.RequestID,
		"status", status, "duration_ms", time.Since(start).Milliseconds())
}

// invoke calls the route's handler as Lambda would. A non-zero status means
// the invocation failed and API Gateway answers with that status itself.
func (rt *Router) invoke(parent context.Context, route Route, ev events.APIGatewayV2HTTPRequest, log *slog.Logger) (resp events.APIGatewayV2HTTPResponse, status int) {
	timeout := rt.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// Like Lambda, the invocation does not stop when the client goes away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       simkit.NewUUID(),
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:" + AccountID + ":function:" + route.Function,
	})
	type result struct {
		resp events.APIGatewayV2HTTPResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("panic: %v", p)}
			}
		}()
		resp, err := route.Handler(ctx, ev)
		done <- result{resp, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			log.Error("function failed", "route", route.Key(), "function", route.Function, "error", res.err)
			return resp, http.StatusInternalServerError
		}
		return res.resp, 0
	case <-ctx.Done():
		log.Error("function timed out", "route", route.Key(), "function", route.Function, "timeout", timeout)
		return resp, http.StatusServiceUnavailable
	}
}

// AuthIAM is the authorizer name SAM gives routes signed with SigV4.
const AuthIAM = "AWS_IAM"

// iamAuthorizer plays API Gateway's AWS_IAM authorizer loosely: a request
// with a SigV4 Authorization header passes as the access key it names,
// whatever the signature, as DynamoDB Local accepts any signature; a request
// without one gets nil, which API Gateway answers 403. The description
// carries the fields a function reads to know its caller.
func iamAuthorizer(r *http.Request) *events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription {
	h := r.Header.Get("Authorization")
	const scheme = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(h, scheme) {
		return nil
	}
	var key string
	for _, part := range strings.Split(h[len(scheme):], ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential="); ok {
			key, _, _ = strings.Cut(v, "/")
		}
	}
	if key == "" {
		return nil
	}
	return &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
		AccessKey: key,
		AccountID: AccountID,
		CallerID:  key,
		UserARN:   "arn:aws:iam::" + AccountID + ":user/local",
		UserID:    key,
	}
}

// writeMessage writes API Gateway's own {"message": ...} answer.
func writeMessage(w http.ResponseWriter, status int, message, requestID string) {
	h := w.Header()
	clear(h)
	h.Set("Content-Type", "application/json")
	if requestID != "" {
		h.Set("Apigw-Requestid", requestID)
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message":%q}`, message)
}

// errInvalidResponse is returned by writeResponse for an answer API Gateway would
// reject: no valid status code, or a body flagged base64 that is not.
var errInvalidResponse = errors.New("apigatewaysim: malformed function response")

// writeResponse writes a function's payload v2 answer to w. When the answer is
// malformed it writes nothing and returns an errInvalidResponse, so the
// caller can answer 500 instead; other errors come from w.
func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) error {
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("%w: status code %d", errInvalidResponse, resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return fmt.Errorf("%w: body is not valid base64", errInvalidResponse)
		}
		body = b
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	// Format 2.0 answers have no multiValueHeaders: API Gateway ignores
	// them, so a header set only there never reaches the client.
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json") // what HTTP APIs answer with when the function sets none
	}
	w.WriteHeader(resp.StatusCode)
	_, err := w.Write(body)
	return err
}
