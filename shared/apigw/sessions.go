package apigw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// SessionsPath is the route of SessionsHandler.
const SessionsPath = "/api/onboarding-sessions"

// SessionQueryParam is the query parameter of the onboarding page that
// carries the session token; the page's script reads it.
const SessionQueryParam = "session"

// SessionAnswer is the body of a 201 from POST /api/onboarding-sessions.
type SessionAnswer struct {
	URL       string `json:"url"`
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
	ClientRef string `json:"client_ref"`
	RequestID string `json:"request_id"`
}

// SessionsHandler handles POST /api/onboarding-sessions: the Tech
// Provider's backend asks for an onboarding link for one of its customers,
// with {"client_ref": "...", "ttl_seconds": 900}. The route is meant to sit
// behind API Gateway's AWS_IAM authorizer; the handler also refuses any
// request that did not pass one, so a route deployed without it fails
// closed. pageURL is the page the link opens; empty means the root of the
// domain the request came to (the API serves the page).
func SessionsHandler(m *session.Minter, pageURL string, log *slog.Logger) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		start := time.Now()
		resp := issueSession(ctx, m, pageURL, log, req)
		accessLog(ctx, log, req, resp, start)
		return resp, nil
	}
}

func issueSession(ctx context.Context, m *session.Minter, pageURL string, log *slog.Logger, req Request) Response {
	rid := req.RequestContext.RequestID
	caller, ok := IAMCaller(req)
	if !ok {
		return Error(ctx, log, rid, onboarding.Errorf(onboarding.CodeUnauthorized, "This route requires AWS IAM (SigV4) authorization."))
	}
	if err := requireJSON(req, http.MethodPost); err != nil {
		return Error(ctx, log, rid, err)
	}
	body, err := readBody(req)
	if err != nil {
		return Error(ctx, log, rid, err)
	}
	in, err := parseSessionRequest(body)
	if err != nil {
		return Error(ctx, log, rid, err)
	}
	link, err := linkBase(pageURL, req)
	if err != nil {
		return Error(ctx, log, rid, onboarding.Wrap(onboarding.CodeInternal, err, "An internal error occurred."))
	}
	iss, err := m.Mint(ctx, in.ClientRef, in.TTL)
	if err != nil {
		return Error(ctx, log, rid, err)
	}
	q := link.Query()
	q.Set(SessionQueryParam, iss.Token)
	link.RawQuery = q.Encode()
	// Who asked for which customer's link: the audit trail of the route.
	log.InfoContext(ctx, "onboarding session issued", "request_id", rid, "caller", caller, "client_ref", iss.ClientRef,
		"session_id", iss.ID, "key_id", iss.KeyID, "expires_at", iss.ExpiresAt)
	return JSON(http.StatusCreated, SessionAnswer{
		URL:       link.String(),
		Token:     iss.Token,
		ExpiresAt: iss.ExpiresAt.Format(time.RFC3339),
		ClientRef: iss.ClientRef,
		RequestID: rid,
	})
}

// IAMCaller returns the IAM principal API Gateway authenticated, or false
// when the request did not go through an AWS_IAM authorizer.
func IAMCaller(req Request) (string, bool) {
	a := req.RequestContext.Authorizer
	if a == nil || a.IAM == nil {
		return "", false
	}
	for _, id := range []string{a.IAM.UserARN, a.IAM.CallerID, a.IAM.AccountID} {
		if id != "" {
			return id, true
		}
	}
	return "", false
}

type sessionRequest struct {
	ClientRef string
	TTL       time.Duration
}

// sessionFields are the body fields a link request may carry.
var sessionFields = map[string]flatType{"client_ref": flatString, "ttl_seconds": flatNumber}

// parseSessionRequest reads {"client_ref": string, "ttl_seconds": integer}
// with decodeFlatObject, as a signup is read: no other field, no
// duplicate, no nesting, one object.
func parseSessionRequest(body []byte) (sessionRequest, error) {
	f, err := decodeFlatObject(body, sessionFields)
	if err != nil {
		return sessionRequest{}, err
	}
	out := sessionRequest{ClientRef: f["client_ref"]}
	if ttl := f["ttl_seconds"]; ttl != "" {
		n, err := strconv.ParseInt(ttl, 10, 64)
		if err != nil || n <= 0 || n > int64(session.MaxTTL/time.Second) {
			return out, invalid("ttl_seconds", fmt.Sprintf("ttl_seconds must be a whole number of seconds between %d and %d.",
				int64(session.MinTTL/time.Second), int64(session.MaxTTL/time.Second)))
		}
		out.TTL = time.Duration(n) * time.Second
	}
	return out, nil
}

// linkBase returns the page URL the link points to.
func linkBase(pageURL string, req Request) (*url.URL, error) {
	if pageURL != "" {
		return url.Parse(pageURL)
	}
	host := req.RequestContext.DomainName
	if host == "" {
		host = Header(req, "Host")
	}
	if host == "" || strings.ContainsAny(host, "/?#@ ") {
		return nil, errors.New("apigw: no domain name to build the page URL from; set PAGE_URL")
	}
	return &url.URL{Scheme: "https", Host: host, Path: apiRoot(req)}, nil
}

// apiRoot is the path under which the request reached the API, with a
// trailing slash: what rawPath has before this route's path. That is the
// stage on the execute-api host ("/prod/"), and nothing on a custom domain,
// whose API mapping names the stage, even when the event's stage is named.
// An event whose path does not end in the route's (hand-made, or a
// catch-all route) falls back to its stage.
func apiRoot(req Request) string {
	if prefix, ok := strings.CutSuffix(strings.TrimSuffix(RoutePath(req), "/"), SessionsPath); ok && safePathPrefix(prefix) {
		return prefix + "/"
	}
	if st := req.RequestContext.Stage; st != "" && st != "$default" {
		return "/" + url.PathEscape(st) + "/"
	}
	return "/"
}

// safePathPrefix accepts "" or "/segment..." of the characters stage names
// and API mapping paths may hold, so that the prefix goes into the link as
// it is.
func safePathPrefix(p string) bool {
	if p == "" {
		return true
	}
	if p[0] != '/' || strings.Contains(p, "//") || strings.HasSuffix(p, "/") {
		return false
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._~-", r)) {
			return false
		}
	}
	return true
}
