// Package console is the operator console of the local stack: one page at
// /console with forms for the two App Review demos (send a WhatsApp message,
// create a message template) that shows, for each run, the request the
// Tech Provider's backend made to the demo API, and the exact request the
// API made to Plivo (method, URL, headers and JSON body, auth token
// redacted) with Plivo's answer. That is the "from the UI to the API call
// and the result" Meta's App Review videos must show (Plivo guide 3.4).
//
// It invokes the demo function the local stack runs (its built bootstrap)
// with an API Gateway payload v2 event, the way the local stack's router
// does, and shows the Plivo exchanges demo.WithTrace records when the
// handler runs in the same process (console tests). It also
// serves the local doctor's report at /console/doctor.
//
// It is never deployed: the local stack mounts it with
//
//	handler = console.Wrap(handler, os.Getenv, demo, customers)
package console

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/infra/sim/apigatewaysim"
	"github.com/techprovider/wa-onboarding/infra/stack/selfcheck"
	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/demo"
)

// Paths the console serves.
const (
	Prefix      = "/console"
	AssetsPath  = Prefix + "/assets/"
	RunPath     = Prefix + "/run/"
	DoctorPath  = Prefix + "/doctor"
	maxRunBody  = apigw.MaxBodyBytes
	doctorLimit = 30 * time.Second
	// consoleCaller is the IAM caller the console's events carry, as the
	// IAM authorizer would fill it in.
	consoleCaller = "arn:aws:iam::000000000000:user/local-operator-console"
)

//go:embed assets
var assets embed.FS

var pageTemplate = template.Must(template.ParseFS(assets, "assets/console.html.tmpl"))

type asset struct {
	body        []byte
	contentType string
	version     string
}

// Console serves /console and passes every other request to the handler it
// wraps.
type Console struct {
	next     http.Handler
	getenv   config.Getenv
	demo     apigw.Handler
	buildErr error
	assets   map[string]asset
	// Doctor runs the doctor for a request; selfcheck.Run by default.
	Doctor func(ctx context.Context, pageURL string) (any, error)
	// WABAs lists the onboarded WABAs the demos can use; Wrap reads them
	// from the signup table, New leaves it nil (the list answers 503).
	WABAs func(ctx context.Context) ([]WABA, error)
	// Tap records the Plivo exchanges of a demo that runs as its own
	// process (plivotap.go).
	Tap *PlivoTap
	// Customers is the per-customer route's function (customers.go): the
	// stack's running one, given to Wrap.
	Customers    apigw.Handler
	customersErr error
}

// Wrap returns a handler that serves the console under /console and passes
// everything else to next, running demo for the demo forms and customers
// for the per-customer view; without them the console page says why.
func Wrap(next http.Handler, getenv config.Getenv, demo, customers apigw.Handler) *Console {
	c := New(next, getenv, demo)
	c.WABAs = tableWABAs(getenv)
	c.Customers = customers
	if customers == nil {
		c.customersErr = errNoCustomers
	}
	if demo == nil {
		c.buildErr = errNoDemo
	}
	return c
}

var (
	errNoDemo      = errors.New("the stack runs no DemoFunction")
	errNoCustomers = errors.New("the stack runs no CustomersFunction")
)

