package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/infra/testenv"
)

// helloPkg is the cold-start baseline, built exactly like the functions:
// the same one infra/e2e/binaries measures.
const helloPkg = "./infra/e2e/binaries/testdata/hello"

// function is one functions/<name> binary and how to run it here.
type function struct {
	name    string
	binary  string // native build, as testenv.BuildFunction makes it
	size    int64
	arm64   int64 // the deployed build's size (linux/arm64), 0 if unbuilt
	timeout int   // seconds
	env     func(u upstreams) map[string]string
	// event returns a fresh, representative event for one invocation; nil
	// means the function is not invoked by the cold-start measurement.
	event func(ctx context.Context, u upstreams) ([]byte, error)
	// quick is an event the function answers without any call (a request
	// it refuses), so that its first invocation is the binary's cold start
	// alone, comparable with hello-world's; nil when there is none.
	quick func(ctx context.Context, u upstreams) ([]byte, error)
	// created is what its init builds, from reading shared/app.
	created string
	// extraEnv is added last to its environment (-load-env).
	extraEnv []string
	// variant marks a candidate build (-variant): measured, not judged.
	variant bool
}

// functionNames lists the folders of functions/ with a main.go.
func functionNames() []string {
	mains, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "functions", "*", "main.go"))
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(names)
	return names
}

// buildAll builds every function and the hello-world baseline for this
// machine, in parallel, and for linux/arm64 for the deployed sizes.
func buildAll(ctx context.Context, names []string, outDir string) (map[string]string, map[string]int64, error) {
	pkgs := map[string]string{"hello": helloPkg}
	for _, n := range names {
		pkgs[n] = "./functions/" + n
	}
	bins := map[string]string{}
	arm := map[string]int64{}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for name, pkg := range pkgs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			bin, err := testenv.BuildFunction(ctx, pkg, outDir)
			var size int64
			if err == nil {
				size, err = buildArm64(ctx, pkg, filepath.Join(outDir, "linux-arm64", name, "bootstrap"))
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			bins[name] = bin
			arm[name] = size
		})
	}
	wg.Wait()
	return bins, arm, firstErr
}

// buildArm64 builds pkg the way sam build does (the Makefile's
// lambda-build) and returns the binary's size.
func buildArm64(ctx context.Context, pkg, out string) (int64, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = testenv.RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build %s (linux/arm64): %w\n%s", pkg, err, b)
	}
	info, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}

