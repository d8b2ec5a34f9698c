package plivosim

import (
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

// Route names, as FailNext and Calls use them.
const (
	RouteAccount  = "account"  // GET  /v1/Account/{auth_id}/
	RouteSignup   = "signup"   // POST /v1/Account/{auth_id}/WhatsApp/EmbeddedSignup/
	RouteMessage  = "message"  // POST /v1/Account/{auth_id}/Message/
	RouteTemplate = "template" // GET/POST /v1/Account/{auth_id}/WhatsApp/Template/{waba_id}/[{template_id}/]
	// RouteOther counts paths the simulator does not serve (404).
	RouteOther = "other"
)

var routes = []string{RouteAccount, RouteSignup, RouteMessage, RouteTemplate}

// Messages the guide documents, word for word.
const (
	MsgUnauthenticated  = "Authentication credentials were not provided or are invalid."
	MsgForbidden        = "Your account is not authorized for the Embedded Signup API."
	MsgSignupOK         = "Embedded signup completed successfully."
	MsgWABARequired     = "waba_id is required."
	MsgBusinessRequired = "business_id is required."
	MsgPhoneRequired    = "phone_number_id is required."
	MsgWABAInvalid      = "waba_id is not a valid WhatsApp Business Account ID."
	// MsgUndocumented is the answer of KindUndocumented: not in the guide.
	MsgUndocumented = "The WhatsApp Business Account cannot be onboarded right now."
	// MsgNotUnderSolution and MsgNumberNotVerified are the refusals of
	// CheckAtMeta in the local stack; the guide lists neither.
	MsgNotUnderSolution  = "This WABA was not shared with the Multi-Partner Solution."
	MsgNumberNotVerified = "The phone number has not been verified."
	MsgWABARegistered    = "This WABA is already registered with Plivo."
	MsgPhoneRegistered   = "This phone number is already registered under another WABA."
	MsgSolutionInactive  = "Multi-Partner Solution is not active for your app. Contact Plivo support."
	MsgInternal          = "An internal error occurred. Please try again later."
	MsgTooManyRequests   = "Too many requests"
	MsgMessageQueued     = "message(s) queued"
	maxClientRefLen      = 64
	defaultCashCredits   = "100.00000"
	defaultAccountName   = "Tech Provider Sandbox"
	defaultCallbackLimit = 10 * time.Second
)

// Config configures a Server.
type Config struct {
	// AuthID and AuthToken are the account's API credentials (HTTP Basic
	// user and password). RotateToken replaces the token.
	AuthID, AuthToken string
	// MainAuthToken signs the -Ma- callback headers, which Plivo always
	// signs with the main account's token. Default AuthToken, as if the
	// simulated account were a main account.
	MainAuthToken string
	// Latency is slept before every /v1/ request, to model the network.
	Latency time.Duration
	// PhoneNumbers maps a Meta phone number ID to its display number: a
	// successful Embedded Signup registers that number as a message sender.
	PhoneNumbers map[string]string
	// LookupNumber is asked for IDs missing from PhoneNumbers, e.g. backed
	// by the Meta simulator's grants. ok false registers nothing.
	LookupNumber func(phoneNumberID string) (display string, ok bool)
	// CheckAtMeta, when set, is asked before an Embedded Signup commits,
	// e.g. backed by the Meta simulator. A non-empty refusal is answered as
	// a 400 with that message: Plivo refuses a WABA not created under its
	// Multi-Partner Solution and a number that is not verified.
	CheckAtMeta func(wabaID, phoneNumberID string) (refusal string)
	// HTTPClient sends callbacks. Default: a client with a 10s timeout.
	HTTPClient *http.Client
	// Logger, when set, gets one line per request: route, method, path and
	// status. Never credentials or bodies.
	Logger *slog.Logger
	// Now stamps records. Default time.Now.
	Now func() time.Time
}

// Server is a simulated Plivo API. Its methods are safe for concurrent use.
type Server struct {
	cfg Config

	mu         sync.Mutex
	token      string
	signups    map[string]Signup // by WABA ID
	phoneOwner map[string]string // phone number ID -> WABA ID
	successes  int
	numbers    map[string]bool   // sanitized sender numbers
	webhooks   map[string]string // Webhook URL, by sanitized sender number
	messages   []Message
	sequences  map[string]int        // status callbacks sent, by message UUID
	templates  map[string][]Template // by WABA ID, in creation order
	calls      simkit.Calls[Kind]    // and failures, per route
	lost       *lostResponse
}

// New returns a Server with cfg's zero fields defaulted.
func New(cfg Config) *Server {
	cfg.MainAuthToken = cmp.Or(cfg.MainAuthToken, cfg.AuthToken)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = upstream.HTTPClient(defaultCallbackLimit)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg}
	s.Reset()
	return s
}

