package console

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"

	"github.com/techprovider/wa-onboarding/shared/demo"
)

// maxTappedBody bounds the request body the tap buffers to record it; the
// demo's Plivo calls are small JSON bodies.
const maxTappedBody = 1 << 20

// PlivoTap is a reverse proxy the local stack puts between the demo
// function and Plivo (or its simulator). The demo runs as its own process,
// so the console cannot hand it a demo.Trace in a context; the tap records
// each exchange with demo.TracingClient's transport instead (credentials
// redacted the same way), and During returns those made while the console
// ran one demo.
type PlivoTap struct {
	proxy *httputil.ReverseProxy

	runMu sync.Mutex // one console run at a time, so a run's exchanges are its own

	mu      sync.Mutex
	current *[]demo.Exchange // nil between runs: the demo route's own calls are not recorded
}

// NewPlivoTap returns a tap that forwards to target, Plivo's base URL.
func NewPlivoTap(target string) (*PlivoTap, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("console: Plivo URL %q is not an http(s) URL", target)
	}
	return &PlivoTap{proxy: &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = u.Host
		},
		Transport: demo.TracingClient(&http.Client{}).Transport,
	}}, nil
}

// ServeHTTP forwards r to Plivo, recording the exchange when a console run
// is under way.
func (t *PlivoTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	current := t.current
	t.mu.Unlock()
	if current == nil {
		t.proxy.ServeHTTP(w, r)
		return
	}
	if r.Body != nil {
		// The trace reads the body through GetBody, which a proxied
		// request does not have until the body is held in memory.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxTappedBody))
		if err != nil {
			http.Error(w, "console tap: reading the request: "+err.Error(), http.StatusBadGateway)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	ctx, trace := demo.WithTrace(r.Context())
	t.proxy.ServeHTTP(w, r.WithContext(ctx))
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.current == current {
		*current = append(*current, trace.Exchanges()...)
	}
}

// During runs fn and returns the Plivo exchanges made while it ran.
func (t *PlivoTap) During(fn func()) []demo.Exchange {
	t.runMu.Lock()
	defer t.runMu.Unlock()
	var got []demo.Exchange
	t.mu.Lock()
	t.current = &got
	t.mu.Unlock()
	fn()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.current = nil
	return got
}
