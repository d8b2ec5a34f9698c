package binaries

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/infra/sim/faultproxy"
	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
	infrastack "github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// The fault tests prove the "never lose a verified signup" guarantees on
// the built signup and resume binaries. Every fault is injected at an
// endpoint a function is pointed at: the Meta, Plivo and Secrets Manager
// simulators, and a fault proxy in front of DynamoDB Local for each
// function. Time moves only as it does in Lambda: the retry policy comes
// from the functions' environment, short enough that a pending signup is
// due again within the test, and the resume function is invoked with its
// scheduled event until nothing is due.

// faultMaxDelay is RETRY_MAX_DELAY: the wait after an account-level Plivo
// failure, which a test waits out once the operator has fixed the account.
// It is long next to a warm invocation (milliseconds), so resume runs made
// right after the signup find nothing due.
const faultMaxDelay = 3 * time.Second

// faultPolicy is the retry policy both functions run with; the attempts and
// the maximum age stay the template's.
var faultPolicy = []string{
	config.EnvRetryBaseDelay + "=10ms",
	config.EnvRetryMaxDelay + "=" + faultMaxDelay.String(),
}

// faultStack is a sibling stack for one scenario: the signup and resume
// functions, each pointed at a fault proxy of its own in front of its
// DynamoDB recorder.
type faultStack struct {
	*Stack
	proxy          *faultproxy.Proxy
	signup, resume *Function
	event          []byte // events/signup-ok.json
	issued         int
	// sent holds the codes and session tokens the signups carried, and
	// any credential the scenario rotated in: no log may show them.
	sent    []string
	invoked map[*Function]bool
	// resumeProxy is the resume function's fault proxy, as proxy is the
	// signup function's.
	resumeProxy *faultproxy.Proxy
}

// faultOptions change a scenario's signup function.
type faultOptions struct {
	// timeout replaces the template's timeout (seconds): the Plivo call
	// gets it less the 2 s the service reserves to save the outcome.
	timeout int
	// maxAttempts, when set, is both functions' RETRY_MAX_ATTEMPTS.
	maxAttempts int
	// env is added last to the signup function's environment.
	env []string
}

func newFaultStack(t *testing.T, opt faultOptions) *faultStack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := stack.Sibling(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close) // after the functions' Stop: cleanups are LIFO
	fs := &faultStack{Stack: s, invoked: map[*Function]bool{}}
	if fs.event, err = os.ReadFile(filepath.Join(s.Root, "events", "signup-ok.json")); err != nil {
		t.Fatal(err)
	}
	// In front of the recorder, so the calls are still held against the
	// template's grants.
	recorder, err := s.Serve(s.recordDynamoDB("SignupFunction"))
	if err != nil {
		t.Fatal(err)
	}
	fs.proxy = faultproxy.New(recorder)
	t.Cleanup(fs.proxy.Close)
	policy := faultPolicy
	if opt.maxAttempts > 0 {
		policy = append(slices.Clone(policy), config.EnvRetryMaxAttempts+"="+strconv.Itoa(opt.maxAttempts))
	}
	env := append([]string{"AWS_ENDPOINT_URL_DYNAMODB=" + fs.proxy.URL()}, policy...)
	if opt.timeout > 0 {
		env = append(env, "AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(opt.timeout))
	}
	env = append(env, opt.env...)
	if fs.signup, err = s.StartFunction(ctx, "SignupFunction", env...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fs.signup.Stop)
	resumeRecorder, err := s.Serve(s.recordDynamoDB("ResumeFunction"))
	if err != nil {
		t.Fatal(err)
	}
	fs.resumeProxy = faultproxy.New(resumeRecorder)
	t.Cleanup(fs.resumeProxy.Close)
	resumeEnv := append([]string{"AWS_ENDPOINT_URL_DYNAMODB=" + fs.resumeProxy.URL()}, policy...)
	if fs.resume, err = s.StartFunction(ctx, "ResumeFunction", resumeEnv...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fs.resume.Stop)
	t.Cleanup(func() {
		var fns []*Function
		for _, f := range []*Function{fs.signup, fs.resume} {
			if fs.invoked[f] {
				fns = append(fns, f)
			}
		}
		checkLogs(t, fns, fs.sent)
		for _, f := range fns {
			checkGranted(t, s, f.LogicalID)
		}
		if t.Failed() {
			t.Logf("logs: %s %s", fs.signup.LogPath, fs.resume.LogPath)
		}
	})
	return fs
}

