// Package simkit is what the simulators share: a queue of injected
// failures per endpoint, the checks on a scenario that arms one, and the
// small HTTP writers (JSON, AWS JSON-protocol errors, UUIDs, CORS for the
// control routes) that every simulator would otherwise write again.
package simkit

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Faults holds the failures armed per endpoint: a queue spent one per
// request, then a standing failure that lasts until cleared. The zero value
// is ready; its methods are safe for concurrent use.
type Faults[F any] struct {
	mu     sync.Mutex
	queued map[string][]F
	sticky map[string]F
}

// Arm makes the next n requests to endpoint fail with f, after any
// failures already queued for it. n < 0 makes every request fail with f
// until Arm(endpoint, 0, ...) or Reset; n == 0 clears the endpoint.
func (q *Faults[F]) Arm(endpoint string, n int, f F) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case n == 0:
		delete(q.queued, endpoint)
		delete(q.sticky, endpoint)
	case n < 0:
		if q.sticky == nil {
			q.sticky = map[string]F{}
		}
		q.sticky[endpoint] = f
	default:
		if q.queued == nil {
			q.queued = map[string][]F{}
		}
		for range n {
			q.queued[endpoint] = append(q.queued[endpoint], f)
		}
	}
}

// Take spends the failure for this request to endpoint, if one is armed.
func (q *Faults[F]) Take(endpoint string) (F, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if fs := q.queued[endpoint]; len(fs) > 0 {
		q.queued[endpoint] = fs[1:]
		return fs[0], true
	}
	f, ok := q.sticky[endpoint]
	return f, ok
}

// Reset disarms every failure.
func (q *Faults[F]) Reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queued, q.sticky = nil, nil
}

// CheckArm says what is wrong with arming n failures of kind on endpoint,
// given the endpoints and kinds a simulator knows; what names an endpoint
// in the message ("endpoint", "route").
func CheckArm[K comparable](what, endpoint string, endpoints []string, n int, kind K, kinds []K) error {
	if !slices.Contains(endpoints, endpoint) {
		return fmt.Errorf("unknown %s %q (want one of %s)", what, endpoint, strings.Join(endpoints, ", "))
	}
	if n != 0 && !slices.Contains(kinds, kind) {
		return fmt.Errorf("unknown failure kind %q", fmt.Sprint(kind))
	}
	return nil
}