// describe sets what each known function needs and is invoked with. An
// unknown function gets every variable and is measured at init only.
func (st *stack) describe(name string, onboarded string) *function {
	f := &function{name: name, timeout: 10}
	common := func(vars map[string]string) func(u upstreams) map[string]string {
		return func(upstreams) map[string]string { return maps.Clone(vars) }
	}
	switch name {
	case "signup":
		f.timeout = 25
		f.env = func(u upstreams) map[string]string {
			e := st.signupEnviron(u)
			// template.yaml binds every signup to an onboarding session.
			e["SESSION_SECRET_ID"] = st.sessionSecretARN
			e["DEDUP_TABLE_NAME"] = st.dedup
			return e
		}
		f.event = st.signupEvent
		f.quick = rawEvent("signup-wrong-content-type.json")
		f.created = "config; JSON logger; EMF metrics; aws.Config (env credentials, no call); DynamoDB client (signup table and session ledger); Secrets Manager client; upstream http.Client (16 idle conns/host); empty secrets cache; Meta and Plivo clients; session verifier"
	case "resume":
		f.timeout = 55
		f.env = st.signupEnviron
		f.event = rawEvent("resume-scheduled.json")
		f.created = "config; JSON logger; EMF metrics; aws.Config; DynamoDB client; Secrets Manager client; upstream http.Client; empty secrets cache; Meta and Plivo clients"
	case "status":
		f.timeout = 6
		f.env = common(map[string]string{"TABLE_NAME": st.table})
		f.event = func(context.Context, upstreams) ([]byte, error) {
			raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "events", "status-found.json"))
			return bytes.ReplaceAll(raw, []byte("102000000000002"), []byte(onboarded)), err
		}
		f.quick = rawEvent("status-invalid-id.json")
		f.created = "config; JSON logger; EMF metrics; aws.Config; DynamoDB client"
	case "page":
		f.timeout = 3
		f.env = common(map[string]string{"META_APP_ID": metaAppID, "META_CONFIG_ID": "100000000000002", "META_GRAPH_VERSION": graphVersion,
			"PLIVO_SOLUTION_ID": "", "SANDBOX": "false", "API_BASE_PATH": ""})
		f.event = rawEvent("page-get.json")
		f.created = "config; JSON logger; the page handler (embedded assets); no AWS config or client"
	case "sessions":
		f.timeout = 6
		f.env = common(map[string]string{"SESSION_SECRET_ID": st.sessionSecretARN, "SESSION_TTL": "15m", "SECRETS_TTL": "5m"})
		f.event = rawEvent("sessions-create.json")
		f.quick = rawEvent("sessions-no-iam.json")
		f.created = "config; JSON logger; aws.Config; Secrets Manager client; empty secrets cache; token minter"
	case "callbacks":
		f.env = func(upstreams) map[string]string { return st.callbacksEnviron() }
		// Unsigned: answered after the Plivo token is fetched, without a
		// signature to forge here.
		f.event = rawEvent("callback-unsigned.json")
		f.quick = withMethod("callback-unsigned.json", "GET")
		f.created = "config; JSON logger; EMF metrics; aws.Config; DynamoDB, Secrets Manager and EventBridge clients; empty secrets cache; callback receiver"
	case "demo":
		f.env = func(u upstreams) map[string]string {
			return map[string]string{"TABLE_NAME": st.table, "PLIVO_SECRET_ID": st.plivoSecretARN, "PLIVO_API_URL": u.plivoURL, "SECRETS_TTL": "5m"}
		}
		f.event = iamEvent("GET", "/api/demo/templates/"+onboarded, "GET /api/demo/templates/{waba_id}", map[string]string{"waba_id": onboarded}, "")
		f.quick = rawEvent("demo-message-invalid.json")
		f.created = "config; JSON logger; aws.Config; DynamoDB client; Secrets Manager client; upstream http.Client; empty secrets cache; Plivo client"
	default:
		// The doctor, and any function added later: init only, since its
		// handler is not a request to measure a cold start with.
		f.timeout = 30
		f.env = func(u upstreams) map[string]string {
			e := st.signupEnviron(u)
			maps.Copy(e, st.callbacksEnviron())
			e["META_APP_ID"] = metaAppID
			e["SESSION_SECRET_ID"] = st.sessionSecretARN
			return e
		}
		if name == "doctor" {
			f.created = "config; JSON logger; aws.Config; Secrets Manager, DynamoDB and EventBridge clients; upstream http.Client; Meta and Plivo client factories"
		}
	}
	return f
}

// environ is the function's full environment for upstreams u.
func (st *stack) environ(f *function, u upstreams) []string {
	vars := map[string]string{
		"STAGE": "bench", "LOG_LEVEL": "INFO", "METRICS_NAMESPACE": "WhatsAppOnboarding",
		"AWS_LAMBDA_FUNCTION_TIMEOUT": strconv.Itoa(f.timeout), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_LAMBDA_LOG_FORMAT": "JSON",
	}
	if f.env != nil {
		maps.Copy(vars, f.env(u))
	}
	env := st.awsEnviron()
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env = append(env, k+"="+vars[k])
	}
	return append(env, f.extraEnv...)
}

func rawEvent(name string) func(context.Context, upstreams) ([]byte, error) {
	return func(context.Context, upstreams) ([]byte, error) {
		return os.ReadFile(filepath.Join(testenv.RepoRoot(), "events", name))
	}
}

// withMethod is an events/ file with another HTTP method.
func withMethod(name, method string) func(context.Context, upstreams) ([]byte, error) {
	return func(context.Context, upstreams) ([]byte, error) {
		req, err := loadEvent(name)
		if err != nil {
			return nil, err
		}
		req.RequestContext.HTTP.Method = method
		return json.Marshal(req)
	}
}

