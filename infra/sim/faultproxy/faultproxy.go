// Package faultproxy is an HTTP reverse proxy to put between the AWS SDK and
// DynamoDB Local that fails chosen requests on purpose: it drops the
// connection before or after DynamoDB has applied the request, delays it, or
// answers with DynamoDB's own throttling error. Faults are armed at run time
// and each is spent on the requests it matches, in the order armed.
//
// Requests are told apart by operation, the part of the X-Amz-Target header
// after the dot ("PutItem" in "DynamoDB_20120810.PutItem"), and by the
// table the request names, when a fault asks for one.
package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// Action is what a Fault does to a request it matches.
type Action int

// The actions a Fault can take.
const (
	// DropBeforeForward closes the client's connection without an answer and
	// without forwarding: DynamoDB never sees the request.
	DropBeforeForward Action = iota + 1
	// DropAfterForward forwards the request, waits for DynamoDB's whole
	// answer, then closes the client's connection without it: the write is
	// applied but the caller cannot know.
	DropAfterForward
	// Delay waits Fault.Delay, then forwards as usual.
	Delay
	// Throttle answers ProvisionedThroughputExceededException without
	// forwarding, exactly as DynamoDB does.
	Throttle
)

// Fault is one armed failure.
type Fault struct {
	// Operation limits the fault to one operation, such as "PutItem";
	// empty matches every request.
	Operation string
	// Table limits the fault to requests whose TableName is this table:
	// a function that writes two tables with one operation has each write
	// failed on its own. Empty matches any table.
	Table  string
	Action Action
	// Skip is how many matching requests pass untouched first: the
	// second UpdateItem of a signup is its first save after the lock.
	Skip int
	// Count is how many matching requests the fault applies to.
	Count int
	// Delay is the wait for Action Delay.
	Delay time.Duration
}

// ThrottleBody is the body DynamoDB sends with HTTP 400 when it throttles;
// the SDK reads the error code from __type after the '#'.
const ThrottleBody = `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",` +
	`"message":"The level of configured provisioned throughput for the table was exceeded. ` +
	`Consider increasing your provisioning level with the UpdateTable API."}`

// Proxy is a running fault-injecting reverse proxy. Its methods are safe for
// concurrent use.
type Proxy struct {
	target   *url.URL
	listener net.Listener
	server   *http.Server
	rp       *httputil.ReverseProxy

	mu        sync.Mutex
	faults    []*Fault
	requests  map[string]int // by operation, "" for all
	forwarded map[string]int
}

// New starts a proxy on a free 127.0.0.1 port that forwards to target, a
// URL such as DynamoDB.Endpoint ("http://127.0.0.1:8000") or a bare
// host:port. It panics if target is not a URL or no port can be had: both
// are bugs in the test that calls it.
func New(target string) *Proxy {
	if !strings.Contains(target, "://") {
		target = "http://" + target
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		panic(fmt.Sprintf("faultproxy: bad target %q: %v", target, err))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("faultproxy: listen: %v", err))
	}
	p := &Proxy{
		target:    u,
		listener:  l,
		requests:  map[string]int{},
		forwarded: map[string]int{},
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			// Keep the Host the SDK signed; DynamoDB Local does not check
			// signatures, but a faithful proxy should not break them.
			r.Out.Host = r.In.Host
		},
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		},
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
	}
	p.server = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.server.Serve(l) }()
	return p
}

// URL returns the proxy's base URL, to use as the SDK's endpoint.
func (p *Proxy) URL() string {
	return "http://" + p.listener.Addr().String()
}

// Close stops the proxy and closes every connection through it.
func (p *Proxy) Close() {
	_ = p.server.Close()
	p.rp.Transport.(*http.Transport).CloseIdleConnections()
}

// Inject arms f after the faults already armed. A request is handled by the
// first armed fault that matches its operation, which spends one of its
// Count; a spent fault is removed.
func (p *Proxy) Inject(f Fault) {
	if f.Count <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, &f)
}

// Pending returns how many requests the armed faults will still affect.
func (p *Proxy) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, f := range p.faults {
		n += f.Count
	}
	return n
}

// Requests returns how many requests for operation reached the proxy
// (faulted ones included); empty operation counts all.
func (p *Proxy) Requests(operation string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[operation]
}

// Forwarded returns how many requests for operation were passed on to
// DynamoDB (DropAfterForward ones included); empty operation counts all.
func (p *Proxy) Forwarded(operation string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.forwarded[operation]
}

// Reset disarms every fault and zeroes the counters.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
	p.requests = map[string]int{}
	p.forwarded = map[string]int{}
}

// Operation returns the operation named by an X-Amz-Target header value.
func Operation(target string) string {
	if i := strings.LastIndexByte(target, '.'); i >= 0 {
		return target[i+1:]
	}
	return target
}

// take counts the request and spends the first matching fault, if any.
// table is read only when a fault asks for one.
func (p *Proxy) take(op string, table func() string) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests[""]++
	if op != "" {
		p.requests[op]++
	}
	for i, f := range p.faults {
		if f.Operation != "" && f.Operation != op || f.Table != "" && f.Table != table() {
			continue
		}
		if f.Skip > 0 {
			f.Skip-- // passes this one on to the faults armed after it
			continue
		}
		f.Count--
		if f.Count == 0 {
			p.faults = append(p.faults[:i:i], p.faults[i+1:]...)
		}
		return *f, true
	}
	return Fault{}, false
}

func (p *Proxy) countForwarded(op string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forwarded[""]++
	if op != "" {
		p.forwarded[op]++
	}
}

type dropAfterKey struct{}

// errDropAfter makes ReverseProxy hand the connection to errorHandler, which
// closes it, once DynamoDB's answer has been read.
var errDropAfter = errors.New("faultproxy: answer dropped on purpose")

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	op := Operation(r.Header.Get("X-Amz-Target"))
	f, ok := p.take(op, func() string { return tableName(r) })
	if ok {
		switch f.Action {
		case DropBeforeForward:
			// Read the request first, so the client is past sending and sees
			// a lost answer rather than a refused write.
			_, _ = io.Copy(io.Discard, r.Body)
			simkit.HangUp(w)
			return
		case DropAfterForward:
			r = r.WithContext(context.WithValue(r.Context(), dropAfterKey{}, true))
		case Delay:
			if !simkit.Sleep(r.Context(), f.Delay) {
				return
			}
		case Throttle:
			_, _ = io.Copy(io.Discard, r.Body)
			writeThrottle(w)
			return
		}
	}
	p.countForwarded(op)
	p.rp.ServeHTTP(w, r)
}

// tableName returns the TableName of a request's JSON body, leaving the
// body readable for forwarding; "" when it names none.
func tableName(r *http.Request) string {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return ""
	}
	var in struct{ TableName string }
	_ = json.Unmarshal(body, &in)
	return in.TableName
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	if drop, _ := resp.Request.Context().Value(dropAfterKey{}).(bool); drop {
		// Read it all: DynamoDB has then surely applied the request.
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return errDropAfter
	}
	return nil
}

func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errDropAfter) {
		simkit.HangUp(w)
		return
	}
	http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
}

func writeThrottle(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amzn-Requestid", strings.ToUpper(strings.ReplaceAll(simkit.NewUUID(), "-", "")))
	// DynamoDB sends a CRC32 of the body, which the SDK checks when present.
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(ThrottleBody))), 10))
	h.Set("Content-Length", strconv.Itoa(len(ThrottleBody)))
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, ThrottleBody)
}
