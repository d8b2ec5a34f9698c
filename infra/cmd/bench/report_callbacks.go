package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Targets of the callbacks path.
const (
	targetCallbackOwnP99   = 2 * time.Millisecond
	targetCallbackWrites   = 1.0
	targetCostOverFloor    = 1.25
	callbackWaitSensitivty = 10 * time.Millisecond
)

// callbackStats are one level's per-invocation distributions and totals.
type callbackStats struct {
	took, waited, own []time.Duration
	billedMs          float64 // mean billed duration, ms (rounded up per invocation)
	n                 int
	published         int
	byClass           map[string]*classStats
}

type classStats struct {
	n       int
	answers map[string]int
	calls   // DynamoDB operations and Secrets Manager calls
	events  int
}

func (lv level) stats() callbackStats {
	s := callbackStats{n: len(lv.results), byClass: map[string]*classStats{}}
	var billed float64
	for _, inv := range lv.results {
		s.took = append(s.took, inv.took)
		s.waited = append(s.waited, inv.all)
		s.own = append(s.own, inv.took-inv.all)
		billed += math.Ceil(float64(inv.took) / float64(time.Millisecond))
		if inv.answer == "published" {
			s.published++
		}
		c := s.byClass[inv.class]
		if c == nil {
			c = &classStats{answers: map[string]int{}}
			s.byClass[inv.class] = c
		}
		c.n++
		c.answers[inv.answer]++
		c.add(calls{byOp: inv.ops, sm: inv.secrets})
		c.events += inv.events
	}
	if s.n > 0 {
		s.billedMs = billed / float64(s.n)
	}
	return s
}

// costLine is one item of the cost per million callbacks.
type costLine struct {
	p     price
	units float64 // per callback
}

func (c costLine) perMillion() float64 { return c.units * c.p.usd * 1e6 }

// rru and wru are the request units of the DynamoDB calls counted, for
// items under 1 KB (writes) and 4 KB (reads): a Query of the by-phone
// index reads eventually consistent (half a unit), GetItem strongly.
func rru(byOp map[string]int) float64 {
	return 0.5*float64(byOp["Query"]+byOp["Scan"]) + float64(byOp["GetItem"]+byOp["BatchGetItem"])
}

func wru(byOp map[string]int) float64 {
	return float64(byOp["PutItem"]+byOp["UpdateItem"]+byOp["DeleteItem"]+byOp["BatchWriteItem"]) + 2*float64(byOp["TransactWriteItems"])
}

// cost is the level's cost per callback, line by line, from its counted
// calls and measured duration; logs is CloudWatch Logs, which the target
// leaves out.
func (lv level) cost() (lines []costLine, logs costLine) {
	s := lv.stats()
	n := float64(max(1, s.n+len(lv.errors)))
	gbs := s.billedMs / 1000 * float64(lambdaMemory) / (1 << 30)
	lines = []costLine{
		{priceHTTPAPIRequest, 1},
		{priceLambdaRequest, 1},
		{priceLambdaArmGBs, gbs},
		{priceDynamoRRU, rru(lv.calls.byOp) / n},
		{priceDynamoWRU, wru(lv.calls.byOp) / n},
		{priceEventBridgeEvent, float64(lv.busChunks) / n},
		{priceSecretsCall, float64(lv.calls.sm) / n},
	}
	logs = costLine{priceLogsGB, float64(lv.logBytes) / n / (1 << 30)}
	return lines, logs
}

// floor is one HTTP API request, one Lambda request and one event.
func floorPerMillion() float64 {
	return (priceHTTPAPIRequest.usd + priceLambdaRequest.usd + priceEventBridgeEvent.usd) * 1e6
}

func sumPerMillion(lines []costLine) float64 {
	var t float64
	for _, l := range lines {
		t += l.perMillion()
	}
	return t
}

func levelName(lv level) string {
	if lv.name == "" {
		return fmt.Sprintf("as deployed, concurrency %d", lv.concurrency)
	}
	return lv.name
}

