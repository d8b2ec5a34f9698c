package main

import (
	"context"
	"encoding/pem"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"
)

// tlsStand is the instant simulators and the AWS stand-ins served over
// HTTPS, as a function on AWS reaches Secrets Manager, DynamoDB,
// EventBridge, Graph and Plivo: every first request pays a TLS handshake.
// The servers use httptest's certificate, which the functions trust
// through SSL_CERT_FILE (Go's roots on Linux) and AWS_CA_BUNDLE (the AWS
// SDK's variable).
type tlsStand struct {
	up  upstreams // st.fast's simulators, at https URLs
	env []string  // the endpoint variables and the CA
	// conns counts the TLS connections each stand-in accepted, by host
	// name: a warm-up that works opens no more of them than the first
	// request alone would.
	conns map[string]*atomic.Int64
}

// tlsHosts are the stand-ins' names, in the order the report lists them.
var tlsHosts = []string{"SM", "DynamoDB", "EventBridge", "Meta", "Plivo"}

func (st *stack) serveTLS(t *tlsStand, host string, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	n := &atomic.Int64{}
	t.conns[host] = n
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.StartTLS()
	st.servers = append(st.servers, srv)
	return srv
}

// startTLS serves the stand-ins over HTTPS beside their plain HTTP
// servers; DynamoDB Local is reached through a TLS proxy in front of the
// counting one.
func (st *stack) startTLS(dir string) (*tlsStand, error) {
	t := &tlsStand{up: st.fast, conns: map[string]*atomic.Int64{}}
	meta := st.serveTLS(t, "Meta", st.fast.meta.Handler())
	t.up.metaURL = meta.URL
	t.up.plivoURL = st.serveTLS(t, "Plivo", st.fast.plivo.Handler()).URL
	target, _ := url.Parse(st.proxy.URL())
	dynamo := st.serveTLS(t, "DynamoDB", httputil.NewSingleHostReverseProxy(target)).URL
	sm := st.serveTLS(t, "SM", st.res.Secrets).URL
	bus := st.serveTLS(t, "EventBridge", st.res.Events).URL
	caFile := filepath.Join(dir, "bench-test-ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: meta.Certificate().Raw})
	t.env = []string{"AWS_ENDPOINT_URL_DYNAMODB=" + dynamo, "AWS_ENDPOINT_URL_SECRETS_MANAGER=" + sm,
		"AWS_ENDPOINT_URL_EVENTBRIDGE=" + bus, "SSL_CERT_FILE=" + caFile, "AWS_CA_BUNDLE=" + caFile}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return t, os.WriteFile(caFile, ca, 0o644)
}

// tlsCold is one function's cold starts over TLS: process start to the
// answer of its first request, under the bench's Runtime API.
type tlsCold struct {
	name         string
	firsts       []time.Duration // init + first request
	inits        []time.Duration // init alone
	cpus         []time.Duration // user + system CPU of the process, init + first request
	answers      map[string]int
	calls        calls            // made by the last first request
	conns        map[string]int64 // TLS connections the last start opened, by host
	instructions int64            // callgrind's count for init + first request, 0 when not counted
	err          error
}

// coldTLS starts each subject rounds times against the TLS stand-ins,
// interleaved so that a slow moment of the machine hits all alike, and
// counts the instructions of one more start under callgrind.
func (st *stack) coldTLS(ctx context.Context, t *tlsStand, subjects []*function, rounds int, countInstructions bool) []*tlsCold {
	out := make([]*tlsCold, len(subjects))
	for i, f := range subjects {
		out[i] = &tlsCold{name: f.name, answers: map[string]int{}}
	}
	for range rounds {
		for i, f := range subjects {
			if r := out[i]; r.err == nil && f.event != nil {
				r.err = st.coldTLSOnce(ctx, t, f, r)
			}
		}
	}
	if _, err := exec.LookPath("valgrind"); err == nil && countInstructions {
		for i, f := range subjects {
			if out[i].err == nil && f.event != nil {
				var err error
				if out[i].instructions, err = st.callgrind(ctx, t, f); err != nil {
					progress("%s: %v", f.name, err)
				}
			}
		}
	}
	return out
}

func (st *stack) coldTLSOnce(ctx context.Context, t *tlsStand, f *function, r *tlsCold) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ev, err := f.event(ctx, t.up)
	if err != nil {
		return err
	}
	env := append(st.environ(f, t.up), t.env...)
	mark := st.snapshot()
	before := map[string]int64{}
	for h, n := range t.conns {
		before[h] = n.Load()
	}
	d, start, err := startDirect(f.binary, env, f.timeoutDuration())
	if err != nil {
		return err
	}
	polled, err := d.awaitPoll(ctx)
	var took time.Duration
	var body []byte
	if err == nil {
		took, body, err = d.invoke(ctx, ev)
	}
	d.stop()
	if err != nil {
		return err
	}
	if ps := d.cmd.ProcessState; ps != nil {
		r.cpus = append(r.cpus, ps.UserTime()+ps.SystemTime())
	}
	r.inits = append(r.inits, polled.Sub(start))
	r.firsts = append(r.firsts, polled.Sub(start)+took)
	r.answers[statusCode(body)]++
	r.calls = st.snapshot().since(mark)
	r.conns = map[string]int64{}
	for h, n := range t.conns {
		if k := n.Load() - before[h]; k > 0 {
			r.conns[h] = k
		}
	}
	return nil
}

