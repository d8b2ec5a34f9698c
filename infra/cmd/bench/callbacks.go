package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	infrastack "github.com/techprovider/wa-onboarding/infra/stack"
)

// Classes of callback in the mix.
const (
	classStatus    = "status, onboarded number"
	classInbound   = "inbound message"
	classRedeliver = "redelivery (Plivo's retry)"
	classUnknown   = "unknown number"
)

var callbackClasses = []string{classStatus, classInbound, classRedeliver, classUnknown}

// mixPattern is one period of the mix: 15 statuses (sent, delivered and
// read of five messages), 3 inbound messages, 1 redelivery of the status
// before it, 1 inbound message to a number nobody onboarded: 75%, 15%,
// 5%, 5%.
var mixPattern = []string{
	classStatus, classStatus, classStatus, classStatus, classStatus, classInbound,
	classStatus, classStatus, classStatus, classStatus, classStatus, classInbound,
	classStatus, classStatus, classStatus, classStatus, classStatus, classInbound,
	classRedeliver, classUnknown,
}

// callbackMix generates the callbacks of the realistic mix, in order.
type callbackMix struct {
	numbers []string // business numbers of onboarded WABAs, digits
	unknown []string // numbers no onboarding owns
	mu      sync.Mutex
	seq     int
	last    url.Values // the last status, which a redelivery repeats
}

var statusOrder = []string{"sent", "delivered", "read"}

func (m *callbackMix) next() (string, url.Values) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.seq
	m.seq++
	class := mixPattern[i%len(mixPattern)]
	number := m.numbers[(i/3)%len(m.numbers)]
	switch class {
	case classStatus:
		// Three statuses per message, from the business number to the
		// customer.
		v := url.Values{"MessageUUID": {fmt.Sprintf("bench-msg-%d", i/3)}, "Status": {statusOrder[i%3]},
			"From": {"+" + number}, "To": {"+14155550123"}, "ErrorCode": {""}, "ConversationOrigin": {"utility"},
			"MessageTime": {"2026-12-05 09:00:00+00:00"}}
		m.last = v
		return class, v
	case classRedeliver:
		if m.last != nil {
			return class, m.last
		}
	case classUnknown:
		number = m.unknown[(i/len(mixPattern))%len(m.unknown)]
	}
	return class, url.Values{"MessageUUID": {fmt.Sprintf("bench-in-%d", i)}, "From": {"+14155550123"}, "To": {"+" + number},
		"Type": {"whatsapp"}, "ContentType": {"text"}, "Body": {"Hello, is my order on its way?"}}
}

// warmUp is what environment env handles before it is measured: a status
// from each onboarded number and a message to each unknown one, so that
// its secret is fetched, its connections open and every route cached.
func (m *callbackMix) warmUp(env int) []url.Values {
	var out []url.Values
	for i, number := range m.numbers {
		out = append(out, url.Values{"MessageUUID": {fmt.Sprintf("bench-warm-%d-%d", env, i)}, "Status": {"sent"},
			"From": {"+" + number}, "To": {"+14155550123"}})
	}
	for i, number := range m.unknown {
		out = append(out, url.Values{"MessageUUID": {fmt.Sprintf("bench-warm-in-%d-%d", env, i)}, "From": {"+14155550123"},
			"To": {"+" + number}, "Body": {"hi"}})
	}
	return out
}

// callbackEvent is params as API Gateway delivers Plivo's POST: the form
// base64-encoded, V3-signed for the function's CALLBACK_PUBLIC_URL with a
// fresh nonce, as Plivo signs every delivery (a retry too).
func callbackEvent(params url.Values, requestID string) ([]byte, error) {
	tmpl, err := loadEvent("callback-status-delivered.json")
	if err != nil {
		return nil, err
	}
	body := params.Encode()
	req := withBody(tmpl, base64.StdEncoding.EncodeToString([]byte(body)), requestID)
	req.IsBase64Encoded = true
	req.Headers["content-length"] = fmt.Sprint(len(body))
	nonce := fmt.Sprintf("%020d", time.Now().UnixNano())
	sig := plivosim.SignV3(infrastack.SandboxPlivoAuthToken, http.MethodPost, callbackPublicURL, params, nonce)
	req.Headers["x-plivo-signature-v3-nonce"] = nonce
	req.Headers["x-plivo-signature-v3"] = sig
	req.Headers["x-plivo-signature-ma-v3"] = sig
	return json.Marshal(req)
}

