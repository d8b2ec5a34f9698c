package plivosim

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// Kind is a failure that FailNext injects in place of a route's answer,
// after authentication succeeded.
type Kind string

// Kinds of injected failure.
const (
	// KindUnauthorized is 401 with the guide's body, as if the credentials
	// had been revoked.
	KindUnauthorized Kind = "unauthorized"
	// KindForbidden is 403 "Your account is not authorized for the Embedded
	// Signup API." (on other routes, a generic 403 text).
	KindForbidden Kind = "forbidden"
	// KindSolutionInactive is 400 "Multi-Partner Solution is not active for
	// your app. Contact Plivo support."
	KindSolutionInactive Kind = "solution_inactive"
	// KindBadRequest is a generic 400.
	KindBadRequest Kind = "bad_request"
	// KindUndocumented is a 4xx the guide does not list (422 with a
	// message of its own): the client must not treat it as final.
	KindUndocumented Kind = "undocumented"
	// KindThrottled is 429 in Plivo's other error shape:
	// {"api_id","error_code":429,"message":"Too many requests"}.
	KindThrottled Kind = "throttled"
	// KindInternal is 500 "An internal error occurred. Please try again
	// later."
	KindInternal Kind = "internal"
	// KindDown is 503 with an HTML body, as a load balancer answers during
	// an outage: a client must not assume JSON.
	KindDown Kind = "down"
	// KindHang answers nothing (and commits nothing) until the client gives
	// up, 30s at most, then KindInternal: it tests the client's timeout.
	KindHang Kind = "hang"
)

var kinds = []Kind{
	KindUnauthorized, KindForbidden, KindSolutionInactive, KindBadRequest, KindUndocumented,
	KindThrottled, KindInternal, KindDown, KindHang,
}

// FailNext makes the next n authenticated requests to route fail with kind,
// after any failures already queued for it. n < 0 makes every request fail
// until FailNext(route, 0, "") or Reset (an account state, such as a
// Multi-Partner Solution that is not active yet); n == 0 clears the route's
// failures. It panics on an unknown route or kind: that is a bug in the test.
func (s *Server) FailNext(route string, n int, kind Kind) {
	if err := checkScenario(route, n, kind); err != nil {
		panic("plivosim: " + err.Error())
	}
	s.calls.FailNext(route, n, kind)
}

func checkScenario(route string, n int, kind Kind) error {
	return simkit.CheckArm("route", route, routes, n, kind, kinds)
}

// fail writes an injected failure.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, route string, kind Kind) {
	switch kind {
	case KindUnauthorized:
		writeError(w, http.StatusUnauthorized, MsgUnauthenticated)
	case KindForbidden:
		msg := MsgForbidden
		if route != RouteSignup {
			msg = "Your account is not authorized for this API."
		}
		writeError(w, http.StatusForbidden, msg)
	case KindSolutionInactive:
		writeError(w, http.StatusBadRequest, MsgSolutionInactive)
	case KindBadRequest:
		writeError(w, http.StatusBadRequest, "Invalid request.")
	case KindUndocumented:
		writeError(w, http.StatusUnprocessableEntity, MsgUndocumented)
	case KindThrottled:
		simkit.WriteJSON(w, http.StatusTooManyRequests, struct {
			APIID     string `json:"api_id"`
			ErrorCode int    `json:"error_code"`
			Message   string `json:"message"`
		}{simkit.NewUUID(), http.StatusTooManyRequests, MsgTooManyRequests})
	case KindDown:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"))
	case KindHang:
		// Until the body is read the server does not watch the connection,
		// and would not notice the client giving up.
		_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 1<<20))
		if simkit.Hang(r) {
			writeError(w, http.StatusInternalServerError, MsgInternal)
		}
	default: // KindInternal
		writeError(w, http.StatusInternalServerError, MsgInternal)
	}
}

