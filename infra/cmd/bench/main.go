// Command bench measures the signup backend against DynamoDB Local and the
// Meta, Plivo and Secrets Manager simulators and prints a
// Markdown table of the figures: end-to-end latency and its overhead over
// the upstream waits, throughput, calls per signup, the service's CPU and
// allocations, cold starts and the work done at init, binary sizes, and
// the signup function's memory under load.
//
//	go run ./infra/cmd/bench [-meta-latency 50ms] [-plivo-latency 80ms] [-n 200] [-concurrency 1,10,50] [-out .artifacts/bench.md]
//
// It prints figures and judges them against the targets; it exits
// non-zero only when it could not measure. docs/bench.md keeps the latest
// table and explains the method. Other flags: -skip phases, -quiet-load to
// wait for an idle machine, -load-binary and -load-env to load a profiling
// build of the signup function.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

type options struct {
	metaLatency, plivoLatency time.Duration
	n, warmup                 int
	concurrency               []int
	out                       string
	rounds                    int
	loadN, loadConcurrency    int
	callbacksN                int
	readme                    string
	benchtime                 string
	skip                      map[string]bool
	callgrind                 bool
	quietLoad                 float64
	quietWait                 time.Duration
	loadBinary                string
	loadEnv                   []string
}

// phases that -skip can name.
var phases = []string{"gobench", "e2e", "callbacks", "cold", "tls", "init", "load"}

