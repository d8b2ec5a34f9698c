package main

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Targets of the signup path, cold starts and binaries.
const (
	targetOverheadP99  = 5 * time.Millisecond
	targetSignupOwnP99 = 3 * time.Millisecond
	targetRatio        = 1.05
	targetWrites       = 3.0
	targetMeta         = 3.0
	targetColdRatio    = 1.25
	targetBinary       = 8 << 20
	// lambdaMemory is template.yaml's MemorySize (Globals).
	lambdaMemory = 128 << 20
)

// Causes of misses the summary gives, each by design (with the reason) or
// work to do.
const (
	causeDynamoWrites = "by design: a signup's conditional DynamoDB writes (lock, verified, outcome) are on its request path; the own-overhead rows take them out"
	causeSignupCPU    = "work to do: CPU per round trip (HTTP client, AWS SDK serialisation and SigV4, log lines), seven round trips per signup (docs/bench.md)"
	causeSDKInit      = "work to do: the AWS SDK's package init (DynamoDB's schemas and endpoint tables), which hello-world does not link"
	causeFirstUse     = "by design for signup (its first request is a whole signup: 3 secrets, 4 writes, 5 Graph calls, Plivo); for the others, work to do: each AWS client's first call"
	// The security design adds one call of each kind: business_id is
	// always proven with Meta, and a WABA is locked only after Meta's proof
	// while the session token is spent before the code exchange.
	causeBusinessProof = "by design: the fourth call reads the WABA's owning business with the customer's token, so a business_id is taken from the browser only when Meta names no owner (counted as BusinessUnproven), and runs beside debug_token and the number read; the fifth subscribes our app to the WABA's webhooks, as Meta's Tech Provider onboarding requires, and runs beside Plivo's call; neither adds a wait"
	causeSessionSpend  = "by design: the session token is spent with its own conditional write before the code exchange, and the WABA is locked only after Meta's proof (so a squatter cannot hold it): the two cannot share one transaction"
	causeBinarySize    = "work to do: fewer SDK clients per binary; the SDK alone, a program that only builds callbacks' three SDK clients (DynamoDB, Secrets Manager, EventBridge) and makes its calls is 8.13 MiB; their generated schemas are built at package init, so the linker keeps them; signup is 0.13 MiB over"
)

// report is everything one run measured.
type report struct {
	started           time.Time
	args              string
	metaLat, plivoLat time.Duration
	cpuModel          string
	goBench           []goBench
	levels            []level
	functions         []*function // hello-world first
	cold              map[string]map[string]*coldResult
	inits             map[string]*initResult
	coldRounds        int
	load              *loadResult
	callbacks         []level
	tls               []*tlsCold
	notes, skipped    []string
	phases            []phaseNote
}

// phaseNote is how long a phase took and how busy the machine was.
type phaseNote struct {
	name                  string
	took                  time.Duration
	loadBefore, loadAfter float64
}

// writer appends to a section of the report.
type writer func(format string, a ...any)

// summaryRow is one target: what was measured against it, and for a miss
// its cause, which starts with "by design" (and says why) or "work to do".
type summaryRow struct {
	what, target, got string
	ok                bool
	cause             string
}

// summary collects the targets of a run, in the order the report meets
// them.
type summary []summaryRow

func (s *summary) add(what, target, got string, ok bool, cause string) {
	*s = append(*s, summaryRow{what: what, target: target, got: got, ok: ok, cause: cause})
}

func (s summaryRow) verdict() string {
	switch {
	case s.ok:
		return "met"
	case s.got == "not measured":
		return "not measured"
	case strings.HasPrefix(s.cause, "by design"):
		return "missed, by design"
	}
	return "**missed**"
}

// table is the summary's rows as a Markdown table.
func (s summary) table() string {
	var b strings.Builder
	b.WriteString("| target | measured | goal | verdict | why, when missed |\n|---|---|---|---|---|\n")
	for _, r := range s {
		why := ""
		if !r.ok {
			why = r.cause
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.what, r.got, r.target, r.verdict(), why)
	}
	return b.String() + "\n"
}