// iamEvent is an HTTP API event for a route behind the AWS_IAM
// authorizer, in the shape of events/signup-ok.json.
func iamEvent(method, path, routeKey string, params map[string]string, body string) func(context.Context, upstreams) ([]byte, error) {
	return func(context.Context, upstreams) ([]byte, error) {
		tmpl, err := loadEvent("signup-ok.json")
		if err != nil {
			return nil, err
		}
		req := withBody(tmpl, body, "bench-iam")
		if body == "" {
			delete(req.Headers, "content-type")
			delete(req.Headers, "content-length")
		}
		req.RouteKey, req.RawPath, req.PathParameters = routeKey, path, params
		req.RequestContext.RouteKey = routeKey
		req.RequestContext.HTTP.Method = method
		req.RequestContext.HTTP.Path = path
		raw, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		// The authorizer block as API Gateway sends it for AWS_IAM.
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		rc := m["requestContext"].(map[string]any)
		rc["authorizer"] = map[string]any{"iam": map[string]any{
			"accessKey": "AKIAEXAMPLE", "accountId": "123456789012", "callerId": "AIDAEXAMPLE",
			"userArn": "arn:aws:iam::123456789012:user/bench", "userId": "AIDAEXAMPLE",
		}}
		return json.Marshal(m)
	}
}

// statusCode reads an HTTP API answer's statusCode, or describes a
// function error.
func statusCode(out []byte) string {
	var resp struct {
		StatusCode   int    `json:"statusCode"`
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return "ok"
	}
	switch {
	case resp.ErrorMessage != "":
		return "error"
	case resp.StatusCode == 0:
		return "ok"
	}
	return strconv.Itoa(resp.StatusCode)
}

// Kinds of first invocation.
const (
	coldFull  = "full"  // a representative request
	coldQuick = "quick" // a request answered without any call
)

// coldResult is a function's cold-start figures for one kind of event.
type coldResult struct {
	firsts  []time.Duration // first invocation in a fresh emulator
	answers map[string]int  // status code -> count
	calls   calls           // made by the last first invocation
	peakRSS int64           // after the first invocation
	err     error           // the function could not be invoked
}

// coldStarts invokes each subject once per kind of event in a fresh
// emulator per round, interleaved so that a slow moment of the machine
// hits all alike. The results are keyed by function, then kind.
func (st *stack) coldStarts(ctx context.Context, subjects []*function, rounds int) (map[string]map[string]*coldResult, error) {
	out := map[string]map[string]*coldResult{}
	for range rounds {
		for _, f := range subjects {
			for _, kind := range []string{coldFull, coldQuick} {
				event := f.event
				if kind == coldQuick {
					event = f.quick
				}
				if event == nil {
					continue
				}
				if out[f.name] == nil {
					out[f.name] = map[string]*coldResult{}
				}
				r := out[f.name][kind]
				if r == nil {
					r = &coldResult{answers: map[string]int{}}
					out[f.name][kind] = r
				}
				if r.err != nil {
					continue
				}
				if err := st.coldOnce(ctx, f, event, r); err != nil {
					if ctx.Err() != nil {
						return out, ctx.Err()
					}
					r.err = err
				}
			}
		}
	}
	return out, nil
}

func (st *stack) coldOnce(ctx context.Context, f *function, event func(context.Context, upstreams) ([]byte, error), r *coldResult) error {
	payload, err := event(ctx, st.fast)
	if err != nil {
		return fmt.Errorf("event: %w", err)
	}
	rie, err := testenv.StartRIE(ctx, f.binary, st.environ(f, st.fast))
	if err != nil {
		return err
	}
	defer rie.Stop()
	ictx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	mark := st.snapshot()
	body, err := rie.Invoke(ictx, payload)
	if err != nil {
		return err
	}
	r.calls = st.snapshot().since(mark)
	r.firsts = append(r.firsts, rie.FirstInvoke())
	r.answers[statusCode(body)]++
	if pid, err := pidOf(f.binary); err == nil {
		r.peakRSS = max(r.peakRSS, readProc(pid).peakRSS)
	}
	return nil
}

// initResult is what a function does before and on its first
// invocations, measured under runtimeAPI.
type initResult struct {
	inits        []time.Duration // process start to the first GET .../next
	firstHandler []time.Duration // the first invocation's handler time
	warmHandler  []time.Duration // the second one's
	atInit       calls           // AWS and upstream calls made during init
	atFirst      calls           // during the first invocation
	atWarm       calls           // during the second
	trace        []pkgInit       // GODEBUG=inittrace=1 of one extra start
	err          error           // the function could not be started or invoked
}

