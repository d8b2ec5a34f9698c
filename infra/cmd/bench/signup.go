package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/app/signupapp"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/metrics"
)

// identity is one distinct signup: a WABA no other signup of the run used.
type identity struct {
	waba, phone, clientRef string
}

var identitySeq atomic.Int64

func nextIdentity() identity {
	n := identitySeq.Add(1)
	return identity{
		waba:      fmt.Sprintf("102%012d", n),
		phone:     fmt.Sprintf("103%012d", n),
		clientRef: fmt.Sprintf("customer-%d", n),
	}
}

func (id identity) grant() metasim.Grant {
	return metasim.Grant{WABAID: id.waba, BusinessID: businessID, PhoneNumbers: []metasim.PhoneNumber{{
		ID: id.phone, DisplayPhoneNumber: "+1 555-01" + id.phone[len(id.phone)-5:], VerifiedName: "Customer " + id.waba,
	}}}
}

// body is the JSON the onboarding page posts; session is omitted when empty.
func (id identity) body(code, session string) string {
	m := map[string]string{"code": code, "waba_id": id.waba, "phone_number_id": id.phone, "business_id": businessID, "client_ref": id.clientRef}
	if session != "" {
		m["session"] = session
	}
	return mustJSON(m)
}

// loadEvent reads an events/ file as a payload v2 request.
func loadEvent(name string) (apigw.Request, []byte, error) {
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "events", name))
	if err != nil {
		return apigw.Request{}, nil, err
	}
	var req apigw.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		return apigw.Request{}, nil, fmt.Errorf("events/%s: %w", name, err)
	}
	return req, raw, nil
}

// withBody returns a copy of the signup event with its own body, headers
// and request ID.
func withBody(tmpl apigw.Request, body, requestID string) apigw.Request {
	req := tmpl
	req.Headers = make(map[string]string, len(tmpl.Headers))
	for k, v := range tmpl.Headers {
		req.Headers[k] = v
	}
	req.Headers["content-length"] = fmt.Sprint(len(body))
	req.Body = body
	req.IsBase64Encoded = false
	req.RequestContext.RequestID = requestID
	return req
}

// inProcess is the signup function's handler built in this process by
// shared/app from the same configuration the function reads, with the real
// Meta, Plivo, DynamoDB and Secrets Manager clients.
type inProcess struct {
	st      *stack
	up      upstreams
	handler apigw.Handler
	event   apigw.Request
}

// newInProcess builds the handler against the simulators u.
func newInProcess(ctx context.Context, st *stack, u upstreams) (*inProcess, error) {
	for _, kv := range st.awsEnviron() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	env := st.signupEnviron(u)
	env["LOG_LEVEL"] = "INFO"
	cfg, err := config.LoadSignup(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	awsCfg, err := app.AWS(os.Getenv)
	if err != nil {
		return nil, err
	}
	awsCfg.HTTPClient = timedAWS{base: awshttp.NewBuildableClient(), tracker: st.tracker}
	// The production logger and metrics writers, aimed at io.Discard: their
	// formatting is part of a signup's cost, the bytes are not.
	log := logging.New(io.Discard, cfg.LogLevel)
	svc, _ := signupapp.NewService(cfg, clients.Deps{
		AWS:     awsCfg,
		Logger:  log,
		Metrics: &metrics.EMF{W: io.Discard, Namespace: cfg.MetricsNamespace, Function: "signup"},
		HTTP:    upstreamHTTPClient(),
	})
	event, _, err := loadEvent("signup-ok.json")
	if err != nil {
		return nil, err
	}
	return &inProcess{st: st, up: u, handler: apigw.SignupHandler(svc, nil, log), event: event}, nil
}

// result is one signup's timings.
type result struct {
	waba string
	e2e  time.Duration
	waits
}

func (p *inProcess) signup(ctx context.Context) (result, error) {
	id := nextIdentity()
	code := p.up.meta.IssueCode(id.grant())
	req := withBody(p.event, id.body(code, ""), "bench-"+id.waba)
	ctx, s := p.st.tracker.begin(ctx)
	start := time.Now()
	resp, err := p.handler(ctx, req)
	e2e := time.Since(start)
	p.st.tracker.end(s)
	if err != nil {
		return result{}, err
	}
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"status":"onboarded"`) {
		return result{}, fmt.Errorf("signup %s answered %d %s", id.waba, resp.StatusCode, resp.Body)
	}
	return result{waba: id.waba, e2e: e2e, waits: s.waits()}, nil
}

// level is the outcome of n signups at one concurrency.
type level struct {
	concurrency int
	results     []result
	errors      []error
	wall        time.Duration
	benchCPU    time.Duration // this process: service, simulators, proxy
	dbCPU       time.Duration // DynamoDB Local's JVM
	calls       calls
}

func (p *inProcess) run(ctx context.Context, concurrency, n int) level {
	lv := level{concurrency: concurrency}
	var mu sync.Mutex
	var next atomic.Int64
	before := p.st.snapshot()
	cpu0, db0 := selfCPU(), readProc(p.st.dbPID).cpu
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		// The label marks the service's side in a -cpuprofile (pprof
		// -tagfocus=side=service): the goroutines the HTTP clients start
		// for their connections inherit it; the simulators' and the
		// proxy's server goroutines do not.
		wg.Go(func() {
			pprof.Do(ctx, pprof.Labels("side", "service"), func(ctx context.Context) {
				for next.Add(1) <= int64(n) {
					r, err := p.signup(ctx)
					mu.Lock()
					if err != nil {
						lv.errors = append(lv.errors, err)
					} else {
						lv.results = append(lv.results, r)
					}
					mu.Unlock()
				}
			})
		})
	}
	wg.Wait()
	lv.wall = time.Since(start)
	lv.benchCPU = selfCPU() - cpu0
	lv.dbCPU = readProc(p.st.dbPID).cpu - db0
	lv.calls = p.st.snapshot().since(before)
	return lv
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
