package secrets_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

func TestGetCachesUntilTTL(t *testing.T) {
	t.Parallel()
	sim, client := secretsmanagersim.StartWithClient(t, 1)
	sim.Put("plain", "v1")
	clk := onboardingtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	c := secrets.NewCache(client, time.Minute, secrets.WithClock(clk.Now))
	ctx := t.Context()

	steps := []struct {
		name    string
		advance time.Duration
		rotate  string
		want    string
		calls   int
	}{
		{name: "cold miss fetches", want: "v1", calls: 1},
		{name: "warm hit makes no call", want: "v1", calls: 1},
		{name: "rotation unseen within TTL", advance: 59 * time.Second, rotate: "v2", want: "v1", calls: 1},
		{name: "expiry fetches the rotated value", advance: time.Second, want: "v2", calls: 2},
		{name: "warm again", advance: 30 * time.Second, want: "v2", calls: 2},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if s.rotate != "" {
			sim.Put("plain", s.rotate)
		}
		got, err := c.Get(ctx, "plain")
		if err != nil {
			t.Fatalf("%s: Get: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: Get = %q, want %q", s.name, got, s.want)
		}
		if n := sim.Calls(secretsmanagersim.OpGetSecretValue); n != s.calls {
			t.Errorf("%s: %d GetSecretValue calls, want %d", s.name, n, s.calls)
		}
	}
}

func TestDefaultTTL(t *testing.T) {
	t.Parallel()
	sim, client := secretsmanagersim.StartWithClient(t, 1)
	sim.Put("s", "v")
	clk := onboardingtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	c := secrets.NewCache(client, 0, secrets.WithClock(clk.Now))
	for _, adv := range []time.Duration{0, secrets.DefaultTTL - time.Nanosecond, time.Nanosecond} {
		clk.Advance(adv)
		if _, err := c.Get(t.Context(), "s"); err != nil {
			t.Fatal(err)
		}
	}
	if n := sim.Calls(secretsmanagersim.OpGetSecretValue); n != 2 {
		t.Errorf("%d calls, want 2 (one cold, one after %v)", n, secrets.DefaultTTL)
	}
}

// holdFirst blocks the simulator's first request of op until release is
// closed, and reports on started when it arrived.
func holdFirst(sim *secretsmanagersim.Server, op string) (started, release chan struct{}) {
	started, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	sim.OnRequest(func(got string) {
		if got != op {
			return
		}
		first := false
		once.Do(func() { first = true })
		if first {
			close(started)
			<-release
		}
	})
	return started, release
}

// concurrently runs n calls of fn that start while the simulator holds the
// first request, then releases it and collects the results.
func concurrently(t *testing.T, sim *secretsmanagersim.Server, n int, fn func() (string, error)) []string {
	t.Helper()
	started, release := holdFirst(sim, secretsmanagersim.OpGetSecretValue)
	var wg sync.WaitGroup
	results := make([]string, n)
	errs := make([]error, n)
	var ready sync.WaitGroup
	ready.Add(n)
	for i := range n {
		wg.Go(func() {
			ready.Done()
			results[i], errs[i] = fn()
		})
	}
	ready.Wait()
	<-started
	// Goroutines that reach the cache after this point either join the
	// held call or, once it stored its value, hit the cache: a short pause
	// lets most of them join, and correctness does not depend on it.
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	sim.OnRequest(nil)
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent call: %v", err)
		}
	}
	return results
}

func TestConcurrentMissesMakeOneCall(t *testing.T) {
	t.Parallel()
	sim, client := secretsmanagersim.StartWithClient(t, 1)
	sim.Put("hot", "value")
	c := secrets.NewCache(client, time.Minute)
	got := concurrently(t, sim, 50, func() (string, error) { return c.Get(t.Context(), "hot") })
	for i, v := range got {
		if v != "value" {
			t.Fatalf("goroutine %d got %q", i, v)
		}
	}
	if n := sim.Calls(secretsmanagersim.OpGetSecretValue); n != 1 {
		t.Errorf("%d GetSecretValue calls for 50 concurrent misses, want 1", n)
	}
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	sim, client := secretsmanagersim.StartWithClient(t, 1)
	sim.Put("plivo", "old")
	clk := onboardingtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	c := secrets.NewCache(client, time.Hour, secrets.WithClock(clk.Now))
	ctx := t.Context()
	calls := func() int { return sim.Calls(secretsmanagersim.OpGetSecretValue) }

	if v, _ := c.Get(ctx, "plivo"); v != "old" {
		t.Fatalf("Get = %q", v)
	}
	sim.Put("plivo", "new")
	if v, _ := c.Get(ctx, "plivo"); v != "old" {
		t.Fatalf("Get within TTL = %q, want the cached old value", v)
	}
	if v, err := c.Refresh(ctx, "plivo"); err != nil || v != "new" {
		t.Fatalf("Refresh = %q, %v; want new", v, err)
	}
	if calls() != 2 {
		t.Fatalf("%d calls after Refresh, want 2", calls())
	}
	if v, _ := c.Get(ctx, "plivo"); v != "new" {
		t.Errorf("Get after Refresh = %q, want new", v)
	}

	// A burst of 401s right after a refresh reuses it.
	clk.Advance(secrets.RefreshInterval - time.Millisecond)
	if v, _ := c.Refresh(ctx, "plivo"); v != "new" || calls() != 2 {
		t.Errorf("Refresh within %v = %q with %d calls; want new without a call", secrets.RefreshInterval, v, calls())
	}

	clk.Advance(secrets.RefreshInterval)
	sim.Put("plivo", "newer")
	got := concurrently(t, sim, 50, func() (string, error) { return c.Refresh(ctx, "plivo") })
	for _, v := range got {
		if v != "newer" {
			t.Fatalf("concurrent Refresh got %q, want newer", v)
		}
	}
	if calls() != 3 {
		t.Errorf("%d calls after 50 concurrent refreshes, want 3", calls())
	}
}