// callbacksMarkdown writes the callbacks section and adds its targets.
func (r *report) callbacksMarkdown(w writer, sum *summary) {
	if len(r.callbacks) == 0 {
		return
	}
	w("## Callbacks: the hot path\n\n")
	w("functions/callbacks' built binary, as many execution environments as the concurrency, each under its own minimal Runtime API and taking one invocation at a time, as Lambda runs them. ")
	w("Each callback is a V3-signed Plivo form POST in API Gateway's payload v2 (base64 body), from a mix of one period of 20: ")
	w("15 statuses (sent, delivered, read) from 20 onboarded numbers, 3 inbound messages to them, 1 redelivery of the previous status (as Plivo retries), 1 inbound message to one of 3 numbers nobody onboarded. ")
	w("Before measuring, each environment handles one callback per number (secret fetched, connections open, routes cached), and one unmeasured level at concurrency 1 runs first, so that DynamoDB Local's JIT has compiled the unrouted callbacks' write path before the first measured level. ")
	w("DynamoDB Local, the Secrets Manager and EventBridge simulators answer at once over loopback; every AWS call of an environment goes through its own timed proxy, so each invocation's waits are known.\n\n")
	w("*Handler*: from the Runtime API handing out the event to the function posting its answer, what Lambda bills. *Waits*: the union of the invocation's DynamoDB, Secrets Manager and EventBridge round trips. ")
	w("*Own* = handler − waits: the function's own work. *CPU* is the environments' user+system time per callback; *peak RSS* the largest environment's VmHWM.\n\n")
	w("| run | callbacks | callbacks/s | handler p50 | handler p99 | waits p50 | own p50 | own p99 | CPU per callback | peak RSS | errors |\n")
	w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, lv := range r.callbacks {
		s := lv.stats()
		n := max(1, s.n)
		w("| %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %d |\n", levelName(lv), s.n, float64(s.n)/lv.wall.Seconds(),
			ms(percentile(s.took, .5)), ms(percentile(s.took, .99)), ms(percentile(s.waited, .5)),
			ms(percentile(s.own, .5)), ms(percentile(s.own, .99)), ms(lv.cpu/time.Duration(n)), mb(lv.peakRSS), len(lv.errors))
	}
	w("\nThroughput at concurrency 10 and 50 is this 2-core machine's, shared by the environments, DynamoDB Local and the simulators; on Lambda each environment has its own CPU share. ")
	w("The own-overhead target is judged at concurrency 1, where nothing else competes for the cores.\n\n")
	for _, lv := range r.callbacks {
		errorList(w, levelName(lv), lv.errors)
	}

	w("### Calls per callback\n\n")
	w("Counted at each environment's proxies, per invocation; the answer is the `status` of the 200 the function gave. ")
	w("The other concurrency levels make the same calls (their totals are in the summary).\n\n")
	w("| run | class | share | answers | DynamoDB reads | DynamoDB writes | PutEvents | Secrets Manager |\n|---|---|---:|---|---:|---:|---:|---:|\n")
	for _, lv := range r.callbacks {
		if lv.name == "" && lv.concurrency != r.callbacks[0].concurrency {
			continue // the same calls as at the first level
		}
		s := lv.stats()
		for _, class := range callbackClasses {
			c := s.byClass[class]
			if c == nil {
				continue
			}
			per := func(k int) string { return fmt.Sprintf("%.2f", float64(k)/float64(c.n)) }
			w("| %s | %s | %.0f%% | %s | %s | %s | %s | %s |\n", levelName(lv), class, 100*float64(c.n)/float64(max(1, s.n)), answerList(c.answers),
				per(c.reads), per(c.writes), per(c.events), per(c.sm))
		}
	}
	w("\n")

	w("### Cost per million callbacks\n\n")
	w("List prices of %s on %s (infra/cmd/bench/prices.go, with each source), times what each callback used in the run: ", pricesRegion, pricesDate)
	w("DynamoDB units from the calls counted at DynamoDB Local's proxy (writes of items under 1 KB: 1 WRU, a failed conditional write included; the by-phone Query, eventually consistent: 0.5 RRU), ")
	w("EventBridge events from the entries the bus accepted (one per 64 KB), Lambda GB-seconds from each invocation's handler time rounded up to the millisecond at the configured %d MB. ", lambdaMemory>>20)
	w("*Floor*: one HTTP API request, one Lambda request and one event, with nothing else: $%.2f.\n\n", floorPerMillion())
	header, sep := "| item | unit price |", "|---|---:|"
	var shown []level
	var costs [][]costLine
	var logs []costLine
	for _, lv := range r.callbacks {
		if lv.name != "" || lv.concurrency == 1 {
			header += " " + levelName(lv) + ": per callback | $ per million |"
			sep += "---:|---:|"
			lines, log := lv.cost()
			shown, costs, logs = append(shown, lv), append(costs, lines), append(logs, log)
		}
	}
	w("%s\n%s\n", header, sep)
	if len(shown) == 0 {
		return
	}
	for j, base := range costs[0] {
		row := fmt.Sprintf("| %s | %s |", base.p.item, base.p.label())
		for i := range shown {
			row += fmt.Sprintf(" %s | %.3f |", trimFloat(costs[i][j].units), costs[i][j].perMillion())
		}
		w("%s\n", row)
	}
	row := "| **total** | |"
	for i := range shown {
		row += fmt.Sprintf(" | **%.3f** (%.2f× floor) |", sumPerMillion(costs[i]), sumPerMillion(costs[i])/floorPerMillion())
	}
	w("%s\n", row)
	row = fmt.Sprintf("| %s (not in the target) | %s |", logs[0].p.item, logs[0].p.label())
	for i := range shown {
		row += fmt.Sprintf(" %.0f bytes | %.3f |", logs[i].units*(1<<30), logs[i].perMillion())
	}
	w("%s\n\n", row)
	gbsPer10ms := float64(callbackWaitSensitivty) / float64(time.Second) * float64(lambdaMemory) / (1 << 30) * priceLambdaArmGBs.usd * 1e6
	w("The handler times here wait on loopback stand-ins; on AWS a PutEvents round trip takes tens of milliseconds, and every %s of wait adds $%.4f per million at %d MB, ", callbackWaitSensitivty, gbsPer10ms, lambdaMemory>>20)
	w("so duration stays a small share of the cost.\n\n")

	deployed := shown[0]
	total := sumPerMillion(costs[0])
	ratio := total / floorPerMillion()
	for i, lv := range shown {
		if strings.HasPrefix(lv.name, "dedupe write on") {
			w("**The dedupe write.** With it, each routed callback is claimed in the dedup table before publishing and marked published after: %.2f writes per callback against %.2f without, ",
				wru(lv.calls.byOp)/float64(max(1, lv.stats().n)), wru(deployed.calls.byOp)/float64(max(1, deployed.stats().n)))
			w("$%.3f against $%.3f per million callbacks (+$%.3f, %.0f%% of the floor). ", sumPerMillion(costs[i]), total, sumPerMillion(costs[i])-total, 100*(sumPerMillion(costs[i])-total)/floorPerMillion())
			w("What it buys: a redelivery of an already published callback is answered `duplicate` instead of being published again. ")
			w("Plivo redelivers only a callback it got no 2xx for within 8 s, so that is a lost or late answer; without the write the redelivery costs one more event ($%.2f per million redeliveries), ", priceEventBridgeEvent.usd*1e6)
			w("and consumers drop it on `dedupe_key`, as they must anyway because EventBridge delivers at least once and a crash between publishing and marking republishes. ")
			// Per original callback the write costs 2 WRU; a redelivery then
			// costs 1 WRU (the failed claim) instead of 1 event.
			breakEven := 2 * priceDynamoWRU.usd / (priceEventBridgeEvent.usd - priceDynamoWRU.usd)
			w("Per callback the write costs 2 WRU ($%.3f per million); it turns a redelivery's event ($%.2f per million) into a failed claim (1 WRU, $%.3f), so it pays for itself only above %.1f redeliveries per callback: more than Plivo's 3 retries, which happen only after a failure. ",
				2*priceDynamoWRU.usd*1e6, priceEventBridgeEvent.usd*1e6, priceDynamoWRU.usd*1e6, breakEven)
			w("Dropped: `CALLBACK_DEDUPE_WRITE=true` restores it; unrouted callbacks are still stored (one write), for the operator.\n\n")
		}
	}

	// Targets, judged on the deployed configuration.
	var all calls
	var published, routedEvents, n int
	for _, lv := range r.callbacks {
		if lv.name == "" {
			s := lv.stats()
			n, published, routedEvents = n+s.n, published+s.published, routedEvents+lv.busEvents
			all.add(lv.calls)
		}
	}
	per := func(k int) float64 { return float64(k) / float64(max(1, n)) }
	sum.add("callbacks: Secrets Manager calls per warm callback", "0", fmt.Sprintf("%.3f", per(all.sm)), all.sm == 0,
		"by design: the cached Plivo token expires after SECRETS_TTL (5 min) and is fetched again")
	sum.add("callbacks: DynamoDB reads per warm callback", "0", fmt.Sprintf("%.3f", per(all.reads)), all.reads == 0,
		"by design: a cached route expires after ROUTE_CACHE_TTL (30 s; 5 s for a number nobody owns) and is read again, at most once per number per TTL per environment")
	sum.add("callbacks: DynamoDB writes per callback", "≤ 1", fmt.Sprintf("%.3f", per(all.writes)), per(all.writes) <= targetCallbackWrites, "work to do")
	sum.add("callbacks: PutEvents entries per published callback", "1", fmt.Sprintf("%.3f", float64(routedEvents)/float64(max(1, published))), routedEvents == published, "work to do")
	c1 := r.callbacks[0].stats()
	cpu1 := r.callbacks[0].cpu / time.Duration(max(1, c1.n))
	sum.add(fmt.Sprintf("callbacks: own overhead p99 (concurrency %d)", r.callbacks[0].concurrency), "≤ 2 ms", ms(percentile(c1.own, .99)), percentile(c1.own, .99) <= targetCallbackOwnP99,
		fmt.Sprintf("work to do: the tail is scheduling on a shared machine (p50 %s, CPU %s per callback; load average %.1f on %d cores during the phase, from the bench's own DynamoDB Local, simulators and proxies at least); the function's CPU is mostly the AWS SDK's PutEvents, net/http's connection goroutines and the Runtime API loop, its own code (signature, form, logs, EMF) about a tenth of it (perf, docs/bench.md)",
			ms(percentile(c1.own, .5)), ms(cpu1), r.phaseLoad("callbacks"), runtime.NumCPU()))
	sum.add("callbacks: cost per million vs floor", fmt.Sprintf("≤ 1.25× ($%.2f)", floorPerMillion()*targetCostOverFloor), fmt.Sprintf("$%.3f, %.2f×", total, ratio), ratio <= targetCostOverFloor, "work to do")
}

