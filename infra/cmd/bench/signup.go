package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/apigw"
)

// identity is one distinct signup: a WABA no other signup of the run used.
type identity struct {
	waba, phone, clientRef string
}

var identitySeq atomic.Int64

func nextIdentity() identity {
	n := identitySeq.Add(1)
	return identity{
		waba:      fmt.Sprintf("102%012d", n),
		phone:     fmt.Sprintf("103%012d", n),
		clientRef: fmt.Sprintf("customer-%d", n),
	}
}

// displayNumber is the business number Meta shows for id's phone number
// ID: +1 555-01 and its last five digits.
func (id identity) displayNumber() string { return "+1 555-01" + id.phone[len(id.phone)-5:] }

func (id identity) grant() metasim.Grant {
	return metasim.Grant{WABAID: id.waba, BusinessID: businessID, PhoneNumbers: []metasim.PhoneNumber{{
		ID: id.phone, DisplayPhoneNumber: id.displayNumber(), VerifiedName: "Customer " + id.waba,
	}}}
}

// loadEvent reads an events/ file as a payload v2 request.
func loadEvent(name string) (apigw.Request, error) {
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "events", name))
	if err != nil {
		return apigw.Request{}, err
	}
	var req apigw.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		return apigw.Request{}, fmt.Errorf("events/%s: %w", name, err)
	}
	return req, nil
}

// withBody returns a copy of the signup event with its own body, headers
// and request ID.
func withBody(tmpl apigw.Request, body, requestID string) apigw.Request {
	req := tmpl
	req.Headers = maps.Clone(tmpl.Headers)
	req.Headers["content-length"] = fmt.Sprint(len(body))
	req.Body = body
	req.IsBase64Encoded = false
	req.RequestContext.RequestID = requestID
	return req
}

// signupRequest is events/signup-ok.json for id, with a code issued by
// u's Meta simulator now (Meta's codes live 30 s) and, withSession, a
// fresh onboarding session.
func (st *stack) signupRequest(ctx context.Context, u upstreams, id identity, withSession bool) ([]byte, error) {
	// The JSON the onboarding page posts.
	body := map[string]string{"code": u.meta.IssueCode(id.grant()), "waba_id": id.waba, "phone_number_id": id.phone,
		"business_id": businessID, "client_ref": id.clientRef}
	if withSession {
		iss, err := st.minter.Mint(ctx, id.clientRef, 0)
		if err != nil {
			return nil, err
		}
		body["session"] = iss.Token
	}
	b, _ := json.Marshal(body)
	tmpl, err := loadEvent("signup-ok.json")
	if err != nil {
		return nil, err
	}
	return json.Marshal(withBody(tmpl, string(b), "bench-"+id.waba))
}

// signupEvent is a fresh signup as template.yaml's function takes it,
// with an onboarding session.
func (st *stack) signupEvent(ctx context.Context, u upstreams) ([]byte, error) {
	return st.signupRequest(ctx, u, nextIdentity(), true)
}

// signup onboards a fresh identity through e, whose upstreams are u.
func (st *stack) signup(ctx context.Context, e *execEnv, u upstreams, withSession bool) (identity, invocation, error) {
	id := nextIdentity()
	ev, err := st.signupRequest(ctx, u, id, withSession)
	if err != nil {
		return id, invocation{}, err
	}
	inv, err := e.invoke(ctx, ev)
	if err != nil {
		return id, inv, err
	}
	if inv.status != http.StatusOK || !strings.Contains(inv.body, `"status":"onboarded"`) {
		return id, inv, fmt.Errorf("signup %s answered %d %s", id.waba, inv.status, inv.body)
	}
	return id, inv, nil
}

// onboard signs k customers up through one environment of the signup
// binary f against the instant simulators, for the phases that need
// onboarded WABAs.
func (st *stack) onboard(ctx context.Context, f *function, k int) ([]identity, error) {
	envs, err := st.startEnvs(ctx, f, st.fast, nil, 1)
	if err != nil {
		return nil, err
	}
	defer stopEnvs(envs)
	ids := make([]identity, 0, k)
	for range k {
		id, _, err := st.signup(ctx, envs[0], st.fast, true)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// level is n invocations at one concurrency: that many execution
// environments, each one invocation at a time.
type level struct {
	name        string // "" for the function as configured, else the variant
	concurrency int
	results     []invocation
	errors      []error
	wall        time.Duration
	cpu         time.Duration // the environments' user+system time
	dbCPU       time.Duration // DynamoDB Local's JVM
	peakRSS     int64         // the largest environment's VmHWM
	logBytes    int64
	calls       calls
	busEvents   int // entries the bus accepted
	busChunks   int // their 64 KB chunks, as EventBridge bills them
}

// measure runs n invocations through envs, each from job, and what the
// environments, DynamoDB Local and the stack did meanwhile.
func (st *stack) measure(ctx context.Context, lv *level, envs []*execEnv, n int, job func(e *execEnv) (invocation, error)) {
	var mu sync.Mutex
	before, use0, db0, bus0 := st.snapshot(), usage(envs), testenv.ReadProc(st.dbPID).CPU, len(st.res.Events.Events())
	lv.wall = share(ctx, len(envs), n, func(i int) {
		inv, err := job(envs[i])
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			lv.errors = append(lv.errors, err)
		} else {
			lv.results = append(lv.results, inv)
		}
	})
	lv.calls, lv.dbCPU = st.snapshot().since(before), testenv.ReadProc(st.dbPID).CPU-db0
	use := usage(envs)
	lv.cpu, lv.peakRSS, lv.logBytes = use.cpu-use0.cpu, use.peakRSS, use.logBytes-use0.logBytes
	for _, ev := range st.res.Events.Events()[bus0:] {
		lv.busEvents++
		size := len(ev.Source) + len(ev.DetailType) + len(ev.Detail) + 14 // the Time field counts 14 bytes
		for _, r := range ev.Resources {
			size += len(r)
		}
		lv.busChunks += (size + 64<<10 - 1) / (64 << 10)
	}
}

// endToEnd starts one environment of the signup binary f per caller of
// the highest concurrency, against the simulators with the configured
// latencies and with onboarding sessions off, warms each up (secrets
// cached, connections open; o.warmup signups in all, for DynamoDB
// Local's JIT too), then runs o.n signups at each concurrency c through c
// of them.
func (st *stack) endToEnd(ctx context.Context, o options, f *function) ([]level, error) {
	count := slices.Max(o.concurrency)
	envs, err := st.startEnvs(ctx, f, st.slow, []string{"SESSIONS=off"}, count)
	if err != nil {
		return nil, err
	}
	defer stopEnvs(envs)
	perEnv := max(1, (o.warmup+count-1)/count)
	progress("warm-up: %d signups in each of %d execution environments", perEnv, count)
	err = each(len(envs), func(i int) error {
		for range perEnv {
			if _, _, err := st.signup(ctx, envs[i], st.slow, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	var out []level
	for _, c := range o.concurrency {
		progress("end to end: %d signups from %d execution environments", o.n, c)
		out = append(out, st.signupLevel(ctx, envs[:c], o.n))
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}

func (st *stack) signupLevel(ctx context.Context, envs []*execEnv, n int) level {
	lv := level{concurrency: len(envs)}
	st.measure(ctx, &lv, envs, n, func(e *execEnv) (invocation, error) {
		_, inv, err := st.signup(ctx, e, st.slow, false)
		return inv, err
	})
	return lv
}
