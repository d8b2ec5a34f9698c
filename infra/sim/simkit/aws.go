package simkit

import (
	"maps"
	"net/http"
	"strings"
	"sync"
)

// Calls is what every simulator keeps per endpoint (route, AWS operation):
// how many requests came, the failures of type F armed, and a hook run
// before each request is served. The zero value is ready; its methods are
// safe for concurrent use.
type Calls[F any] struct {
	mu     sync.Mutex
	calls  map[string]int
	hook   func(op string)
	faults Faults[F]
}

// AWSCalls is Calls for the AWS simulators, which fail whole requests.
type AWSCalls = Calls[AWSFault]

// AWSOperation reads the operation an AWS JSON protocol request names, the
// part of X-Amz-Target after prefix (e.g. "secretsmanager."). A request
// that is not a POST, or names no operation of the service, it answers
// itself, and then reports false.
func AWSOperation(w http.ResponseWriter, r *http.Request, prefix string) (string, bool) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return "", false
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), prefix)
	if !ok || op == "" {
		WriteAWSError(w, http.StatusBadRequest, "UnknownOperationException", "missing or foreign X-Amz-Target")
		return "", false
	}
	return op, true
}

// Begin counts a request for op and runs the hook, outside the lock; it
// returns the failure armed for op, if any, for the caller to answer with.
func (c *Calls[F]) Begin(op string) (F, bool) {
	c.Count(op)
	c.mu.Lock()
	hook := c.hook
	c.mu.Unlock()
	fault, failed := c.faults.Take(op)
	if hook != nil {
		hook(op)
	}
	return fault, failed
}

// Count counts a request for op, without spending a failure: for requests
// refused before the failure would apply.
func (c *Calls[F]) Count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
}

// Take spends the failure armed for op, if any, without counting.
func (c *Calls[F]) Take(op string) (F, bool) { return c.faults.Take(op) }

// Calls returns how many requests named op arrived, including the ones
// failed on purpose.
func (c *Calls[F]) Calls(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// CallCounts returns every operation's count.
func (c *Calls[F]) CallCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	maps.Copy(out, c.calls)
	return out
}

// ResetCalls zeroes the counts.
func (c *Calls[F]) ResetCalls() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.calls)
}

// Reset zeroes the counts and disarms every failure.
func (c *Calls[F]) Reset() { c.ResetCalls(); c.faults.Reset() }

// FailNext makes the next n requests named op answer with f; n < 0 makes
// every one fail until FailNext(op, 0, f).
func (c *Calls[F]) FailNext(op string, n int, f F) { c.faults.Arm(op, n, f) }

// OnRequest installs fn to run, outside the simulator's lock, before each
// request is served (after it is counted). Tests block in it to hold a
// request in flight. A nil fn removes the hook.
func (c *Calls[F]) OnRequest(fn func(op string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hook = fn
}