// phaseLoad is the highest load average noted around the phase.
func (r *report) phaseLoad(name string) float64 {
	for _, p := range r.phases {
		if p.name == name {
			return max(p.loadBefore, p.loadAfter)
		}
	}
	return -1
}

// label is the price as its source states it: per million units for the
// per-request prices.
func (p price) label() string {
	if p.usd < 1e-5 && p.unit != "GB-second" {
		return fmt.Sprintf("$%.3f per million %ss", p.usd*1e6, p.unit)
	}
	return fmt.Sprintf("$%s per %s", strconv.FormatFloat(p.usd, 'f', -1, 64), p.unit)
}

// trimFloat prints a small number with as few digits as it needs.
func trimFloat(f float64) string {
	switch {
	case f == 0:
		return "0"
	case f >= 1:
		return fmt.Sprintf("%.2f", f)
	case f >= 0.001:
		return fmt.Sprintf("%.4f", f)
	}
	return fmt.Sprintf("%.3g", f)
}

// Markers of the generated block in README.md.
const (
	readmeBegin = "<!-- bench:begin: written by make bench, do not edit -->"
	readmeEnd   = "<!-- bench:end -->"
)

// rewriteFile replaces what lies between the bench markers of the file
// at path with block.
func rewriteFile(path, block string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := replaceBetween(string(raw), block)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// replaceBetween puts block between the markers of doc.
func replaceBetween(doc, block string) (string, error) {
	i := strings.Index(doc, readmeBegin)
	j := strings.Index(doc, readmeEnd)
	if i < 0 || j < i {
		return "", errors.New("no bench markers (" + readmeBegin + " ... " + readmeEnd + ")")
	}
	return doc[:i+len(readmeBegin)] + "\n" + strings.TrimSpace(block) + "\n" + doc[j:], nil
}
