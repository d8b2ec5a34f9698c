package binaries

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

var stack *Stack

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		// Never a skip: a machine without Java or the emulator is installed
		// by deps.sh, and anything else is a failure.
		fmt.Fprintln(os.Stderr, "rietest:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	buildDir, err := os.MkdirTemp("", "binaries-build-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(buildDir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := Start(ctx, testenv.RepoRoot(), buildDir)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if err := s.Seed(ctx); err != nil {
		return 0, err
	}
	stack = s
	return m.Run(), nil
}

// expectation is what invoking one events/ file must answer.
type expectation struct {
	status      int               // HTTP status; 0 for non-HTTP events
	contentType string            // prefix of the Content-Type header
	fields      map[string]any    // dotted JSON path -> value; nil value: absent
	contains    []string          // substrings of the body
	after       func(*testing.T)  // checks of the stack after the call
	before      func(*testing.T)  // runs before the call
	headers     map[string]string // exact response headers
}

var (
	jsonType = "application/json"
	// metaExchanges and plivoSignups count code exchanges and Plivo
	// signups around the replay event.
	metaExchanges, plivoSignups int
)

func invalid(fields ...string) map[string]any {
	m := map[string]any{"error.code": "invalid_request"}
	for i, f := range fields {
		m["error.fields."+strconv.Itoa(i)+".field"] = f
	}
	m["error.fields."+strconv.Itoa(len(fields))] = nil
	return m
}

func recordState(t *testing.T, waba string, want onboarding.State) {
	t.Helper()
	store := &dynamo.Store{Client: stack.Dynamo, Table: stack.Table}
	rec, err := store.Get(context.Background(), waba)
	if err != nil {
		t.Fatalf("record %s: %v", waba, err)
	}
	if rec.State != want {
		t.Errorf("record %s is %s, want %s", waba, rec.State, want)
	}
}

func onboardedAtPlivo(t *testing.T, waba string) {
	t.Helper()
	if _, ok := stack.Plivo.Onboarded(waba); !ok {
		t.Errorf("Plivo simulator has no signup for %s", waba)
	}
}

// signedUp checks what a signup leaves upstream: Plivo onboarded waba, and
// our app is subscribed to its webhooks at Meta, which only the signup,
// holding the business token, can do.
func signedUp(t *testing.T, waba string) {
	t.Helper()
	onboardedAtPlivo(t, waba)
	if !stack.Meta.Subscribed(waba) {
		t.Errorf("our app is not subscribed to %s's webhooks at Meta", waba)
	}
}

// expectations has one entry per file in events/.
var expectations = map[string]expectation{
	"signup-ok.json": {status: 200, contentType: jsonType,
		fields: map[string]any{"status": "onboarded", "replayed": nil, "record.state": "onboarded", "record.waba_id": "102000000000001",
			"record.phone_number_id": "103000000000001", "record.business_id": BusinessID, "record.client_ref": "customer-1",
			"record.display_phone_number": "+1 555-010-0001", "record.plivo_attempts": nil},
		after: func(t *testing.T) {
			recordState(t, "102000000000001", onboarding.StateOnboarded)
			signedUp(t, "102000000000001")
		}},
	"signup-ok-base64.json": {status: 200, contentType: jsonType,
		fields: map[string]any{"status": "onboarded", "record.waba_id": "102000000000006"},
		after:  func(t *testing.T) { signedUp(t, "102000000000006") }},
	"signup-replay.json": {status: 200, contentType: jsonType,
		fields: map[string]any{"status": "onboarded", "replayed": true, "record.waba_id": OnboardedWABA, "record.state": "onboarded"},
		before: func(*testing.T) {
			metaExchanges = stack.Meta.Calls(metasim.EndpointOAuth)
			plivoSignups = stack.Plivo.SignupCalls()
		},
		// A new code for an onboarded WABA is a customer running the
		// signup again: the code is spent to subscribe our app again
		// (its access may have been removed since), and Plivo, which has
		// the WABA, is not called.
		after: func(t *testing.T) {
			if n := stack.Meta.Calls(metasim.EndpointOAuth); n != metaExchanges+1 {
				t.Errorf("the re-run exchanged %d codes with Meta, want 1", n-metaExchanges)
			}
			if !stack.Meta.Subscribed(OnboardedWABA) {
				t.Errorf("the re-run did not subscribe our app to %s", OnboardedWABA)
			}
			if n := stack.Plivo.SignupCalls(); n != plivoSignups {
				t.Errorf("the re-run called Plivo %d times, want 0", n-plivoSignups)
			}
		}},
	"signup-conflict.json": {status: 409, contentType: jsonType, fields: map[string]any{"error.code": "second_number_not_supported"},
		after: func(t *testing.T) { recordState(t, ConflictWABA, onboarding.StateOnboarded) }},
	"signup-meta-rejected.json": {status: 422, contentType: jsonType, fields: map[string]any{"error.code": "meta_rejected"},
		after: func(t *testing.T) { noRecord(t, "102000000000005") }},
	"signup-invalid-json.json":       {status: 400, contentType: jsonType, fields: invalid("body")},
	"signup-not-object.json":         {status: 400, contentType: jsonType, fields: invalid("body")},
	"signup-unknown-field.json":      {status: 400, contentType: jsonType, fields: invalid("access_token")},
	"signup-wrong-type.json":         {status: 400, contentType: jsonType, fields: invalid("waba_id")},
	"signup-invalid-ids.json":        {status: 400, contentType: jsonType, fields: invalid("waba_id", "client_ref")},
	"signup-missing-code.json":       {status: 400, contentType: jsonType, fields: invalid("code")},
	"signup-wrong-content-type.json": {status: 415, contentType: jsonType, fields: map[string]any{"error.code": "unsupported_media_type"}},
	"signup-oversize.json":           {status: 413, contentType: jsonType, fields: map[string]any{"error.code": "payload_too_large"}},
	"signup-no-session.json":         {status: 401, contentType: jsonType, fields: map[string]any{"error.code": "session_missing"}},
	"signup-session-invalid.json":    {status: 401, contentType: jsonType, fields: map[string]any{"error.code": "session_invalid"}},
	"link-check-forged.json":         {status: 401, contentType: jsonType, fields: map[string]any{"error.code": "session_invalid"}},
	"sessions-create.json": {status: 201, contentType: jsonType,
		fields:   map[string]any{"client_ref": "customer-8"},
		contains: []string{`"url":"https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/?session=v1.`, `"token":"v1.`}},
	"sessions-no-iam.json": {status: 401, contentType: jsonType, fields: map[string]any{"error.code": "unauthorized"}},
	// Anonymous: the state only (a WABA ID is not a secret).
	"status-found.json": {status: 200, contentType: jsonType,
		fields: map[string]any{"record.waba_id": OnboardedWABA, "record.state": "onboarded", "record.phone_number_id": nil,
			"record.client_ref": nil, "record.business_id": nil, "record.plivo_api_id": nil, "record.lock_owner": nil}},
	"status-provider.json": {status: 200, contentType: jsonType,
		fields: map[string]any{"record.waba_id": OnboardedWABA, "record.state": "onboarded", "record.phone_number_id": OnboardedPhone,
			"record.client_ref": OnboardedClientRef, "record.lock_owner": nil, "record.payload_hash": nil}},
	"status-provider-no-iam.json":      {status: 401, contentType: jsonType, fields: map[string]any{"error.code": "unauthorized", "record": nil}},
	"status-not-found.json":            {status: 404, contentType: jsonType, fields: map[string]any{"error.code": "not_found"}},
	"status-invalid-id.json":           {status: 400, contentType: jsonType, fields: invalid("waba_id")},
	"page-get.json":                    {status: 200, contentType: "text/html", contains: []string{MetaAppID, MetaConfigID, "/static/onboarding.js"}},
	"page-static.json":                 {status: 200, contentType: "text/javascript"},
	"page-static-missing.json":         {status: 404, contentType: jsonType, fields: map[string]any{"error.code": "not_found"}},
	"metawebhooks-verify-refused.json": {status: 403, contentType: jsonType, fields: map[string]any{"error.code": "webhook_verify_refused"}},
	"metawebhooks-unsigned.json": {status: 401, contentType: jsonType, fields: map[string]any{"error.code": "webhook_signature_invalid"},
		after: func(t *testing.T) { recordState(t, OnboardedWABA, onboarding.StateOnboarded) }},
	"customers-list.json": {status: 200, contentType: jsonType, fields: map[string]any{"client_ref": OnboardedClientRef},
		contains: []string{OnboardedWABA, `"state":"onboarded"`}},
	"lifecycle-stream.json": {contains: []string{`"batchItemFailures":[]`}},
	"resume-scheduled.json": {
		fields: map[string]any{"due": 1, "claimed": 1, "onboarded": 1, "pending": 0, "failed": 0, "skipped": 0, "lifted": 1},
		after: func(t *testing.T) {
			recordState(t, DueWABA, onboarding.StateOnboarded)
			onboardedAtPlivo(t, DueWABA)
			recordState(t, RestrictedWABA, onboarding.StateOnboarded)
		}},
	"demo-message.json": {status: 202, contentType: jsonType, before: demoAtPlivo,
		fields: map[string]any{"status": "queued", "waba_id": OnboardedWABA, "src": "+15550100002", "dst": "+14155550100"},
		after: func(t *testing.T) {
			if m := stack.Plivo.Messages(); len(m) != 1 || m[0].Src != "15550100002" || m[0].Type != "whatsapp" {
				t.Errorf("Plivo simulator messages %+v, want one from 15550100002", m)
			}
		}},
	"demo-message-not-onboarded.json": {status: 409, contentType: jsonType, fields: map[string]any{"error.code": "waba_not_onboarded"}},
	"demo-message-invalid.json":       {status: 400, contentType: jsonType, fields: invalid("dst", "text")},
	"demo-no-iam.json":                {status: 401, contentType: jsonType, fields: map[string]any{"error.code": "unauthorized"}},
	"demo-template.json": {status: 201, contentType: jsonType, before: demoAtPlivo,
		fields: map[string]any{"status": "PENDING", "template.name": "order_update", "template.category": "UTILITY"}},
	"demo-templates.json": {status: 200, contentType: jsonType, before: demoAtPlivo,
		fields: map[string]any{"waba_id": OnboardedWABA, "count": 1, "templates.0.name": "order_update", "templates.0.status": "PENDING"}},
	// The emulator's DynamoDB and EventBridge have no point-in-time
	// recovery or rules to describe: the doctor says so, by name.
	"doctor-report.json": {fields: map[string]any{"ok": false, "failed": 2,
		"checks.0.id": "secret.meta", "checks.0.status": "pass", "checks.2.id": "plivo.credentials", "checks.2.status": "pass",
		"checks.3.id": "meta.credentials", "checks.3.status": "pass", "checks.6.id": "meta.es_version", "checks.6.status": "pass",
		"checks.7.id": "page.solution_id", "checks.7.status": "pass", "checks.8.id": "table.schema", "checks.8.status": "pass",
		"checks.9.id": "table.pitr", "checks.9.status": "fail", "checks.10.id": "schedule.resume", "checks.10.status": "fail",
		"checks.11.id": "page.origin", "checks.11.status": "pass"}},
}

func eventFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(stack.Root, "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no events/*.json (%v)", err)
	}
	return files
}