func TestRefreshWithoutEntryFetches(t *testing.T) {
	t.Parallel()
	sim, client := secretsmanagersim.StartWithClient(t, 1)
	sim.Put("s", "v")
	c := secrets.NewCache(client, time.Hour)
	if v, err := c.Refresh(t.Context(), "s"); err != nil || v != "v" {
		t.Fatalf("Refresh = %q, %v", v, err)
	}
	if v, _ := c.Get(t.Context(), "s"); v != "v" || sim.Calls(secretsmanagersim.OpGetSecretValue) != 1 {
		t.Errorf("Get after Refresh = %q with %d calls; want the refreshed value and no call", v, sim.Calls(secretsmanagersim.OpGetSecretValue))
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		seed    bool
		fault   *secretsmanagersim.Fault
		wantAs  func(error) bool
		wantSub string
	}{
		{
			name: "not found",
			wantAs: func(err error) bool {
				var nf *types.ResourceNotFoundException
				return errors.As(err, &nf) && nf.ErrorMessage() != ""
			},
			wantSub: "ResourceNotFoundException",
		},
		{
			name:  "internal error",
			seed:  true,
			fault: &secretsmanagersim.Fault{Type: secretsmanagersim.ErrInternalService, Status: 500, Message: "boom"},
			wantAs: func(err error) bool {
				var ie *types.InternalServiceError
				return errors.As(err, &ie)
			},
			wantSub: "InternalServiceError",
		},
		{
			name:  "decryption failure",
			seed:  true,
			fault: &secretsmanagersim.Fault{Type: secretsmanagersim.ErrDecryptionFailure, Message: "kms says no"},
			wantAs: func(err error) bool {
				var df *types.DecryptionFailure
				return errors.As(err, &df)
			},
			wantSub: "DecryptionFailure",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, client := secretsmanagersim.StartWithClient(t, 1)
			if tt.seed {
				sim.Put("s", "v")
			}
			if tt.fault != nil {
				sim.FailNext(secretsmanagersim.OpGetSecretValue, 1, *tt.fault)
			}
			c := secrets.NewCache(client, time.Hour)
			_, err := c.Get(t.Context(), "s")
			if err == nil || !tt.wantAs(err) || !strings.Contains(err.Error(), tt.wantSub) {
				t.Fatalf("Get error = %v; want a typed %s", err, tt.wantSub)
			}
			// The failure was not cached: the next Get asks again.
			sim.Put("s", "v")
			if v, err := c.Get(t.Context(), "s"); err != nil || v != "v" {
				t.Errorf("Get after failure = %q, %v", v, err)
			}
			if n := sim.Calls(secretsmanagersim.OpGetSecretValue); n != 2 {
				t.Errorf("%d calls, want 2", n)
			}
		})
	}
}

func TestFailedRefreshKeepsServingCachedValue(t *testing.T) {
	t.Parallel()
	sim, client := secretsmanagersim.StartWithClient(t, 1)
	sim.Put("s", "v1")
	clk := onboardingtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	c := secrets.NewCache(client, time.Hour, secrets.WithClock(clk.Now))
	if _, err := c.Get(t.Context(), "s"); err != nil {
		t.Fatal(err)
	}
	sim.FailNext(secretsmanagersim.OpGetSecretValue, 1, secretsmanagersim.Fault{Type: secretsmanagersim.ErrInternalService, Status: 500})
	if _, err := c.Refresh(t.Context(), "s"); err == nil {
		t.Fatal("Refresh succeeded; want the injected failure")
	}
	if v, err := c.Get(t.Context(), "s"); err != nil || v != "v1" {
		t.Errorf("Get after failed refresh = %q, %v; want v1", v, err)
	}
	// Within RefreshInterval a refresh answers the failed one's error
	// without a call: a caller anyone can set off costs one call a second.
	sim.Put("s", "v2")
	calls := sim.Calls(secretsmanagersim.OpGetSecretValue)
	if _, err := c.Refresh(t.Context(), "s"); err == nil || sim.Calls(secretsmanagersim.OpGetSecretValue) != calls {
		t.Errorf("second Refresh at once: %v after %d new calls; want the first one's error, no call", err, sim.Calls(secretsmanagersim.OpGetSecretValue)-calls)
	}
	// Then the next one fetches.
	clk.Advance(secrets.RefreshInterval)
	if v, err := c.Refresh(t.Context(), "s"); err != nil || v != "v2" {
		t.Errorf("Refresh after the interval = %q, %v; want v2", v, err)
	}
}

