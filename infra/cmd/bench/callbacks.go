package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
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
func (st *stack) callbackEvent(params url.Values, requestID string) ([]byte, error) {
	tmpl, _, err := loadEvent("callback-status-delivered.json")
	if err != nil {
		return nil, err
	}
	body := params.Encode()
	req := withBody(tmpl, base64.StdEncoding.EncodeToString([]byte(body)), requestID)
	req.IsBase64Encoded = true
	req.Headers["content-length"] = fmt.Sprint(len(body))
	nonce := fmt.Sprintf("%020d", time.Now().UnixNano())
	sig := plivosim.SignV3(plivoAuthToken, http.MethodPost, st.callbacksEnviron()["CALLBACK_PUBLIC_URL"], params, nonce)
	req.Headers["x-plivo-signature-v3-nonce"] = nonce
	req.Headers["x-plivo-signature-v3"] = sig
	req.Headers["x-plivo-signature-ma-v3"] = sig
	return json.Marshal(req)
}

// callbackInvocation is one callback handled by one execution environment.
type callbackInvocation struct {
	class  string
	status int    // HTTP status of the answer
	answer string // its status field: published, duplicate, unrouted
	took   time.Duration
	waits
	ops     map[string]int // DynamoDB operations
	events  int            // PutEvents requests
	secrets int            // GetSecretValue
}

// callbackLevel is n callbacks of the mix at one concurrency: that many
// execution environments, each one invocation at a time.
type callbackLevel struct {
	name        string // "" for the function as configured, else the variant
	concurrency int
	results     []callbackInvocation
	errors      []error
	wall        time.Duration
	cpu         time.Duration // the environments' user+system time
	peakRSS     int64
	logBytes    int64
	calls       calls
	busEvents   int // entries the bus accepted
	busChunks   int // their 64 KB chunks, as EventBridge bills them
}

// execEnv is one execution environment of the callbacks function: its
// binary under its own Runtime API, and timed fronts for DynamoDB,
// Secrets Manager and EventBridge, which attribute every call to the
// invocation in progress (an environment runs one at a time).
type execEnv struct {
	d       *directRun
	current atomic.Pointer[sample]
}

// envFront is a reverse proxy to target whose requests are timed into the
// environment's current sample as calls of kind.
func (st *stack) envFront(e *execEnv, kind callKind, target string) string {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	t := st.tracker
	return st.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := t.now()
		op := r.Header.Get("X-Amz-Target")
		rp.ServeHTTP(w, r)
		if s := e.current.Load(); s != nil {
			s.add(kind, start, t.now())
			if kind == callDynamo {
				_, name, _ := strings.Cut(op, ".")
				s.tally(name)
			}
		}
	}))
}

// startEnv starts one environment of f with extra variables.
func (st *stack) startEnv(ctx context.Context, f *function, extra []string) (*execEnv, error) {
	e := &execEnv{}
	env := append(st.environ(f, st.fast), extra...)
	env = append(env,
		"AWS_ENDPOINT_URL_DYNAMODB="+st.envFront(e, callDynamo, st.proxy.URL()),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER="+st.envFront(e, callSecrets, st.smURL),
		"AWS_ENDPOINT_URL_EVENTBRIDGE="+st.envFront(e, callEvents, st.busURL))
	d, _, err := startDirect(f.binary, env, time.Duration(f.timeout)*time.Second)
	if err != nil {
		return nil, err
	}
	e.d = d
	if _, err := d.awaitPoll(ctx); err != nil {
		d.stop()
		return nil, err
	}
	return e, nil
}

// invoke runs one callback in e.
func (st *stack) invokeCallback(ctx context.Context, e *execEnv, class string, params url.Values, rid string) (callbackInvocation, error) {
	inv := callbackInvocation{class: class}
	ev, err := st.callbackEvent(params, rid)
	if err != nil {
		return inv, err
	}
	s := &sample{}
	e.current.Store(s)
	took, body, err := e.d.invoke(ctx, ev)
	e.current.Store(nil)
	if err != nil {
		return inv, err
	}
	if _, err := e.d.awaitPoll(ctx); err != nil {
		return inv, err
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return inv, fmt.Errorf("answer %.200s: %w", body, err)
	}
	var ans struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &ans)
	inv.status, inv.answer, inv.took, inv.waits = resp.StatusCode, ans.Status, took, s.waits()
	s.mu.Lock()
	inv.ops = s.ops
	s.mu.Unlock()
	inv.events, inv.secrets = s.count(callEvents), s.count(callSecrets)
	if resp.StatusCode != http.StatusOK {
		return inv, fmt.Errorf("%s answered %d %s", class, resp.StatusCode, resp.Body)
	}
	return inv, nil
}

