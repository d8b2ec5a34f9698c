// Package warmup opens, during a Lambda function's init phase, the
// connections its first request would otherwise open one after another:
// each TLS handshake to Secrets Manager, DynamoDB, EventBridge, Graph or
// Plivo costs a round trip or two plus the key exchange, and a cold
// function's first request pays all of them in sequence. Run does them
// concurrently, before lambda.Start, bounded by a short deadline; the
// connections then wait in each HTTP client's idle pool for the first
// request. A failure or a timeout only logs: warming is an optimisation
// and never fails init.
//
// PRECONNECT switches it ("on" to enable; off by default) so that one
// binary measures with and without. It stays off because on the bench's
// TLS stand-ins, where a handshake waits on no network round trip, it did
// not win consistently (docs/bench.md has the figures).
package warmup

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds the whole warm-up: a handshake that has not
// finished by then finishes, if at all, under the first request.
const DefaultTimeout = 1500 * time.Millisecond

// Task is one piece of warming: opening a connection, loading a secret.
type Task func(ctx context.Context) error

// Doer is the one call of an HTTP client that Connect uses; *http.Client
// and the AWS SDK's aws.HTTPClient both have it.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Enabled reports whether PRECONNECT asks the functions to warm up: "on",
// "true" or "1" do.
func Enabled(getenv func(string) string) bool {
	switch strings.ToLower(strings.TrimSpace(getenv("PRECONNECT"))) {
	case "on", "true", "1":
		return true
	}
	return false
}

// Init runs the tasks when PRECONNECT allows it (see Run).
func Init(ctx context.Context, getenv func(string) string, log *slog.Logger, tasks ...Task) {
	if !Enabled(getenv) {
		return
	}
	Run(ctx, DefaultTimeout, log, tasks...)
}

// Run runs the tasks concurrently and returns when all have finished or
// timeout has passed, whichever is first. Failures are logged at debug
// level: the first request retries whatever did not warm. It returns how
// many tasks succeeded in time.
func Run(ctx context.Context, timeout time.Duration, log *slog.Logger, tasks ...Task) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		mu sync.Mutex
		ok int
		wg sync.WaitGroup
	)
	done := make(chan struct{})
	for _, task := range tasks {
		if task == nil {
			continue
		}
		wg.Go(func() {
			err := task(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if log != nil {
				log.LogAttrs(ctx, slog.LevelDebug, "warm-up task failed", slog.String("error", err.Error()))
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	return ok
}

// Connect returns a task that opens a keep-alive connection to base's
// scheme and host through client: a HEAD of "/" whose answer, whatever its
// status, is drained so that the connection goes back to the client's
// idle pool. No credentials are sent. An empty or unparsable base is
// skipped.
func Connect(client Doer, base string) Task {
	return func(ctx context.Context) error {
		u, err := url.Parse(base)
		if err != nil || u.Host == "" {
			return nil
		}
		root := url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, root.String(), nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		return res.Body.Close()
	}
}

// AWSEndpoint is the base URL an AWS SDK client calls: its configured
// BaseEndpoint (AWS_ENDPOINT_URL_<SERVICE> locally) or the service's
// regional endpoint, https://<prefix>.<region>.amazonaws.com, the
// documented form for dynamodb, secretsmanager and events.
func AWSEndpoint(baseEndpoint *string, prefix, region string) string {
	if baseEndpoint != nil && *baseEndpoint != "" {
		return *baseEndpoint
	}
	if region == "" {
		return ""
	}
	return "https://" + prefix + "." + region + ".amazonaws.com"
}