// identity is a WABA and its one phone number.
type identity struct{ waba, phone string }

// fresh returns an identity no signup of this stack has used.
func (fs *faultStack) fresh() identity {
	fs.issued++
	return identity{fmt.Sprintf("1029%011d", fs.issued), fmt.Sprintf("1039%011d", fs.issued)}
}

// code has the Meta simulator issue a code for id, as PrepareEvent does.
func (fs *faultStack) code(id identity) string {
	return fs.Meta.IssueCode(metasim.Grant{WABAID: id.waba, BusinessID: BusinessID,
		PhoneNumbers: []metasim.PhoneNumber{{ID: id.phone, DisplayPhoneNumber: "+1 555-010-" + id.phone[len(id.phone)-4:]}}})
}

// answer is the signup function's HTTP answer.
type answer struct {
	status int
	body   string
	doc    any
}

// field returns the answer's JSON value at a dotted path, as text.
func (a answer) field(path string) string {
	v, ok := lookup(a.doc, path)
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

// signupAs invokes the signup function with events/signup-ok.json, its
// body naming id and carrying code (CodePlaceholder: a fresh one for id)
// and a fresh session.
func (fs *faultStack) signupAs(t *testing.T, id identity, code string) answer {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(fs.event, &ev); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(ev["body"].(string)), &body); err != nil {
		t.Fatal(err)
	}
	body["waba_id"], body["phone_number_id"], body["code"] = id.waba, id.phone, code
	b, _ := json.Marshal(body)
	ev["body"] = string(b)
	ev["requestContext"].(map[string]any)["requestId"] = "fault-" + id.waba
	raw, _ := json.Marshal(ev)
	payload, err := fs.PrepareEvent(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	fs.sent = append(fs.sent, bodySecrets(t, payload)...)
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(fs.invoke(t, fs.signup, payload), &resp); err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, body: resp.Body}
	if err := json.Unmarshal([]byte(resp.Body), &a.doc); err != nil {
		t.Fatalf("signup answered %d with a body that is not JSON: %s", resp.StatusCode, resp.Body)
	}
	return a
}

// signupNew signs a fresh identity up with a fresh code.
func (fs *faultStack) signupNew(t *testing.T) (identity, answer) {
	t.Helper()
	id := fs.fresh()
	return id, fs.signupAs(t, id, CodePlaceholder)
}

func (fs *faultStack) invoke(t *testing.T, f *Function, payload []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fs.invoked[f] = true
	out, err := f.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("%s: %v; log %s", f.LogicalID, err, f.LogPath)
	}
	return out
}

