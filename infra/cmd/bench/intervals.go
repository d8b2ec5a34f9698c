package main

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// epoch starts the clock that call intervals are measured on.
var epoch = time.Now()

// clock is the time since epoch, on the monotonic clock.
func clock() time.Duration { return time.Since(epoch) }

// interval is the time one call was in progress, [start, end], as offsets
// on the monotonic clock (see clock).
type interval struct{ start, end time.Duration }

// unionLength is the length of the union of ivs: the time during which at
// least one of them was in progress. Calls a signup makes concurrently
// overlap, and the signup waits for the overlap once, so their lengths
// must not be summed. Intervals with end before start count as empty.
func unionLength(ivs []interval) time.Duration {
	s := slices.DeleteFunc(slices.Clone(ivs), func(iv interval) bool { return iv.end <= iv.start })
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

// spans is one invocation's timed calls, appended by its environment's
// fronts while it runs.
type spans struct {
	mu  sync.Mutex
	all []span
	ops map[string]int // DynamoDB operations by name
}

// add records a call; op is the AWS operation, counted for DynamoDB.
func (s *spans) add(kind callKind, start, end time.Duration, op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, span{interval{start, end}, kind})
	if kind == callDynamo {
		if s.ops == nil {
			s.ops = map[string]int{}
		}
		s.ops[op]++
	}
}

// of returns the calls of the given kinds.
func (s *spans) of(kinds ...callKind) []span {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(s.all), func(sp span) bool { return !slices.Contains(kinds, sp.kind) })
}

func (s *spans) count(kind callKind) int { return len(s.of(kind)) }

func intervals(calls []span) []interval {
	ivs := make([]interval, len(calls))
	for i, c := range calls {
		ivs[i] = c.interval
	}
	return ivs
}

// waits is what a signup waited for, each a union of call intervals.
type waits struct {
	upstream, dynamo time.Duration // Meta and Plivo; DynamoDB
	all              time.Duration // every call, Secrets Manager and EventBridge included
	upstreamSum      time.Duration // Meta and Plivo call times summed, overlaps counted twice
	meta, plivo      int           // upstream calls
	dynCalls         int
	// steps are the upstream calls grouped by overlap: calls that were in
	// progress at the same time are one step.
	steps [][]callKind
}

func (s *spans) waits() waits {
	up := s.of(callMeta, callPlivo)
	w := waits{
		upstream: unionLength(intervals(up)),
		dynamo:   unionLength(intervals(s.of(callDynamo))),
		all:      unionLength(intervals(s.of(callMeta, callPlivo, callDynamo, callSecrets, callEvents))),
		meta:     s.count(callMeta), plivo: s.count(callPlivo), dynCalls: s.count(callDynamo),
		steps: steps(up),
	}
	for _, c := range up {
		w.upstreamSum += c.end - c.start
	}
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