func TestEmptySecretID(t *testing.T) {
	t.Parallel()
	_, client := secretsmanagersim.StartWithClient(t, 1)
	c := secrets.NewCache(client, time.Hour)
	if _, err := c.Get(t.Context(), ""); err == nil {
		t.Error("Get(\"\") succeeded")
	}
}

func TestBinarySecretIsAnError(t *testing.T) {
	t.Parallel()
	c := secrets.NewCache(fakeClient(func(ctx context.Context, in *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
		return &secretsmanager.GetSecretValueOutput{SecretBinary: []byte("bin")}, nil
	}), time.Hour)
	if _, err := c.Get(t.Context(), "s"); err == nil || !strings.Contains(err.Error(), "no string value") {
		t.Errorf("Get of binary secret: %v", err)
	}
}

// fakeClient adapts a function to secrets.Client.
type fakeClient func(ctx context.Context, in *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error)

func (f fakeClient) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return f(ctx, in)
}

func TestCallerCancellationDoesNotFailOtherWaiters(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	arrived := make(chan struct{}, 2)
	c := secrets.NewCache(fakeClient(func(ctx context.Context, _ *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
		arrived <- struct{}{}
		select {
		case <-release:
			return &secretsmanager.GetSecretValueOutput{SecretString: aws.String("v")}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}), time.Hour)

	first, cancel := context.WithCancel(t.Context())
	firstErr := make(chan error, 1)
	go func() { _, err := c.Get(first, "s"); firstErr <- err }()
	<-arrived
	second := make(chan string, 1)
	go func() { v, _ := c.Get(t.Context(), "s"); second <- v }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller got %v, want context.Canceled", err)
	}
	close(release)
	if v := <-second; v != "v" {
		t.Errorf("other waiter got %q, want v", v)
	}
	if len(arrived) != 0 {
		t.Error("the cancelled caller's fetch was repeated")
	}
}

// getAcrossRefresh starts a Get of "s", waits until inFlight says its call
// has started, refreshes "s" (which must read "new"), lets the Get's call
// end by closing slow, and returns what the Get answered.
func getAcrossRefresh(t *testing.T, c *secrets.Cache, inFlight func() bool, slow chan struct{}) string {
	t.Helper()
	got := make(chan string, 1)
	go func() { v, _ := c.Get(t.Context(), "s"); got <- v }()
	for !inFlight() {
		time.Sleep(time.Millisecond)
	}
	if v, err := c.Refresh(t.Context(), "s"); err != nil || v != "new" {
		t.Fatalf("Refresh = %q, %v", v, err)
	}
	close(slow)
	return <-got
}

// A Get that started before a Refresh but finished after it must not put
// the pre-rotation value back.
func TestSlowGetDoesNotOverwriteRefresh(t *testing.T) {
	t.Parallel()
	slow := make(chan struct{})
	var mu sync.Mutex
	n := 0
	c := secrets.NewCache(fakeClient(func(ctx context.Context, _ *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
		mu.Lock()
		n++
		call := n
		mu.Unlock()
		if call == 1 {
			<-slow
			return &secretsmanager.GetSecretValueOutput{SecretString: aws.String("old")}, nil
		}
		return &secretsmanager.GetSecretValueOutput{SecretString: aws.String("new")}, nil
	}), time.Hour)

	calls := func() int { mu.Lock(); defer mu.Unlock(); return n }
	if v := getAcrossRefresh(t, c, func() bool { return calls() == 1 }, slow); v != "new" {
		t.Errorf("slow Get returned %q, want the newer refreshed value", v)
	}
	if v, _ := c.Get(t.Context(), "s"); v != "new" {
		t.Errorf("cache holds %q after the slow Get, want new", v)
	}
}

// TestEndpointFromEnvironment goes through config.LoadDefaultConfig and the
// standard service endpoint variable, as the Lambda functions do against
// the local stack. It cannot be parallel: it sets the environment.
func TestEndpointFromEnvironment(t *testing.T) {
	sim := secretsmanagersim.New()
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.Put("wa/meta-app", `{"app_id":"1234","app_secret":"s3cr3t"}`)

	testenv.SetAWSEnv(t, map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.URL})

	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c := secrets.NewCache(secretsmanager.NewFromConfig(cfg), 0)
	app, err := c.MetaApp(t.Context(), "wa/meta-app", false)
	if err != nil {
		t.Fatal(err)
	}
	if app.AppID != "1234" || app.AppSecret != "s3cr3t" {
		t.Errorf("MetaApp = %v", app)
	}
	if n := sim.Calls(secretsmanagersim.OpGetSecretValue); n != 1 {
		t.Errorf("simulator saw %d calls, want 1", n)
	}
}
