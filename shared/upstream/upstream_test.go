package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseBaseURL(t *testing.T) {
	t.Parallel()
	if u, err := ParseBaseURL("", "https://graph.facebook.com/"); err != nil || u.String() != "https://graph.facebook.com" {
		t.Errorf("ParseBaseURL with the fallback = %v, %v", u, err)
	}
	for _, tc := range []struct {
		raw, want string
		ok        bool
	}{
		{"https://graph.facebook.com", "https://graph.facebook.com", true},
		{"https://api.plivo.com/", "https://api.plivo.com", true},
		{"http://127.0.0.1:8080/base//", "http://127.0.0.1:8080/base", true},
		{"", "", false},
		{"graph.facebook.com", "", false},
		{"ftp://example.com", "", false},
		{"https://example.com/?x=1", "", false},
		{"https://", "", false},
		{"https://exa mple.com", "", false},
	} {
		u, err := ParseBaseURL(tc.raw, "")
		if tc.ok != (err == nil) {
			t.Errorf("ParseBaseURL(%q) error = %v, want ok=%v", tc.raw, err, tc.ok)
			continue
		}
		if !tc.ok {
			if !errors.Is(err, ErrBaseURL) {
				t.Errorf("ParseBaseURL(%q) error = %v, want ErrBaseURL", tc.raw, err)
			}
			continue
		}
		if u.String() != tc.want {
			t.Errorf("ParseBaseURL(%q) = %q, want %q", tc.raw, u, tc.want)
		}
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		`"abc"`:    "abc",
		`131030`:   "131030",
		`1.5e3`:    "1.5e3",
		`null`:     "",
		`{"a":1}`:  "",
		`[1]`:      "",
		`true`:     "",
		`"12"`:     "12",
		`not json`: "",
	} {
		if got := Text(json.RawMessage(raw)); got != want {
			t.Errorf("Text(%s) = %q, want %q", raw, got, want)
		}
	}
}

func TestSleepEndsWithTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context = %v, want context.Canceled", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep(1ms) = %v", err)
	}
}

// timeoutError is what net/http reports under *url.Error when a deadline
// passes mid-request.
type timeoutError struct{}

func (timeoutError) Error() string { return "i/o timeout" }
func (timeoutError) Timeout() bool { return true }

func TestTransportErrorHidesTheURL(t *testing.T) {
	t.Parallel()
	const secret = "client_secret-canary-77"
	failed := &url.Error{Op: "Get", URL: "https://graph.facebook.com/v25.0/oauth/access_token?client_secret=" + secret, Err: timeoutError{}}
	err := TransportError("GET", "/v25.0/oauth/access_token", failed)
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("TransportError prints the query: %q", err)
	}
	if want := "GET /v25.0/oauth/access_token: i/o timeout"; err.Error() != want {
		t.Errorf("TransportError = %q, want %q", err, want)
	}
	var timeout interface{ Timeout() bool }
	if !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Error("a timeout under the request no longer reports itself as one")
	}
	if !errors.Is(err, failed.Err) {
		t.Error("the error under the request is lost")
	}
}
