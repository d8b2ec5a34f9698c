package metasim

import (
	"cmp"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// Endpoint names, as FailNext, Calls and Request.Endpoint use them.
const (
	EndpointOAuth          = "oauth"           // GET /{ver}/oauth/access_token
	EndpointDebugToken     = "debug_token"     // GET /{ver}/debug_token
	EndpointPhoneNumbers   = "phone_numbers"   // GET /{ver}/{waba_id}/phone_numbers
	EndpointOwner          = "owner"           // GET /{ver}/{waba_id}
	EndpointSubscribedApps = "subscribed_apps" // POST, GET, DELETE /{ver}/{waba_id}/subscribed_apps
	// EndpointOther counts Graph paths the simulator does not serve; they
	// get Meta's "Unknown path components" error.
	EndpointOther = "other"
)

// endpoints lists the names FailNext accepts.
var endpoints = []string{EndpointOAuth, EndpointDebugToken, EndpointPhoneNumbers, EndpointOwner, EndpointSubscribedApps}

// Defaults for zero Config fields.
const (
	DefaultCodeTTL = 30 * time.Second
	DefaultAppName = "Tech Provider Sandbox"
	// maxLogged is how many requests Requests keeps, newest last.
	maxLogged = 10000
)

// Config configures a Server.
type Config struct {
	// AppID and AppSecret are the Meta app's credentials: client_id and
	// client_secret of the code exchange, the app token "AppID|AppSecret" of
	// debug_token, and the key of appsecret_proof.
	AppID, AppSecret string
	// SolutionID is the Multi-Partner Solution a grant is created under
	// when IssueCode is given none (Grant.SolutionID).
	SolutionID string
	// CodeTTL is how long an issued code can be exchanged. Meta's codes
	// live for minutes at most; the short default makes expiry testable.
	// Default DefaultCodeTTL.
	CodeTTL time.Duration
	// TokenTTL, when positive, makes business tokens expire (debug_token
	// expires_at, code 190 subcode 463 afterwards). Zero gives what
	// Embedded Signup really issues: a system-user token that never expires.
	TokenTTL time.Duration
	// Latency is slept before every Graph request, to model the network.
	Latency time.Duration
	// Now is the clock for code and token expiry. Default time.Now.
	Now func() time.Time
	// Logger, when set, gets one line per request: endpoint, path, the
	// names of the query parameters and the status. Never values.
	Logger *slog.Logger
}

// Server is a simulated Graph API. Its methods are safe for concurrent use.
type Server struct {
	cfg Config

	mu     sync.Mutex
	codes  map[string]*codeState
	tokens map[string]*tokenState
	// subscribed holds the WABAs our app is subscribed to (subscribed_apps).
	subscribed map[string]bool
	calls      simkit.Calls[Kind] // and failures, per endpoint
	requests   []Request
}

// New returns a Server with cfg's zero fields defaulted.
func New(cfg Config) *Server {
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg}
	s.Reset()
	return s
}

// Reset forgets every issued code and token, webhook subscription, injected
// failure, counter and logged request, as if the Server were new.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes = map[string]*codeState{}
	s.tokens = map[string]*tokenState{}
	s.subscribed = map[string]bool{}
	s.calls.Reset()
	s.requests = nil
}

// Request is one logged Graph request. It holds the names of the query
// parameters but none of their values, so that it can be printed.
type Request struct {
	Endpoint string `json:"endpoint"`
	Method   string `json:"method"`
	// Path is the URL path; it holds IDs (WABA IDs), which are not secret.
	Path string `json:"path"`
	// QueryKeys are the sorted names of the query (and, for POST, form)
	// parameters, e.g. ["access_token" "appsecret_proof"].
	QueryKeys []string `json:"query_keys"`
	// TokenIn says where the access token came from: "query", "header" or
	// "" when there was none.
	TokenIn string `json:"token_in,omitempty"`
	Status  int    `json:"status"`
	// Injected is the failure FailNext injected, if any.
	Injected Kind `json:"injected,omitempty"`
}

// HasQueryKey reports whether the request carried the named parameter.
func (r Request) HasQueryKey(name string) bool {
	return slices.Contains(r.QueryKeys, name)
}

// Calls returns how many requests reached endpoint, failed ones included.
func (s *Server) Calls(endpoint string) int { return s.calls.Calls(endpoint) }

// Requests returns a copy of the request log, oldest first: the last
// 10000 requests since New or Reset.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.QueryKeys = slices.Clone(r.QueryKeys)
		out[i] = r
	}
	return out
}

// Handler returns the HTTP handler: the Graph API under /{ver}/... (or
// unversioned paths, which Graph also accepts) and the simulator's own
// controls under /_sim/meta/.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

// versionRE matches a Graph API version path segment such as "v19.0".
var versionRE = regexp.MustCompile(`^v\d+\.\d+$`)