// resumeOnce invokes the resume function with events/resume-scheduled.json.
func (fs *faultStack) resumeOnce(t *testing.T) onboarding.ResumeReport {
	t.Helper()
	scheduled, err := os.ReadFile(filepath.Join(fs.Root, "events", "resume-scheduled.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := fs.invoke(t, fs.resume, scheduled)
	var report onboarding.ResumeReport
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("resume answered %s: %v", out, err)
	}
	return report
}

// resumeUntilSettled runs the resume function as the schedule would until
// none of ids is waiting for a retry and a run finds nothing due. Before a
// run it waits for the earliest stored retry time, so no run is wasted on a
// record that is not due yet.
func (fs *faultStack) resumeUntilSettled(t *testing.T, ids ...identity) onboarding.ResumeReport {
	t.Helper()
	var total onboarding.ResumeReport
	for run := 1; ; run++ {
		if run > 20 {
			t.Fatalf("still due after %d resume runs: %+v", run-1, total)
		}
		var next time.Time
		for _, id := range ids {
			// A verifying record with a retry time is a proven lock, due
			// when it expires.
			if rec := fs.record(t, id); (rec.State == onboarding.StateVerified || rec.State == onboarding.StateVerifying && !rec.NextRetryAt.IsZero()) &&
				(next.IsZero() || rec.NextRetryAt.Before(next)) {
				next = rec.NextRetryAt
			}
		}
		if !next.IsZero() {
			// Stored to the millisecond; the claim needs next_retry_at < now.
			time.Sleep(time.Until(next.Add(2 * time.Millisecond)))
		}
		rep := fs.resumeOnce(t)
		total.Due += rep.Due
		total.Claimed += rep.Claimed
		total.Onboarded += rep.Onboarded
		total.Pending += rep.Pending
		total.Failed += rep.Failed
		if next.IsZero() && rep.Due == 0 {
			return total
		}
	}
}

// record reads id's record from DynamoDB Local, bypassing the proxy.
func (fs *faultStack) record(t *testing.T, id identity) onboarding.Record {
	t.Helper()
	rec, err := (&dynamo.Store{Client: fs.Dynamo, Table: fs.Table}).Get(context.Background(), id.waba)
	if err != nil {
		t.Fatalf("record %s: %v", id.waba, err)
	}
	return *rec
}

// noRecord checks that id has no record.
func (fs *faultStack) noRecord(t *testing.T, id identity) {
	t.Helper()
	rec, err := (&dynamo.Store{Client: fs.Dynamo, Table: fs.Table}).Get(context.Background(), id.waba)
	if !errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("record of %s: %+v (%v), want none", id.waba, rec, err)
	}
}

func TestHappyPathWarmCallsNoSecrets(t *testing.T) {
	t.Parallel()
	fs := newFaultStack(t, faultOptions{})
	for i := range 2 {
		id, a := fs.signupNew(t)
		if a.status != 200 || a.field("status") != "onboarded" {
			t.Fatalf("signup %d: %d %s", i, a.status, a.body)
		}
		if rec := fs.record(t, id); rec.State != onboarding.StateOnboarded || rec.PlivoAttempts != 1 {
			t.Errorf("signup %d: record %s after %d Plivo attempts", i, rec.State, rec.PlivoAttempts)
		}
		if i == 0 {
			fs.Secrets.ResetCalls()
			fs.proxy.Reset()
		}
	}
	if n := fs.Secrets.Calls("GetSecretValue"); n != 0 {
		t.Errorf("warm signup made %d Secrets Manager calls", n)
	}
	// Spend the session token (dedup table), take the lock, save verified,
	// save onboarded.
	if writes := fs.proxy.Requests("PutItem") + fs.proxy.Requests("UpdateItem"); writes != 4 {
		t.Errorf("warm signup made %d DynamoDB writes, want 4", writes)
	}
	if n := fs.Plivo.SuccessfulSignups(); n != 2 {
		t.Errorf("Plivo onboarded %d, want 2", n)
	}
}

func TestPlivoFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opt     faultOptions
		arm     func(p *plivosim.Server)
		pending bool // the signup answers 202 and leaves the record to resume
		reason  string
	}{
		{name: "500 five times then 200", arm: func(p *plivosim.Server) { p.FailNext(plivosim.RouteSignup, 5, plivosim.KindInternal) },
			pending: true, reason: onboarding.ReasonPlivoServerError},
		{name: "503 html from a load balancer", arm: func(p *plivosim.Server) { p.FailNext(plivosim.RouteSignup, 3, plivosim.KindDown) },
			pending: true, reason: onboarding.ReasonPlivoServerError},
		{name: "429", arm: func(p *plivosim.Server) { p.FailNext(plivosim.RouteSignup, 3, plivosim.KindThrottled) },
			pending: true, reason: onboarding.ReasonPlivoThrottled},
		// A 4 s function keeps 2 s for the Plivo call, too little to try
		// again inside the request: the one hang leaves the signup pending.
		{name: "timeout", opt: faultOptions{timeout: 4}, arm: func(p *plivosim.Server) { p.FailNext(plivosim.RouteSignup, 1, plivosim.KindHang) },
			pending: true, reason: onboarding.ReasonPlivoUnreachable},
		{name: "one 500 is absorbed inside the request", arm: func(p *plivosim.Server) { p.FailNext(plivosim.RouteSignup, 1, plivosim.KindInternal) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFaultStack(t, tt.opt)
			tt.arm(fs.Plivo)
			id, a := fs.signupNew(t)
			if !tt.pending {
				if a.status != 200 || a.field("status") != "onboarded" {
					t.Fatalf("signup answered %d %s, want 200 onboarded", a.status, a.body)
				}
			} else {
				if a.status != 202 || a.field("status") != "pending" {
					t.Fatalf("signup answered %d %s, want 202 pending", a.status, a.body)
				}
				rec := fs.record(t, id)
				if rec.State != onboarding.StateVerified || rec.LastError != tt.reason || rec.NextRetryAt.IsZero() || !rec.LockExpiresAt.IsZero() {
					t.Fatalf("pending record: state %s, last_error %s, next_retry_at %v, lock_expires_at %v; want verified, %s, set, released",
						rec.State, rec.LastError, rec.NextRetryAt, rec.LockExpiresAt, tt.reason)
				}
				if rep := fs.resumeUntilSettled(t, id); rep.Onboarded != 1 || rep.Failed != 0 {
					t.Errorf("resume runs: %+v, want one onboarded", rep)
				}
			}
			if rec := fs.record(t, id); rec.State != onboarding.StateOnboarded || rec.LastError != "" {
				t.Fatalf("final state %s (%s)", rec.State, rec.LastError)
			}
			if n := fs.Plivo.SuccessfulSignups(); n != 1 {
				t.Fatalf("successful Plivo calls = %d, want exactly 1", n)
			}
			if n := fs.Meta.Calls(metasim.EndpointOAuth); n != 1 {
				t.Fatalf("code exchanged %d times", n)
			}
		})
	}
}

// The resume function's claim is applied but its answer lost: the SDK's
// retry finds the run's own lock, and the run calls Plivo on the attempt
// the claim counted rather than skipping a record it holds until its
// deadline.
func TestResumeClaimAppliedButItsAnswerLost(t *testing.T) {
	t.Parallel()
	fs := newFaultStack(t, faultOptions{})
	fs.Plivo.FailNext(plivosim.RouteSignup, 2, plivosim.KindInternal)
	id, a := fs.signupNew(t)
	if a.status != 202 || a.field("status") != "pending" {
		t.Fatalf("signup answered %d %s, want 202 pending", a.status, a.body)
	}
	before, calls := fs.record(t, id), fs.Plivo.SignupCalls()
	// Stored to the millisecond; the claim needs next_retry_at < now.
	time.Sleep(time.Until(before.NextRetryAt.Add(2 * time.Millisecond)))
	// The claim is the run's first UpdateItem.
	fs.resumeProxy.Inject(faultproxy.Fault{Operation: "UpdateItem", Table: fs.Table, Action: faultproxy.DropAfterForward, Count: 1})
	if rep := fs.resumeOnce(t); rep != (onboarding.ResumeReport{Due: 1, Claimed: 1, Onboarded: 1}) {
		t.Fatalf("resume run: %+v, want the record claimed and onboarded", rep)
	}
	// The claim, its resend, and the save of the outcome.
	if n := fs.resumeProxy.Forwarded("UpdateItem"); n != 3 {
		t.Errorf("the resume run's UpdateItems reaching DynamoDB: %d, want 3", n)
	}
	if rec := fs.record(t, id); rec.State != onboarding.StateOnboarded || rec.PlivoAttempts != before.PlivoAttempts+1 {
		t.Errorf("record: %s after %d Plivo attempts, want onboarded after %d", rec.State, rec.PlivoAttempts, before.PlivoAttempts+1)
	}
	if n, ok := fs.Plivo.SignupCalls(), fs.Plivo.SuccessfulSignups(); n != calls+1 || ok != 1 {
		t.Errorf("Plivo called %d times, onboarded %d; want %d, 1", n, ok, calls+1)
	}
}

