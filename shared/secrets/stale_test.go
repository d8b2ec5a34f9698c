package secrets_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

var throttled = secretsmanagersim.Fault{Type: "ThrottlingException", Message: "Rate exceeded"}

// staleHook records the calls of the cache's stale hook.
type staleHook struct {
	mu    sync.Mutex
	ids   []string
	errs  []error
	calls int
}

func (h *staleHook) record(secretID string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ids = append(h.ids, secretID)
	h.errs = append(h.errs, err)
	h.calls++
}

func (h *staleHook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// staleCache is a cache over a simulator holding s = v1, fetched once at
// the clock's start, with a one-minute TTL.
func staleCache(t *testing.T) (*secretsmanagersim.Server, *onboardingtest.Clock, *staleHook, *secrets.Cache) {
	t.Helper()
	sim, client := secretsmanagersim.StartWithClient(t, 1)
	sim.Put("s", "v1")
	clk := onboardingtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	hook := &staleHook{}
	c := secrets.NewCache(client, time.Minute, secrets.WithClock(clk.Now), secrets.WithStaleHook(hook.record))
	if v, err := c.Get(t.Context(), "s"); err != nil || v != "v1" {
		t.Fatalf("cold Get = %q, %v", v, err)
	}
	return sim, clk, hook, c
}

// step is one Get at a moment of a scenario, and what it must answer.
type step struct {
	name    string
	advance time.Duration
	before  func()
	want    string // "" wants an error
	calls   int    // GetSecretValue calls so far
	stale   int    // stale hook calls so far
}

func runSteps(t *testing.T, sim *secretsmanagersim.Server, clk *onboardingtest.Clock, hook *staleHook, c *secrets.Cache, steps []step) {
	t.Helper()
	for _, s := range steps {
		clk.Advance(s.advance)
		if s.before != nil {
			s.before()
		}
		got, err := c.Get(t.Context(), "s")
		switch {
		case s.want == "" && err == nil:
			t.Errorf("%s: Get = %q, want an error", s.name, got)
		case s.want != "" && (err != nil || got != s.want):
			t.Errorf("%s: Get = %q, %v; want %q", s.name, got, err, s.want)
		}
		if n := sim.Calls(secretsmanagersim.OpGetSecretValue); n != s.calls {
			t.Errorf("%s: %d GetSecretValue calls, want %d", s.name, n, s.calls)
		}
		if n := hook.count(); n != s.stale {
			t.Errorf("%s: stale hook called %d times, want %d", s.name, n, s.stale)
		}
	}
}

func TestGetServesStaleValueWhileRefetchFails(t *testing.T) {
	t.Parallel()
	sim, clk, hook, c := staleCache(t)
	sim.FailNext(secretsmanagersim.OpGetSecretValue, -1, throttled)
	const ns = time.Nanosecond
	// Each failed refetch doubles the wait before the next, from
	// FailureBackoff (5 s) up to MaxFailureBackoff (1 min).
	runSteps(t, sim, clk, hook, c, []step{
		{name: "expired: refetch fails, stale served", advance: time.Minute, want: "v1", calls: 2, stale: 1},
		{name: "within 5 s backoff: no call", advance: 5*time.Second - ns, want: "v1", calls: 2, stale: 2},
		{name: "backoff over: refetch fails again", advance: ns, want: "v1", calls: 3, stale: 3},
		{name: "within 10 s backoff", advance: 10*time.Second - ns, want: "v1", calls: 3, stale: 4},
		{name: "after 10 s", advance: ns, want: "v1", calls: 4, stale: 5},
		{name: "after 20 s", advance: 20 * time.Second, want: "v1", calls: 5, stale: 6},
		{name: "after 40 s", advance: 40 * time.Second, want: "v1", calls: 6, stale: 7},
		{name: "within 1 min backoff", advance: time.Minute - ns, want: "v1", calls: 6, stale: 8},
		{name: "after 1 min", advance: ns, want: "v1", calls: 7, stale: 9},
		{name: "backoff stays at 1 min", advance: time.Minute - ns, want: "v1", calls: 7, stale: 10},
		{name: "after 1 min again", advance: ns, want: "v1", calls: 8, stale: 11},
	})
}

func TestStaleValueIsBounded(t *testing.T) {
	t.Parallel()
	sim, clk, hook, c := staleCache(t)
	sim.FailNext(secretsmanagersim.OpGetSecretValue, -1, throttled)
	const ns = time.Nanosecond
	runSteps(t, sim, clk, hook, c, []step{
		{name: "just within the bound", advance: secrets.StaleFor - ns, want: "v1", calls: 2, stale: 1},
		// The backoff is moot without a value to serve: as on a cold
		// miss, every Get asks.
		{name: "at the bound: the error", advance: ns, want: "", calls: 3, stale: 1},
		{name: "past the bound: the error again", advance: time.Second, want: "", calls: 4, stale: 1},
		{name: "recovered", before: func() {
			sim.FailNext(secretsmanagersim.OpGetSecretValue, 0, throttled)
			sim.Put("s", "v2")
		}, want: "v2", calls: 5, stale: 1},
		{name: "cached again", advance: time.Minute - ns, want: "v2", calls: 5, stale: 1},
	})
}

func TestSuccessfulRefetchResetsBackoff(t *testing.T) {
	t.Parallel()
	sim, clk, hook, c := staleCache(t)
	fail := func() { sim.FailNext(secretsmanagersim.OpGetSecretValue, -1, throttled) }
	heal := func() {
		sim.FailNext(secretsmanagersim.OpGetSecretValue, 0, throttled)
		sim.Put("s", "v2")
	}
	runSteps(t, sim, clk, hook, c, []step{
		{name: "first failure", advance: time.Minute, before: fail, want: "v1", calls: 2, stale: 1},
		{name: "second failure", advance: 5 * time.Second, want: "v1", calls: 3, stale: 2},
		{name: "recovery after the 10 s backoff", advance: 10 * time.Second, before: heal, want: "v2", calls: 4, stale: 2},
		{name: "fresh value cached", advance: 30 * time.Second, want: "v2", calls: 4, stale: 2},
		{name: "new outage at its expiry", advance: 30 * time.Second, before: fail, want: "v2", calls: 5, stale: 3},
		{name: "backoff starts again at 5 s", advance: 5 * time.Second, want: "v2", calls: 6, stale: 4},
	})
}

func TestOutageMakesOneCallPerBackoff(t *testing.T) {
	t.Parallel()
	sim, clk, hook, c := staleCache(t)
	sim.FailNext(secretsmanagersim.OpGetSecretValue, -1, throttled)
	clk.Advance(time.Minute)
	calls := func() int { return sim.Calls(secretsmanagersim.OpGetSecretValue) }

	// Concurrent Gets join the failing refetch or, once it failed, wait
	// out its backoff: one call between them.
	got := concurrently(t, sim, 50, func() (string, error) { return c.Get(t.Context(), "s") })
	for i, v := range got {
		if v != "v1" {
			t.Fatalf("goroutine %d got %q, want the stale v1", i, v)
		}
	}
	if calls() != 2 {
		t.Errorf("%d GetSecretValue calls after 50 concurrent Gets, want 2 (cold, one refetch)", calls())
	}
	for range 50 {
		if v, err := c.Get(t.Context(), "s"); err != nil || v != "v1" {
			t.Fatalf("Get during backoff = %q, %v", v, err)
		}
	}
	if calls() != 2 {
		t.Errorf("%d GetSecretValue calls after 50 more Gets within the backoff, want 2", calls())
	}
	if n := hook.count(); n != 100 {
		t.Errorf("stale hook called %d times, want once per Get served stale (100)", n)
	}

	// Preload serves no one: it neither asks during the backoff nor
	// reports a stale value when it asks after.
	c.Preload(t.Context(), "s")
	if calls() != 2 || hook.count() != 100 {
		t.Errorf("Preload within the backoff: %d calls, %d stale reports; want 2, 100", calls(), hook.count())
	}
	clk.Advance(secrets.FailureBackoff)
	c.Preload(t.Context(), "s")
	if calls() != 3 || hook.count() != 100 {
		t.Errorf("Preload after the backoff: %d calls, %d stale reports; want 3, 100", calls(), hook.count())
	}
}

func TestStaleHookGetsTheFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault secretsmanagersim.Fault
	}{
		{name: "throttled", fault: throttled},
		{name: "internal error", fault: secretsmanagersim.Fault{Type: secretsmanagersim.ErrInternalService, Status: 500, Message: "boom"}},
		{name: "unavailable", fault: secretsmanagersim.Fault{Type: "ServiceUnavailable", Status: 503, Message: "down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, clk, hook, c := staleCache(t)
			sim.FailNext(secretsmanagersim.OpGetSecretValue, -1, tt.fault)
			clk.Advance(time.Minute)
			for range 2 { // the failed refetch, then its backoff
				if v, err := c.Get(t.Context(), "s"); err != nil || v != "v1" {
					t.Fatalf("Get = %q, %v; want the stale v1", v, err)
				}
			}
			hook.mu.Lock()
			defer hook.mu.Unlock()
			if hook.calls != 2 {
				t.Fatalf("stale hook called %d times, want 2", hook.calls)
			}
			for i, err := range hook.errs {
				var api smithy.APIError
				if hook.ids[i] != "s" || !errors.As(err, &api) || api.ErrorCode() != tt.fault.Type {
					t.Errorf("stale hook %d got (%q, %v); want s and a %s", i, hook.ids[i], err, tt.fault.Type)
				}
				if msg := err.Error(); !strings.Contains(msg, `"s"`) || strings.Contains(msg, "v1") {
					t.Errorf("stale hook error %q: want the secret ID, never the value", msg)
				}
			}
		})
	}
}