// New returns a console over an already built demo handler; nil next
// answers 404 outside /console.
func New(next http.Handler, getenv config.Getenv, demoHandler apigw.Handler) *Console {
	if next == nil {
		next = http.NotFoundHandler()
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := &Console{next: next, getenv: getenv, demo: demoHandler, assets: map[string]asset{}}
	for _, name := range []string{"console.css", "console.js", "lifecycle.js"} {
		b, err := assets.ReadFile("assets/" + name)
		if err != nil {
			panic("console: missing asset " + name)
		}
		sum := sha256.Sum256(b)
		c.assets[name] = asset{body: b, contentType: mime.TypeByExtension(path.Ext(name)), version: hex.EncodeToString(sum[:6])}
	}
	c.Doctor = func(ctx context.Context, pageURL string) (any, error) {
		return selfcheck.Run(ctx, selfcheck.Options{Getenv: getenv, PageURL: pageURL}, doctorLimit)
	}
	return c
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p != Prefix && !strings.HasPrefix(p, Prefix+"/") {
		c.next.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if !strings.HasPrefix(p, RunPath) && r.Method != http.MethodGet && r.Method != http.MethodHead {
		// Only a run changes anything.
		h.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	switch {
	case p == Prefix || p == Prefix+"/":
		c.page(w, r)
	case strings.HasPrefix(p, AssetsPath):
		c.asset(w, r, strings.TrimPrefix(p, AssetsPath))
	case p == DoctorPath:
		c.doctor(w, r)
	case p == WABAsPath:
		c.wabas(w, r)
	case strings.HasPrefix(p, CustomersPath):
		c.customers(w, r, customerRef(r.URL.EscapedPath()))
	case strings.HasPrefix(p, RunPath):
		c.run(w, r, strings.TrimPrefix(p, RunPath))
	default:
		writeError(w, http.StatusNotFound, "no such console page")
	}
}

func (c *Console) page(w http.ResponseWriter, _ *http.Request) {
	sandbox := strings.EqualFold(c.getenv(config.EnvSandbox), "true")
	plivoHost := c.getenv(config.EnvPlivoAPIURL)
	if u, err := url.Parse(plivoHost); err == nil && u.Host != "" {
		plivoHost = u.Host
	}
	plivoHost = cmp.Or(plivoHost, "api.plivo.com")
	data := map[string]any{
		"CSS":       AssetsPath + "console.css?v=" + c.assets["console.css"].version,
		"JS":        AssetsPath + "console.js?v=" + c.assets["console.js"].version,
		"LifeJS":    AssetsPath + "lifecycle.js?v=" + c.assets["lifecycle.js"].version,
		"Sandbox":   sandbox,
		"PlivoHost": plivoHost,
		"Table":     c.getenv(config.EnvTableName),
		"BuildErr":  "",
	}
	if c.buildErr != nil {
		data["BuildErr"] = c.buildErr.Error()
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	_, _ = w.Write(buf.Bytes())
}

func (c *Console) asset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := c.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(a.body)
}

func (c *Console) doctor(w http.ResponseWriter, r *http.Request) {
	rep, err := c.Doctor(r.Context(), selfcheck.ServedFrom(r))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// APICall is the request the console made to the demo API on the Tech
// Provider backend's behalf, and the API's answer.
type APICall struct {
	Method       string          `json:"method"`
	Path         string          `json:"path"`
	Route        string          `json:"route"`
	RequestBody  json.RawMessage `json:"request_body,omitempty"`
	Status       int             `json:"status"`
	ResponseBody json.RawMessage `json:"response_body"`
	RetryAfter   string          `json:"retry_after,omitempty"`
	DurationMS   float64         `json:"duration_ms"`
}

// Run is one console run: the API call and the Plivo exchanges it caused.
type Run struct {
	API   APICall         `json:"api"`
	Plivo []demo.Exchange `json:"plivo"`
}

// run serves POST /console/run/message, POST /console/run/template and
// GET /console/run/templates/{waba_id}.
func (c *Console) run(w http.ResponseWriter, r *http.Request, what string) {
	if c.demo == nil {
		writeError(w, http.StatusServiceUnavailable, "the demo function did not build: "+errString(c.buildErr))
		return
	}
	var call APICall
	var body []byte
	switch {
	case what == "message" && r.Method == http.MethodPost:
		call = APICall{Method: http.MethodPost, Path: demo.PathMessages, Route: demo.RouteSendMessage}
	case what == "template" && r.Method == http.MethodPost:
		call = APICall{Method: http.MethodPost, Path: demo.PathTemplates, Route: demo.RouteCreateTemplate}
	case strings.HasPrefix(what, "templates/") && r.Method == http.MethodGet:
		waba := strings.TrimPrefix(what, "templates/")
		call = APICall{Method: http.MethodGet, Path: demo.PathTemplates + "/" + url.PathEscape(waba), Route: demo.RouteListTemplates}
	default:
		writeError(w, http.StatusNotFound, "no such console action")
		return
	}
	if call.Method == http.MethodPost {
		if msg := crossSite(r); msg != "" {
			writeError(w, http.StatusForbidden, msg)
			return
		}
		var err error
		if body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxRunBody)); err != nil {
			writeError(w, http.StatusRequestEntityTooLarge, "the body is too large")
			return
		}
		if json.Valid(body) {
			call.RequestBody = body
		}
	}
	ev := event(call, body)
	if call.Route == demo.RouteListTemplates {
		ev.PathParameters = map[string]string{"waba_id": strings.TrimPrefix(what, "templates/")}
	}
	// An in-process demo records through ctx's trace, the demo function's
	// binary through the tap in front of Plivo.
	ctx, trace := demo.WithTrace(r.Context())
	var (
		resp   apigw.Response
		err    error
		tapped []demo.Exchange
	)
	start := time.Now()
	run := func() { resp, err = c.demo(ctx, ev) }
	if c.Tap != nil {
		tapped = c.Tap.During(run)
	} else {
		run()
	}
	call.answer(start, resp, err)
	exchanges := append(trace.Exchanges(), tapped...)
	if exchanges == nil {
		exchanges = []demo.Exchange{}
	}
	writeJSON(w, http.StatusOK, Run{API: call, Plivo: exchanges})
}

// crossSite refuses requests another site's page could make from the
// operator's browser: the console sends real messages when the stack talks
// to real Plivo.
func crossSite(r *http.Request) string {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return "send application/json"
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return "cross-site requests are refused"
	}
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			return "cross-origin requests are refused"
		}
	}
	return ""
}

// event builds the payload v2 event API Gateway would send for call, with
// the IAM authorizer's caller filled in.
func event(call APICall, body []byte) events.APIGatewayV2HTTPRequest {
	r := httptest.NewRequest(call.Method, "http://localhost"+call.Path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "local-operator-console")
	ev, _ := apigatewaysim.Event(r, call.Route, nil)
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{AccountID: "000000000000", UserARN: consoleCaller, UserID: "AIDALOCALCONSOLE"},
	}
	return ev
}

// answer records a handler's answer to the call started at start.
func (call *APICall) answer(start time.Time, resp apigw.Response, err error) {
	call.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		// Lambda would answer 502 to API Gateway for a handler error.
		resp = apigw.JSON(http.StatusBadGateway, map[string]any{"message": "Internal Server Error"})
	}
	call.Status = resp.StatusCode
	call.RetryAfter = resp.Headers["Retry-After"]
	call.ResponseBody = json.RawMessage(resp.Body)
	if !json.Valid(call.ResponseBody) {
		call.ResponseBody, _ = json.Marshal(resp.Body)
	}
}

func errString(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