// initWork starts each subject directly under runtimeAPI rounds times,
// invokes it twice when it has an event, and once more with inittrace.
func (st *stack) initWork(ctx context.Context, subjects []*function, rounds int) map[string]*initResult {
	out := map[string]*initResult{}
	for round := range rounds + 1 {
		traced := round == rounds
		for _, f := range subjects {
			r := out[f.name]
			if r == nil {
				r = &initResult{}
				out[f.name] = r
			}
			env := st.environ(f, st.fast)
			if traced {
				env = append(env, "GODEBUG=inittrace=1")
			}
			if r.err != nil {
				continue
			}
			if err := st.initOnce(ctx, f, env, r, traced); err != nil {
				// One function that cannot start here (a new one whose
				// configuration the bench does not know) is reported, not
				// fatal.
				r.err = err
			}
		}
	}
	return out
}

func (st *stack) initOnce(ctx context.Context, f *function, env []string, r *initResult, traced bool) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	before := st.snapshot()
	d, start, err := startDirect(f.binary, env, time.Duration(f.timeout)*time.Second)
	if err != nil {
		return err
	}
	defer d.stop()
	polled, err := d.awaitPoll(ctx)
	if err != nil {
		return err
	}
	afterInit := st.snapshot()
	if traced {
		r.trace = parseInittrace(d.stderr.String())
	} else {
		r.inits = append(r.inits, polled.Sub(start))
		r.atInit = afterInit.since(before)
	}
	if f.event == nil || traced {
		return nil
	}
	for i := range 2 {
		ev, err := f.event(ctx, st.fast)
		if err != nil {
			return err
		}
		mark := st.snapshot()
		took, _, err := d.invoke(ctx, ev)
		if err != nil {
			return err
		}
		done := st.snapshot().since(mark)
		if i == 0 {
			r.firstHandler = append(r.firstHandler, took)
			r.atFirst = done
		} else {
			r.warmHandler = append(r.warmHandler, took)
			r.atWarm = done
		}
		if _, err := d.awaitPoll(ctx); err != nil {
			return err
		}
	}
	return nil
}

// loadResult is the signup function's binary under sustained load.
type loadResult struct {
	invocations, concurrency int
	answers                  map[string]int
	wall                     time.Duration
	peakRSS, rss             int64
	cpuPerSignup             time.Duration
	calls                    calls
	// Per invocation: the Invoke's wall time, and what it waited for
	// meanwhile (unions of the simulator and DynamoDB call intervals).
	e2e   []time.Duration
	waits []waits
}

// load fires n signups at the signup function's real binary under the
// emulator, from concurrency callers, through the slow simulators. The
// emulator runs one invocation at a time, as one execution environment
// does, so the callers queue.
func (st *stack) load(ctx context.Context, f *function, n, concurrency int) (*loadResult, error) {
	// The emulator runs the process; e only lends it its timed fronts.
	e := &execEnv{}
	defer e.stop()
	rie, err := testenv.StartRIE(ctx, f.binary, e.environ(st, f, st.slow, nil))
	if err != nil {
		return nil, err
	}
	defer rie.Stop()
	res := &loadResult{invocations: n, concurrency: concurrency, answers: map[string]int{}}
	// The emulator takes one invocation at a time; queueing here instead
	// keeps the wait out of each invocation's time, which then owns every
	// call made through the fronts during it.
	var one sync.Mutex
	record := false
	invoke := func() (string, error) {
		ev, err := f.event(ctx, st.slow)
		if err != nil {
			return "", err
		}
		ictx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		one.Lock()
		defer one.Unlock()
		s, start := &sample{}, time.Now()
		e.current.Store(s)
		out, err := rie.Invoke(ictx, ev)
		e2e := time.Since(start)
		e.current.Store(nil)
		if record {
			res.e2e = append(res.e2e, e2e)
			res.waits = append(res.waits, s.waits())
		}
		return statusCode(out), err
	}
	// Warm: the cold start, the secrets fetched, the connections opened.
	for range 5 {
		if _, err := invoke(); err != nil {
			return nil, err
		}
	}
	pid, err := pidOf(f.binary)
	if err != nil {
		return nil, err
	}
	before := readProc(pid)
	mark := st.snapshot()
	record = true
	var mu sync.Mutex
	var firstErr error
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for range next {
				code, err := invoke()
				mu.Lock()
				res.answers[code]++
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.wall = time.Since(start)
	after := readProc(pid)
	res.calls = st.snapshot().since(mark)
	res.peakRSS, res.rss = after.peakRSS, after.rss
	res.cpuPerSignup = (after.cpu - before.cpu) / time.Duration(n)
	return res, firstErr
}
