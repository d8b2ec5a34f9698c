package binaries

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// crashTimeout is the signup function's timeout in TestSignupSurvivesProcessKill
// instead of the template's 25 s. The lock, and with it the retry, is due one
// second after the invocation deadline: a short timeout keeps the wait for
// the resume function short. It still leaves the Plivo call (which gets the
// timeout less the 2 s reserve) seconds to be caught in flight.
const crashTimeout = 8

// crashCase is one way the signup process can die inside its Plivo call.
type crashCase struct {
	name string
	// arm sets the Plivo simulator up so that the next Embedded Signup
	// call blocks.
	arm func(p *plivosim.Server)
	// reached is the simulator's counter that moves once the function is
	// blocked inside that call.
	reached func(p *plivosim.Server) int
	// committed: Plivo onboarded the WABA before the process died, so the
	// resume function gets "already registered" and must reconcile it.
	committed bool

	waba, phone string
	f           *Function
	payload     []byte
	start       time.Time // the invocation was sent
	arrived     time.Time // the call was seen at Plivo
}

// killRecord is the stored signup record as DynamoDB Local holds it.
type killRecord struct {
	WABAID             string `dynamodbav:"waba_id"`
	State              string `dynamodbav:"state"`
	PhoneNumberID      string `dynamodbav:"phone_number_id"`
	BusinessID         string `dynamodbav:"business_id"`
	ClientRef          string `dynamodbav:"client_ref"`
	DisplayPhoneNumber string `dynamodbav:"display_phone_number"`
	LockOwner          string `dynamodbav:"lock_owner"`
	LockExpiresAt      int64  `dynamodbav:"lock_expires_at"`
	VerifiedAt         string `dynamodbav:"verified_at"`
	OnboardedAt        string `dynamodbav:"onboarded_at"`
	PlivoAttempts      int    `dynamodbav:"plivo_attempts"`
	PlivoAPIID         string `dynamodbav:"plivo_api_id"`
	QualityEvent       string `dynamodbav:"quality_event"`
	MessagingLimit     string `dynamodbav:"messaging_limit"`
	RetryShard         string `dynamodbav:"retry_shard"`
	NextRetryAt        int64  `dynamodbav:"next_retry_at"`
	LastError          string `dynamodbav:"last_error"`
	Reconciled         bool   `dynamodbav:"reconciled"`
}