// markdown opens the report: the count of targets met and missed, then
// one row per target.
func (s summary) markdown() string {
	count := map[string]int{}
	for _, r := range s {
		count[r.verdict()]++
	}
	return fmt.Sprintf("## Summary\n\n%d targets: %d met, %d missed by design, %d missed with work to do, %d not measured.\n\n", len(s),
		count["met"], count["missed, by design"], count["**missed**"], count["not measured"]) + s.table()
}

// percentile is the nearest-rank p-th percentile of xs (0 when empty).
func percentile[T cmp.Ordered](xs []T, p float64) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	s := slices.Sorted(slices.Values(xs))
	return s[max(0, min(int(math.Ceil(p*float64(len(s))))-1, len(s)-1))]
}

// pms is the p-th percentile of ds in milliseconds.
func pms(ds []time.Duration, p float64) string { return ms(percentile(ds, p)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func verdict(ok bool) string { return summaryRow{ok: ok}.verdict() }

// levelStats are the per-invocation distributions of a set of signups.
// Every wait is a union of call intervals (see unionLength): overhead is
// e2e less the time at least one Meta or Plivo call was in progress, own
// is e2e less the time at least one call of any kind was.
type levelStats struct {
	e2e, upstream, overhead, own, dynamo []time.Duration
	upstreamSum                          []time.Duration
	configuredSum, configuredPath        []time.Duration
	ratio, ownRatio                      []float64
	upCalls, dynCalls                    [2]int // min, max per signup
	meta, plivo, steps                   [2]int // min, max per signup
}

// minMax widens r to hold v.
func minMax(r [2]int, v int) [2]int { return [2]int{min(r[0], v), max(r[1], v)} }

func (r *report) stats(results []invocation) levelStats {
	var s levelStats
	none := [2]int{math.MaxInt, math.MinInt}
	s.upCalls, s.dynCalls, s.meta, s.plivo, s.steps = none, none, none, none, none
	latency := map[callKind]time.Duration{callMeta: r.metaLat, callPlivo: r.plivoLat}
	for _, res := range results {
		w := res.waits
		s.e2e = append(s.e2e, res.took)
		s.upstream = append(s.upstream, w.upstream)
		s.upstreamSum = append(s.upstreamSum, w.upstreamSum)
		s.overhead = append(s.overhead, res.took-w.upstream)
		s.own = append(s.own, res.took-w.all)
		s.dynamo = append(s.dynamo, w.dynamo)
		if w.upstream > 0 {
			s.ratio = append(s.ratio, float64(res.took)/float64(w.upstream))
		}
		if w.all > 0 {
			s.ownRatio = append(s.ownRatio, float64(res.took)/float64(w.all))
		}
		s.configuredSum = append(s.configuredSum, time.Duration(w.meta)*r.metaLat+time.Duration(w.plivo)*r.plivoLat)
		s.configuredPath = append(s.configuredPath, criticalPath(w.steps, func(k callKind) time.Duration { return latency[k] }))
		s.upCalls = minMax(s.upCalls, w.meta+w.plivo)
		s.dynCalls = minMax(s.dynCalls, w.dynCalls)
		s.meta, s.plivo, s.steps = minMax(s.meta, w.meta), minMax(s.plivo, w.plivo), minMax(s.steps, len(w.steps))
	}
	return s
}

// countRange renders a per-signup count range: "3", or "3–4".
func countRange(r [2]int) string {
	switch {
	case r[0] > r[1]:
		return "-"
	case r[0] == r[1]:
		return fmt.Sprint(r[0])
	}
	return fmt.Sprintf("%d–%d", r[0], r[1])
}

// render writes the report, its summary first, and returns the summary's
// rows too.
func (r *report) render() (string, summary) {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	var sum summary
	r.callbacksMarkdown(w, &sum)
	r.signupMarkdown(w, &sum)
	r.goBenchMarkdown(w)
	r.coldMarkdown(w, &sum)
	r.loadMarkdown(w, &sum)
	r.tlsMarkdown(w, &sum)
	if len(r.phases) > 0 {
		var parts []string
		for _, p := range r.phases {
			parts = append(parts, fmt.Sprintf("%s %.1f→%.1f (%s)", p.name, p.loadBefore, p.loadAfter, p.took.Round(time.Second)))
		}
		w("Machine load (1-minute load average on %d cores) around each phase: %s. Figures taken while other work loads the machine are slower than the code is.\n\n",
			runtime.NumCPU(), strings.Join(parts, "; "))
	}
	for _, n := range r.notes {
		w("- %s\n", n)
	}
	if len(r.skipped) > 0 {
		w("- skipped: %s\n", strings.Join(r.skipped, ", "))
	}
	head := fmt.Sprintf("# Benchmark: WhatsApp Embedded Signup backend\n\nRun %s on %s, %d cores (%s), %s. Command: `%s`.\n\n", r.started.UTC().Format(time.RFC3339),
		runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), r.cpuModel, runtime.Version(), r.args) +
		fmt.Sprintf("Upstream latency (fixed, slept inside the simulators' handlers): Meta %s per Graph call, Plivo %s per call. ", r.metaLat, r.plivoLat) +
		"DynamoDB Local (in memory, behind a counting proxy) and the simulators run on this machine over loopback HTTP. " +
		"The machine is shared: figures are medians and percentiles of one run, and move between runs (docs/bench.md).\n\n"
	return head + sum.markdown() + b.String(), sum
}

// errorList lists the first three errors of a run.
func errorList(w writer, run string, errs []error) {
	for i, err := range errs {
		if i == 3 {
			w("- ... %d more\n", len(errs)-3)
			break
		}
		w("- %s error: %s\n", run, oneLine(err.Error(), 300))
	}
}

func (r *report) signupMarkdown(w writer, sum *summary) {
	if len(r.levels) == 0 {
		return
	}
	w("## End to end: one signup through the built signup binary\n\n")
	w("functions/signup's binary, as many execution environments as the concurrency, each under the bench's own Lambda Runtime API and running one invocation at a time, ")
	w("with template.yaml's configuration but onboarding sessions off (SESSIONS=off), invoked with events/signup-ok.json (fresh WABA and code each time). ")
	w("*e2e* is the invocation as the Runtime API sees it, from handing out the event to the answer. ")
	w("Each environment reaches Meta, Plivo, DynamoDB and Secrets Manager through its own timed reverse proxies, which give every call's interval to the invocation in progress. ")
	w("*Upstream wait* is the wall time during which at least one of that signup's Meta or Plivo calls was in progress ")
	w("(the union of the calls' intervals, so calls made concurrently count once); ")
	w("*overhead* = end to end − upstream wait; *own* = end to end − the union of the intervals of all its calls, the DynamoDB and Secrets Manager round trips included. ")
	w("*DynamoDB* is the union of the signup's DynamoDB round trips.\n\n")
	w("| concurrency | signups | signups/s | e2e p50 | e2e p99 | upstream wait p50 | overhead p50 | overhead p99 | own p50 | own p99 | errors |\n")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	stats := make([]levelStats, len(r.levels))
	var all []invocation
	for i, lv := range r.levels {
		s := r.stats(lv.results)
		stats[i], all = s, append(all, lv.results...)
		w("| %d | %d | %.1f | %s | %s | %s | %s | %s | %s | %s | %d |\n", lv.concurrency, len(lv.results), float64(len(lv.results))/lv.wall.Seconds(),
			pms(s.e2e, .5), pms(s.e2e, .99), pms(s.upstream, .5), pms(s.overhead, .5), pms(s.overhead, .99), pms(s.own, .5), pms(s.own, .99), len(lv.errors))
	}
	w("\n#### Where a signup's time goes\n\n")
	w("*e2e / upstream wait* and *e2e / all waits*: end to end divided by the upstream wait, and by the union of all its calls' intervals (DynamoDB and Secrets Manager included); 1.000 would be a service that adds nothing. ")
	w("*DynamoDB*: the union of its DynamoDB round trips, timed at the environment's proxy (the counting proxy's hop included). ")
	w("*CPU per signup*: the user+system time of the level's signup processes (from /proc) and of DynamoDB Local's JVM, over the level's signups.\n\n")
	w("| concurrency | e2e / upstream wait p50 | e2e / upstream wait p99 | e2e / all waits p99 | DynamoDB p50 | DynamoDB p99 | CPU per signup: signup binary | CPU per signup: DynamoDB Local |\n")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, lv := range r.levels {
		s, n := stats[i], time.Duration(max(1, len(lv.results)))
		w("| %d | %.3f | %.3f | %.3f | %s | %s | %s | %s |\n", lv.concurrency, percentile(s.ratio, .5), percentile(s.ratio, .99), percentile(s.ownRatio, .99),
			pms(s.dynamo, .5), pms(s.dynamo, .99), ms(lv.cpu/n), ms(lv.dbCPU/n))
	}
	w("\n")
	w("#### Upstream wait per signup: configured and measured\n\n")
	w("*Calls* are the Meta and Plivo calls each signup made (range over the signups). *Configured sum*: those calls one after another at the configured latencies. ")
	w("*Configured critical path*: the same calls grouped into *steps* by their measured intervals (calls in progress at the same time are one step, ")
	w("a call that starts after the step's calls have all ended begins the next), each step waiting for its slowest call at the configured latency. ")
	w("Both are p50 over the signups; the measured upstream wait is the union above, and *sum of call times* adds the calls' times, overlaps counted twice.\n\n")
	w("| concurrency | Meta calls | Plivo calls | configured sum p50 | steps | configured critical path p50 | upstream wait p50 | upstream wait p99 | sum of call times p50 |\n")
	w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, lv := range r.levels {
		s := stats[i]
		w("| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", lv.concurrency, countRange(s.meta), countRange(s.plivo), pms(s.configuredSum, .5),
			countRange(s.steps), pms(s.configuredPath, .5), pms(s.upstream, .5), pms(s.upstream, .99), pms(s.upstreamSum, .5))
	}
	w("\n")
	for _, lv := range r.levels {
		errorList(w, fmt.Sprintf("concurrency %d", lv.concurrency), lv.errors)
	}
	c1, s1 := r.levels[0].concurrency, stats[0]
	sum.add(fmt.Sprintf("overhead p99 (concurrency %d)", c1), "< 5 ms", pms(s1.overhead, .99), percentile(s1.overhead, .99) < targetOverheadP99, causeDynamoWrites)
	sum.add(fmt.Sprintf("e2e / upstream wait p99 (concurrency %d)", c1), "≤ 1.05", fmt.Sprintf("%.3f", percentile(s1.ratio, .99)), percentile(s1.ratio, .99) <= targetRatio, causeDynamoWrites)
	sum.add(fmt.Sprintf("own overhead p99, DynamoDB counted as a wait (concurrency %d)", c1), "≤ 3 ms", pms(s1.own, .99), percentile(s1.own, .99) <= targetSignupOwnP99, causeSignupCPU)
	sum.add(fmt.Sprintf("own ratio p99, DynamoDB counted as a wait (concurrency %d)", c1), "≤ 1.05", fmt.Sprintf("%.3f", percentile(s1.ownRatio, .99)), percentile(s1.ownRatio, .99) <= targetRatio, causeSignupCPU)

	// Calls per warm signup, over every level.
	var total calls
	signups := 0
	for _, lv := range r.levels {
		signups += len(lv.results) + len(lv.errors)
		total.add(lv.calls)
	}
	per := func(n int) float64 { return float64(n) / float64(max(1, signups)) }
	w("### Calls per warm signup (%d signups after warm-up, all levels)\n\n", signups)
	w("| call | per signup | target | |\n|---|---:|---:|---|\n")
	w("| Secrets Manager GetSecretValue | %.2f | 0 | %s |\n", per(total.sm), verdict(total.sm == 0))
	w("| DynamoDB writes (%s) | %.2f | ≤ 3 | %s |\n", opList(total.byOp, true), per(total.writes), verdict(per(total.writes) <= targetWrites))
	w("| DynamoDB reads (%s) | %.2f | - | |\n", opList(total.byOp, false), per(total.reads))
	w("| Meta Graph API | %.2f | ≤ 3 | %s |\n", per(total.meta), verdict(per(total.meta) <= targetMeta))
	w("| Plivo Embedded Signup | %.2f | exactly 1 | %s |\n", per(total.plivo), verdict(total.plivo == signups))
	a := r.stats(all)
	w("\nPer signup, as its environment's fronts attributed them: %d–%d upstream calls, %d–%d DynamoDB round trips.\n\n", a.upCalls[0], a.upCalls[1], a.dynCalls[0], a.dynCalls[1])
	sum.add("Secrets Manager calls per warm signup", "0", fmt.Sprintf("%.2f", per(total.sm)), total.sm == 0, "work to do")
	sum.add("DynamoDB writes per signup", "≤ 3", fmt.Sprintf("%.2f", per(total.writes)), per(total.writes) <= targetWrites, "work to do")
	sum.add("Meta calls per signup", "≤ 3", fmt.Sprintf("%.2f", per(total.meta)), per(total.meta) <= targetMeta, causeBusinessProof)
	sum.add("Plivo calls per signup", "exactly 1", fmt.Sprintf("%.2f", per(total.plivo)), total.plivo == signups, "work to do")
}

func (r *report) goBenchMarkdown(w writer) {
	if len(r.goBench) == 0 {
		return
	}
	w("## Service CPU and allocations (in-memory fakes)\n\n")
	w("`go test -run=^$ -bench=. -benchmem %s`: memstore and fakes that answer at once; production JSON logger and EMF metrics writing to io.Discard.\n\n", strings.Join(goBenchPackages, " "))
	w("*ns/op* is wall time per signup; *CPU ns/op* is the test process's CPU time (getrusage, GC included) per signup, which waiting for a busy core does not inflate.\n\n")
	w("| package | benchmark | ns/op | CPU ns/op | B/op | allocs/op |\n|---|---|---:|---:|---:|---:|\n")
	for _, g := range r.goBench {
		w("| %s | %s | %.0f (%s) | %.0f (%s) | %d | %d |\n", g.pkg, g.name, g.nsPerOp, ms(time.Duration(g.nsPerOp)),
			g.cpuNsPerOp, ms(time.Duration(g.cpuNsPerOp)), g.bytesPerOp, g.allocsOp)
	}
	w("\n")
}

func (r *report) coldMarkdown(w writer, sum *summary) {
	if r.cold == nil && r.inits == nil {
		return
	}
	w("## Cold start\n\n")
	w("Each binary built like sam build (CGO_ENABLED=0, -tags lambda.norpc, -trimpath, -ldflags '-s -w'), for this machine to run it and for linux/arm64 (deployed) for its size. ")
	w("*First invocation*: wall time of the first Invoke of a fresh `aws-lambda-rie` (which starts the binary), median of %d, upstream simulators answering at once. ", r.coldRounds)
	w("*Init*: process start to its first `GET /runtime/invocation/next`, and *handler*: the first and second invocations' handler time, both under a minimal Runtime API in this process (median of %d).\n\n", r.coldRounds)
	w("*Full*: a representative request (signup: a whole signup, 3 Secrets Manager fetches on the way); *no I/O*: a request the function refuses before any call (wrong content type, invalid ID, no IAM...), i.e. the binary's own cold start. ")
	w("Calls are those the first invocation made.\n\n")
	w("| function | binary (native) | binary (linux/arm64) | first invocation, full: p50 | vs hello | answer | calls | first invocation, no I/O: p50 | vs hello | answer | init p50 | 1st handler p50 | warm handler p50 | peak RSS after 1st |\n")
	w("|---|---:|---:|---:|---:|---|---|---:|---:|---|---:|---:|---:|---:|\n")
	var base time.Duration
	if c := r.cold["hello"][coldFull]; c != nil && c.err == nil {
		base = percentile(c.firsts, .5)
	}
	worst := map[string]float64{}
	var worstSize int64
	var allFirsts []string
	for _, f := range r.functions {
		cells := [2][4]string{{"n/a", "n/a", "", ""}, {"n/a", "n/a", "", ""}}
		rss := int64(0)
		for i, kind := range []string{coldFull, coldQuick} {
			c := r.cold[f.name][kind]
			switch {
			case c == nil:
				continue
			case c.err != nil:
				cells[i][2] = "failed: " + oneLine(c.err.Error(), 100)
				continue
			}
			med := percentile(c.firsts, .5)
			cells[i][0], cells[i][2], cells[i][3] = ms(med), answerList(c.answers), callList(c.calls)
			if kind == coldQuick {
				cells[i][2] += ", calls: " + cells[i][3]
			}
			rss = max(rss, c.peakRSS)
			allFirsts = append(allFirsts, fmt.Sprintf("%s %s: %s", f.name, kind, durList(c.firsts)))
			if base > 0 {
				x := float64(med) / float64(base)
				cells[i][1] = fmt.Sprintf("%.2fx", x)
				if f.name != "hello" {
					worst[kind] = max(worst[kind], x)
				}
			}
		}
		initMed, h1, h2 := "-", "-", "-"
		if in := r.inits[f.name]; in != nil && in.err == nil {
			initMed = pms(in.inits, .5)
			if len(in.firstHandler) > 0 {
				h1, h2 = pms(in.firstHandler, .5), pms(in.warmHandler, .5)
			}
		}
		// The deployed build is linux/arm64; the native one is what ran
		// here.
		worstSize = max(worstSize, cmp.Or(f.arm64, f.size))
		rssCell, arm := "-", "-"
		if rss > 0 {
			rssCell = mb(rss)
		}
		if f.arm64 > 0 {
			arm = mb(f.arm64)
		}
		w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", f.name, mb(f.size), arm,
			cells[0][0], cells[0][1], cells[0][2], cells[0][3], cells[1][0], cells[1][1], cells[1][2], initMed, h1, h2, rssCell)
	}
	w("\nAll first invocations: %s.\n\n", strings.Join(allFirsts, "; "))
	sum.add("cold first invocation vs hello-world, request answered without I/O (worst function)", "≤ 1.25x", fmt.Sprintf("%.2fx", worst[coldQuick]), worst[coldQuick] <= targetColdRatio, causeSDKInit)
	sum.add("cold first invocation vs hello-world, representative request (worst function)", "≤ 1.25x", fmt.Sprintf("%.2fx", worst[coldFull]), worst[coldFull] <= targetColdRatio, causeFirstUse)
	sum.add("binary size, linux/arm64 as deployed (largest function; MB = MiB)", "≤ 8 MB", mb(worstSize), worstSize < targetBinary, causeBinarySize)

	w("### Work done at init\n\n")
	w("Calls counted at the stand-ins while the process initialised (before its first `GET .../next`), during its first invocation and during its second; package init from `GODEBUG=inittrace=1`. ")
	w("What init creates is read from the wiring packages in shared/app.\n\n")
	w("| function | AWS/upstream calls at init | 1st invocation | 2nd invocation | package init (sum) | heaviest package inits | created at init |\n|---|---|---|---|---:|---|---|\n")
	initCallsOK := true
	for _, f := range r.functions {
		in := r.inits[f.name]
		switch {
		case in == nil:
			continue
		case in.err != nil:
			w("| %s | could not start here: %s | | | | | %s |\n", f.name, oneLine(in.err.Error(), 160), f.created)
			continue
		}
		quiet := in.atInit.dynamoAll == 0 && in.atInit.sm == 0 && in.atInit.meta == 0 && in.atInit.plivo == 0
		initCallsOK = initCallsOK && quiet
		first, warm := "-", "-"
		if len(in.firstHandler) > 0 {
			first, warm = callList(in.atFirst), callList(in.atWarm)
		}
		var sum time.Duration
		var bytes int64
		for _, p := range in.trace {
			sum, bytes = sum+p.clock, bytes+p.bytes
		}
		w("| %s | %s | %s | %s | %s, %d kB | %s | %s |\n", f.name, callList(in.atInit), first, warm, ms(sum), bytes>>10, topInits(in.trace, 3), f.created)
	}
	w("\n")
	sum.add("AWS calls during init (every function)", "0", map[bool]string{true: "0", false: "some"}[initCallsOK], initCallsOK, "work to do")
}

