package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/techprovider/wa-onboarding/infra/sam"
	infrastack "github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/config"
)

// function is one functions/<name> binary and how to run it here.
type function struct {
	name        string
	binary      string // native build, as testenv.BuildFunction makes it
	size, arm64 int64  // native and deployed (linux/arm64, 0 if unbuilt) sizes
	// lambda is its template settings: timeout, memory size, log format.
	lambda sam.Function
	// vars are its own variables, as template.yaml sets them; ${META}
	// and ${PLIVO} stand for the upstream simulators' URLs.
	vars map[string]string
	// event returns a fresh, representative event for one invocation; nil
	// means the function is not invoked by the cold-start measurement.
	event eventFunc
	// quick is an event the function answers without any call (a request
	// it refuses), so that its first invocation is the binary's cold start
	// alone, comparable with hello-world's; nil when there is none.
	quick eventFunc
	// created is what its init builds, from reading shared/app.
	created  string
	extraEnv []string // added last to its environment (-load-env)
}

// functionNames lists the folders of functions/ with a main.go.
func functionNames() []string {
	mains, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "functions", "*", "main.go"))
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	return names
}

// buildAll builds every function and the hello-world baseline (the same
// one infra/e2e/binaries measures) for this machine, in parallel, and for
// linux/arm64 the way sam build does (the Makefile's lambda-build) for the
// deployed sizes.
func buildAll(ctx context.Context, names []string, outDir string) (map[string]string, map[string]int64, error) {
	pkgs := map[string]string{"hello": "./infra/e2e/binaries/testdata/hello"}
	for _, n := range names {
		pkgs[n] = "./functions/" + n
	}
	bins, arm := map[string]string{}, map[string]int64{}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(runtime.NumCPU())
	for name, pkg := range pkgs {
		g.Go(func() error {
			bin, err := testenv.BuildFunction(ctx, pkg, outDir)
			if err != nil {
				return err
			}
			out := filepath.Join(outDir, "linux-arm64", name, "bootstrap")
			if err := testenv.GoBuildFor(ctx, "linux", "arm64", out, pkg); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			bins[name], arm[name] = bin, fileSize(out)
			return nil
		})
	}
	err := g.Wait()
	return bins, arm, err
}

func fileSize(path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return info.Size()
}

// describe sets what each known function needs and is invoked with, its
// binary built in bins. Its environment is the one template.yaml gives it,
// Globals included, with the local tables, secrets and bus in place of the
// deployed ones, so that "as deployed" means what the template deploys.
// An unknown function gets its template environment and is measured at
// init only.
func (st *stack) describe(name string, bins map[string]string, onboarded string) *function {
	f := &function{name: name, binary: bins[name]}
	f.vars, f.lambda = st.templateEnv(name)
	switch name {
	case "hello":
		f.lambda, f.event, f.created = sam.Function{Timeout: 3, MemorySize: 128}, rawEvent("page-get.json", ""), "nothing"
	case "signup":
		f.event, f.quick = st.signupEvent, rawEvent("signup-wrong-content-type.json", "")
		f.created = "config; JSON logger; EMF metrics; aws.Config (env credentials, no call); DynamoDB client (signup table and session ledger); Secrets Manager client; upstream http.Client (16 idle conns/host); empty secrets cache; Meta and Plivo clients; session verifier"
	case "resume":
		f.event = rawEvent("resume-scheduled.json", "")
		f.created = "config; JSON logger; EMF metrics; aws.Config; DynamoDB client; Secrets Manager client; upstream http.Client; empty secrets cache; Plivo client"
	case "status":
		f.event, f.quick = rawEvent("status-found.json", onboarded), rawEvent("status-invalid-id.json", "")
		f.created = "config; JSON logger; EMF metrics; aws.Config; DynamoDB client"
	case "page":
		f.event = rawEvent("page-get.json", "")
		f.created = "config; JSON logger; the page handler (embedded assets); no AWS config or client"
	case "sessions":
		f.event, f.quick = rawEvent("sessions-create.json", ""), rawEvent("sessions-no-iam.json", "")
		f.created = "config; JSON logger; aws.Config; Secrets Manager client; empty secrets cache; token minter"
	case "callbacks":
		// Unsigned: answered after the Plivo token is fetched, without a
		// signature to forge here.
		f.event, f.quick = rawEvent("callback-unsigned.json", ""), withMethod("callback-unsigned.json", "GET")
		f.created = "config; JSON logger; EMF metrics; aws.Config; DynamoDB, Secrets Manager and EventBridge clients; empty secrets cache; callback receiver"
	case "demo":
		f.event, f.quick = rawEvent("demo-templates.json", onboarded), rawEvent("demo-message-invalid.json", "")
		f.created = "config; JSON logger; aws.Config; DynamoDB client; Secrets Manager client; upstream http.Client; empty secrets cache; Plivo client"
	case "doctor":
		// Init only: its handler is not a request to measure a cold start
		// with.
		f.created = "config; JSON logger; aws.Config; Secrets Manager, DynamoDB and EventBridge clients; upstream http.Client; Meta and Plivo client factories"
	}
	f.size = fileSize(f.binary)
	return f
}