// list is the non-empty items of a flag's sep-separated value.
func list(value, sep string) []string {
	var out []string
	for _, s := range strings.Split(value, sep) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.DurationVar(&o.metaLatency, "meta-latency", 50*time.Millisecond, "fixed latency of every Meta Graph API call")
	fs.DurationVar(&o.plivoLatency, "plivo-latency", 80*time.Millisecond, "fixed latency of every Plivo API call")
	fs.IntVar(&o.n, "n", 200, "signups measured at each concurrency")
	fs.IntVar(&o.warmup, "warmup", 60, "signups run before measuring (at least one per execution environment), to warm the clients, the secrets cache and DynamoDB Local's JIT")
	conc := fs.String("concurrency", "1,10,50", "concurrency levels of the end-to-end run, comma separated")
	fs.StringVar(&o.out, "out", ".artifacts/bench.md", "also write the Markdown report here (relative to the repository root); empty: stdout only")
	fs.BoolVar(&o.callgrind, "callgrind", false, "also count the instructions of each TLS cold start under valgrind's callgrind (slow)")
	fs.IntVar(&o.callbacksN, "callbacks-n", 600, "callbacks of the mix measured at each concurrency")
	fs.StringVar(&o.readme, "readme", "README.md", "rewrite the headline figures between the bench markers of this file (relative to the repository root) when every phase ran; empty: leave it")
	fs.IntVar(&o.rounds, "rounds", 9, "fresh starts per function for the cold-start and init figures")
	fs.IntVar(&o.loadN, "load-n", 200, "signups fired at the signup binary under the emulator for the memory figure")
	fs.IntVar(&o.loadConcurrency, "load-concurrency", 10, "callers firing those signups")
	fs.StringVar(&o.benchtime, "benchtime", "1s", "go test -benchtime for the in-memory benchmarks")
	fs.Float64Var(&o.quietLoad, "quiet-load", 0, "before starting, wait until the 1-minute load average is at most this (0: do not wait)")
	fs.DurationVar(&o.quietWait, "quiet-wait", 10*time.Minute, "longest wait for -quiet-load")
	fs.StringVar(&o.loadBinary, "load-binary", "", "run the memory load against this bootstrap instead of functions/signup's (a profiling build, say)")
	loadEnv := fs.String("load-env", "", "extra KEY=VALUE variables for the loaded function, separated by ';'")
	skip := fs.String("skip", "", "phases to skip, comma separated: "+strings.Join(phases, ", "))
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, s := range strings.Split(*conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 {
			return o, fmt.Errorf("-concurrency: %q is not a positive integer", s)
		}
		o.concurrency = append(o.concurrency, c)
	}
	o.loadEnv = list(*loadEnv, ";")
	o.skip = map[string]bool{}
	for _, s := range list(*skip, ",") {
		o.skip[s] = true
	}
	if o.n < 1 || o.callbacksN < 1 || o.rounds < 1 || o.loadN < 1 || o.loadConcurrency < 1 {
		return o, errors.New("-n, -rounds, -load-n and -load-concurrency must be positive")
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o)
	if rep != nil {
		md, sum := rep.render()
		fmt.Print(md)
		if o.readme != "" && err == nil && len(rep.skipped) == 0 && len(rep.notes) == 0 {
			if rerr := rewriteFile(repoPath(o.readme), rep.headline(o.out, sum)); rerr != nil {
				fmt.Fprintln(os.Stderr, "bench:", rerr)
			} else {
				progress("headline figures rewritten in %s", o.readme)
			}
		}
		if o.out != "" {
			path := repoPath(o.out)
			werr := os.MkdirAll(filepath.Dir(path), 0o755)
			if werr == nil {
				werr = os.WriteFile(path, []byte(md), 0o644)
			}
			if werr != nil {
				fmt.Fprintln(os.Stderr, "bench:", werr)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// repoPath is path, relative to the repository root unless absolute.
func repoPath(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(testenv.RepoRoot(), path)
}

func progress(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...)
}

// loadAvg is the 1-minute load average: on a 2-core machine shared with
// other work, the figures mean little when it is far above the cores.
func loadAvg() float64 {
	v := -1.0
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		_, _ = fmt.Sscan(string(b), &v)
	}
	return v
}

// waitQuiet waits up to d for the load average to fall to at most limit.
func waitQuiet(ctx context.Context, limit float64, d time.Duration) {
	deadline := time.Now().Add(d)
	for l := loadAvg(); limit > 0 && l > limit && time.Now().Before(deadline) && ctx.Err() == nil; l = loadAvg() {
		progress("load average %.1f is above %.1f: waiting (up to %s more)", l, limit, time.Until(deadline).Round(time.Second))
		select {
		case <-ctx.Done():
		case <-time.After(15 * time.Second):
		}
	}
}

// phase runs fn unless -skip names the phase, noting the load average
// around it.
func (r *report) phase(o options, skipName, name string, fn func() error) error {
	if o.skip[skipName] {
		return nil
	}
	before, start := loadAvg(), time.Now()
	err := fn()
	r.phases = append(r.phases, phaseNote{name: name, took: time.Since(start), loadBefore: before, loadAfter: loadAvg()})
	return err
}

func run(ctx context.Context, o options) (rep *report, err error) {
	rep = &report{started: time.Now(), args: strings.TrimSpace("go run ./infra/cmd/bench " + strings.Join(os.Args[1:], " ")),
		metaLat: o.metaLatency, plivoLat: o.plivoLatency, cpuModel: cpuModel(), coldRounds: o.rounds}
	for _, p := range phases {
		if o.skip[p] {
			rep.skipped = append(rep.skipped, p)
		}
	}
	waitQuiet(ctx, o.quietLoad, o.quietWait)

	// The in-memory benchmarks first, while nothing else of ours runs.
	err = rep.phase(o, "gobench", "go test -bench", func() (err error) {
		progress("go test -bench %s", strings.Join(goBenchPackages, " "))
		rep.goBench, err = runGoBench(ctx, o.benchtime)
		return err
	})
	// Every other phase runs built binaries.
	if err != nil || !slices.ContainsFunc(phases, func(p string) bool { return p != "gobench" && !o.skip[p] }) {
		return rep, err
	}
	names := functionNames()
	if o.skip["cold"] && o.skip["init"] && o.skip["load"] {
		// Only the end-to-end, callbacks and TLS phases run.
		names = []string{"callbacks", "signup"}
	}
	progress("building %d functions and hello (native and linux/arm64)", len(names))
	buildDir := filepath.Join(testenv.RepoRoot(), ".build", "bench")
	bins, arm, err := buildAll(ctx, names, buildDir)
	if err != nil {
		return rep, err
	}
	progress("starting DynamoDB Local and the simulators")
	st, err := startStack(ctx, o.metaLatency, o.plivoLatency)
	if err != nil {
		return rep, err
	}
	defer st.close()

	signupFunc := st.describe("signup", bins, "")
	err = rep.phase(o, "e2e", "end to end", func() (err error) {
		rep.levels, err = st.endToEnd(ctx, o, signupFunc)
		return err
	})
	if err != nil {
		return rep, err
	}
	// WABAs onboarded through the instant simulators: the first for the
	// status and demo events of the cold starts, the others for the
	// numbers the callbacks come to and from.
	count := 1
	if !o.skip["callbacks"] {
		count += 20
	}
	onboarded, err := st.onboard(ctx, signupFunc, count)
	if err != nil {
		return rep, err
	}
	one := onboarded[0].waba
	err = rep.phase(o, "callbacks", "callbacks", func() (err error) {
		var numbers []string
		for _, id := range onboarded[1:] {
			numbers = append(numbers, onboarding.PhoneDigits(id.displayNumber()))
		}
		rep.callbacks, err = st.runCallbacks(ctx, st.describe("callbacks", bins, one), numbers, o.concurrency, o.callbacksN)
		return err
	})
	if err != nil {
		return rep, err
	}
	for _, n := range append([]string{"hello"}, names...) {
		f := st.describe(n, bins, one)
		f.arm64 = arm[n]
		rep.functions = append(rep.functions, f)
	}
	err = rep.phase(o, "cold", "cold starts", func() (err error) {
		progress("cold starts: %d fresh emulators per function", o.rounds)
		rep.cold, err = st.coldStarts(ctx, rep.functions, o.rounds)
		return err
	})
	if err == nil {
		err = rep.phase(o, "tls", "cold starts with TLS", func() error {
			progress("cold starts with TLS: %d fresh starts of hello, signup and callbacks", o.rounds)
			t, err := st.startTLS(buildDir)
			if err == nil {
				rep.tls = st.coldTLS(ctx, t, st.tlsSubjects(bins, one), o.rounds, o.callgrind)
			}
			return err
		})
	}
	if err != nil {
		return rep, err
	}
	_ = rep.phase(o, "init", "init work", func() error {
		progress("init work: %d direct starts per function", o.rounds)
		rep.inits = st.initWork(ctx, rep.functions, o.rounds)
		return nil
	})
	return rep, rep.phase(o, "load", "memory under load", func() (err error) {
		signup := st.describe("signup", bins, one)
		if o.loadBinary != "" {
			if signup.binary, err = filepath.Abs(o.loadBinary); err != nil {
				return err
			}
			signup.extraEnv = o.loadEnv
			rep.notes = append(rep.notes, "memory load ran "+o.loadBinary+", not functions/signup's build")
		}
		progress("memory: %d signups at the signup binary under the emulator from %d callers", o.loadN, o.loadConcurrency)
		rep.load, err = st.load(ctx, signup, o.loadN, o.loadConcurrency)
		return err
	})
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}