// TestRefusalsAreNeverServedStale: a secret deleted, scheduled for
// deletion or denied to the function stops being used at the next read,
// not an hour later.
func TestRefusalsAreNeverServedStale(t *testing.T) {
	t.Parallel()
	for _, fault := range []secretsmanagersim.Fault{
		{Type: "ResourceNotFoundException", Status: 400, Message: "Secrets Manager can't find the specified secret."},
		{Type: "AccessDeniedException", Status: 400, Message: "not authorized"},
		{Type: "InvalidRequestException", Status: 400, Message: "marked for deletion"},
		{Type: "DecryptionFailure", Status: 400, Message: "KMS refused"},
	} {
		t.Run(fault.Type, func(t *testing.T) {
			t.Parallel()
			sim, clk, hook, c := staleCache(t)
			sim.FailNext(secretsmanagersim.OpGetSecretValue, -1, fault)
			clk.Advance(time.Minute)
			for range 2 { // no backoff either: each read asks
				if v, err := c.Get(t.Context(), "s"); err == nil {
					t.Fatalf("Get = %q; want %s's error", v, fault.Type)
				}
			}
			if n := sim.Calls(secretsmanagersim.OpGetSecretValue); n != 3 {
				t.Errorf("%d GetSecretValue calls, want 3 (the first read and one per Get)", n)
			}
			hook.mu.Lock()
			defer hook.mu.Unlock()
			if hook.calls != 0 {
				t.Errorf("stale hook called %d times, want none", hook.calls)
			}
		})
	}
}