// timeoutDuration is the function's template timeout.
func (f *function) timeoutDuration() time.Duration {
	return time.Duration(f.lambda.Timeout) * time.Second
}

// templateEnv is the environment and settings template.yaml give
// functions/<name> (<Name>Function there), its references resolved to the
// stack's tables, secrets and bus. The Graph and Plivo URLs become ${META}
// and ${PLIVO}, the simulators of the run being measured; the parameters
// that have no default get the sandbox's values; the callback URL is the
// one the bench signs for. hello-world is not in the template: nothing.
func (st *stack) templateEnv(name string) (map[string]string, sam.Function) {
	id := strings.ToUpper(name[:1]) + name[1:] + "Function"
	fn, err := st.res.Template.Function(id)
	if err != nil {
		return map[string]string{}, sam.Function{Timeout: 10, MemorySize: 128}
	}
	env, err := st.res.Environment(id)
	if err != nil {
		return map[string]string{}, fn
	}
	for k, v := range map[string]string{
		"META_GRAPH_URL": "${META}", "PLIVO_API_URL": "${PLIVO}",
		"META_APP_ID": infrastack.SandboxMetaAppID, "META_CONFIG_ID": infrastack.SandboxConfigID,
		"PLIVO_SOLUTION_ID": config.SandboxSolutionID, "CALLBACK_PUBLIC_URL": callbackPublicURL,
	} {
		if _, set := env[k]; set {
			env[k] = v
		}
	}
	env["STAGE"] = "bench"
	return env, fn
}

// rawEvent is an events/ file, its sample WABA replaced by waba when
// given.
func rawEvent(name, waba string) eventFunc {
	return func(context.Context, upstreams) ([]byte, error) {
		raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "events", name))
		if waba != "" {
			raw = bytes.ReplaceAll(raw, []byte("102000000000002"), []byte(waba))
		}
		return raw, err
	}
}

// withMethod is an events/ file with another HTTP method.
func withMethod(name, method string) eventFunc {
	return func(context.Context, upstreams) ([]byte, error) {
		req, err := loadEvent(name)
		req.RequestContext.HTTP.Method = method
		if err != nil {
			return nil, err
		}
		return json.Marshal(req)
	}
}

// statusCode reads an HTTP API answer's statusCode, or describes a
// function error.
func statusCode(out []byte) string {
	var resp struct {
		StatusCode   int    `json:"statusCode"`
		ErrorMessage string `json:"errorMessage"`
	}
	switch err := json.Unmarshal(out, &resp); {
	case err == nil && resp.ErrorMessage != "":
		return "error"
	case err != nil || resp.StatusCode == 0:
		return "ok"
	}
	return strconv.Itoa(resp.StatusCode)
}

// eventFunc returns a fresh event for one invocation against upstreams.
type eventFunc func(ctx context.Context, u upstreams) ([]byte, error)

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
			if out[f.name] == nil {
				out[f.name] = map[string]*coldResult{}
			}
			for i, event := range []eventFunc{f.event, f.quick} {
				kind := []string{coldFull, coldQuick}[i]
				r := out[f.name][kind]
				if r == nil && event != nil {
					r = &coldResult{answers: map[string]int{}}
					out[f.name][kind] = r
				}
				if r == nil || r.err != nil {
					continue
				}
				if r.err = st.coldOnce(ctx, f, event, r); ctx.Err() != nil {
					return out, ctx.Err()
				}
			}
		}
	}
	return out, nil
}