// TestEvents invokes every file in events/ on the function its route or
// schedule names, one warm emulator per function, and checks the answers,
// then that every AWS call made was granted by template.yaml and that no
// log line shows a secret.
// privateStack starts a stack of t's own, closed when t ends, for a test
// that changes what the shared one's other tests rely on. A sibling: the
// shared DynamoDB Local and binaries serve it.
func privateStack(ctx context.Context, t *testing.T) *Stack {
	t.Helper()
	s, err := stack.Sibling(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// freshStack points stack at a private, seeded stack until t ends.
func freshStack(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	s := privateStack(ctx, t)
	if err := s.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	previous := stack
	stack = s
	t.Cleanup(func() { stack = previous })
}

// eventsRuns counts TestEvents' runs in this process (go test -count).
var eventsRuns int

func TestEvents(t *testing.T) {
	ctx := context.Background()
	// The events change the records, the simulators and the bus they are
	// checked against, so a repeated run (go test -count=N) gets a freshly
	// seeded stack of its own instead of the first run's leftovers.
	if eventsRuns++; eventsRuns > 1 {
		freshStack(t)
	}
	running := map[string]*Function{}
	t.Cleanup(func() {
		for _, f := range running {
			f.Stop()
		}
	})
	readme, _ := os.ReadFile(filepath.Join(stack.Root, "events", "README.md"))
	files := eventFiles(t)
	seen := map[string]bool{}
	for _, file := range files {
		name := filepath.Base(file)
		seen[name] = true
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			if !strings.Contains(string(readme), "`"+name+"`") {
				t.Errorf("events/README.md does not describe %s", name)
			}
			want, ok := expectations[name]
			if !ok {
				t.Fatalf("no expectation for events/%s: add one to expectations", name)
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			fn, err := stack.FunctionFor(name, raw)
			if err != nil {
				t.Fatal(err)
			}
			f := running[fn]
			if f == nil {
				if f, err = stack.StartFunction(ctx, fn); err != nil {
					t.Fatal(err)
				}
				running[fn] = f
			}
			payload, err := stack.PrepareEvent(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			if want.before != nil {
				want.before(t)
			}
			ictx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			out, err := f.Invoke(ictx, payload)
			if err != nil {
				t.Fatal(err)
			}
			checkAnswer(t, "evt-"+strings.TrimSuffix(name, ".json"), want, out)
			if want.after != nil {
				want.after(t)
			}
			if t.Failed() {
				t.Logf("%s log: %s", fn, f.LogPath)
			}
		})
	}
	for name := range expectations {
		if !seen[name] {
			t.Errorf("expectation for %s, which is not in events/", name)
		}
	}
	t.Run("every route and schedule has an event", func(t *testing.T) {
		covered := map[string]bool{}
		for _, file := range files {
			raw, _ := os.ReadFile(file)
			var ev struct {
				RouteKey string `json:"routeKey"`
			}
			_ = json.Unmarshal(raw, &ev)
			covered[ev.RouteKey] = true
			if fn, err := stack.FunctionFor(filepath.Base(file), raw); err == nil {
				covered[fn] = true
			}
		}
		for _, r := range stack.Template.Routes() {
			if !covered[r.Key()] {
				t.Errorf("no event in events/ for %s (%s)", r.Key(), r.Function)
			}
		}
		for _, fn := range stack.Template.Functions() {
			if !covered[fn] {
				t.Errorf("no event in events/ for %s", fn)
			}
		}
	})

	t.Run("calls are granted", func(t *testing.T) {
		for _, fn := range slices.Sorted(mapKeys(running)) {
			granted := map[string]bool{}
			stmts, err := stack.Template.Policies(fn)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range stmts {
				for _, a := range s.Actions {
					for _, r := range s.Resources {
						granted[a+" "+r] = true
					}
				}
			}
			calls := stack.Calls(fn)
			for _, c := range calls {
				if !granted[c] {
					t.Errorf("%s called %s, which template.yaml does not grant", fn, c)
				}
				delete(granted, c)
			}
			t.Logf("%s: calls %v; granted but not exercised by events/: %v", fn, calls, slices.Sorted(mapKeys(granted)))
		}
	})

	t.Run("logs show no secret", func(t *testing.T) {
		token := regexp.MustCompile(`EAA[A-Z2-7]{16,}|AQ[A-Z2-7]{16,}`)
		for fn, f := range running {
			b, err := os.ReadFile(f.LogPath)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{MetaAppSecret, PlivoAuthToken} {
				if strings.Contains(string(b), secret) {
					t.Errorf("%s log %s shows a secret value", fn, f.LogPath)
				}
			}
			if m := token.Find(b); m != nil {
				t.Errorf("%s log %s shows a Meta code or token (%.8s...)", fn, f.LogPath, m)
			}
		}
	})
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func checkAnswer(t *testing.T, requestID string, want expectation, out []byte) {
	t.Helper()
	body := out
	if want.status != 0 {
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("answer is not an HTTP API response: %v\n%s", err, out)
		}
		if resp.StatusCode != want.status {
			t.Errorf("status %d, want %d; body %s", resp.StatusCode, want.status, resp.Body)
		}
		ct := resp.Headers["Content-Type"]
		if !strings.HasPrefix(ct, want.contentType) {
			t.Errorf("Content-Type %q, want %s...", ct, want.contentType)
		}
		for k, v := range want.headers {
			if resp.Headers[k] != v {
				t.Errorf("header %s = %q, want %q", k, resp.Headers[k], v)
			}
		}
		body = []byte(resp.Body)
		if strings.HasPrefix(ct, jsonType) {
			if resp.Headers["Cache-Control"] != "no-store" {
				t.Errorf("JSON answer with Cache-Control %q, want no-store", resp.Headers["Cache-Control"])
			}
			if want.fields == nil {
				want.fields = map[string]any{}
			}
			want.fields["request_id"] = requestID
		}
	}
	for _, s := range want.contains {
		if !strings.Contains(string(body), s) {
			t.Errorf("body does not contain %q", s)
		}
	}
	if len(want.fields) == 0 {
		return
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	for _, path := range slices.Sorted(mapKeys(want.fields)) {
		got, ok := lookup(doc, path)
		w := want.fields[path]
		switch {
		case w == nil && ok:
			t.Errorf("%s = %v, want it absent", path, got)
		case w != nil && !ok:
			t.Errorf("%s is absent, want %v; body %s", path, w, body)
		case w != nil && fmt.Sprint(got) != fmt.Sprint(w):
			t.Errorf("%s = %v, want %v", path, got, w)
		}
	}
}

// lookup follows a dotted path (a.b.0.c) through decoded JSON.
func lookup(doc any, path string) (any, bool) {
	cur := doc
	for _, p := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[p]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// lambdaBinary builds a function exactly as `sam build` does, with its
// build-<LogicalId> Makefile target, and checks that the result is what
// provided.al2023 on arm64 runs: a static, stripped linux/arm64 executable.
// It returns the binary's size.
func lambdaBinary(t *testing.T, logicalID string) int64 {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("make", "-s", "build-"+logicalID, "ARTIFACTS_DIR="+dir)
	cmd.Dir = stack.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("make build-%s: %v\n%s", logicalID, err, out)
		return 0
	}
	bin := filepath.Join(dir, "bootstrap")
	f, err := elf.Open(bin)
	if err != nil {
		t.Errorf("%s: %v", bin, err)
		return 0
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		t.Errorf("%s: machine %v, OS ABI %v; want linux arm64", logicalID, f.Machine, f.OSABI)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: dynamically linked (CGO_ENABLED=0 missing?)", logicalID)
		}
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s: not stripped (-ldflags '-s -w' missing?)", logicalID)
	}
	info, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// TestLambdaBinaries builds every function of the template with its
// Makefile target, as sam build does, and checks the binaries.
func TestLambdaBinaries(t *testing.T) {
	for _, id := range stack.Template.Functions() {
		t.Run(id, func(t *testing.T) {
			if size := lambdaBinary(t, id); size >= guardBinarySize {
				t.Errorf("%s: %.1f MB, past the %d MB guard rail", id, float64(size)/(1<<20), guardBinarySize>>20)
			}
		})
	}
}

// Targets of the issue: a function binary under 10 MB unzipped, and a cold
// first invocation within 1.5x of a hello-world function's.
//
// The first invocation of a real function also does its request's work,
// which the hello-world function does not: a GetItem on DynamoDB Local
// alone takes several milliseconds, and a signup makes ten calls. So the
// table shows both the raw first invocation and its cold overhead, the
// first invocation minus a warm invocation of the same kind of request:
// what the cold start itself costs, as if upstreams answered instantly.
// The overhead is what the target applies to.
const (
	maxBinarySize = 10 << 20
	targetRatio   = 1.5
	// Misses of the targets are reported, not failed: they depend on how
	// shared/app links the functions. The test fails past these guard
	// rails, which only a real regression crosses (a network call or a big
	// parse at init, a dependency that doubles the binary).
	guardBinarySize = 20 << 20
	guardRatio      = 10.0
	rounds          = 15
)

// coldEvents are the events/ files a cold start is measured with: a
// representative successful call of each function.
var coldEvents = map[string]string{
	"SignupFunction":   "signup-ok.json",
	"SessionsFunction": "sessions-create.json",
	"StatusFunction":   "status-found.json",
	"PageFunction":     "page-get.json",
	"ResumeFunction":   "resume-scheduled.json",
	"hello":            "page-get.json",
}

// TestColdStart measures, for every function folder and for a hello-world
// function built the same way, the wall time of the first invocation of a
// fresh emulator (which starts the binary: a cold start) and of a second,
// warm one, the binary's size and its peak RSS, and writes the table to
// .artifacts/coldstart.txt.
func TestColdStart(t *testing.T) {
	ctx := context.Background()
	mains, _ := filepath.Glob(filepath.Join(stack.Root, "functions", "*", "main.go"))
	subjects := []string{"hello"}
	for _, m := range mains {
		id := LogicalID(filepath.Base(filepath.Dir(m)))
		if !slices.Contains(stack.Template.Functions(), id) {
			// The template test reports it; there is no environment to run it with.
			t.Logf("functions/%s has no %s in template.yaml: not measured", filepath.Base(filepath.Dir(m)), id)
			continue
		}
		subjects = append(subjects, id)
	}
	hello, err := stack.Build(ctx, "./infra/e2e/binaries/testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	payloads := map[string][]byte{}
	eventOf := map[string]string{}
	for _, s := range subjects {
		name, ok := coldEvents[s]
		if !ok {
			name = firstEventFor(t, s)
		}
		if name == "" {
			// TestEvents reports the missing event.
			t.Logf("%s: no event in events/ to measure its cold start with", s)
			continue
		}
		raw, err := os.ReadFile(filepath.Join(stack.Root, "events", name))
		if err != nil {
			t.Fatal(err)
		}
		payloads[s] = raw
		eventOf[s] = name
	}

	type result struct {
		firsts, warms []time.Duration
		// colds are first - warm of each fresh emulator: both invocations
		// of one process, so a slow moment of the machine mostly hits both.
		colds      []time.Duration
		size, rss  int64
		lambdaSize int64 // linux/arm64, as deployed
		memory     int
	}
	results := map[string]*result{}
	seq := 0
	invoke := func(s string, f *Function, raw []byte) time.Duration {
		t.Helper()
		if s == "SignupFunction" {
			// A fresh WABA each time, so each is a first signup.
			seq++
			raw = freshIdentity(t, raw, seq)
		}
		payload, err := stack.PrepareEvent(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if s != "hello" {
			// The state the event expects, as TestEvents sets it up.
			if before := expectations[eventOf[s]].before; before != nil {
				before(t)
			}
		}
		ictx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		start := time.Now()
		out, err := f.Invoke(ictx, payload)
		d := time.Since(start)
		if err != nil {
			f.Stop()
			t.Fatal(err)
		}
		var resp struct {
			StatusCode   int    `json:"statusCode"`
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(out, &resp)
		// A function with no successful event in events/ (the Meta webhook
		// receiver: a signed body needs the app secret) is measured on the
		// answer its event expects, which still runs init and its checks.
		want := 0
		if s != "hello" {
			want = expectations[eventOf[s]].status
		}
		if resp.ErrorMessage != "" || (want == 0 && resp.StatusCode >= 300) || (want != 0 && resp.StatusCode != want) {
			t.Errorf("%s answered %s", s, out)
		}
		return d
	}
	for range rounds {
		// Interleaved, so that a slow moment of the machine hits every
		// function alike rather than one of them.
		for _, s := range subjects {
			raw, ok := payloads[s]
			if !ok {
				continue
			}
			r := results[s]
			if r == nil {
				r = &result{}
				results[s] = r
			}
			var f *Function
			if s == "hello" {
				f, err = stack.StartBinary(ctx, hello)
			} else {
				f, err = stack.StartFunction(ctx, s)
				fn, _ := stack.Template.Function(s)
				r.memory = fn.MemorySize
			}
			if err != nil {
				t.Fatal(err)
			}
			invoke(s, f, raw)
			first := f.FirstInvoke()
			warm := invoke(s, f, raw)
			r.firsts, r.warms = append(r.firsts, first), append(r.warms, warm)
			r.colds = append(r.colds, max(first-warm, 0))
			r.rss = max(r.rss, testenv.ReadProc(f.FunctionPID()).PeakRSS)
			if info, err := os.Stat(f.Binary); err == nil {
				r.size = info.Size()
			}
			f.Stop()
		}
	}

	for s, r := range results {
		if s != "hello" {
			r.lambdaSize = lambdaBinary(t, s)
		}
	}
	hr := results["hello"]
	baseFirst := median(hr.firsts)
	baseOverhead := max(median(hr.colds), time.Microsecond)
	var b strings.Builder
	fmt.Fprintf(&b, "Cold start under aws-lambda-rie, %s/%s, %s; medians of %d fresh emulators per function,\n",
		runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format(time.RFC3339), rounds)
	fmt.Fprintf(&b, "started in turn so that a slow moment of the machine hits every function alike (all runs are listed below).\n")
	fmt.Fprintf(&b, "lambda: size of the deployed binary (make build-<LogicalId>: linux/arm64, stripped); local: the one measured.\n")
	fmt.Fprintf(&b, "first: wall time of the first invocation (starts the binary); warm: a second invocation of the same kind;\n")
	fmt.Fprintf(&b, "cold: first - warm of the same emulator, the cost of the cold start itself. Upstream simulators answer at once.\n")
	fmt.Fprintf(&b, "Targets: lambda binary < %d MB unzipped; cold <= %.1fx hello-world's.\n\n", maxBinarySize>>20, targetRatio)
	fmt.Fprintf(&b, "%-17s %9s %9s %9s %9s %9s %7s %7s %9s %7s  %s\n",
		"function", "lambda", "local", "first", "warm", "cold", "ratio", "first", "peak RSS", "memory", "targets")
	fmt.Fprintf(&b, "%-17s %9s %9s %9s %9s %9s %7s %7s %9s %7s\n", "", "(arm64)", "", "", "", "", "(cold)", "ratio", "", "")
	mb := func(n int64) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f MB", float64(n)/(1<<20))
	}
	for _, s := range subjects {
		r := results[s]
		if r == nil {
			continue
		}
		first, warm, overhead := median(r.firsts), median(r.warms), median(r.colds)
		ratio := float64(overhead) / float64(baseOverhead)
		mem := "-"
		if r.memory > 0 {
			mem = strconv.Itoa(r.memory) + "MB"
		}
		var misses []string
		if r.lambdaSize >= maxBinarySize {
			misses = append(misses, fmt.Sprintf("binary over %d MB", maxBinarySize>>20))
		}
		if s != "hello" && ratio > targetRatio {
			misses = append(misses, fmt.Sprintf("cold over %.1fx", targetRatio))
		}
		verdict := "met"
		if len(misses) > 0 {
			verdict = "MISSED: " + strings.Join(misses, ", ")
		}
		fmt.Fprintf(&b, "%-17s %9s %9s %9s %9s %9s %6.2fx %6.2fx %6.1f MB %7s  %s\n", s, mb(r.lambdaSize), mb(r.size),
			ms(first), ms(warm), ms(overhead), ratio, float64(first)/float64(baseFirst), float64(r.rss)/(1<<20), mem, verdict)
		if max(r.size, r.lambdaSize) >= guardBinarySize {
			t.Errorf("%s: binary is %.1f MB, past the %d MB guard rail", s, float64(max(r.size, r.lambdaSize))/(1<<20), guardBinarySize>>20)
		}
		if s == "hello" {
			continue
		}
		if r.memory > 0 && r.rss > 0 && r.rss*2 > int64(r.memory)<<20 {
			t.Errorf("%s: peak RSS %.1f MB is over half of MemorySize %d MB: raise it in template.yaml", s, float64(r.rss)/(1<<20), r.memory)
		}
		if ratio > guardRatio {
			t.Errorf("%s: cold start costs %s, %.1fx hello-world's %s, past the %.0fx guard rail", s, ms(overhead), ratio, ms(baseOverhead), guardRatio)
		}
	}
	fmt.Fprintf(&b, "\nAll first invocations, then all colds (first - warm), in ms:\n")
	for _, s := range subjects {
		if r := results[s]; r != nil {
			fmt.Fprintf(&b, "  %-17s first %s\n  %-17s cold  %s\n", s, msList(r.firsts), "", msList(r.colds))
		}
	}
	t.Log("\n" + b.String())
	dir := filepath.Join(stack.Root, ".artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "coldstart.txt"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// firstEventFor names the first events/ file addressed to fn whose
// expected answer is a success, else the first addressed to it, or "".
func firstEventFor(t *testing.T, fn string) string {
	var fallback string
	for _, file := range eventFiles(t) {
		raw, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		if got, err := stack.FunctionFor(filepath.Base(file), raw); err != nil || got != fn {
			continue
		}
		name := filepath.Base(file)
		if want, ok := expectations[name]; ok && want.status < 300 {
			return name
		}
		if fallback == "" {
			fallback = name
		}
	}
	return fallback
}

// freshIdentity gives a signup event's body a WABA and phone number no
// other call used.
func freshIdentity(t *testing.T, raw []byte, n int) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(ev["body"].(string)), &body); err != nil {
		t.Fatal(err)
	}
	body["waba_id"] = fmt.Sprintf("1029%011d", n+1)
	body["phone_number_id"] = fmt.Sprintf("1039%011d", n+1)
	b, _ := json.Marshal(body)
	ev["body"] = string(b)
	out, _ := json.Marshal(ev)
	return out
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func msList(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
	}
	return strings.Join(parts, " ")
}