func TestRefreshNeverServesStale(t *testing.T) {
	t.Parallel()
	sim, clk, hook, c := staleCache(t)
	sim.FailNext(secretsmanagersim.OpGetSecretValue, -1, throttled)
	ctx := t.Context()
	calls := func() int { return sim.Calls(secretsmanagersim.OpGetSecretValue) }

	clk.Advance(time.Minute)
	if v, err := c.Refresh(ctx, "s"); err == nil {
		t.Fatalf("Refresh of an expired entry during an outage = %q, want the error", v)
	}
	if v, err := c.Get(ctx, "s"); err != nil || v != "v1" {
		t.Fatalf("Get = %q, %v; want the stale v1", v, err)
	}
	// A Refresh is asked for because the value was refused: serving it
	// again would not help, and Get's backoff does not hold it back.
	clk.Advance(secrets.RefreshInterval)
	if v, err := c.Refresh(ctx, "s"); err == nil {
		t.Fatalf("Refresh within Get's backoff = %q, want the error", v)
	}
	if calls() != 4 {
		t.Errorf("%d GetSecretValue calls, want 4 (cold, Refresh, Get, Refresh)", calls())
	}
	if n := hook.count(); n != 1 {
		t.Errorf("stale hook called %d times, want once (the Get)", n)
	}
}

// A Get whose refetch fails after a later Refresh stored a value answers
// that value: it is newer than anything the failed call could have read.
func TestFailedGetAfterRefreshServesRefreshedValue(t *testing.T) {
	t.Parallel()
	slow := make(chan struct{})
	var mu sync.Mutex
	n := 0
	clk := onboardingtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	hook := &staleHook{}
	c := secrets.NewCache(fakeClient(func(ctx context.Context, _ *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
		mu.Lock()
		n++
		call := n
		mu.Unlock()
		switch call {
		case 1:
			return &secretsmanager.GetSecretValueOutput{SecretString: aws.String("old")}, nil
		case 2:
			<-slow
			return nil, errors.New("connection reset")
		}
		return &secretsmanager.GetSecretValueOutput{SecretString: aws.String("new")}, nil
	}), time.Minute, secrets.WithClock(clk.Now), secrets.WithStaleHook(hook.record))
	if _, err := c.Get(t.Context(), "s"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)

	calls := func() int { mu.Lock(); defer mu.Unlock(); return n }
	if v := getAcrossRefresh(t, c, func() bool { return calls() == 2 }, slow); v != "new" {
		t.Errorf("Get whose refetch failed returned %q, want the refreshed new", v)
	}
	if hook.count() != 0 {
		t.Errorf("stale hook called %d times, want none: new is not stale", hook.count())
	}
}
