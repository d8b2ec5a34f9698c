package warmup

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync/atomic"
	"testing"
	"time"
)

// A connection opened by Connect is the one the first request uses: no
// second TLS handshake.
func TestConnectLeavesAReusableTLSConnection(t *testing.T) {
	t.Parallel()
	var handshakes atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden) // a refusal still leaves the connection open
	}))
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()

	warming := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		TLSHandshakeStart: func() { handshakes.Add(1) },
	})
	if n := Run(warming, 5*time.Second, nil, Connect(client, srv.URL+"/v1/some/path?x=1")); n != 1 {
		t.Fatalf("Run: %d tasks succeeded, want 1", n)
	}
	var reused bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		TLSHandshakeStart: func() { handshakes.Add(1) },
		GotConn:           func(i httptrace.GotConnInfo) { reused = i.Reused },
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/some/path", nil)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !reused {
		t.Error("the first request opened a new connection")
	}
	if got := handshakes.Load(); got != 1 {
		t.Errorf("%d TLS handshakes, want 1 (the warm-up's)", got)
	}
}

// A task that hangs cannot hold init past the timeout, and failures are
// not errors of Run.
func TestRunIsBoundedAndNeverFails(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	hang := func(ctx context.Context) error { <-release; return nil }
	fail := func(context.Context) error { return errors.New("no route to host") }
	succeed := func(context.Context) error { return nil }
	start := time.Now()
	n := Run(context.Background(), 50*time.Millisecond, nil, hang, fail, succeed, nil)
	if n != 1 {
		t.Errorf("Run: %d tasks succeeded, want 1", n)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run waited %v for a task that never ends", took)
	}
}

// Connect to a host that refuses connections fails its task only.
func TestConnectToClosedServerFailsTheTaskOnly(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	client, url := srv.Client(), srv.URL
	srv.Close()
	if err := Connect(client, url)(context.Background()); err == nil {
		t.Error("Connect to a closed server: no error")
	}
	if err := Connect(client, "")(context.Background()); err != nil {
		t.Errorf("Connect with no URL: %v, want it skipped", err)
	}
}

func TestEnabled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value string
		want  bool
	}{{"", false}, {"on", true}, {"ON", true}, {"1", true}, {"true", true}, {"off", false}, {"OFF", false}, {"false", false}, {"0", false}} {
		got := Enabled(func(string) string { return tc.value })
		if got != tc.want {
			t.Errorf("PRECONNECT=%q: enabled %v, want %v", tc.value, got, tc.want)
		}
	}
}

func TestAWSEndpoint(t *testing.T) {
	t.Parallel()
	local := "https://127.0.0.1:8443"
	for _, tc := range []struct {
		base           *string
		prefix, region string
		want           string
	}{
		{nil, "dynamodb", "eu-west-1", "https://dynamodb.eu-west-1.amazonaws.com"},
		{&local, "dynamodb", "eu-west-1", local},
		{nil, "events", "", ""},
	} {
		if got := AWSEndpoint(tc.base, tc.prefix, tc.region); got != tc.want {
			t.Errorf("AWSEndpoint(%v, %q, %q) = %q, want %q", tc.base, tc.prefix, tc.region, got, tc.want)
		}
	}
}