// response is a handler's answer, kept as data so that injected failures can
// replace it after the handler ran (KindTransientAfterCommit) and so that the
// log knows the status.
type response struct {
	status      int
	contentType string
	body        []byte
	header      http.Header
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/meta/") {
		s.serveControl(w, r)
		return
	}
	if r.Method == http.MethodPost {
		_ = r.ParseForm() // Graph takes POST parameters as a form
	}
	endpoint, route := s.route(r)

	if !simkit.Sleep(r.Context(), s.cfg.Latency) {
		return // the client gave up; nobody reads an answer
	}

	kind, _ := s.calls.Begin(endpoint)

	var resp response
	switch kind {
	case "":
		resp = route()
	case KindTransientAfterCommit:
		_ = route() // the side effects (a consumed code) stay
		resp = failureResponse(KindTransient, "")
	case KindHang:
		if !simkit.Hang(r) {
			s.record(r, endpoint, 0, kind)
			return
		}
		resp = failureResponse(KindTransient, "")
	default:
		resp = failureResponse(kind, cmp.Or(pathObject(r), s.cfg.AppID))
	}
	s.record(r, endpoint, resp.status, kind)
	resp.write(w)
}

// route classifies the request and returns the handler that answers it.
func (s *Server) route(r *http.Request) (string, func() response) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) > 0 && versionRE.MatchString(parts[0]) {
		if until, retired := s.retired(parts[0]); retired {
			return EndpointOther, func() response { return expiredVersion(parts[0], until) }
		}
		parts = parts[1:]
	}
	switch {
	case len(parts) == 2 && parts[0] == "oauth" && parts[1] == "access_token":
		return EndpointOAuth, func() response { return s.exchangeCode(r) }
	case len(parts) == 1 && parts[0] == "debug_token":
		return EndpointDebugToken, func() response { return s.debugToken(r) }
	case len(parts) == 2 && parts[1] == "phone_numbers" && simkit.IsDigits(parts[0]):
		return EndpointPhoneNumbers, func() response { return s.phoneNumbers(r, parts[0]) }
	case len(parts) == 2 && parts[1] == "subscribed_apps" && simkit.IsDigits(parts[0]):
		return EndpointSubscribedApps, func() response { return s.subscribedApps(r, parts[0]) }
	case len(parts) == 1 && simkit.IsDigits(parts[0]):
		return EndpointOwner, func() response { return s.wabaNode(r, parts[0]) }
	}
	return EndpointOther, func() response {
		return graphError("OAuthException", 2500, 0,
			"Unknown path components: /"+strings.Join(parts, "/"))
	}
}

// pathObject returns the Graph object ID the request's path starts with
// (a WABA's), or "".
func pathObject(r *http.Request) string {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) > 0 && versionRE.MatchString(parts[0]) {
		parts = parts[1:]
	}
	if len(parts) > 0 && simkit.IsDigits(parts[0]) {
		return parts[0]
	}
	return ""
}

// record appends to the request log and writes the optional log line.
func (s *Server) record(r *http.Request, endpoint string, status int, kind Kind) {
	keys := paramNames(r)
	_, tokenIn := accessToken(r)
	req := Request{
		Endpoint:  endpoint,
		Method:    r.Method,
		Path:      r.URL.Path,
		QueryKeys: keys,
		TokenIn:   tokenIn,
		Status:    status,
		Injected:  kind,
	}
	s.mu.Lock()
	if len(s.requests) >= maxLogged {
		// A long local session or benchmark must not grow without bound;
		// tests look at far fewer requests than this.
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-maxLogged+1)
	}
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	if s.cfg.Logger != nil {
		s.cfg.Logger.Info("metasim request",
			"endpoint", endpoint, "method", r.Method, "path", r.URL.Path,
			"query_keys", keys, "token_in", tokenIn, "status", status, "injected", string(kind))
	}
}

// paramNames returns the sorted, distinct names of the query parameters and,
// for a form POST, of the form fields.
func paramNames(r *http.Request) []string {
	keys := slices.AppendSeq(slices.Collect(maps.Keys(r.URL.Query())), maps.Keys(r.PostForm))
	slices.Sort(keys)
	return slices.Compact(keys)
}

// param reads a parameter from the query or, for POST, the form body: Graph
// accepts both.
func param(r *http.Request, name string) string {
	if v := r.URL.Query().Get(name); v != "" {
		return v
	}
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		return r.PostForm.Get(name)
	}
	return ""
}

// accessToken returns the request's access token and where it came from.
// The access_token parameter wins over the Authorization header, which Graph
// accepts as "Bearer <token>" or "OAuth <token>".
func accessToken(r *http.Request) (token, in string) {
	if t := param(r, "access_token"); t != "" {
		return t, "query"
	}
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "OAuth "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):]), "header"
		}
	}
	return "", ""
}

func (resp response) write(w http.ResponseWriter) {
	h := w.Header()
	maps.Copy(h, resp.header)
	h.Set("Content-Type", resp.contentType)
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}
