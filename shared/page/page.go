// Package page serves the onboarding page: the HTML that launches Meta's
// WhatsApp Embedded Signup, its script and stylesheet, and, in sandbox mode
// only, a simulated Meta JavaScript SDK.
//
// Everything the page serves is public. Settings reach the script through
// data- attributes, never inline script, so the Content-Security-Policy can
// forbid inline script altogether.
package page

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/esversion"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Paths the page function serves, relative to the configured base path.
// The sandbox files sit under /static/ so that the deployed API needs no
// route of its own for them; outside sandbox mode they are 404s.
const (
	IndexPath      = "/"
	StaticPrefix   = "/static/"
	SandboxPrefix  = "/static/sandbox/"
	SandboxSDKPath = "/static/sandbox/sdk.js"
	// SignupPath is the signup API the page posts to; the status API is
	// SignupPath + "/{waba_id}".
	SignupPath = "/api/whatsapp/embedded-signup"
	// SimPath prefixes the simulators' controls, which the sandbox SDK
	// calls (e.g. /_sim/meta/codes for a single-use code). The local stack
	// mounts them in sandbox mode only.
	SimPath = "/_sim"
)

// SDKURL is Meta's JavaScript SDK, loaded outside sandbox mode.
const SDKURL = "https://connect.facebook.net/en_US/sdk.js"

// MetaOrigins are the only origins whose WA_EMBEDDED_SIGNUP messages the
// page accepts outside sandbox mode: facebook.com and its subdomains, over
// https on the default port. Meta does not document which of its hosts
// posts the messages, and the policy already trusts https://*.facebook.com
// with the frames that post them. The script compares the parsed host
// (onboarding.js, originAllowed), so https://evilfacebook.com is not one.
var MetaOrigins = []string{"https://facebook.com", "https://*.facebook.com"}

//go:embed assets
var assets embed.FS

var indexTemplate = template.Must(template.ParseFS(assets, "assets/index.html.tmpl"))

// Option changes how Handler serves the page.
type Option func(*options)

type options struct {
	sdkOrigin string // sandbox only: WithSandboxSDKOrigin
}

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	version     string // short content hash: the ?v= of its URL and its ETag
}

type server struct {
	cfg     config.Page
	log     *slog.Logger
	base    string
	headers map[string]string
	static  map[string]asset // by path below base, e.g. /static/onboarding.js
	index   []byte
	err     error // a render failure, reported on every page request
	// sdkOrigin serves the sandbox SDK from another origin (sandbox_origin.go).
	sdkOrigin string
}

// Handler serves the onboarding page (GET and HEAD /), its static assets
// under /static/, and in sandbox mode the simulated Meta SDK under
// /static/sandbox/. Every other path is a 404. Paths may carry
// cfg.APIBasePath as a prefix.
func Handler(cfg config.Page, log *slog.Logger, opts ...Option) apigw.Handler {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if log == nil {
		log = slog.Default()
	}
	s := &server{
		cfg:    cfg,
		log:    log,
		base:   strings.TrimRight(cfg.APIBasePath, "/"),
		static: map[string]asset{},
	}
	s.headers = securityHeaders(cfg.Sandbox)
	s.load("static", StaticPrefix)
	if cfg.Sandbox {
		s.load("sandbox", SandboxPrefix)
		if o.sdkOrigin != "" {
			s.sdkOrigin = o.sdkOrigin
			s.headers = withSDKOrigin(s.headers, o.sdkOrigin)
		}
	}
	s.index, s.err = s.render()
	return s.serve
}

// contentTypes are the types of the assets' extensions. mime.TypeByExtension
// would read the system's MIME files on first use: 3 ms of every cold start
// for the four extensions the page ships (a test checks every asset is here).
var contentTypes = map[string]string{
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".html": "text/html; charset=utf-8",
}

// load registers the embedded files of assets/dir under prefix.
func (s *server) load(dir, prefix string) {
	entries, err := fs.ReadDir(assets, "assets/"+dir)
	if err != nil {
		panic("page: embedded assets missing: " + err.Error()) // a build error, not a runtime one
	}
	for _, e := range entries {
		b, _ := fs.ReadFile(assets, "assets/"+dir+"/"+e.Name())
		sum := sha256.Sum256(b)
		ct, ok := contentTypes[path.Ext(e.Name())]
		if !ok {
			ct = "application/octet-stream"
		}
		s.static[prefix+e.Name()] = asset{body: b, contentType: ct, version: hex.EncodeToString(sum[:6])}
	}
}

// assetURL is an asset's URL with its content version, so browsers may cache
// it for good and still see a new deploy at once.
func (s *server) assetURL(p string) string {
	return s.base + p + "?v=" + s.static[p].version
}

// pageData is what the template renders. Every field is public.
type pageData struct {
	AppID, ConfigID, GraphVersion, SolutionID string
	// ESVersion and Extras are the Embedded Signup version and the
	// extras object FB.login gets for it (esversion.ExtrasFor), as JSON.
	ESVersion, Extras                  string
	SignupURL, SDKURL, Origins, SimURL string
	Sandbox                            bool
	CSS, JS, Icon, SandboxCSS          string
}

