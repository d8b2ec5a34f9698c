package simkit

import (
	"maps"
	"net/http"
	"strings"
	"sync"
)

// AWSCalls is what the AWS simulators keep per operation: how many requests
// came, the failures armed, and a hook run before each request is served.
// The zero value is ready; its methods are safe for concurrent use.
type AWSCalls struct {
	mu     sync.Mutex
	calls  map[string]int
	hook   func(op string)
	faults Faults[AWSFault]
}

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

// Begin counts a request for op and runs the hook, outside the lock. When a
// failure is armed for op it answers the request with it and reports false.
func (c *AWSCalls) Begin(w http.ResponseWriter, op string) bool {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
	hook := c.hook
	c.mu.Unlock()
	fault, failed := c.faults.Take(op)
	if hook != nil {
		hook(op)
	}
	if failed {
		fault.Write(w)
	}
	return !failed
}

// Calls returns how many requests named op arrived, including the ones
// failed on purpose.
func (c *AWSCalls) Calls(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// CallCounts returns every operation's count.
func (c *AWSCalls) CallCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	maps.Copy(out, c.calls)
	return out
}

// ResetCalls zeroes the counts.
func (c *AWSCalls) ResetCalls() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.calls)
}

// FailNext makes the next n requests named op answer with f; n < 0 makes
// every one fail until FailNext(op, 0, AWSFault{}).
func (c *AWSCalls) FailNext(op string, n int, f AWSFault) { c.faults.Arm(op, n, f) }

// OnRequest installs fn to run, outside the simulator's lock, before each
// request is served (after it is counted). Tests block in it to hold a
// request in flight. A nil fn removes the hook.
func (c *AWSCalls) OnRequest(fn func(op string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hook = fn
}
