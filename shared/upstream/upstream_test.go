package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
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

// TestLenientShapesNeverFail: a field read through String, List or Object
// never makes the object it is in unreadable, whatever its shape; what the
// documented shape carries is read, and so is a single element for a list
// or a list of one for an object.
func TestLenientShapesNeverFail(t *testing.T) {
	t.Parallel()
	type item struct {
		Name String `json:"name"`
	}
	type value struct {
		Event  string       `json:"event"`
		Text   String       `json:"text"`
		Items  List[item]   `json:"items"`
		States List[String] `json:"states"`
		One    Object[item] `json:"one"`
	}
	for _, tc := range []struct {
		raw  string
		want value
	}{
		{`{"event":"E","text":"abc","items":[{"name":"a"},{"name":"b"}],"states":["X","Y"],"one":{"name":"o"}}`,
			value{Event: "E", Text: "abc", Items: List[item]{{"a"}, {"b"}}, States: List[String]{"X", "Y"}, One: Object[item]{item{"o"}}}},
		{`{"event":"E","text":10000,"items":{"name":7},"states":"X","one":[{"name":"o"},{"name":"p"}]}`,
			value{Event: "E", Text: "10000", Items: List[item]{{"7"}}, States: List[String]{"X"}, One: Object[item]{item{"o"}}}},
		{`{"event":"E","text":{"a":1},"items":["not an item",{"name":"a"}],"states":[1,"Y"],"one":"not an object"}`,
			value{Event: "E", Items: List[item]{{"a"}}, States: List[String]{"1", "Y"}}},
		// A String reads any shape, as "".
		{`{"event":"E","text":null,"items":null,"states":true,"one":null}`, value{Event: "E", States: List[String]{""}}},
		{`{"event":"E","items":5,"states":[],"one":[]}`, value{Event: "E"}},
	} {
		var got value
		if err := json.Unmarshal([]byte(tc.raw), &got); err != nil {
			t.Errorf("Unmarshal(%s): %v", tc.raw, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Unmarshal(%s) =\n %+v\nwant\n %+v", tc.raw, got, tc.want)
		}
	}
}
