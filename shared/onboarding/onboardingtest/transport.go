package onboardingtest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TransportFailure is one way an upstream fails before it answers. Call
// reaches the upstream at URL with an HTTP client of HTTPTimeout (0: none)
// and a context that Context bounds.
type TransportFailure struct {
	Name        string
	URL         string
	HTTPTimeout time.Duration
	ctxTimeout  time.Duration
	wantIs      error
}

// Context is the test's context, cut short for the failures that are a
// context deadline.
func (f TransportFailure) Context(t *testing.T) context.Context {
	if f.ctxTimeout == 0 {
		return t.Context()
	}
	ctx, cancel := context.WithTimeout(t.Context(), f.ctxTimeout)
	t.Cleanup(cancel)
	return ctx
}

// TransportFailures serves each failure an upstream client must report
// as a transient onboarding.UpstreamError without a status: a refused
// connection, a dropped one, and a server that never answers, met by the
// HTTP client's timeout and by the context's deadline.
func TransportFailures(t *testing.T) []TransportFailure {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices the client going away only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	drop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	}))
	t.Cleanup(drop.Close)
	return []TransportFailure{
		{Name: "connection refused", URL: closed.URL},
		{Name: "connection dropped", URL: drop.URL},
		{Name: "client timeout", URL: hang.URL, HTTPTimeout: 50 * time.Millisecond},
		{Name: "context deadline", URL: hang.URL, ctxTimeout: 50 * time.Millisecond, wantIs: context.DeadlineExceeded},
	}
}

// Check fails t unless err is what f must produce: a transient
// UpstreamError without a status that keeps its cause (the context's
// deadline, or a net.Error timeout for the client's) and whose text holds
// none of leaks.
func (f TransportFailure) Check(t *testing.T, err error, leaks ...string) {
	t.Helper()
	ue, ok := onboarding.AsUpstream(err)
	if !ok || ue.Kind != onboarding.KindTransient || ue.Status != 0 || ue.Err == nil {
		t.Fatalf("error = %#v; want a transient UpstreamError without status", err)
	}
	if f.wantIs != nil && !errors.Is(err, f.wantIs) {
		t.Errorf("errors.Is(%v, %v) = false", err, f.wantIs)
	}
	for _, leak := range leaks {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error text holds %q: %s", leak, err)
		}
	}
	var ne net.Error
	if f.HTTPTimeout > 0 && (!errors.As(err, &ne) || !ne.Timeout()) {
		t.Errorf("timeout not reported as a net.Error timeout: %v", err)
	}
}