// A signup Plivo keeps failing is given up after RETRY_MAX_ATTEMPTS calls
// in all, the signup's and the resume runs', and is then never due again.
func TestPlivoFailuresGiveUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	fs := newFaultStack(t, faultOptions{maxAttempts: 3})
	fs.Plivo.FailNext(plivosim.RouteSignup, -1, plivosim.KindInternal)
	id, a := fs.signupNew(t)
	if a.status != 202 || a.field("status") != "pending" {
		t.Fatalf("signup answered %d %s, want 202 pending", a.status, a.body)
	}
	// The signup tried twice; one resume run makes the third attempt.
	if rep := fs.resumeUntilSettled(t, id); rep.Claimed != 1 || rep.Failed != 1 {
		t.Errorf("resume runs: %+v, want one claimed and failed", rep)
	}
	rec := fs.record(t, id)
	if rec.State != onboarding.StateFailed || rec.FailureReason != onboarding.ReasonGaveUp || rec.PlivoAttempts != 3 || !rec.NextRetryAt.IsZero() {
		t.Fatalf("record: state %s, failure_reason %s, plivo_attempts %d, next_retry_at %v; want failed, %s, 3, none",
			rec.State, rec.FailureReason, rec.PlivoAttempts, rec.NextRetryAt, onboarding.ReasonGaveUp)
	}
	if n := fs.Plivo.SignupCalls(); n != 3 {
		t.Errorf("Plivo called %d times, want RETRY_MAX_ATTEMPTS (3)", n)
	}
	if log, err := os.ReadFile(fs.resume.LogPath); err != nil || !strings.Contains(string(log), `"`+onboarding.MetricResumeGaveUp+`":1`) {
		t.Errorf("the resume function's log has no %s metric (%v)", onboarding.MetricResumeGaveUp, err)
	}
}

func TestPlivoTokenRotation(t *testing.T) {
	t.Parallel()
	fs := newFaultStack(t, faultOptions{})
	if _, a := fs.signupNew(t); a.status != 200 {
		t.Fatalf("first signup: %d %s", a.status, a.body)
	}
	// The token is rotated at Plivo and in Secrets Manager; the function's
	// cache still holds the old one.
	const rotated = "sim-plivo-rotated-token-2c9f"
	fs.sent = append(fs.sent, rotated)
	fs.Plivo.RotateToken(rotated)
	fs.Secrets.Put(infrastack.PlivoSecretID, `{"auth_id":"`+PlivoAuthID+`","auth_token":"`+rotated+`"}`)
	fs.Secrets.ResetCalls()
	id, a := fs.signupNew(t)
	if a.status != 200 || a.field("status") != "onboarded" {
		t.Fatalf("after rotation: %d %s", a.status, a.body)
	}
	if n := fs.Secrets.Calls("GetSecretValue"); n != 1 {
		t.Errorf("secret fetched %d times after a 401, want 1 refresh", n)
	}
	if _, ok := fs.Plivo.Onboarded(id.waba); !ok {
		t.Errorf("Plivo has no signup for %s", id.waba)
	}
}