var collected = regexp.MustCompile(`Collected : (\d+)`)

// callgrind runs f once under valgrind's callgrind, which counts the
// instructions of init and the first request the same way on a busy
// machine as on an idle one.
func (st *stack) callgrind(ctx context.Context, t *tlsStand, f *function) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	ev, err := f.event(ctx, t.up)
	if err != nil {
		return 0, err
	}
	// Valgrind 3.19's callgrind aborts on the SIGURG the Go runtime sends
	// to preempt goroutines (an assertion in its signal bookkeeping);
	// without asynchronous preemption it runs Go binaries to the end.
	env := append(append(st.environ(f, t.up), t.env...), "GODEBUG=asyncpreemptoff=1")
	d, _, err := startDirect(f.binary, env, time.Minute, "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")
	if err != nil {
		return 0, err
	}
	defer d.stop()
	if _, err := d.awaitPoll(ctx); err != nil {
		return 0, err
	}
	if _, _, err := d.invoke(ctx, ev); err != nil {
		return 0, err
	}
	// The second poll ends the first request; then stop the process so
	// that callgrind prints its count (SIGINT lets it dump).
	pollCtx, cancelPoll := context.WithTimeout(ctx, 10*time.Second)
	defer cancelPoll()
	_, _ = d.awaitPoll(pollCtx)
	_ = d.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-d.exited:
		d.exited <- err
	case <-time.After(30 * time.Second):
	}
	m := collected.FindStringSubmatch(d.stderr.String())
	if m == nil {
		return 0, fmt.Errorf("callgrind: no count in %s", tail(d.stderr.String(), 500))
	}
	return strconv.ParseInt(m[1], 10, 64)
}

// tlsSubjects are hello-world, signup (a whole signup) and callbacks (a
// signed status for the onboarded WABA's number, published).
func (st *stack) tlsSubjects(bins map[string]string, onboarded string) []*function {
	hello, signup, cb := st.describe("hello", bins, onboarded), st.describe("signup", bins, onboarded), st.describe("callbacks", bins, onboarded)
	number := "+1555" + "01" + onboarded[len(onboarded)-5:]
	var seq int
	cb.event = func(context.Context, upstreams) ([]byte, error) {
		seq++
		return callbackEvent(url.Values{"MessageUUID": {fmt.Sprintf("bench-tls-%d", seq)}, "Status": {"delivered"},
			"From": {number}, "To": {"+14155550123"}}, fmt.Sprintf("bench-tls-%d", seq))
	}
	return []*function{hello, signup, cb}
}

