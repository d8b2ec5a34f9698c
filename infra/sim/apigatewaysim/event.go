// Package apigatewaysim stands in for API Gateway HTTP APIs on a laptop: it
// turns a net/http request into the payload format 2.0 event API Gateway
// sends to Lambda, routes it the way API Gateway picks a route, and writes
// the function's answer back as API Gateway would.
//
// Where AWS documents the behaviour it is copied; where it does not (which
// content types arrive base64-encoded, the default Content-Type of an
// answer), the choice matches what a deployed HTTP API was seen to do.
package apigatewaysim

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Identity of the simulated API, as it appears in every event.
const (
	AccountID = "000000000000"
	APIID     = "local"
	Stage     = "$default"
)

// MaxBodyBytes is API Gateway's payload limit for HTTP APIs.
const MaxBodyBytes = 10 << 20

// ErrBodyTooLarge is returned by Event for a body over MaxBodyBytes;
// API Gateway answers such requests 413 without calling the function.
var ErrBodyTooLarge = errors.New("apigatewaysim: request body exceeds 10 MB")

// timeLayout is requestContext.time's format, e.g. 12/Mar/2020:19:03:58 +0000.
const timeLayout = "02/Jan/2006:15:04:05 -0700"

// Event converts r into the payload v2 event API Gateway sends for the route
// routeKey ("POST /api/things/{id}", or "$default") with the given path
// parameters. It reads and closes r.Body.
func Event(r *http.Request, routeKey string, pathParams map[string]string) (events.APIGatewayV2HTTPRequest, error) {
	now := time.Now().UTC()
	requestID := newRequestID()
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       routeKey,
		RawPath:        eventPath(r.URL),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
	}
	sourceIP := remoteIP(r.RemoteAddr)

	// Header names arrive lowercased and repeated headers joined with
	// commas, except cookies, which move to their own list.
	for _, name := range slices.Sorted(maps.Keys(r.Header)) {
		values := r.Header[name]
		key := strings.ToLower(name)
		if key == "cookie" {
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		if prev, ok := ev.Headers[key]; ok {
			values = append([]string{prev}, values...)
		}
		ev.Headers[key] = strings.Join(values, ",")
	}
	if r.Host != "" {
		ev.Headers["host"] = r.Host
	}
	if r.ContentLength > 0 {
		ev.Headers["content-length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	if xff := ev.Headers["x-forwarded-for"]; xff != "" {
		ev.Headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		ev.Headers["x-forwarded-for"] = sourceIP
	}
	ev.Headers["x-forwarded-proto"] = "http"
	if r.TLS != nil {
		ev.Headers["x-forwarded-proto"] = "https"
	}
	ev.Headers["x-forwarded-port"] = localPort(r)
	ev.Headers["x-amzn-trace-id"] = traceID(now)

	if r.URL.RawQuery != "" {
		// ParseQuery keeps every pair it could decode, as API Gateway
		// passes on what it can.
		q, _ := url.ParseQuery(r.URL.RawQuery)
		if len(q) > 0 {
			ev.QueryStringParameters = make(map[string]string, len(q))
			for k, v := range q {
				ev.QueryStringParameters[k] = strings.Join(v, ",")
			}
		}
	}
	if len(pathParams) > 0 {
		ev.PathParameters = maps.Clone(pathParams)
	}

	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	prefix := host
	if i := strings.IndexByte(prefix, '.'); i >= 0 {
		prefix = prefix[:i]
	}
	ev.RequestContext = events.APIGatewayV2HTTPRequestContext{
		RouteKey:     routeKey,
		AccountID:    AccountID,
		Stage:        Stage,
		RequestID:    requestID,
		APIID:        APIID,
		DomainName:   host,
		DomainPrefix: prefix,
		Time:         now.Format(timeLayout),
		TimeEpoch:    now.UnixMilli(),
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method:    r.Method,
			Path:      r.URL.Path,
			Protocol:  r.Proto,
			SourceIP:  sourceIP,
			UserAgent: r.UserAgent(),
		},
	}

	if r.Body == nil {
		return ev, nil
	}
	defer r.Body.Close()
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return ev, fmt.Errorf("apigatewaysim: read body: %w", err)
	}
	if len(body) > MaxBodyBytes {
		return ev, ErrBodyTooLarge
	}
	if len(body) == 0 {
		return ev, nil
	}
	if isText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body = base64.StdEncoding.EncodeToString(body)
		ev.IsBase64Encoded = true
	}
	return ev, nil
}

// isText reports whether API Gateway passes a body of this content type as
// text; every other body, including one without a content type and form
// posts, arrives base64-encoded.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript":
		return true
	}
	return strings.HasPrefix(mt, "text/")
}

// eventPath is the path an HTTP API puts in an event's rawPath: decoded,
// despite the name. A deployed API called at /a%2Fb hands its function
// rawPath "/a/b" (REST APIs and function URLs keep the encoding; HTTP APIs
// do not), so a function must not decode it again.
func eventPath(u *url.URL) string { return cmp.Or(u.Path, "/") }

func remoteIP(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	if addr == "" {
		return "127.0.0.1"
	}
	return addr
}

func localPort(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, p, err := net.SplitHostPort(a.String()); err == nil {
			return p
		}
	}
	if _, p, err := net.SplitHostPort(r.Host); err == nil && p != "" {
		return p
	}
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// newRequestID returns an ID shaped like API Gateway's, e.g. "LV7fzho-PHcEJPw=".
func newRequestID() string {
	var b [11]byte
	_, _ = rand.Read(b[:])
	return base64.URLEncoding.EncodeToString(b[:])
}

// traceID returns an X-Ray trace header value, as API Gateway adds one.
func traceID(now time.Time) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s", now.Unix(), hex.EncodeToString(b[:]))
}