// TestSignupSurvivesProcessKill SIGKILLs the signup function's real process
// while it waits for Plivo, after it wrote the verified record, and checks
// that nothing is lost: the record is verified and due for retry, and the
// resume function's real binary then onboards it, with exactly one
// successful onboarding at Plivo per WABA. Two deaths are covered: Plivo
// never answered (nothing committed there), and Plivo committed but the
// answer never reached the process (the resume function's call is then
// "already registered", which must be reconciled to onboarded).
//
// It runs on a stack of its own: the resume run re-drives every due record,
// which on the shared stack would take the seeded one TestEvents expects,
// and Plivo's counters here are this test's alone.
func TestSignupSurvivesProcessKill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := privateStack(ctx, t) // closed after the functions' Stop: cleanups are LIFO
	raw, err := os.ReadFile(filepath.Join(s.Root, "events", "signup-ok.json"))
	if err != nil {
		t.Fatal(err)
	}
	resume, err := s.StartFunction(ctx, "ResumeFunction")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(resume.Stop)

	cases := []*crashCase{
		{name: "plivo never answered",
			arm: func(p *plivosim.Server) { p.FailNext(plivosim.RouteSignup, 1, plivosim.KindHang) },
			// Counted on arrival; the hang then commits nothing.
			reached: (*plivosim.Server).SignupCalls},
		{name: "plivo committed, answer lost", committed: true,
			arm: func(p *plivosim.Server) { p.DelayNextSignupResponse(time.Minute) },
			// Counted when the signup commits, before the answer is held.
			reached: (*plivosim.Server).SuccessfulSignups},
	}
	for i, c := range cases {
		ok := t.Run("kill/"+c.name, func(t *testing.T) {
			successes := s.Plivo.SuccessfulSignups()
			killInsidePlivo(ctx, t, s, c, freshIdentity(t, raw, 7000+i))
			want := successes
			if c.committed {
				want++
			}
			if n := s.Plivo.SuccessfulSignups(); n != want {
				t.Errorf("Plivo has %d successful signups after the kill, want %d", n, want)
			}
			rec := readRecord(ctx, t, s, c.waba)
			checkVerified(t, c, rec)
			checkInRetryIndex(ctx, t, s, c.waba, rec.NextRetryAt)
		})
		if !ok {
			// Resuming what a failed kill left would say nothing.
			t.FailNow()
		}
	}

	// Plivo answers normally from here on.
	s.Plivo.FailNext(plivosim.RouteSignup, 0, "")
	var due int64
	for _, c := range cases {
		due = max(due, readRecord(ctx, t, s, c.waba).LockExpiresAt)
	}
	// The claim needs the lock expired (lock_expires_at < now).
	wait := time.Until(time.UnixMilli(due).Add(50 * time.Millisecond))
	t.Logf("waiting %s for the locks to expire", wait.Round(time.Millisecond))
	time.Sleep(wait)

	scheduled, err := os.ReadFile(filepath.Join(s.Root, "events", "resume-scheduled.json"))
	if err != nil {
		t.Fatal(err)
	}
	ictx, icancel := context.WithTimeout(ctx, time.Minute)
	defer icancel()
	out, err := resume.Invoke(ictx, scheduled)
	if err != nil {
		t.Fatal(err)
	}
	var report onboarding.ResumeReport
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("resume answered %s: %v", out, err)
	}
	if want := (onboarding.ResumeReport{Due: 2, Claimed: 2, Onboarded: 2}); report != want {
		t.Errorf("resume report %+v, want %+v", report, want)
	}

	for _, c := range cases {
		t.Run("resumed/"+c.name, func(t *testing.T) {
			rec := readRecord(ctx, t, s, c.waba)
			if rec.State != string(onboarding.StateOnboarded) || rec.OnboardedAt == "" {
				t.Errorf("record %s is %s (onboarded_at %q), want onboarded", c.waba, rec.State, rec.OnboardedAt)
			}
			if rec.PlivoAttempts != 2 || rec.Reconciled != c.committed || rec.LastError != "" {
				t.Errorf("record %s: plivo_attempts %d, reconciled %t, last_error %q; want 2, %t, none",
					c.waba, rec.PlivoAttempts, rec.Reconciled, rec.LastError, c.committed)
			}
			if rec.RetryShard != "" || rec.NextRetryAt != 0 || rec.LockExpiresAt != 0 {
				t.Errorf("record %s still pending or locked: retry_shard %q, next_retry_at %d, lock_expires_at %d",
					c.waba, rec.RetryShard, rec.NextRetryAt, rec.LockExpiresAt)
			}
			su, ok := s.Plivo.Onboarded(c.waba)
			switch {
			case !ok || su.Preregistered:
				t.Errorf("Plivo has no signup of ours for %s", c.waba)
			case su.PhoneNumberID != c.phone || su.BusinessID != BusinessID:
				t.Errorf("Plivo signup of %s names phone %s, business %s; want %s, %s", c.waba, su.PhoneNumberID, su.BusinessID, c.phone, BusinessID)
			case !c.committed && rec.PlivoAPIID != su.APIID:
				// The resume call committed it: the record keeps its api_id.
				t.Errorf("record %s has plivo_api_id %q, Plivo committed %q", c.waba, rec.PlivoAPIID, su.APIID)
			}
		})
	}
	// Plivo commits a WABA once and refuses it after ("already
	// registered"), so one success per WABA is exactly one each. Each
	// WABA took two calls: the one the kill cut, and the resume's.
	if n, calls := s.Plivo.SuccessfulSignups(), s.Plivo.SignupCalls(); n != len(cases) || calls != 2*len(cases) {
		t.Errorf("Plivo: %d successful signups of %d calls, want %d of %d", n, calls, len(cases), 2*len(cases))
	}

	t.Run("logs show no secret", func(t *testing.T) {
		fns := []*Function{resume}
		var secrets []string
		for _, c := range cases {
			fns = append(fns, c.f)
			secrets = append(secrets, bodySecrets(t, c.payload)...)
		}
		checkLogs(t, fns, secrets)
	})
	t.Run("calls are granted", func(t *testing.T) { checkGranted(t, s, "SignupFunction", "ResumeFunction") })
}