// tlsMarkdown writes the TLS cold-start table and judges it.
func (r *report) tlsMarkdown(w writer, sum *summary) {
	if len(r.tls) == 0 {
		sum.add("cold start with TLS (init + first request) vs hello-world, signup and callbacks", "≤ 1.25x", "not measured", false, "work to do: run without -skip tls")
		return
	}
	w("## Cold start with TLS, as Lambda sees it\n\n")
	w("Each binary started %d times under the bench's Runtime API against the instant simulators and AWS stand-ins served over **HTTPS** (httptest's certificate, trusted through `SSL_CERT_FILE` and `AWS_CA_BUNDLE`), ", r.coldRounds)
	w("so the first request pays a TLS handshake per host, as on AWS. *Init + first request*: process start to the first answer. ")
	w("*Instructions* (with `-callgrind`): valgrind `--tool=callgrind`'s count for one more start, init and first request, which a busy machine does not change. ")
	w("hello-world makes no connection: it is the floor a Go binary on `provided.al2023` pays.\n\n")
	w("*CPU*: the process's user + system time from init to the first answer (its rusage), median and range; it counts the handshakes' work but not their waits. ")
	w("*signup* and *callbacks* run as deployed. Opening their connections concurrently during init was measured on 2026-12-05 and did not win (docs/bench.md, *Preconnect*), so the functions no longer do it.\n\n")
	w("| function | init + first request p50 | min – max | vs hello | init p50 | CPU p50 | CPU min – max | instructions | vs hello | answer | calls | TLS connections |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|\n")
	var base time.Duration
	var baseIns int64
	for _, c := range r.tls {
		if c.name == "hello" && c.err == nil {
			base, baseIns = percentile(c.firsts, .5), c.instructions
		}
	}
	worst, worstIns := 0.0, 0.0
	for _, c := range r.tls {
		if c.err != nil {
			w("| %s | failed: %s | | | | | | | | | | |\n", c.name, oneLine(c.err.Error(), 200))
			worst = math.Inf(1)
			continue
		}
		med := percentile(c.firsts, .5)
		ratio, insRatio, ins := "-", "-", "-"
		if base > 0 {
			x := float64(med) / float64(base)
			ratio = fmt.Sprintf("%.2fx", x)
			if c.name == "signup" || c.name == "callbacks" {
				worst = max(worst, x)
			}
		}
		if c.instructions > 0 {
			ins = fmt.Sprintf("%.1f M", float64(c.instructions)/1e6)
			if baseIns > 0 {
				x := float64(c.instructions) / float64(baseIns)
				insRatio = fmt.Sprintf("%.2fx", x)
				if c.name == "signup" || c.name == "callbacks" {
					worstIns = max(worstIns, x)
				}
			}
		}
		w("| %s | %s | %s – %s | %s | %s | %s | %s – %s | %s | %s | %s | %s | %s |\n", c.name, ms(med), pms(c.firsts, 0), pms(c.firsts, 1), ratio,
			pms(c.inits, .5), pms(c.cpus, .5), pms(c.cpus, 0), pms(c.cpus, 1), ins, insRatio, answerList(c.answers), callList(c.calls), connList(c.conns))
	}
	w("\n")
	got := fmt.Sprintf("%.2fx wall", worst)
	if worstIns > 0 {
		got += fmt.Sprintf(", %.2fx instructions", worstIns)
	}
	sum.add("cold start with TLS (init + first request) vs hello-world, worst of signup and callbacks", "≤ 1.25x", got, worst <= targetColdRatio,
		"by design for signup (its first request is a whole signup: 3 secrets, 4 writes, 5 Graph calls and Plivo, each host a new TLS connection); work to do for callbacks: the handshakes to Secrets Manager, DynamoDB and EventBridge and the AWS SDK's first use of each client; opening them during init was measured and did not win (docs/bench.md, Preconnect)")
}

func connList(conns map[string]int64) string {
	var parts []string
	for _, h := range tlsHosts {
		if n := conns[h]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", h, n))
		}
	}
	return noneIfEmpty(parts)
}