// Scenario is the JSON body of POST /_sim/plivo/scenario. Its parts apply
// in field order.
type Scenario struct {
	// Reset, when true, resets the whole simulator first (see Reset).
	Reset bool `json:"reset,omitempty"`
	// Route, N and Kind call FailNext.
	Route string `json:"route,omitempty"`
	N     int    `json:"n,omitempty"`
	Kind  Kind   `json:"kind,omitempty"`
	// LoseNextSignup is "drop" (DropNextSignupResponse) or "delay"
	// (DelayNextSignupResponse with DelayMS).
	LoseNextSignup string `json:"lose_next_signup,omitempty"`
	DelayMS        int    `json:"delay_ms,omitempty"`
	// Preregister calls Preregister.
	Preregister *struct {
		WABAID        string `json:"waba_id"`
		PhoneNumberID string `json:"phone_number_id"`
	} `json:"preregister,omitempty"`
	// RegisterNumber calls RegisterNumber.
	RegisterNumber string `json:"register_number,omitempty"`
	// ConfigureNumber calls ConfigureNumber.
	ConfigureNumber *struct {
		Number     string `json:"number"`
		WebhookURL string `json:"webhook_url"`
	} `json:"configure_number,omitempty"`
}

// State is the answer of GET /_sim/plivo/state. It holds no credentials.
type State struct {
	SignupCalls       int      `json:"signup_calls"`
	SuccessfulSignups int      `json:"successful_signups"`
	Signups           []Signup `json:"signups"`
	Numbers           []string `json:"numbers"`
	// Webhooks are the numbers' Webhook URLs, by number (digits).
	Webhooks  map[string]string     `json:"webhooks"`
	Messages  []Message             `json:"messages"`
	Templates map[string][]Template `json:"templates"`
	Calls     map[string]int        `json:"calls"`
}

// serveControl serves the simulator's own routes, for the local stack:
//
//	POST /_sim/plivo/scenario  Scenario JSON -> 204
//	GET  /_sim/plivo/state     State JSON
//	POST /_sim/plivo/callback  CallbackTrigger JSON -> {"status": <receiver's>}
//	POST /_sim/plivo/message-status  StatusUpdate JSON -> {"status": <receiver's>}
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if simkit.AllowControlCORS(w, r) {
		return
	}
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/_sim/plivo/scenario":
		var sc Scenario
		if !simkit.DecodePost(w, r, &sc, "a JSON scenario", nil) {
			return
		}
		if err := s.apply(sc); err != nil {
			simkit.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "/_sim/plivo/state":
		simkit.WriteJSON(w, http.StatusOK, s.state())
	case "/_sim/plivo/callback":
		s.serveCallbackTrigger(w, r)
	case "/_sim/plivo/message-status":
		s.serveStatusTrigger(w, r)
	default:
		simkit.WriteError(w, http.StatusNotFound, "unknown simulator route")
	}
}

func (s *Server) apply(sc Scenario) error {
	if sc.Route != "" {
		if err := checkScenario(sc.Route, sc.N, sc.Kind); err != nil {
			return err
		}
	}
	switch sc.LoseNextSignup {
	case "", "drop", "delay":
	default:
		return fmt.Errorf("lose_next_signup must be \"drop\" or \"delay\"")
	}
	if sc.Reset {
		s.Reset()
	}
	if sc.Route != "" {
		s.FailNext(sc.Route, sc.N, sc.Kind)
	}
	switch sc.LoseNextSignup {
	case "drop":
		s.DropNextSignupResponse()
	case "delay":
		s.DelayNextSignupResponse(time.Duration(sc.DelayMS) * time.Millisecond)
	}
	if p := sc.Preregister; p != nil {
		s.Preregister(p.WABAID, p.PhoneNumberID)
	}
	if sc.RegisterNumber != "" {
		s.RegisterNumber(sc.RegisterNumber)
	}
	if c := sc.ConfigureNumber; c != nil {
		return s.ConfigureNumber(c.Number, c.WebhookURL)
	}
	return nil
}

func (s *Server) state() State {
	st := State{Numbers: s.Numbers(), Messages: s.Messages(), Templates: map[string][]Template{}, Calls: s.calls.CallCounts()}
	st.SignupCalls = st.Calls[RouteSignup]
	s.mu.Lock()
	st.SuccessfulSignups = s.successes
	st.Webhooks = maps.Clone(s.webhooks)
	st.Signups = slices.AppendSeq(make([]Signup, 0, len(s.signups)), maps.Values(s.signups))
	wabas := slices.Collect(maps.Keys(s.templates))
	s.mu.Unlock()
	slices.SortFunc(st.Signups, func(a, b Signup) int { return strings.Compare(a.WABAID, b.WABAID) })
	for _, id := range wabas {
		st.Templates[id] = s.Templates(id)
	}
	return st
}