func (st *stack) coldOnce(ctx context.Context, f *function, event eventFunc, r *coldResult) error {
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
	r.peakRSS = max(r.peakRSS, testenv.ReadProc(rie.FunctionPID()).PeakRSS)
	return nil
}

// initResult is what a function does before and on its first
// invocations, measured under runtimeAPI.
type initResult struct {
	inits                     []time.Duration // process start to the first GET .../next
	firstHandler, warmHandler []time.Duration // the first and second invocations' handler time
	atInit, atFirst, atWarm   calls           // AWS and upstream calls made during init, the first and the second invocation
	trace                     []pkgInit       // GODEBUG=inittrace=1 of one extra start
	err                       error           // the function could not be started or invoked
}

// initWork starts each subject directly under runtimeAPI rounds times,
// invokes it twice when it has an event, and once more with inittrace.
// One function that cannot start here (a new one whose configuration the
// bench does not know) is reported, not fatal.
func (st *stack) initWork(ctx context.Context, subjects []*function, rounds int) map[string]*initResult {
	out := map[string]*initResult{}
	for _, f := range subjects {
		out[f.name] = &initResult{}
	}
	for round := range rounds + 1 {
		for _, f := range subjects {
			if r := out[f.name]; r.err == nil {
				r.err = st.initOnce(ctx, f, r, round == rounds)
			}
		}
	}
	return out
}

func (st *stack) initOnce(ctx context.Context, f *function, r *initResult, traced bool) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	env := st.environ(f, st.fast)
	if traced {
		env = append(env, "GODEBUG=inittrace=1")
	}
	before := st.snapshot()
	d, start, err := startDirect(f.binary, env, f.timeoutDuration())
	if err != nil {
		return err
	}
	defer d.stop()
	polled, err := d.awaitPoll(ctx)
	if err != nil {
		return err
	}
	if traced {
		r.trace = parseInittrace(d.stderr.String())
		return nil
	}
	r.inits = append(r.inits, polled.Sub(start))
	r.atInit = st.snapshot().since(before)
	for i := 0; i < 2 && f.event != nil; i++ {
		ev, err := f.event(ctx, st.fast)
		if err != nil {
			return err
		}
		mark := st.snapshot()
		took, _, err := d.invoke(ctx, ev)
		if err != nil {
			return err
		}
		if i == 0 {
			r.firstHandler, r.atFirst = append(r.firstHandler, took), st.snapshot().since(mark)
		} else {
			r.warmHandler, r.atWarm = append(r.warmHandler, took), st.snapshot().since(mark)
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
	results []invocation
}

// load fires n signups at the signup function's real binary under the
// emulator, from concurrency callers, through the slow simulators. The
// emulator runs one invocation at a time, as one execution environment
// does, so the callers queue.
func (st *stack) load(ctx context.Context, f *function, n, concurrency int) (*loadResult, error) {
	// The emulator runs the process; e only lends it its timed fronts.
	e := &execEnv{}
	defer stopEnvs([]*execEnv{e})
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
		s, start := &spans{}, time.Now()
		e.current.Store(s)
		out, err := rie.Invoke(ictx, ev)
		took := time.Since(start)
		e.current.Store(nil)
		if record {
			res.results = append(res.results, invocation{took: took, waits: s.waits()})
		}
		return statusCode(out), err
	}
	// Warm: the cold start, the secrets fetched, the connections opened.
	for range 5 {
		if _, err := invoke(); err != nil {
			return nil, err
		}
	}
	pid := rie.FunctionPID()
	if pid == 0 {
		return nil, fmt.Errorf("no running process of %s", f.binary)
	}
	before, mark := testenv.ReadProc(pid), st.snapshot()
	record = true
	var mu sync.Mutex
	var firstErr error
	res.wall = share(ctx, concurrency, n, func(int) {
		code, err := invoke()
		mu.Lock()
		defer mu.Unlock()
		res.answers[code]++
		if err != nil && firstErr == nil {
			firstErr = err
		}
	})
	after := testenv.ReadProc(pid)
	res.calls = st.snapshot().since(mark)
	res.peakRSS, res.rss = after.PeakRSS, after.RSS
	res.cpuPerSignup = (after.CPU - before.CPU) / time.Duration(n)
	return res, firstErr
}