// killInsidePlivo invokes the signup function under a fresh emulator with
// payload, waits until it is blocked in the Plivo call c arms, and kills
// its process with SIGKILL. The invocation must then fail.
func killInsidePlivo(ctx context.Context, t *testing.T, s *Stack, c *crashCase, raw []byte) {
	var body struct {
		WABAID        string `json:"waba_id"`
		PhoneNumberID string `json:"phone_number_id"`
	}
	var ev struct{ Body string }
	if err := json.Unmarshal(raw, &ev); err != nil || json.Unmarshal([]byte(ev.Body), &body) != nil {
		t.Fatalf("signup event: %v", err)
	}
	c.waba, c.phone = body.WABAID, body.PhoneNumberID
	f, err := s.StartFunction(ctx, "SignupFunction", "AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(crashTimeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	c.f = f
	if c.payload, err = s.PrepareEvent(ctx, raw); err != nil {
		t.Fatal(err)
	}

	before := c.reached(s.Plivo)
	c.arm(s.Plivo)
	type answer struct {
		out []byte
		err error
	}
	done := make(chan answer, 1)
	c.start = time.Now()
	go func() {
		ictx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		out, err := f.Invoke(ictx, c.payload)
		done <- answer{out, err}
	}()
	for c.reached(s.Plivo) == before {
		select {
		case a := <-done:
			t.Fatalf("the signup finished before it reached Plivo: %s (%v); log %s", a.out, a.err, f.LogPath)
		case <-time.After(2 * time.Millisecond):
		}
		if time.Since(c.start) > crashTimeout*time.Second {
			t.Fatalf("the signup did not reach Plivo within its timeout; log %s", f.LogPath)
		}
	}
	c.arrived = time.Now()
	pid, err := functionPID(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	t.Logf("%s: signup reached Plivo %s after the invoke; killed bootstrap pid %d",
		c.waba, c.arrived.Sub(c.start).Round(time.Millisecond), pid)

	select {
	case a := <-done:
		// The emulator reports the runtime's death as a failed invocation
		// (an error status, or Lambda's error JSON); never an answer.
		var resp struct {
			StatusCode int    `json:"statusCode"`
			ErrorType  string `json:"errorType"`
		}
		_ = json.Unmarshal(a.out, &resp)
		if a.err == nil && (resp.StatusCode != 0 || resp.ErrorType == "") {
			t.Errorf("the killed invocation answered %s", a.out)
		}
		t.Logf("the killed invocation ended after %s: %.200s", time.Since(c.arrived).Round(time.Millisecond), firstLine(a.err, a.out))
	case <-time.After(crashTimeout * time.Second):
		t.Fatalf("the invocation did not end after its process was killed; log %s", f.LogPath)
	}
	if alive(pid) {
		t.Errorf("bootstrap pid %d still runs after SIGKILL", pid)
	}
}

func firstLine(err error, out []byte) string {
	msg := string(out)
	if err != nil {
		msg = err.Error()
	}
	line, _, _ := strings.Cut(msg, "\n")
	return line
}

// checkVerified checks the record a killed signup left: verified, with the
// IDs Meta confirmed, its one Plivo attempt counted, and due for retry when
// its lock (the invocation deadline plus a second) expires.
func checkVerified(t *testing.T, c *crashCase, rec killRecord) {
	t.Helper()
	if rec.State != string(onboarding.StateVerified) || rec.VerifiedAt == "" {
		t.Errorf("record %s is %s (verified_at %q), want verified", c.waba, rec.State, rec.VerifiedAt)
	}
	// PrepareEvent has Meta grant the number as +1 555-010-<last four>.
	display := "+1 555-010-" + c.phone[len(c.phone)-4:]
	if rec.PhoneNumberID != c.phone || rec.DisplayPhoneNumber != display || rec.BusinessID != BusinessID || rec.ClientRef != "customer-1" {
		t.Errorf("record %s: phone %s %q, business %s, client_ref %s; want %s %q, %s, customer-1",
			c.waba, rec.PhoneNumberID, rec.DisplayPhoneNumber, rec.BusinessID, rec.ClientRef, c.phone, display, BusinessID)
	}
	if rec.PlivoAttempts != 1 || rec.LockOwner == "" {
		t.Errorf("record %s: plivo_attempts %d, lock_owner %q; want 1 and the killed invocation's", c.waba, rec.PlivoAttempts, rec.LockOwner)
	}
	if rec.RetryShard != "pending" || rec.NextRetryAt == 0 || rec.NextRetryAt != rec.LockExpiresAt {
		t.Errorf("record %s: retry_shard %q, next_retry_at %d, lock_expires_at %d; want pending, due when the lock expires",
			c.waba, rec.RetryShard, rec.NextRetryAt, rec.LockExpiresAt)
	}
	// The deadline was set between sending the invocation and the Plivo
	// call: the lock ends a second after it.
	lo := c.start.Add((crashTimeout + 1) * time.Second).UnixMilli()
	hi := c.arrived.Add((crashTimeout + 1) * time.Second).UnixMilli()
	if rec.LockExpiresAt < lo-5 || rec.LockExpiresAt > hi+5 {
		t.Errorf("record %s: lock_expires_at %d, want in [%d, %d]: the invocation deadline plus 1 s", c.waba, rec.LockExpiresAt, lo, hi)
	}
}

// checkInRetryIndex checks that the resume function's query of the sparse
// pending-retry index finds waba once it is due.
func checkInRetryIndex(ctx context.Context, t *testing.T, s *Stack, waba string, dueAt int64) {
	t.Helper()
	out, err := s.Dynamo.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		IndexName:              aws.String(dynamo.RetryIndex),
		KeyConditionExpression: aws.String("retry_shard = :shard AND next_retry_at <= :at"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":shard": &types.AttributeValueMemberS{Value: "pending"},
			":at":    &types.AttributeValueMemberN{Value: strconv.FormatInt(dueAt, 10)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range out.Items {
		if v, ok := item[dynamo.KeyAttribute].(*types.AttributeValueMemberS); ok && v.Value == waba {
			return
		}
	}
	t.Errorf("%s is not in the %s index at %d", waba, dynamo.RetryIndex, dueAt)
}

// readRecord reads waba's item from DynamoDB Local, bypassing the store.
func readRecord(ctx context.Context, t *testing.T, s *Stack, waba string) killRecord {
	t.Helper()
	out, err := s.Dynamo.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            map[string]types.AttributeValue{dynamo.KeyAttribute: &types.AttributeValueMemberS{Value: waba}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Item) == 0 {
		t.Fatalf("no record for %s: the signup was lost", waba)
	}
	var rec killRecord
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// functionPID returns the PID of the process running f's bootstrap: the
// child, running f.Binary, of f's emulator, which is the child of this test
// process that serves f.URL. Only those two generations are searched, so
// nothing else on the machine can be picked.
func functionPID(f *Function) (int, error) {
	u, err := url.Parse(f.URL)
	if err != nil {
		return 0, err
	}
	for _, rie := range childPIDs(os.Getpid()) {
		args := strings.Split(string(readProc(rie, "cmdline")), "\x00")
		i := slices.Index(args, "--runtime-interface-emulator-address")
		if i < 0 || i+1 >= len(args) || args[i+1] != u.Host {
			continue
		}
		for _, c := range childPIDs(rie) {
			if exe, err := os.Readlink(procPath(c, "exe")); err == nil && exe == f.Binary {
				return c, nil
			}
		}
		return 0, fmt.Errorf("emulator pid %d (%s) has no child running %s", rie, u.Host, f.Binary)
	}
	return 0, fmt.Errorf("no emulator serving %s among the children of pid %d", u.Host, os.Getpid())
}

// childPIDs lists pid's children from /proc/<pid>/task/*/children.
func childPIDs(pid int) []int {
	tasks, _ := filepath.Glob(procPath(pid, "task", "*", "children"))
	var out []int
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	stat := string(readProc(pid, "stat"))
	// pid (comm) state ...; comm may hold spaces and parentheses.
	i := strings.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}

func procPath(pid int, elem ...string) string {
	return filepath.Join(append([]string{"/proc", strconv.Itoa(pid)}, elem...)...)
}

func readProc(pid int, name string) []byte {
	b, _ := os.ReadFile(procPath(pid, name))
	return b
}

// bodySecrets returns the credentials a signup event carries: the
// authorization code and the onboarding-session token.
func bodySecrets(t *testing.T, payload []byte) []string {
	t.Helper()
	var ev struct{ Body string }
	var body struct{ Code, Session string }
	if err := json.Unmarshal(payload, &ev); err != nil || json.Unmarshal([]byte(ev.Body), &body) != nil || body.Code == "" || body.Session == "" {
		t.Fatalf("signup payload without code or session: %v", err)
	}
	return []string{body.Code, body.Session}
}

// metaCredential matches a Meta business token (EAA...) or authorization
// code (AQ...) as the Meta simulator issues them.
var metaCredential = regexp.MustCompile(`EAA[A-Z2-7]{16,}|AQ[A-Z2-7]{16,}`)

// checkLogs checks that no function log shows the stack's secrets, any of
// extra, or anything shaped like a Meta code or token.
func checkLogs(t *testing.T, fns []*Function, extra []string) {
	t.Helper()
	for _, f := range fns {
		b, err := os.ReadFile(f.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Errorf("%s log %s is empty: nothing was checked", f.LogicalID, f.LogPath)
		}
		for i, secret := range append([]string{MetaAppSecret, PlivoAuthToken}, extra...) {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s log %s shows secret #%d", f.LogicalID, f.LogPath, i)
			}
		}
		if m := metaCredential.Find(b); m != nil {
			t.Errorf("%s log %s shows a Meta code or token (%.8s...)", f.LogicalID, f.LogPath, m)
		}
	}
}

// checkGranted checks that every AWS call the functions made on s was
// granted by their template policies.
func checkGranted(t *testing.T, s *Stack, fns ...string) {
	t.Helper()
	for _, fn := range fns {
		stmts, err := s.Template.Policies(fn)
		if err != nil {
			t.Fatal(err)
		}
		granted := map[string]bool{}
		for _, st := range stmts {
			for _, a := range st.Actions {
				for _, r := range st.Resources {
					granted[a+" "+r] = true
				}
			}
		}
		calls := s.Calls(fn)
		if len(calls) == 0 {
			t.Errorf("%s made no AWS call", fn)
		}
		for _, c := range calls {
			if !granted[c] {
				t.Errorf("%s called %s, which template.yaml does not grant", fn, c)
			}
		}
	}
}