// invokeCallback runs one callback in e.
func (st *stack) invokeCallback(ctx context.Context, e *execEnv, class string, params url.Values, rid string) (invocation, error) {
	ev, err := callbackEvent(params, rid)
	if err != nil {
		return invocation{}, err
	}
	cb, err := e.invoke(ctx, ev)
	if err != nil {
		return cb, err
	}
	cb.class = class
	var ans struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal([]byte(cb.body), &ans)
	cb.answer = ans.Status
	if cb.status != http.StatusOK {
		return cb, fmt.Errorf("%s answered %d %s", class, cb.status, cb.body)
	}
	return cb, nil
}

// callbacksLevel starts concurrency environments of f, warms each with
// one callback per number (the secret fetched, connections open, routes
// cached), then sends n callbacks of the mix through them.
func (st *stack) callbacksLevel(ctx context.Context, f *function, mix *callbackMix, name string, extra []string, concurrency, n int) (level, error) {
	lv := level{name: name, concurrency: concurrency}
	envs, err := st.startEnvs(ctx, f, st.fast, extra, concurrency)
	if err != nil {
		return lv, err
	}
	defer stopEnvs(envs)
	var rid atomic.Int64
	nextID := func() string { return fmt.Sprintf("bench-cb-%d", rid.Add(1)) }
	err = each(len(envs), func(i int) error {
		for _, w := range mix.warmUp(i) {
			if _, err := st.invokeCallback(ctx, envs[i], "warm-up", w, nextID()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return lv, fmt.Errorf("warm-up: %w", err)
	}

	st.measure(ctx, &lv, envs, n, func(e *execEnv) (invocation, error) {
		class, params := mix.next()
		return st.invokeCallback(ctx, e, class, params, nextID())
	})
	return lv, ctx.Err()
}

// callbackVariants are configurations of the function measured beside the
// deployed one at concurrency 1.
var callbackVariants = []struct {
	name string
	env  []string
}{
	{"dedupe write on (CALLBACK_DEDUPE_WRITE=true)", []string{"CALLBACK_DEDUPE_WRITE=true"}},
	{"no route cache (ROUTE_CACHE_TTL=0)", []string{"ROUTE_CACHE_TTL=0"}},
}

// runCallbacks measures the callbacks function at each concurrency, after
// one level that is not measured, then its variants at concurrency 1, with callbacks to and from numbers, the
// business numbers of onboarded WABAs (digits, as Plivo writes them).
func (st *stack) runCallbacks(ctx context.Context, f *function, numbers []string, concurrency []int, n int) ([]level, error) {
	mix := &callbackMix{numbers: numbers, unknown: []string{"15550190001", "15550190002", "15550190003"}}
	// One level at concurrency 1 first, its figures dropped: the unrouted
	// callbacks' writes reach paths of DynamoDB Local that its JVM has not
	// compiled yet, and its JIT would otherwise share the two cores with
	// the first measured level only. DynamoDB itself has no such warm-up.
	progress("callbacks: %d callbacks to warm the stand-ins, not measured", n)
	if _, err := st.callbacksLevel(ctx, f, mix, "", nil, 1, n); err != nil {
		return nil, fmt.Errorf("stand-ins' warm-up: %w", err)
	}
	var out []level
	for _, c := range concurrency {
		progress("callbacks: %d callbacks from %d execution environments", n, c)
		lv, err := st.callbacksLevel(ctx, f, mix, "", nil, c, n)
		if err != nil {
			return out, err
		}
		out = append(out, lv)
	}
	for _, v := range callbackVariants {
		progress("callbacks: %d callbacks, %s", n, v.name)
		lv, err := st.callbacksLevel(ctx, f, mix, v.name, v.env, 1, n)
		if err != nil {
			return out, err
		}
		out = append(out, lv)
	}
	return out, nil
}
