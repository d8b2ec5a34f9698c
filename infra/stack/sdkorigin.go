package stack

import (
	"net/http"
	"strings"
	"sync/atomic"

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

// listenSDKOrigin starts the second port and returns its origin, which the
// page function reads from page.EnvSandboxSDKOrigin. Requests wait for
// nothing: until serve is called they are answered 503.
func (s *Stack) listenSDKOrigin() (*sdkOrigin, string, error) {
	o := &sdkOrigin{pageOrigin: s.URL}
	srv, ln, err := listen("127.0.0.1:0", o)
	if err != nil {
		return nil, "", err
	}
	s.listeners = append(s.listeners, srv)
	return o, "http://" + ln.Addr().String(), nil
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
		(*next).ServeHTTP(&framedBy{ResponseWriter: w, origin: o.pageOrigin}, r)
	}
}

// framedBy lets origin, the page, frame the answer (the relay), where the
// page function's own headers forbid any framing.
type framedBy struct {
	http.ResponseWriter
	origin string
	wrote  bool
}

func (f *framedBy) WriteHeader(code int) {
	if !f.wrote {
		f.wrote = true
		h := f.Header()
		h.Del("X-Frame-Options")
		h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"),
			"frame-ancestors 'none'", "frame-ancestors "+f.origin, 1))
	}
	f.ResponseWriter.WriteHeader(code)
}

func (f *framedBy) Write(b []byte) (int, error) {
	if !f.wrote {
		f.WriteHeader(http.StatusOK)
	}
	return f.ResponseWriter.Write(b)
}
