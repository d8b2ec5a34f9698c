package demo

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// maxTracedBody bounds the part of a body a trace keeps.
const maxTracedBody = 64 << 10

// redacted replaces credentials in a trace.
const redacted = "[REDACTED]"

// Exchange is one HTTP request to Plivo and its answer, as the operator
// console shows it: the request exactly as sent, with the auth token
// redacted.
type Exchange struct {
	Method       string            `json:"method"`
	URL          string            `json:"url"`
	Headers      map[string]string `json:"headers"`
	RequestBody  string            `json:"request_body,omitempty"`
	Status       int               `json:"status,omitempty"`
	ResponseBody string            `json:"response_body,omitempty"`
	Error        string            `json:"error,omitempty"`
	DurationMS   float64           `json:"duration_ms"`
}

// Trace collects the exchanges made on behalf of one request.
type Trace struct {
	mu        sync.Mutex
	exchanges []Exchange
}

// Exchanges returns a copy of what was recorded, in order.
func (t *Trace) Exchanges() []Exchange {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Exchange(nil), t.exchanges...)
}

func (t *Trace) add(e Exchange) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.exchanges = append(t.exchanges, e)
}

type traceKey struct{}

// WithTrace returns a context under which TracingClient records every
// exchange into the returned Trace. Without it nothing is recorded, so
// the deployed function pays one context lookup per call.
func WithTrace(ctx context.Context) (context.Context, *Trace) {
	t := &Trace{}
	return context.WithValue(ctx, traceKey{}, t), t
}

func traceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

// TracingClient returns a copy of c whose transport records exchanges for
// contexts made by WithTrace.
func TracingClient(c *http.Client) *http.Client {
	out := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = &tracingTransport{base: base}
	return &out
}

type tracingTransport struct{ base http.RoundTripper }

func (t *tracingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr := traceFrom(req.Context())
	if tr == nil {
		return t.base.RoundTrip(req)
	}
	token := basicPassword(req)
	ex := Exchange{Method: req.Method, URL: scrub(req.URL.String(), token), Headers: map[string]string{}}
	keys := make([]string, 0, len(req.Header))
	for k := range req.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.Join(req.Header.Values(k), ", ")
		if strings.EqualFold(k, "Authorization") {
			scheme, _, _ := strings.Cut(v, " ")
			v = scheme + " " + redacted
		}
		ex.Headers[k] = scrub(v, token)
	}
	if req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			b, _ := io.ReadAll(io.LimitReader(body, maxTracedBody))
			body.Close()
			ex.RequestBody = scrub(string(b), token)
		}
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	ex.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		ex.Error = scrub(err.Error(), token)
		tr.add(ex)
		return resp, err
	}
	ex.Status = resp.StatusCode
	// Read what the trace keeps and hand the client the same bytes followed
	// by the rest, so the client sees the answer unchanged.
	head, rerr := io.ReadAll(io.LimitReader(resp.Body, maxTracedBody))
	ex.ResponseBody = scrub(string(head), token)
	if rerr != nil {
		ex.Error = rerr.Error()
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	tr.add(ex)
	return resp, nil
}

// basicPassword returns the password of a Basic Authorization header: the
// Plivo auth token, which must appear nowhere in a trace.
func basicPassword(req *http.Request) string {
	h := req.Header.Get("Authorization")
	scheme, enc, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return ""
	}
	_, pass, _ := strings.Cut(string(raw), ":")
	return pass
}

func scrub(s, secret string) string {
	if len(secret) < 4 {
		return s
	}
	return strings.ReplaceAll(s, secret, redacted)
}
