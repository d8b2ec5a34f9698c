package main

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// interval is the time one call was in progress, [start, end], as offsets
// on the monotonic clock (see clock).
type interval struct{ start, end time.Duration }

// unionLength is the length of the union of ivs: the time during which at
// least one of them was in progress. Calls a signup makes concurrently
// overlap, and the signup waits for the overlap once, so their lengths
// must not be summed. Intervals with end before start count as empty.
func unionLength(ivs []interval) time.Duration {
	s := make([]interval, 0, len(ivs))
	for _, iv := range ivs {
		if iv.end > iv.start {
			s = append(s, iv)
		}
	}
	slices.SortFunc(s, func(a, b interval) int { return cmp.Compare(a.start, b.start) })
	var total time.Duration
	for i := 0; i < len(s); {
		start, end := s[i].start, s[i].end
		for i++; i < len(s) && s[i].start <= end; i++ {
			end = max(end, s[i].end)
		}
		total += end - start
	}
	return total
}

// callKind is what a timed call went to.
type callKind uint8

const (
	callMeta callKind = iota
	callPlivo
	callDynamo
	callSecrets
	callEvents // EventBridge PutEvents
)

// span is one timed call of a sample.
type span struct {
	interval
	kind callKind
}

// spans is one signup's timed calls, appended from the simulators'
// handlers and the SDK's HTTP client while the signup runs.
type spans struct {
	mu  sync.Mutex
	all []span
	ops map[string]int // AWS operations by name, where the caller tells them
}

// tally counts one AWS operation (DynamoDB's Query, PutItem...).
func (s *spans) tally(op string) {
	s.mu.Lock()
	if s.ops == nil {
		s.ops = map[string]int{}
	}
	s.ops[op]++
	s.mu.Unlock()
}

func (s *spans) add(kind callKind, start, end time.Duration) {
	s.mu.Lock()
	s.all = append(s.all, span{interval{start, end}, kind})
	s.mu.Unlock()
}

// of returns the intervals of the calls of the given kinds.
func (s *spans) of(kinds ...callKind) []interval {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ivs []interval
	for _, sp := range s.all {
		if slices.Contains(kinds, sp.kind) {
			ivs = append(ivs, sp.interval)
		}
	}
	return ivs
}

// count is the number of calls of kind.
func (s *spans) count(kind callKind) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sp := range s.all {
		if sp.kind == kind {
			n++
		}
	}
	return n
}

// waits is what a signup waited for, each a union of call intervals.
type waits struct {
	upstream, dynamo, secrets time.Duration // Meta and Plivo; DynamoDB; Secrets Manager
	events                    time.Duration // EventBridge
	all                       time.Duration // all of them together
	upstreamSum               time.Duration // Meta and Plivo call times summed, overlaps counted twice
	meta, plivo               int           // upstream calls
	dynCalls, smCalls         int
	// steps are the upstream calls grouped by overlap: calls that were in
	// progress at the same time are one step.
	steps [][]callKind
}

func (s *spans) waits() waits {
	up := s.of(callMeta, callPlivo)
	w := waits{
		upstream: unionLength(up),
		dynamo:   unionLength(s.of(callDynamo)),
		secrets:  unionLength(s.of(callSecrets)),
		events:   unionLength(s.of(callEvents)),
		all:      unionLength(s.of(callMeta, callPlivo, callDynamo, callSecrets, callEvents)),
		meta:     s.count(callMeta), plivo: s.count(callPlivo),
		dynCalls: s.count(callDynamo), smCalls: s.count(callSecrets),
	}
	for _, iv := range up {
		w.upstreamSum += iv.end - iv.start
	}
	s.mu.Lock()
	var ups []span
	for _, sp := range s.all {
		if sp.kind == callMeta || sp.kind == callPlivo {
			ups = append(ups, sp)
		}
	}
	s.mu.Unlock()
	w.steps = steps(ups)
	return w
}

// steps groups calls into the steps of a signup's critical path: sorted by
// start, a call joins the current step when it began before every call
// seen so far in the step ended, i.e. while the step was still waiting.
// A call starting exactly when the step ended came after it (the client
// needed the answer to send it), so touching intervals are two steps.
func steps(calls []span) [][]callKind {
	s := slices.Clone(calls)
	slices.SortFunc(s, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var out [][]callKind
	var end time.Duration
	for i, c := range s {
		if i == 0 || c.start >= end {
			out = append(out, nil)
			end = c.end
		}
		out[len(out)-1] = append(out[len(out)-1], c.kind)
		end = max(end, c.end)
	}
	return out
}

// criticalPath is the configured latency of steps: each step waits for
// its slowest call.
func criticalPath(steps [][]callKind, latency func(callKind) time.Duration) time.Duration {
	var d time.Duration
	for _, step := range steps {
		var slowest time.Duration
		for _, k := range step {
			slowest = max(slowest, latency(k))
		}
		d += slowest
	}
	return d
}