// Reset returns the Server to its state after New: the configured auth
// token, no signups, numbers, Webhook URLs, messages, templates, failures
// or counters.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = s.cfg.AuthToken
	s.signups = map[string]Signup{}
	s.phoneOwner = map[string]string{}
	s.successes = 0
	s.numbers = map[string]bool{}
	s.webhooks = map[string]string{}
	s.messages = nil
	s.sequences = map[string]int{}
	s.templates = map[string][]Template{}
	s.calls.Reset()
	s.lost = nil
}

// RotateToken replaces the auth token: from now on the old one gets 401,
// as after a rotation in the Plivo console, and callbacks are signed with
// the new one.
func (s *Server) RotateToken(newToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = newToken
}

// Calls returns how many requests reached route, failed ones included.
func (s *Server) Calls(route string) int { return s.calls.Calls(route) }

// Handler returns the HTTP handler: Plivo's API under /v1/Account/ and the
// simulator's own controls under /_sim/plivo/.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/plivo/") {
		s.serveControl(rw, r)
		return
	}
	status := 0 // for the log line
	w := &simkit.HeaderHook{ResponseWriter: rw, Before: func(_ http.Header, code int) { status = code }}
	authID, route, handler, methods := s.route(r)
	defer func() {
		if s.cfg.Logger != nil {
			s.cfg.Logger.Info("plivosim request", "route", route, "method", r.Method,
				"path", r.URL.Path, "status", status)
		}
	}()

	if !simkit.Sleep(r.Context(), s.cfg.Latency) {
		return // the client gave up
	}

	s.calls.Count(route)
	s.mu.Lock()
	token := s.token
	s.mu.Unlock()

	if route == RouteOther && authID == "" {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != authID || user != s.cfg.AuthID ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(token)) != 1 {
		writeError(w, http.StatusUnauthorized, MsgUnauthenticated)
		return
	}
	if handler == nil {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	if !slices.Contains(strings.Split(methods, ", "), r.Method) {
		w.Header().Set("Allow", methods)
		writeError(w, http.StatusMethodNotAllowed, "Method \""+r.Method+"\" not allowed.")
		return
	}

	if kind, ok := s.calls.Take(route); ok {
		s.fail(w, r, route, kind)
		return
	}
	handler(w, r)
}

// route splits /v1/Account/{auth_id}/{rest} and picks the handler. Plivo's
// paths end with a slash; one without is not found (the guide's URLs all
// have it).
func (s *Server) route(r *http.Request) (authID, route string, h http.HandlerFunc, methods string) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/Account/")
	if !ok {
		return "", RouteOther, nil, ""
	}
	authID, rest, _ = strings.Cut(rest, "/")
	if !strings.HasSuffix(r.URL.Path, "/") {
		return authID, RouteOther, nil, ""
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case rest == "":
		return authID, RouteAccount, s.account, "GET"
	case rest == "WhatsApp/EmbeddedSignup/":
		return authID, RouteSignup, s.embeddedSignup, "POST"
	case rest == "Message/":
		return authID, RouteMessage, s.sendMessage, "POST"
	case len(parts) == 3 && parts[0] == "WhatsApp" && parts[1] == "Template":
		return authID, RouteTemplate, func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				s.createTemplate(w, r, parts[2])
			} else {
				s.listTemplates(w, r, authID, parts[2])
			}
		}, "GET, POST"
	case len(parts) == 4 && parts[0] == "WhatsApp" && parts[1] == "Template":
		return authID, RouteTemplate, func(w http.ResponseWriter, r *http.Request) {
			s.getTemplate(w, parts[2], parts[3])
		}, "GET"
	}
	return authID, RouteOther, nil, ""
}

// account serves the account read: the preflight check that the
// credentials work.
func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	simkit.WriteJSON(w, http.StatusOK, map[string]any{
		"account_type":  "standard",
		"address":       "",
		"api_id":        simkit.NewUUID(),
		"auth_id":       s.cfg.AuthID,
		"auto_recharge": false,
		"billing_mode":  "prepaid",
		"cash_credits":  defaultCashCredits,
		"city":          "",
		"name":          defaultAccountName,
		"resource_uri":  "/v1/Account/" + s.cfg.AuthID + "/",
		"state":         "",
		"timezone":      "Asia/Kolkata",
	})
}

// errorBody is Plivo's usual error shape.
type errorBody struct {
	APIID string `json:"api_id"`
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	simkit.WriteJSON(w, status, errorBody{APIID: simkit.NewUUID(), Error: msg})
}

// decodeObject reads a JSON object body, keeping numbers as json.Number.
func decodeObject(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		// Plivo's text for a malformed body is not documented.
		writeError(w, http.StatusBadRequest, "Request body must be a JSON object.")
		return nil, false
	}
	return m, true
}

// str reads a string parameter; a JSON number counts as its digits, since
// Meta IDs are sometimes sent unquoted.
func str(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	}
	return ""
}