func (r *report) loadMarkdown(w writer, sum *summary) {
	l := r.load
	if l == nil {
		return
	}
	w("## Memory and CPU of the signup function under load\n\n")
	w("functions/signup's binary under `aws-lambda-rie` with template.yaml's configuration (onboarding sessions on), %d signups (fresh WABA, code and session each) from %d callers, ", l.invocations, l.concurrency)
	w("through the simulators with the configured latencies. The emulator runs one invocation at a time, as one Lambda execution environment does, so the callers queue. ")
	w("Peak RSS is the bootstrap process's VmHWM; CPU is its user+system time over the measured signups.\n\n")
	per := func(x int) float64 { return float64(x) / float64(max(1, l.invocations)) }
	w("| invocations | answers | wall | peak RSS (VmHWM) | RSS at end | of 128 MB | CPU per signup | Secrets Manager / signup | DynamoDB writes / signup | DynamoDB reads / signup | Meta / signup | Plivo / signup |\n")
	w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	w("| %d | %s | %s | %s | %s | %.0f%% | %s | %.2f | %.2f (%s) | %.2f | %.2f | %.2f |\n\n", l.invocations, answerList(l.answers), l.wall.Round(time.Millisecond),
		mb(l.peakRSS), mb(l.rss), 100*float64(l.peakRSS)/lambdaMemory, ms(l.cpuPerSignup),
		per(l.calls.sm), per(l.calls.writes), opList(l.calls.byOp, true), per(l.calls.reads), per(l.calls.meta), per(l.calls.plivo))
	sum.add("peak RSS of signup under load", "fits 128 MB", mb(l.peakRSS), l.peakRSS > 0 && l.peakRSS < lambdaMemory, "work to do")
	sum.add("DynamoDB writes per signup, signup binary as deployed (sessions on)", "≤ 3", fmt.Sprintf("%.2f", per(l.calls.writes)), per(l.calls.writes) <= targetWrites, causeSessionSpend)
	sum.add("Secrets Manager calls per warm signup, signup binary", "0", fmt.Sprintf("%.2f", per(l.calls.sm)), l.calls.sm == 0, "work to do")
	if len(l.results) == 0 {
		return
	}
	s := r.stats(l.results)
	w("The same %d invocations, one at a time: the Invoke's wall time through the emulator, less the time during which at least one simulator call was in progress (*overhead*), ", len(l.results))
	w("and less the time during which at least one simulator call or DynamoDB round trip was (*own*); every call is timed at a proxy in front of its stand-in, as in the end-to-end section. All waits are unions of the calls' intervals.\n\n")
	w("| e2e p50 | e2e p99 | upstream wait p50 | overhead p50 | overhead p99 | ratio p99 | DynamoDB p50 | DynamoDB p99 | own p50 | own p99 |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	w("| %s | %s | %s | %s | %s | %.3f | %s | %s | %s | %s |\n\n", pms(s.e2e, .5), pms(s.e2e, .99), pms(s.upstream, .5), pms(s.overhead, .5), pms(s.overhead, .99),
		percentile(s.ratio, .99), pms(s.dynamo, .5), pms(s.dynamo, .99), pms(s.own, .5), pms(s.own, .99))
	sum.add("signup binary under the emulator: overhead p99 (sessions on)", "< 5 ms", pms(s.overhead, .99), percentile(s.overhead, .99) < targetOverheadP99, causeDynamoWrites)
	sum.add("signup binary under the emulator: own overhead p99, DynamoDB counted as a wait", "≤ 3 ms", pms(s.own, .99), percentile(s.own, .99) <= targetSignupOwnP99, causeSignupCPU)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.ReplaceAll(s, "|", "\\|")
}