func (s *server) render() ([]byte, error) {
	d := pageData{
		AppID:        s.cfg.MetaAppID,
		ConfigID:     s.cfg.MetaConfigID,
		GraphVersion: s.cfg.GraphVersion,
		SolutionID:   s.cfg.PlivoSolutionID,
		ESVersion:    s.cfg.ESVersion,
		Extras:       esversion.ExtrasFor(s.cfg.ESVersion, s.cfg.PlivoSolutionID).JSON(),
		SignupURL:    s.base + SignupPath,
		SDKURL:       SDKURL,
		Origins:      strings.Join(MetaOrigins, " "),
		Sandbox:      s.cfg.Sandbox,
		CSS:          s.assetURL(StaticPrefix + "onboarding.css"),
		JS:           s.assetURL(StaticPrefix + "onboarding.js"),
		Icon:         s.assetURL(StaticPrefix + "icon.svg"),
	}
	if s.cfg.Sandbox {
		// The simulated SDK posts its messages from this page's own origin;
		// "self" tells the script to accept exactly that one.
		d.SDKURL = s.assetURL(SandboxSDKPath)
		d.Origins = "self"
		if s.sdkOrigin != "" {
			// Served from another origin, as Meta's is: only its messages count.
			d.SDKURL, d.Origins = s.sdkOrigin+d.SDKURL, s.sdkOrigin
		}
		d.SimURL = s.base + SimPath
		d.SandboxCSS = s.assetURL(SandboxPrefix + "sdk.css")
		if d.AppID == "" {
			d.AppID = "sandbox-app"
		}
		if d.ConfigID == "" {
			d.ConfigID = "sandbox-config"
		}
	}
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *server) serve(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	start := time.Now()
	resp := s.route(ctx, req)
	for k, v := range s.headers {
		if _, set := resp.Headers[k]; !set {
			resp.Headers[k] = v
		}
	}
	if apigw.Method(req) == http.MethodHead {
		resp.Body, resp.IsBase64Encoded = "", false
	}
	s.log.InfoContext(ctx, "request",
		"request_id", req.RequestContext.RequestID,
		"route", req.RouteKey,
		"method", apigw.Method(req),
		"path", req.RawPath,
		"status", resp.StatusCode,
		"duration_ms", float64(time.Since(start).Microseconds())/1000,
	)
	return resp, nil
}

func (s *server) route(ctx context.Context, req apigw.Request) apigw.Response {
	rid := req.RequestContext.RequestID
	p := apigw.RoutePath(req)
	if s.base != "" && (p == s.base || strings.HasPrefix(p, s.base+"/")) {
		p = strings.TrimPrefix(p, s.base)
	}
	if p == "" {
		p = IndexPath
	}
	var a asset
	isIndex := p == IndexPath
	if !isIndex {
		var ok bool
		if a, ok = s.static[p]; !ok {
			return apigw.Error(ctx, s.log, rid, onboarding.Errorf(onboarding.CodeNotFound, "There is nothing at this address."))
		}
	}
	if m := apigw.Method(req); m != http.MethodGet && m != http.MethodHead {
		resp := apigw.Error(ctx, s.log, rid, onboarding.Errorf(onboarding.CodeMethodNotAllowed, "Use GET for this resource."))
		resp.Headers["Allow"] = "GET, HEAD"
		return resp
	}
	if isIndex {
		if s.err != nil {
			return apigw.Error(ctx, s.log, rid, s.err)
		}
		return apigw.Response{
			StatusCode: http.StatusOK,
			Headers: map[string]string{
				"Content-Type":  "text/html; charset=utf-8",
				"Cache-Control": "no-store",
			},
			Body: string(s.index),
		}
	}
	etag := `"` + a.version + `"`
	h := map[string]string{"Content-Type": a.contentType, "ETag": etag, "Cache-Control": "no-cache"}
	if req.QueryStringParameters["v"] == a.version {
		// The URL names this exact content, so it can never change.
		h["Cache-Control"] = "public, max-age=31536000, immutable"
	}
	if inm := apigw.Header(req, "If-None-Match"); inm == "*" || strings.Contains(inm, etag) {
		return apigw.Response{StatusCode: http.StatusNotModified, Headers: h}
	}
	return apigw.Response{StatusCode: http.StatusOK, Headers: h, Body: string(a.body)}
}

// securityHeaders are the headers of every answer of the page function.
// Outside sandbox mode the policy admits Meta's SDK and nothing else from
// another origin; in sandbox mode it admits nothing from another origin.
// No site may frame the page.
func securityHeaders(sandbox bool) map[string]string {
	script, style, img, connect, frame := "'self'", "'self'", "'self' data:", "'self'", "'none'"
	if !sandbox {
		// Meta's SDK loads from connect.facebook.net, talks to
		// *.facebook.com (login status, app events), frames its
		// cross-domain helper from there and injects <style> elements for
		// its dialogs, which a nonce cannot cover.
		script += " https://connect.facebook.net"
		style += " 'unsafe-inline'"
		img += " https://*.facebook.com https://*.fbcdn.net"
		connect += " https://*.facebook.com https://connect.facebook.net"
		frame = "https://*.facebook.com"
	}
	csp := strings.Join([]string{
		"default-src 'none'",
		"script-src " + script,
		"style-src " + style,
		"img-src " + img,
		"font-src 'self'",
		"connect-src " + connect,
		"frame-src " + frame,
		"frame-ancestors 'none'",
		"form-action 'self'",
		"object-src 'none'",
		"base-uri 'none'",
	}, "; ")
	return map[string]string{
		"Content-Security-Policy": csp,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "strict-origin-when-cross-origin",
		// Meta's login window reports back through window.opener.
		"Cross-Origin-Opener-Policy": "same-origin-allow-popups",
		"Permissions-Policy":         "camera=(), microphone=(), geolocation=(), payment=()",
		"X-Frame-Options":            "DENY", // for browsers that predate frame-ancestors
		// API Gateway serves only HTTPS; this keeps a customer's browser
		// from trying plain HTTP on a later link first. A year, and no
		// includeSubDomains: on a custom domain, the Tech Provider's other
		// hosts are not ours to pin. Browsers ignore it over the local
		// stack's plain HTTP.
		"Strict-Transport-Security": "max-age=31536000",
	}
}
