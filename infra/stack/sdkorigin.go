package stack

import (
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
	"github.com/techprovider/wa-onboarding/shared/page"
)

// sdkOrigin serves the simulated Meta SDK and its message relay on a second
// port, so that in sandbox mode they come from another origin than the
// page, as connect.facebook.net and www.facebook.com do for the real page.
// It answers only GETs of the page function's sandbox files (through the
// stack's own handler) and lets the page, and only the page, frame them.
type sdkOrigin struct {
	pageOrigin string
	next       atomic.Pointer[http.Handler]
}

func (o *sdkOrigin) serve(h http.Handler) { o.next.Store(&h) }

func (o *sdkOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	next := o.next.Load()
	switch {
	case next == nil:
		http.Error(w, "the local stack is starting", http.StatusServiceUnavailable)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
	case !strings.Contains(r.URL.Path, page.SandboxPrefix) || strings.Contains(r.URL.Path, ".."):
		http.NotFound(w, r)
	default:
		// Let the page frame the answer (the relay), where the page
		// function's own headers forbid any framing.
		(*next).ServeHTTP(&simkit.HeaderHook{ResponseWriter: w, Before: func(h http.Header, _ int) {
			h.Del("X-Frame-Options")
			h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"),
				"frame-ancestors 'none'", "frame-ancestors "+o.pageOrigin, 1))
		}}, r)
	}
}
