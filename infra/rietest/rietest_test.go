package rietest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
	buildDir, err := os.MkdirTemp("", "rietest-build-")
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
	// metaExchanges counts code exchanges around the replay event.
	metaExchanges int
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

// expectations has one entry per file in events/.
var expectations = map[string]expectation{
	"signup-ok.json": {status: 200, contentType: jsonType,
		fields: map[string]any{"status": "onboarded", "replayed": nil, "record.state": "onboarded", "record.waba_id": "102000000000001",
			"record.phone_number_id": "103000000000001", "record.business_id": BusinessID, "record.client_ref": "customer-1",
			"record.display_phone_number": "+1 555-010-0001", "record.plivo_attempts": 1},
		after: func(t *testing.T) {
			recordState(t, "102000000000001", onboarding.StateOnboarded)
			onboardedAtPlivo(t, "102000000000001")
		}},
	"signup-ok-base64.json": {status: 200, contentType: jsonType,
		fields: map[string]any{"status": "onboarded", "record.waba_id": "102000000000006"},
		after:  func(t *testing.T) { onboardedAtPlivo(t, "102000000000006") }},
	"signup-replay.json": {status: 200, contentType: jsonType,
		fields: map[string]any{"status": "onboarded", "replayed": true, "record.waba_id": OnboardedWABA, "record.state": "onboarded"},
		before: func(*testing.T) { metaExchanges = stack.Meta.Calls(metasim.EndpointOAuth) },
		after: func(t *testing.T) {
			if n := stack.Meta.Calls(metasim.EndpointOAuth); n != metaExchanges {
				t.Errorf("a replay exchanged the code with Meta (%d exchanges, want %d)", n, metaExchanges)
			}
		}},
	"signup-conflict.json": {status: 409, contentType: jsonType, fields: map[string]any{"error.code": "conflict"},
		after: func(t *testing.T) { recordState(t, ConflictWABA, onboarding.StateOnboarded) }},
	"signup-meta-rejected.json": {status: 422, contentType: jsonType, fields: map[string]any{"error.code": "meta_rejected"},
		after: func(t *testing.T) { recordState(t, "102000000000005", onboarding.StateFailed) }},
	"signup-invalid-json.json":       {status: 400, contentType: jsonType, fields: invalid("body")},
	"signup-not-object.json":         {status: 400, contentType: jsonType, fields: invalid("body")},
	"signup-unknown-field.json":      {status: 400, contentType: jsonType, fields: invalid("access_token")},
	"signup-wrong-type.json":         {status: 400, contentType: jsonType, fields: invalid("waba_id")},
	"signup-invalid-ids.json":        {status: 400, contentType: jsonType, fields: invalid("waba_id", "client_ref")},
	"signup-missing-code.json":       {status: 400, contentType: jsonType, fields: invalid("code")},
	"signup-wrong-content-type.json": {status: 415, contentType: jsonType, fields: map[string]any{"error.code": "unsupported_media_type"}},
	"signup-oversize.json":           {status: 413, contentType: jsonType, fields: map[string]any{"error.code": "payload_too_large"}},
	"status-found.json": {status: 200, contentType: jsonType,
		fields: map[string]any{"record.waba_id": OnboardedWABA, "record.state": "onboarded", "record.phone_number_id": OnboardedPhone,
			"record.client_ref": OnboardedClientRef, "record.lock_owner": nil, "record.payload_hash": nil}},
	"status-not-found.json":    {status: 404, contentType: jsonType, fields: map[string]any{"error.code": "not_found"}},
	"status-invalid-id.json":   {status: 400, contentType: jsonType, fields: invalid("waba_id")},
	"page-get.json":            {status: 200, contentType: "text/html", contains: []string{MetaAppID, MetaConfigID, "/static/onboarding.js"}},
	"page-static.json":         {status: 200, contentType: "text/javascript"},
	"page-static-missing.json": {status: 404, contentType: jsonType, fields: map[string]any{"error.code": "not_found"}},
	"resume-scheduled.json": {
		fields: map[string]any{"due": 1, "claimed": 1, "onboarded": 1, "pending": 0, "failed": 0, "skipped": 0},
		after:  func(t *testing.T) { recordState(t, DueWABA, onboarding.StateOnboarded); onboardedAtPlivo(t, DueWABA) }},
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
func TestEvents(t *testing.T) {
	ctx := context.Background()
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
			fn, err := stack.FunctionFor(raw)
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
			payload, err := stack.PrepareEvent(raw)
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

// Targets of the issue: a function binary under 10 MB unzipped, and a cold
// first invocation within 1.5x of a hello-world function's.
const (
	maxBinarySize = 10 << 20
	targetRatio   = 1.5
	// failRatio is where the test fails: timings on a shared two-core CI
	// machine vary too much to fail at the target, but an init that does
	// real work (a network call, a big parse) lands far above it.
	failRatio = 4.0
	rounds    = 7
)

// coldEvents are the events/ files a cold start is measured with: a
// representative successful call of each function.
var coldEvents = map[string]string{
	"SignupFunction": "signup-ok.json",
	"StatusFunction": "status-found.json",
	"PageFunction":   "page-get.json",
	"ResumeFunction": "resume-scheduled.json",
	"hello":          "page-get.json",
}

// TestColdStart measures, for every function folder and for a hello-world
// function built the same way, the wall time of the first invocation of a
// fresh emulator (which starts the binary: a cold start), the binary's size
// and its peak RSS, and writes the table to .artifacts/coldstart.txt.
func TestColdStart(t *testing.T) {
	ctx := context.Background()
	mains, _ := filepath.Glob(filepath.Join(stack.Root, "functions", "*", "main.go"))
	subjects := []string{"hello"}
	for _, m := range mains {
		subjects = append(subjects, LogicalID(filepath.Base(filepath.Dir(m))))
	}
	hello, err := stack.Build(ctx, "./infra/rietest/testdata/hello")
	if err != nil {
		t.Fatal(err)
	}
	payloads := map[string][]byte{}
	for _, s := range subjects {
		name, ok := coldEvents[s]
		if !ok {
			name = firstEventFor(t, s)
		}
		if name == "" {
			t.Errorf("%s: no event in events/ to measure its cold start with", s)
			continue
		}
		raw, err := os.ReadFile(filepath.Join(stack.Root, "events", name))
		if err != nil {
			t.Fatal(err)
		}
		payloads[s] = raw
	}

	type result struct {
		firsts []time.Duration
		size   int64
		rss    int64
		memory int
	}
	results := map[string]*result{}
	for round := range rounds {
		// Interleaved, so that a slow moment of the machine hits every
		// function alike rather than one of them.
		for i, s := range subjects {
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
			if s == "SignupFunction" {
				// A fresh WABA each round, so each is a first signup.
				raw = freshIdentity(t, raw, round*len(subjects)+i)
			}
			payload, err := stack.PrepareEvent(raw)
			if err != nil {
				t.Fatal(err)
			}
			ictx, cancel := context.WithTimeout(ctx, time.Minute)
			out, err := f.Invoke(ictx, payload)
			cancel()
			if err != nil {
				f.Stop()
				t.Fatal(err)
			}
			var resp struct {
				StatusCode   int    `json:"statusCode"`
				ErrorMessage string `json:"errorMessage"`
			}
			_ = json.Unmarshal(out, &resp)
			if resp.StatusCode >= 500 || resp.ErrorMessage != "" {
				t.Errorf("%s answered %s", s, out)
			}
			r.firsts = append(r.firsts, f.FirstInvoke())
			if rss, ok := PeakRSS(f.Binary); ok {
				r.rss = max(r.rss, rss)
			}
			if info, err := os.Stat(f.Binary); err == nil {
				r.size = info.Size()
			}
			f.Stop()
		}
	}

	base := median(results["hello"].firsts)
	var b strings.Builder
	fmt.Fprintf(&b, "Cold start under aws-lambda-rie (%s, median of %d fresh emulators; upstream simulators answer at once)\n",
		time.Now().UTC().Format(time.RFC3339), rounds)
	fmt.Fprintf(&b, "target: binary < %d MB unzipped, first invocation <= %.1fx hello-world\n\n", maxBinarySize>>20, targetRatio)
	fmt.Fprintf(&b, "%-16s %10s %12s %8s %10s %8s %s\n", "function", "binary", "first-invoke", "ratio", "peak RSS", "memory", "all first invocations")
	for _, s := range subjects {
		r := results[s]
		if r == nil {
			continue
		}
		med := median(r.firsts)
		ratio := float64(med) / float64(base)
		mem := "-"
		if r.memory > 0 {
			mem = strconv.Itoa(r.memory) + " MB"
		}
		fmt.Fprintf(&b, "%-16s %7.2f MB %12s %7.2fx %7.1f MB %8s %v\n", s, float64(r.size)/(1<<20), ms(med), ratio,
			float64(r.rss)/(1<<20), mem, msList(r.firsts))
		if r.size >= maxBinarySize {
			t.Errorf("%s: binary is %d bytes, over %d", s, r.size, maxBinarySize)
		}
		if s == "hello" {
			continue
		}
		if r.memory > 0 && r.rss > 0 && r.rss*2 > int64(r.memory)<<20 {
			t.Errorf("%s: peak RSS %.1f MB is over half of MemorySize %d MB: raise it in template.yaml", s, float64(r.rss)/(1<<20), r.memory)
		}
		if ratio > failRatio {
			t.Errorf("%s: cold first invocation %s is %.1fx hello-world's %s (target %.1fx)", s, ms(med), ratio, ms(base), targetRatio)
		} else if ratio > targetRatio {
			fmt.Fprintf(&b, "  ^ above the %.1fx target\n", targetRatio)
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

// firstEventFor names the first events/ file addressed to fn, or "".
func firstEventFor(t *testing.T, fn string) string {
	for _, file := range eventFiles(t) {
		raw, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		if got, err := stack.FunctionFor(raw); err == nil && got == fn {
			return filepath.Base(file)
		}
	}
	return ""
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
	return "[" + strings.Join(parts, " ") + "] ms"
}
