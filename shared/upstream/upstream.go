// Package upstream holds what the clients of Meta's Graph API and of
// Plivo's API share, so that both read their configuration and their
// answers the same way: the base URL they are pointed at, JSON fields that
// arrive as a string or a number (or as one object or a list of them),
// failed round trips named without their URL, and the pause between
// attempts.
package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrBaseURL is returned by ParseBaseURL; callers prefix their own name.
var ErrBaseURL = errors.New("BaseURL must be an absolute http(s) URL without a query")

// ErrUnusableSecret marks a credentials read that failed because of the
// secret itself: refused, deleted, not readable by this function, or not
// the JSON the client needs. Nothing retries that away; the clients report
// it as a failure of our own configuration, which pages, rather than as
// a passing fault, which does not. A Secrets Manager that did not answer
// is not marked.
var ErrUnusableSecret = errors.New("the secret is unusable")

// HTTPClient is a client's own HTTP client when its configuration gives
// none: with its own connection pool, not http.DefaultTransport's, which
// anything in the process may close under it (httptest servers do, as
// they shut down).
func HTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
}

// ParseBaseURL checks a configured base URL, or fallback when none is
// configured: absolute, http or https, no query. It trims trailing
// slashes, so that request paths are joined to it with a single "/". Plain
// http is allowed for the local simulators.
func ParseBaseURL(raw, fallback string) (*url.URL, error) {
	if raw == "" {
		raw = fallback
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, ErrBaseURL
	}
	return u, nil
}

// Text reads a JSON string or number as text, and anything else as "".
// Both APIs send some identifiers and codes as either, depending on the
// endpoint and on the day.
func Text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// String is a JSON field read by Text. Any other shape reads as "" instead
// of failing: one field of an unexpected type must not make the whole
// object it is in unreadable.
type String string

// UnmarshalJSON reads b by Text; it never fails.
func (s *String) UnmarshalJSON(b []byte) error {
	*s = String(Text(b))
	return nil
}

// List is a JSON list of T that also reads a single T as a list of one,
// and skips the elements that are not a T. Anything else reads as an
// empty list instead of failing, as String does.
type List[T any] []T

// UnmarshalJSON reads b as a list, or as its one element; it never fails.
func (l *List[T]) UnmarshalJSON(b []byte) error {
	var raws []json.RawMessage
	if json.Unmarshal(b, &raws) != nil {
		raws = []json.RawMessage{b}
	}
	*l = nil
	for _, raw := range raws {
		var v T
		if json.Unmarshal(raw, &v) == nil {
			*l = append(*l, v)
		}
	}
	return nil
}

// Object is a JSON object read as its Value, or the first T of a list.
// Anything else leaves Value zero instead of failing, as String does.
type Object[T any] struct{ Value T }

// UnmarshalJSON reads b as a List of T and keeps its first; it never fails.
func (o *Object[T]) UnmarshalJSON(b []byte) error {
	var l List[T]
	_ = l.UnmarshalJSON(b)
	*o = Object[T]{}
	if len(l) > 0 {
		o.Value = l[0]
	}
	return nil
}

// Sleep waits d, or less when ctx ends first, in which case it returns the
// context's error: a retry never outlives the request that wanted it.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// TransportError is a failed round trip named by method and path only.
// net/http's *url.Error prints the whole URL, query included, and a query
// can carry the code, the app secret or an input token; the error under
// it is kept, so a timeout still reports itself as one.
func TransportError(method, path string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return &requestError{method: method, path: path, err: err}
}

type requestError struct {
	method, path string
	err          error
}

func (e *requestError) Error() string { return e.method + " " + e.path + ": " + e.err.Error() }

func (e *requestError) Unwrap() error { return e.err }

// Timeout reports whether the failure was a timeout, as *url.Error does.
func (e *requestError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.err, &t) && t.Timeout()
}
