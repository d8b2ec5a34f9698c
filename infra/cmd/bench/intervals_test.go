package main

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func iv(start, end int) interval {
	return interval{time.Duration(start) * time.Millisecond, time.Duration(end) * time.Millisecond}
}

func TestUnionLength(t *testing.T) {
	tests := []struct {
		name string
		ivs  []interval
		want int // ms
	}{
		{"empty", nil, 0},
		{"one", []interval{iv(10, 60)}, 50},
		{"disjoint", []interval{iv(0, 50), iv(60, 110), iv(200, 280)}, 180},
		{"nested", []interval{iv(0, 100), iv(10, 20), iv(30, 90)}, 100},
		{"overlapping", []interval{iv(0, 50), iv(40, 90), iv(85, 100)}, 100},
		{"touching", []interval{iv(0, 50), iv(50, 100)}, 100},
		{"unsorted", []interval{iv(200, 280), iv(0, 50), iv(60, 110), iv(45, 55)}, 185},
		{"identical", []interval{iv(0, 50), iv(0, 50), iv(0, 50)}, 50},
		{"concurrent Graph calls between sequential ones", []interval{iv(0, 50), iv(52, 102), iv(53, 103), iv(51, 101), iv(105, 185)}, 182},
		{"zero length", []interval{iv(10, 10), iv(20, 30)}, 10},
		{"end before start is empty", []interval{iv(30, 20), iv(0, 5)}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.ivs)
			if got := unionLength(tt.ivs); got != time.Duration(tt.want)*time.Millisecond {
				t.Errorf("unionLength(%v) = %v, want %dms", tt.ivs, got, tt.want)
			}
			if !slices.Equal(in, tt.ivs) {
				t.Errorf("unionLength reordered its argument: %v", tt.ivs)
			}
		})
	}
}

func TestCriticalPath(t *testing.T) {
	latency := func(k callKind) time.Duration {
		return map[callKind]time.Duration{callMeta: 50 * time.Millisecond, callPlivo: 80 * time.Millisecond}[k]
	}
	meta := func(start, end int) span { return span{iv(start, end), callMeta} }
	plivo := func(start, end int) span { return span{iv(start, end), callPlivo} }
	tests := []struct {
		name  string
		calls []span
		steps int
		want  int // ms
	}{
		{"none", nil, 0, 0},
		{"sequential", []span{meta(0, 50), meta(51, 101), meta(102, 152), plivo(153, 233)}, 4, 230},
		{"graph calls concurrent", []span{meta(0, 50), meta(51, 101), meta(52, 102), plivo(103, 183)}, 3, 180},
		{"three concurrent, unsorted", []span{plivo(110, 190), meta(53, 104), meta(0, 50), meta(52, 103), meta(51, 101)}, 3, 180},
		{"touching is sequential", []span{meta(0, 50), meta(50, 100)}, 2, 100},
		{"a step waits for its slowest call", []span{meta(0, 50), plivo(10, 90)}, 1, 80},
		{"chained overlap is one step", []span{meta(0, 50), meta(40, 90), meta(80, 130)}, 1, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := steps(tt.calls)
			if len(st) != tt.steps {
				t.Errorf("steps = %v, want %d steps", st, tt.steps)
			}
			if got := criticalPath(st, latency); got != time.Duration(tt.want)*time.Millisecond {
				t.Errorf("criticalPath = %v, want %dms", got, tt.want)
			}
		})
	}
}

func TestWaits(t *testing.T) {
	var s spans
	ms := time.Millisecond
	s.add(callMeta, 0, 50*ms, "")
	s.add(callDynamo, 45*ms, 55*ms, "") // overlaps a Meta call: counted once in all
	s.add(callMeta, 60*ms, 110*ms, "")
	s.add(callMeta, 61*ms, 111*ms, "")
	s.add(callPlivo, 120*ms, 200*ms, "")
	s.add(callSecrets, 200*ms, 205*ms, "")
	w := s.waits()
	want := waits{
		upstream: 181 * ms, dynamo: 10 * ms, all: 191 * ms, upstreamSum: 230 * ms,
		meta: 3, plivo: 1, dynCalls: 1,
		steps: [][]callKind{{callMeta}, {callMeta, callMeta}, {callPlivo}},
	}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("waits = %+v, want %+v", w, want)
	}
}