func durList(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%.1f", float64(d.Microseconds())/1000)
	}
	return strings.Join(parts, ", ") + " ms"
}

func answerList(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// noneIfEmpty joins parts, or says none.
func noneIfEmpty(parts []string) string {
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func opList(byOp map[string]int, writes bool) string {
	var parts []string
	for _, op := range dynamoOps[1:] {
		if isWrite(op) == writes && byOp[op] > 0 {
			parts = append(parts, op)
		}
	}
	return noneIfEmpty(parts)
}

func callList(c calls) string {
	var parts []string
	if c.sm > 0 {
		parts = append(parts, fmt.Sprintf("SM %d", c.sm))
	}
	for _, op := range dynamoOps[1:] {
		if n := c.byOp[op]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", op, n))
		}
	}
	if c.meta > 0 {
		parts = append(parts, fmt.Sprintf("Meta %d", c.meta))
	}
	if c.plivo > 0 {
		parts = append(parts, fmt.Sprintf("Plivo %d", c.plivo))
	}
	return noneIfEmpty(parts)
}

func topInits(trace []pkgInit, n int) string {
	s := slices.SortedFunc(slices.Values(trace), func(a, b pkgInit) int { return cmp.Compare(b.clock, a.clock) })
	var parts []string
	for _, p := range s[:min(n, len(s))] {
		if p.clock <= 0 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f ms", p.pkg, float64(p.clock.Microseconds())/1000))
	}
	return strings.Join(parts, "; ")
}

// headline is the README's block of figures: the same summary, and the
// throughputs, from this run.
func (r *report) headline(out string, sum summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From `make bench` on %s (%d cores, shared: figures move between runs); the full report with the method is `%s`, explained in [docs/bench.md](docs/bench.md). `make bench` rewrites this block.\n\n",
		r.started.UTC().Format("2006-01-02"), runtime.NumCPU(), out)
	var parts []string
	for _, lv := range r.callbacks {
		if lv.name == "" {
			parts = append(parts, fmt.Sprintf("%.0f", float64(len(lv.results))/lv.wall.Seconds()))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(&b, "Callbacks through the built binary: %s callbacks/s with 1 / 10 / 50 execution environments on this machine. ", strings.Join(parts, " / "))
	}
	parts = parts[:0]
	for _, lv := range r.levels {
		parts = append(parts, fmt.Sprintf("%.1f", float64(len(lv.results))/lv.wall.Seconds()))
	}
	if len(parts) > 0 {
		fmt.Fprintf(&b, "Signups: %s signups/s at concurrency 1 / 10 / 50 (Meta %s, Plivo %s per call).", strings.Join(parts, " / "), r.metaLat, r.plivoLat)
	}
	return b.String() + "\n\n" + sum.table()
}