// A warm signup whose cached secrets expired while Secrets Manager throttles
// goes on with them: each secret is asked for once (the SDK's three
// attempts), the next signup within the backoff asks for none, and the log
// says so without showing a value (checkLogs).
func TestSecretsManagerThrottleServesCachedSecrets(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	fs := newFaultStack(t, faultOptions{env: []string{config.EnvSecretsTTL + "=" + ttl.String()}})
	if _, a := fs.signupNew(t); a.status != 200 {
		t.Fatalf("first signup: %d %s", a.status, a.body)
	}
	time.Sleep(ttl)
	fs.Secrets.FailNext(secretsmanagersim.OpGetSecretValue, -1, secretsmanagersim.Fault{Type: "ThrottlingException", Message: "Rate exceeded"})
	t.Cleanup(func() { fs.Secrets.FailNext(secretsmanagersim.OpGetSecretValue, 0, secretsmanagersim.Fault{}) })
	fs.Secrets.ResetCalls()
	// Session keys, Meta app and Plivo, each refetched once with the SDK's
	// three attempts, then served stale within the backoff.
	const sdkAttempts, secretsRead = 3, 3
	for i := range 2 {
		id, a := fs.signupNew(t)
		if a.status != 200 || a.field("status") != "onboarded" {
			t.Fatalf("signup %d during the throttle: %d %s", i, a.status, a.body)
		}
		if _, ok := fs.Plivo.Onboarded(id.waba); !ok {
			t.Errorf("signup %d: Plivo has no signup for %s", i, id.waba)
		}
		if n := fs.Secrets.Calls(secretsmanagersim.OpGetSecretValue); n != sdkAttempts*secretsRead {
			t.Errorf("after signup %d: %d GetSecretValue calls, want %d", i, n, sdkAttempts*secretsRead)
		}
	}
	logs, err := os.ReadFile(fs.signup.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"msg":"secret served stale after a failed refresh"`, "ThrottlingException", `"SecretStaleServed":1`} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("signup log has no %s", want)
		}
	}
}

func TestAccountLevelPlivoFailuresDoNotHotLoop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		kind   plivosim.Kind
		reason string
	}{
		{"403", plivosim.KindForbidden, onboarding.ReasonPlivoForbidden},
		{"multi-partner solution inactive", plivosim.KindSolutionInactive, onboarding.ReasonSolutionInactive},
		{"401 even after refresh", plivosim.KindUnauthorized, onboarding.ReasonPlivoUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFaultStack(t, faultOptions{})
			fs.Plivo.FailNext(plivosim.RouteSignup, -1, tt.kind)
			id, a := fs.signupNew(t)
			if a.status != 202 || a.field("status") != "pending" {
				t.Fatalf("signup answered %d %s, want 202 pending", a.status, a.body)
			}
			rec := fs.record(t, id)
			// The longest backoff, not a jittered one: an operator has to act.
			if wait := rec.NextRetryAt.Sub(rec.UpdatedAt); rec.LastError != tt.reason || wait < faultMaxDelay-time.Millisecond || wait > faultMaxDelay {
				t.Fatalf("record: last_error %s, next retry %v after the update; want %s after RETRY_MAX_DELAY (%v)", rec.LastError, wait, tt.reason, faultMaxDelay)
			}
			if log, err := os.ReadFile(fs.signup.LogPath); err != nil || !strings.Contains(string(log), `"Reason":"`+tt.reason+`"`) {
				t.Errorf("no metric names the reason (%v)", err)
			}
			// Runs before the retry time find nothing due and send nothing.
			calls := fs.Plivo.SignupCalls()
			early := 0
			for range 3 {
				rep := fs.resumeOnce(t)
				if !time.Now().Before(rec.NextRetryAt) {
					break // this run may have been after the retry time
				}
				early++
				if rep.Due != 0 || fs.Plivo.SignupCalls() != calls {
					t.Fatalf("resume run before the retry time: %+v, Plivo calls %d after %d", rep, fs.Plivo.SignupCalls(), calls)
				}
			}
			t.Logf("%d resume runs before the retry time", early)
			// Once the operator fixes the account, the next due run finishes it.
			fs.Plivo.FailNext(plivosim.RouteSignup, 0, "")
			if rep := fs.resumeUntilSettled(t, id); rep.Onboarded != 1 {
				t.Errorf("resume runs after the fix: %+v, want one onboarded", rep)
			}
			if rec := fs.record(t, id); rec.State != onboarding.StateOnboarded {
				t.Fatalf("after fix: %s", rec.State)
			}
		})
	}
}

func TestLostPlivoResponseIsReconciled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		arm  func(p *plivosim.Server)
	}{
		{"connection dropped", (*plivosim.Server).DropNextSignupResponse},
		// Held past the functions' 10 s HTTP client timeout, which leaves the
		// 25 s signup time for a second call inside the request.
		{"answer delayed past the timeout", func(p *plivosim.Server) { p.DelayNextSignupResponse(time.Minute) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFaultStack(t, faultOptions{})
			tt.arm(fs.Plivo)
			id, a := fs.signupNew(t)
			if a.status != 200 || a.field("status") != "onboarded" {
				t.Fatalf("signup answered %d %s, want 200 onboarded", a.status, a.body)
			}
			if rec := fs.record(t, id); !rec.Reconciled || rec.State != onboarding.StateOnboarded || rec.PlivoAttempts != 2 {
				t.Fatalf("record: state %s, reconciled %t, plivo_attempts %d; want onboarded, reconciled, 2", rec.State, rec.Reconciled, rec.PlivoAttempts)
			}
			if n, calls := fs.Plivo.SuccessfulSignups(), fs.Plivo.SignupCalls(); n != 1 || calls != 2 {
				t.Fatalf("Plivo onboarded %d times in %d calls, want once in 2", n, calls)
			}
		})
	}
}

func TestWABARegisteredBySomeoneElseIsAConflict(t *testing.T) {
	t.Parallel()
	fs := newFaultStack(t, faultOptions{})
	id := fs.fresh()
	fs.Plivo.Preregister(id.waba, "99999999999")
	a := fs.signupAs(t, id, CodePlaceholder)
	if a.status != 409 || a.field("error.code") != string(onboarding.CodeAlreadyRegistered) {
		t.Fatalf("signup answered %d %s, want 409 %s", a.status, a.body, onboarding.CodeAlreadyRegistered)
	}
	if rec := fs.record(t, id); rec.State != onboarding.StateFailed || rec.Reconciled || rec.FailureReason != onboarding.ReasonAlreadyRegistered {
		t.Fatalf("record: state %s, reconciled %t, failure_reason %s", rec.State, rec.Reconciled, rec.FailureReason)
	}
}

func TestMetaOutages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		endpoint string
		kind     metasim.Kind
	}{
		{"graph down", metasim.EndpointOAuth, metasim.KindDown},
		{"app throttled", metasim.EndpointDebugToken, metasim.KindThrottled},
		{"waba throttled", metasim.EndpointPhoneNumbers, metasim.KindWABAThrottled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFaultStack(t, faultOptions{})
			fs.Meta.FailNext(tt.endpoint, -1, tt.kind)
			id, a := fs.signupNew(t)
			// The code reached Meta, so it may be spent: the customer is sent
			// through Meta's flow again rather than told to resend it.
			if a.status != 503 || a.field("error.code") != string(onboarding.CodeMetaUnavailable) {
				t.Fatalf("signup answered %d %s, want 503 %s", a.status, a.body, onboarding.CodeMetaUnavailable)
			}
			// Retries are bounded by count, whatever the time they take.
			if n := fs.Meta.Calls(tt.endpoint); n < 1 || n > 3 {
				t.Errorf("%s called %d times", tt.endpoint, n)
			}
			// Meta proved no control of the WABA, so nothing is written: the
			// WABA stays free for the customer's next attempt.
			fs.noRecord(t, id)
			if n := fs.Plivo.SignupCalls(); n != 0 {
				t.Errorf("Plivo called %d times", n)
			}
		})
	}
}

func TestMetaRejections(t *testing.T) {
	t.Parallel()
	fs := newFaultStack(t, faultOptions{})
	first := fs.fresh()
	code := fs.code(first)
	if a := fs.signupAs(t, first, code); a.status != 200 {
		t.Fatalf("first signup: %d %s", a.status, a.body)
	}
	// The same code for another WABA: Meta says it was used.
	second := fs.fresh()
	if a := fs.signupAs(t, second, code); a.status != 422 || a.field("error.code") != string(onboarding.CodeMetaRejected) {
		t.Errorf("reused code: %d %s", a.status, a.body)
	}
	// A code for one WABA presented with another WABA's IDs.
	third := fs.fresh()
	if a := fs.signupAs(t, second, fs.code(third)); a.status != 422 || a.field("error.code") != string(onboarding.CodeMetaRejected) {
		t.Errorf("foreign WABA: %d %s", a.status, a.body)
	}
	fs.noRecord(t, second)
	if n := fs.Plivo.SignupCalls(); n != 1 {
		t.Errorf("Plivo calls = %d, want 1", n)
	}
}

func TestDynamoDBFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// arm gets the signup table's local name: the session ledger's
		// writes are PutItems too, on the dedup table.
		arm       func(p *faultproxy.Proxy, table string)
		wantCode  onboarding.Code
		wantState onboarding.State
		// resumed: the resume function then settles the record.
		resumed bool
	}{
		{name: "lock write throttled past the SDK's retries: 503, the code spent, nothing sent to Plivo",
			arm: func(p *faultproxy.Proxy, table string) {
				p.Inject(faultproxy.Fault{Operation: "UpdateItem", Table: table, Action: faultproxy.Throttle, Count: 20})
			},
			wantCode: onboarding.CodeNotRecorded},
		{name: "lock write applied but its answer lost: the SDK's retry finds our own lock",
			arm: func(p *faultproxy.Proxy, table string) {
				p.Inject(faultproxy.Fault{Operation: "UpdateItem", Table: table, Action: faultproxy.DropAfterForward, Count: 1})
			},
			wantState: onboarding.StateOnboarded},
		{name: "lock write throttled twice: the SDK retries it",
			arm: func(p *faultproxy.Proxy, table string) {
				p.Inject(faultproxy.Fault{Operation: "UpdateItem", Table: table, Action: faultproxy.Throttle, Count: 2})
			},
			wantState: onboarding.StateOnboarded},
		{name: "verified write applied but its answer lost",
			arm: func(p *faultproxy.Proxy, table string) {
				// The lock is the first UpdateItem; the saves come after it.
				p.Inject(faultproxy.Fault{Operation: "UpdateItem", Table: table, Action: faultproxy.DropAfterForward, Skip: 1, Count: 1})
			},
			wantState: onboarding.StateOnboarded},
		{name: "final write delayed",
			arm: func(p *faultproxy.Proxy, table string) {
				p.Inject(faultproxy.Fault{Operation: "UpdateItem", Table: table, Action: faultproxy.Delay, Skip: 1, Count: 2, Delay: 200 * time.Millisecond})
			},
			wantState: onboarding.StateOnboarded},
		{name: "every write after the lock dropped: Plivo called once, answer 200, and the resume finds the lock once it expires",
			arm: func(p *faultproxy.Proxy, table string) {
				p.Inject(faultproxy.Fault{Operation: "UpdateItem", Table: table, Action: faultproxy.DropBeforeForward, Skip: 1, Count: 1000})
			},
			wantState: onboarding.StateVerifying, resumed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFaultStack(t, faultOptions{})
			tt.arm(fs.proxy, fs.Table)
			id, a := fs.signupNew(t)
			if tt.wantCode != "" {
				// The lock waits for Meta's proof, so Meta has answered by
				// then; Plivo must not hear of an unlocked signup.
				if a.status != 503 || a.field("error.code") != string(tt.wantCode) || fs.Plivo.SignupCalls() != 0 {
					t.Fatalf("signup answered %d %s; Meta exchanges %d, Plivo calls %d", a.status, a.body, fs.Meta.Calls(metasim.EndpointOAuth), fs.Plivo.SignupCalls())
				}
				fs.noRecord(t, id)
				return
			}
			if a.status != 200 || a.field("status") != "onboarded" {
				t.Fatalf("signup answered %d %s, want 200 onboarded", a.status, a.body)
			}
			if n := fs.Plivo.SuccessfulSignups(); n != 1 {
				t.Fatalf("Plivo onboarded %d times", n)
			}
			if rec := fs.record(t, id); rec.State != tt.wantState {
				t.Fatalf("state = %s, want %s", rec.State, tt.wantState)
			}
			if !tt.resumed {
				return
			}
			// The resume function's proxy has no fault armed. Plivo
			// has the WABA from the signup's call: "already registered"
			// is that call's success.
			fs.resumeUntilSettled(t, id)
			if rec := fs.record(t, id); rec.State != onboarding.StateOnboarded || !rec.Reconciled {
				t.Errorf("after the resume: %s (reconciled %t), want onboarded and reconciled", rec.State, rec.Reconciled)
			}
			if n := fs.Plivo.SuccessfulSignups(); n != 1 {
				t.Errorf("Plivo onboarded %d times", n)
			}
		})
	}
}
