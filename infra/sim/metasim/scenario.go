package metasim

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// Kind is a failure that FailNext injects in place of an endpoint's answer.
type Kind string

// Kinds of injected failure. The bodies are the ones Meta sends; see
// https://developers.facebook.com/docs/graph-api/guides/error-handling.
const (
	// KindTransient is HTTP 500, code 1 "An unknown error has occurred.",
	// is_transient true: retry later.
	KindTransient Kind = "transient"
	// KindUnexpected is HTTP 500, code 2, is_transient true: Meta's
	// "temporary issue due to downtime".
	KindUnexpected Kind = "unexpected"
	// KindThrottled is code 4 "(#4) Application request limit reached",
	// is_transient true, with HTTP 403, the status Meta's SDKs report for it.
	KindThrottled Kind = "throttled"
	// KindUserThrottled is code 17 "(#17) User request limit reached", 403.
	KindUserThrottled Kind = "user_throttled"
	// KindRateLimited is code 613 "(#613) Calls to this api have exceeded
	// the rate limit.", HTTP 400.
	KindRateLimited Kind = "rate_limited"
	// KindWABAThrottled is code 80008, the WhatsApp Business Management
	// API's per-WABA rate limit, HTTP 400, with the X-Business-Use-Case-Usage
	// header of a business-use-case limit reached: the WABA's usage at 100%
	// and access back in WABARegainMinutes.
	KindWABAThrottled Kind = "waba_throttled"
	// KindInvalidToken is code 190 subcode 460: the session was invalidated
	// (the token was revoked), HTTP 400. Retrying will not help.
	KindInvalidToken Kind = "invalid_token"
	// KindDown is HTTP 503 with an HTML body, as a load balancer in front of
	// Graph answers during an outage: a client must not assume JSON.
	KindDown Kind = "down"
	// KindTransientAfterCommit runs the request for real (an exchanged code
	// is consumed) and then answers KindTransient, so that a retry meets the
	// committed state ("This authorization code has been used.").
	KindTransientAfterCommit Kind = "transient_after_commit"
	// KindHang answers nothing until the client gives up (30s at most, then
	// KindTransient): it tests the client's timeout.
	KindHang Kind = "hang"
)

var kinds = []Kind{
	KindTransient, KindUnexpected, KindThrottled, KindUserThrottled, KindRateLimited,
	KindWABAThrottled, KindInvalidToken, KindDown, KindTransientAfterCommit, KindHang,
}

// FailNext makes the next n requests to endpoint fail with kind, after any
// failures already queued for it. n < 0 makes every request fail until
// FailNext(endpoint, 0, "") or Reset; n == 0 clears the endpoint's failures.
// It panics on an unknown endpoint or kind: that is a bug in the test.
func (s *Server) FailNext(endpoint string, n int, kind Kind) {
	if err := checkScenario(endpoint, n, kind); err != nil {
		panic("metasim: " + err.Error())
	}
	s.calls.FailNext(endpoint, n, kind)
}

func checkScenario(endpoint string, n int, kind Kind) error {
	return simkit.CheckArm("endpoint", endpoint, endpoints, n, kind, kinds)
}

// transientFailures are Meta's answers (status, code, message) for the
// injected failures that carry is_transient.
var transientFailures = map[Kind]struct {
	status, code int
	msg          string
}{
	KindTransient:     {http.StatusInternalServerError, codeUnknown, "An unknown error has occurred."},
	KindUnexpected:    {http.StatusInternalServerError, 2, "An unexpected error has occurred. Please retry your request later."},
	KindThrottled:     {http.StatusForbidden, 4, "(#4) Application request limit reached"},
	KindUserThrottled: {http.StatusForbidden, 17, "(#17) User request limit reached"},
	KindRateLimited:   {http.StatusBadRequest, 613, "(#613) Calls to this api have exceeded the rate limit."},
	KindWABAThrottled: {http.StatusBadRequest, 80008, "(#80008) There have been too many calls to this WhatsApp Business account. Wait a bit and try again."},
}

// WABARegainMinutes is the estimated_time_to_regain_access that
// KindWABAThrottled reports. Meta's estimates are whole minutes.
const WABARegainMinutes = 5

// failureResponse is Meta's answer for an injected failure. object is the
// business object a business-use-case limit is counted on: the WABA of the
// path, or the app when the path names none.
func failureResponse(kind Kind, object string) response {
	switch kind {
	case KindInvalidToken:
		return graphError("OAuthException", codeToken, 460,
			"Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.")
	case KindDown:
		return response{
			status:      http.StatusServiceUnavailable,
			contentType: "text/html; charset=utf-8",
			body:        []byte("<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Sorry, something went wrong.</h1><p>We're working on it and we'll get it fixed as soon as we can.</p></body></html>"),
		}
	}
	f, ok := transientFailures[kind]
	if !ok {
		f = transientFailures[KindTransient]
	}
	resp := graphErrorResponse(f.status, graphErrorDetail{Message: f.msg, Type: "OAuthException", Code: f.code, IsTransient: true})
	if kind == KindWABAThrottled {
		// Meta's Rate Limits page: calls under a business-use-case limit
		// carry their usage per business object, and once the limit is
		// reached, the minutes until access returns.
		usage, _ := json.Marshal(map[string][]orderedObject{object: {{
			{"type", "whatsapp_business_management"}, {"call_count", 100}, {"total_cputime", 1},
			{"total_time", 1}, {"estimated_time_to_regain_access", WABARegainMinutes},
		}}})
		resp.header.Set("X-Business-Use-Case-Usage", string(usage))
	}
	return resp
}

// Scenario is the JSON body of POST /_sim/meta/scenario.
type Scenario struct {
	// Reset, when true, resets the whole simulator first (see Reset).
	Reset    bool   `json:"reset,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	N        int    `json:"n,omitempty"`
	Kind     Kind   `json:"kind,omitempty"`
}

// serveControl serves the simulator's own routes, for the browser sandbox
// and the local stack:
//
//	POST /_sim/meta/codes     Grant JSON -> {"code": "..."}
//	POST /_sim/meta/scenario  Scenario JSON -> 204
//	GET  /_sim/meta/requests  {"calls": {...}, "requests": [...], "subscribed_wabas": [...]}
//
// They answer CORS preflights so that a sandbox page on another origin can
// call them; they hold no secrets.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if simkit.AllowControlCORS(w, r) {
		return
	}
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/_sim/meta/codes":
		var g Grant
		if !simkit.DecodePost(w, r, &g, "a JSON grant with waba_id and business_id",
			func() bool { return g.WABAID != "" && g.BusinessID != "" }) {
			return
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]string{"code": s.IssueCode(g)})
	case "/_sim/meta/scenario":
		var sc Scenario
		if !simkit.DecodePost(w, r, &sc, "a JSON scenario", nil) {
			return
		}
		if sc.Reset {
			s.Reset()
		}
		if sc.Endpoint != "" {
			if err := checkScenario(sc.Endpoint, sc.N, sc.Kind); err != nil {
				simkit.WriteError(w, http.StatusBadRequest, err.Error())
				return
			}
			s.FailNext(sc.Endpoint, sc.N, sc.Kind)
		}
		w.WriteHeader(http.StatusNoContent)
	case "/_sim/meta/requests":
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"calls": s.calls.CallCounts(), "requests": s.Requests(), "subscribed_wabas": s.SubscribedWABAs()})
	default:
		simkit.WriteError(w, http.StatusNotFound, "unknown simulator route")
	}
}
