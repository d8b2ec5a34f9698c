package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/techprovider/wa-onboarding/infra/testenv"
)

// execEnv is one execution environment of a function: its binary under
// its own Runtime API, and a timed front for every service it may call
// (DynamoDB, Secrets Manager, EventBridge, Meta Graph, Plivo), which
// attributes each call to the invocation in progress. An environment runs
// one invocation at a time, as Lambda's do, so the attribution holds at
// any number of environments.
type execEnv struct {
	d       *directRun
	fronts  []*httptest.Server
	current atomic.Pointer[spans]
}

// frontTransport carries every front's requests. http.DefaultTransport
// keeps two idle connections per host, fewer than a signup's concurrent
// Graph calls or fifty environments' DynamoDB calls need, and each extra
// connection would be a fresh dial inside a measured wait.
var frontTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 256
	return t
}()

// front is a reverse proxy to target whose requests are timed into the
// environment's current sample as calls of kind. The sample is taken when
// the request arrives, so a call that ends as the invocation does still
// counts for it.
func (e *execEnv) front(kind callKind, target string) string {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = frontTransport
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, start := e.current.Load(), clock()
		rp.ServeHTTP(w, r)
		if s != nil {
			_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
			s.add(kind, start, clock(), op)
		}
	}))
	e.fronts = append(e.fronts, srv)
	return srv.URL
}

// environ is f's environment against the upstream simulators u, with
// extra variables, every service reached through a front of e.
func (e *execEnv) environ(st *stack, f *function, u upstreams, extra []string) []string {
	fronted := u
	fronted.metaURL = e.front(callMeta, u.metaURL)
	fronted.plivoURL = e.front(callPlivo, u.plivoURL)
	return append(append(st.environ(f, fronted), extra...),
		"AWS_ENDPOINT_URL_DYNAMODB="+e.front(callDynamo, st.proxy.URL()),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER="+e.front(callSecrets, st.res.SecretsURL),
		"AWS_ENDPOINT_URL_EVENTBRIDGE="+e.front(callEvents, st.res.EventsURL))
}

// startEnvs starts n environments of f against the upstream simulators
// u, with extra variables, each waiting for its first event; on an error
// none is left running.
func (st *stack) startEnvs(ctx context.Context, f *function, u upstreams, extra []string, n int) ([]*execEnv, error) {
	envs := make([]*execEnv, 0, n)
	for range n {
		e := &execEnv{}
		envs = append(envs, e)
		d, _, err := startDirect(f.binary, e.environ(st, f, u, extra), f.timeoutDuration())
		if err == nil {
			e.d = d
			_, err = d.awaitPoll(ctx)
		}
		if err != nil {
			stopEnvs(envs)
			return nil, err
		}
	}
	return envs, nil
}

// stopEnvs kills the environments' processes and closes their fronts.
func stopEnvs(envs []*execEnv) {
	for _, e := range envs {
		if e.d != nil {
			e.d.stop()
		}
		for _, srv := range e.fronts {
			srv.Close()
		}
	}
}

// invocation is one event handled by an execution environment: the
// answer, the handler's time as the Runtime API saw it, and what it
// waited for meanwhile.
type invocation struct {
	status int    // the HTTP API answer's statusCode
	body   string // and its body
	class  string // of callback, in the mix
	answer string // the callback answer's status field: published, duplicate, unrouted
	took   time.Duration
	waits
	ops     map[string]int // DynamoDB operations
	events  int            // PutEvents requests
	secrets int            // GetSecretValue
}

// invoke runs event in e, then waits until e asks for its next event, as
// Lambda does before it hands the environment another.
func (e *execEnv) invoke(ctx context.Context, event []byte) (invocation, error) {
	s := &spans{}
	e.current.Store(s)
	took, raw, err := e.d.invoke(ctx, event)
	e.current.Store(nil)
	if err == nil {
		_, err = e.d.awaitPoll(ctx)
	}
	if err != nil {
		return invocation{}, err
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return invocation{}, fmt.Errorf("answer %.200s: %w", raw, err)
	}
	s.mu.Lock()
	ops := s.ops
	s.mu.Unlock()
	return invocation{status: resp.StatusCode, body: resp.Body, took: took, waits: s.waits(), ops: ops,
		events: s.count(callEvents), secrets: s.count(callSecrets)}, nil
}

// each runs fn for workers 0 to n-1 at once and joins their errors.
func each(n int, fn func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = fn(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// share runs n jobs on workers, each worker one job at a time, and
// returns the wall time they took.
func share(ctx context.Context, workers, n int, job func(worker int)) time.Duration {
	var left atomic.Int64
	left.Store(int64(n))
	start := time.Now()
	_ = each(workers, func(i int) error {
		for ctx.Err() == nil && left.Add(-1) >= 0 {
			job(i)
		}
		return nil
	})
	return time.Since(start)
}

// envUsage is what the environments' processes used so far: CPU time
// (user + system), the largest peak RSS, and the bytes they logged.
type envUsage struct {
	cpu      time.Duration
	peakRSS  int64
	logBytes int64
}

func usage(envs []*execEnv) envUsage {
	var u envUsage
	for _, e := range envs {
		p := testenv.ReadProc(e.d.cmd.Process.Pid)
		u.cpu += p.CPU
		u.peakRSS = max(u.peakRSS, p.PeakRSS)
		u.logBytes += e.d.stdout.n.Load()
	}
	return u
}