// callbacksLevel starts concurrency environments of f, warms each with
// one callback per number (the secret fetched, connections open, routes
// cached), then sends n callbacks of the mix through them.
func (st *stack) callbacksLevel(ctx context.Context, f *function, mix *callbackMix, name string, extra []string, concurrency, n int) (callbackLevel, error) {
	lv := callbackLevel{name: name, concurrency: concurrency}
	envs := make([]*execEnv, 0, concurrency)
	defer func() {
		for _, e := range envs {
			e.d.stop()
		}
	}()
	for range concurrency {
		e, err := st.startEnv(ctx, f, extra)
		if err != nil {
			return lv, err
		}
		envs = append(envs, e)
	}
	var rid atomic.Int64
	nextID := func() string { return fmt.Sprintf("bench-cb-%d", rid.Add(1)) }
	var wg sync.WaitGroup
	var warmErr atomic.Pointer[error]
	for i, e := range envs {
		wg.Go(func() {
			for _, w := range mix.warmUp(i) {
				if _, err := st.invokeCallback(ctx, e, "warm-up", w, nextID()); err != nil {
					warmErr.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	if p := warmErr.Load(); p != nil {
		return lv, fmt.Errorf("warm-up: %w", *p)
	}

	cpu0 := map[*execEnv]procStat{}
	logs0 := int64(0)
	for _, e := range envs {
		cpu0[e] = readProc(e.d.cmd.Process.Pid)
		logs0 += e.d.stdout.n.Load()
	}
	before, bus0 := st.snapshot(), len(st.bus.Events())
	var mu sync.Mutex
	var left atomic.Int64
	left.Store(int64(n))
	start := time.Now()
	for _, e := range envs {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				class, params := mix.next()
				inv, err := st.invokeCallback(ctx, e, class, params, nextID())
				mu.Lock()
				if err != nil {
					lv.errors = append(lv.errors, err)
				} else {
					lv.results = append(lv.results, inv)
				}
				mu.Unlock()
				if ctx.Err() != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	lv.wall = time.Since(start)
	lv.calls = st.snapshot().since(before)
	for _, e := range envs {
		p := readProc(e.d.cmd.Process.Pid)
		lv.cpu += p.cpu - cpu0[e].cpu
		lv.peakRSS = max(lv.peakRSS, p.peakRSS)
		lv.logBytes += e.d.stdout.n.Load()
	}
	lv.logBytes -= logs0
	events := st.bus.Events()
	for _, ev := range events[bus0:] {
		lv.busEvents++
		size := len(ev.Source) + len(ev.DetailType) + len(ev.Detail) + 14 // the Time field counts 14 bytes
		for _, r := range ev.Resources {
			size += len(r)
		}
		lv.busChunks += (size + 64<<10 - 1) / (64 << 10)
	}
	return lv, ctx.Err()
}

// callbackVariant is a configuration of the function measured beside the
// deployed one at concurrency 1.
type callbackVariant struct {
	name string
	env  []string
}

var callbackVariants = []callbackVariant{
	{"dedupe write on (CALLBACK_DEDUPE_WRITE=true)", []string{"CALLBACK_DEDUPE_WRITE=true"}},
	{"no route cache (ROUTE_CACHE_TTL=0)", []string{"ROUTE_CACHE_TTL=0"}},
}

// callbackNumbers onboards k WABAs through the instant simulators and
// returns their business numbers' digits, as Plivo writes them.
func callbackNumbers(ctx context.Context, p *inProcess, k int) ([]string, error) {
	var out []string
	for range k {
		r, err := p.signup(ctx)
		if err != nil {
			return nil, err
		}
		// nextIdentity's display number: +1 555-01 and the last five
		// digits of the phone number ID, which follows the WABA's.
		phone := "103" + r.waba[3:]
		out = append(out, onboarding.PhoneDigits("+1 555-01"+phone[len(phone)-5:]))
	}
	return out, nil
}

// runCallbacks measures the callbacks function at each concurrency, then
// its variants at concurrency 1.
func (st *stack) runCallbacks(ctx context.Context, f *function, p *inProcess, concurrency []int, n int) ([]callbackLevel, error) {
	numbers, err := callbackNumbers(ctx, p, 20)
	if err != nil {
		return nil, err
	}
	mix := &callbackMix{numbers: numbers, unknown: []string{"15550190001", "15550190002", "15550190003"}}
	var out []callbackLevel
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
