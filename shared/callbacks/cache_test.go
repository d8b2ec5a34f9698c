package callbacks_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// countingDirectory counts the lookups that reach the fake directory, as
// the DynamoDB reads a callback would make.
type countingDirectory struct {
	mu           sync.Mutex
	dir          *directory
	byPhone, get int
}

func (c *countingDirectory) ByPhone(ctx context.Context, digits string) ([]onboarding.Record, error) {
	c.mu.Lock()
	c.byPhone++
	c.mu.Unlock()
	return c.dir.ByPhone(ctx, digits)
}

func (c *countingDirectory) Get(ctx context.Context, waba string) (*onboarding.Record, error) {
	c.mu.Lock()
	c.get++
	c.mu.Unlock()
	return c.dir.Get(ctx, waba)
}

func (c *countingDirectory) reads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byPhone + c.get
}

// cachedFixture is a Service without dedupe writes whose directory sits
// behind a RouteCache on the fixture's clock.
func cachedFixture(recs ...onboarding.Record) (*fixture, *countingDirectory, *callbacks.RouteCache) {
	f := newFixture(recs...)
	counting := &countingDirectory{dir: f.dir}
	cache := &callbacks.RouteCache{Directory: counting, TTL: 30 * time.Second, NegativeTTL: 5 * time.Second,
		Now: func() time.Time { return f.now }}
	f.svc.Directory, f.svc.NoDedupeWrite = cache, true
	return f, counting, cache
}

func TestRouteCacheWarmCallbacksReadNothing(t *testing.T) {
	t.Parallel()
	f, dir, cache := cachedFixture(onboardedRec, verifiedRec)
	ctx := context.Background()
	bodies := []string{
		status("m-1", "sent", "+15550100001"), status("m-1", "delivered", "+15550100001"), status("m-1", "read", "+15550100001"),
		inbound("w-1", "15550100001", "hi"), inbound("w-2", "15550109999", "who?"), inbound("w-3", "15550109999", "who?"),
		inbound("w-4", "15550100001", "x") + "&WabaId=" + verifiedRec.WABAID, inbound("w-5", "15550100001", "y") + "&WabaId=" + verifiedRec.WABAID,
	}
	for i, body := range bodies {
		if _, err := f.svc.Handle(ctx, parse(t, body), "req"); err != nil {
			t.Fatalf("callback %d: %v", i, err)
		}
	}
	// One read per distinct number or WABA, the unknown number included.
	if got := dir.reads(); got != 3 {
		t.Errorf("%d directory reads for 8 callbacks of 2 numbers and 1 WABA, want 3", got)
	}
	if hits, misses := cache.Stats(); hits != 5 || misses != 3 {
		t.Errorf("hits %d misses %d, want 5 and 3", hits, misses)
	}
	if n := len(f.pub.published()); n != 6 {
		t.Errorf("%d events, want 6 (the unknown number's two stored unrouted)", n)
	}
}

// A number that leaves one customer for another is routed to the new one
// once the entry's TTL has passed, and never after.
func TestRouteCacheNumberMovesToAnotherCustomer(t *testing.T) {
	t.Parallel()
	f, _, _ := cachedFixture(onboardedRec)
	ctx := context.Background()
	route := func(uuid string) string {
		t.Helper()
		res, err := f.svc.Handle(ctx, parse(t, status(uuid, "delivered", "+15550100001")), "req-"+uuid)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != callbacks.OutcomePublished {
			return string(res.Outcome) + ":" + res.Reason
		}
		return res.Route.ClientRef
	}
	if got := route("m-1"); got != "customer-1" {
		t.Fatalf("before the move: %s", got)
	}
	// The number moves: its first onboarding no longer routes, another
	// customer's does.
	f.dir.recs[0].State = onboarding.StateFailed
	moved := onboardedRec
	moved.WABAID, moved.ClientRef = "109876543210990", "customer-9"
	f.dir.recs = append(f.dir.recs, moved)

	f.now = f.now.Add(29 * time.Second)
	if got := route("m-2"); got != "customer-1" {
		t.Errorf("within the TTL the cached owner is used (the documented bound); got %s", got)
	}
	f.now = f.now.Add(2 * time.Second)
	for _, uuid := range []string{"m-3", "m-4"} {
		if got := route(uuid); got != "customer-9" {
			t.Errorf("%s after the TTL: routed to %s, want customer-9", uuid, got)
		}
	}
}

// An unknown number is remembered for the shorter negative TTL only, so a
// number onboarded meanwhile is routed soon after.
func TestRouteCacheUnknownNumberOnboardedLater(t *testing.T) {
	t.Parallel()
	f, dir, _ := cachedFixture()
	ctx := context.Background()
	res, err := f.svc.Handle(ctx, parse(t, inbound("w-1", "15550100001", "hi")), "r1")
	if err != nil || res.Reason != callbacks.ReasonUnknownNumber {
		t.Fatalf("%+v %v", res, err)
	}
	f.dir.recs = append(f.dir.recs, onboardedRec)
	f.now = f.now.Add(4 * time.Second)
	if res, _ := f.svc.Handle(ctx, parse(t, inbound("w-2", "15550100001", "hi")), "r2"); res.Outcome != callbacks.OutcomeUnrouted {
		t.Errorf("within the negative TTL: %+v", res)
	}
	f.now = f.now.Add(2 * time.Second)
	if res, _ := f.svc.Handle(ctx, parse(t, inbound("w-3", "15550100001", "hi")), "r3"); res.Route.ClientRef != "customer-1" {
		t.Errorf("after the negative TTL: %+v", res)
	}
	if dir.reads() != 2 {
		t.Errorf("%d reads, want 2", dir.reads())
	}
}

func TestRouteCacheKeepsNoErrorAndIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	broken := &countingDirectory{dir: &directory{recs: []onboarding.Record{onboardedRec}, err: errors.New("throttled")}}
	cache := &callbacks.RouteCache{Directory: broken, MaxEntries: 2}
	for range 2 {
		if _, err := cache.ByPhone(ctx, "15550100001"); err == nil {
			t.Fatal("error not returned")
		}
	}
	if broken.reads() != 2 {
		t.Errorf("an error was cached: %d reads", broken.reads())
	}

	dir := &countingDirectory{dir: &directory{recs: []onboarding.Record{onboardedRec}}}
	cache = &callbacks.RouteCache{Directory: dir, MaxEntries: 2}
	for _, n := range []string{"1", "2", "3", "3", "2", "1"} {
		if _, err := cache.ByPhone(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	// 1, 2, 3 miss; 3 and 2 hit; 1 was dropped as least recently used.
	if hits, misses := cache.Stats(); hits != 2 || misses != 4 {
		t.Errorf("hits %d misses %d, want 2 and 4", hits, misses)
	}

	// The smallest bound is kept too: one entry, the last one read.
	one := &callbacks.RouteCache{Directory: &countingDirectory{dir: &directory{}}, MaxEntries: 1}
	for _, n := range []string{"1", "1", "2", "1"} {
		if _, err := one.ByPhone(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if hits, misses := one.Stats(); hits != 1 || misses != 3 {
		t.Errorf("MaxEntries 1: hits %d misses %d, want 1 and 3", hits, misses)
	}

	recs, _ := cache.ByPhone(ctx, "15550100001")
	recs[0].ClientRef = "changed by a caller"
	again, _ := cache.ByPhone(ctx, "15550100001")
	if again[0].ClientRef != "customer-1" {
		t.Errorf("a caller changed the cached answer: %q", again[0].ClientRef)
	}
	rec, err := cache.Get(ctx, onboardedRec.WABAID)
	if err != nil {
		t.Fatal(err)
	}
	rec.ClientRef = "changed"
	if rec, _ := cache.Get(ctx, onboardedRec.WABAID); rec.ClientRef != "customer-1" {
		t.Errorf("a caller changed the cached record: %q", rec.ClientRef)
	}
	if _, err := cache.Get(ctx, "100000000000001"); !errors.Is(err, onboarding.ErrNotFound) {
		t.Fatalf("unknown WABA: %v", err)
	}
	if _, err := cache.Get(ctx, "100000000000001"); !errors.Is(err, onboarding.ErrNotFound) {
		t.Fatalf("unknown WABA from memory: %v", err)
	}
}

// Without the dedupe write, a routed callback costs no ledger write; a
// redelivery is published again under the same dedupe_key, which is what
// consumers dedupe on; a failed publish answers 503 so that Plivo retries;
// unrouted callbacks are still stored.
func TestHandleWithoutDedupeWrite(t *testing.T) {
	t.Parallel()
	f, _, _ := cachedFixture(onboardedRec)
	ctx := context.Background()
	for _, rid := range []string{"r1", "r2"} {
		res, err := f.svc.Handle(ctx, parse(t, status("m-1", "delivered", "+15550100001")), rid)
		if err != nil || res.Outcome != callbacks.OutcomePublished || res.Key != "callback#m-1#delivered" {
			t.Fatalf("%s: %+v %v", rid, res, err)
		}
	}
	if f.led.Len() != 0 {
		t.Errorf("%d ledger entries for routed callbacks, want 0", f.led.Len())
	}
	evs := f.pub.published()
	if len(evs) != 2 || string(evs[0].Detail) != string(evs[1].Detail) {
		t.Fatalf("redelivery: %d events, want the same detail twice", len(evs))
	}

	f.pub.fail = 1
	_, err := f.svc.Handle(ctx, parse(t, status("m-2", "read", "+15550100001")), "r3")
	var e *onboarding.Error
	if !errors.As(err, &e) || e.Code != onboarding.CodeUpstreamUnavailable {
		t.Fatalf("failed publish: %v, want upstream_unavailable", err)
	}
	if f.met.get(callbacks.MetricPublishFailed) != 1 || f.led.Len() != 0 {
		t.Errorf("metrics %v, %d entries", f.met.counts, f.led.Len())
	}

	res, err := f.svc.Handle(ctx, parse(t, inbound("w-9", "15550109999", "hi")), "r4")
	if err != nil || res.Outcome != callbacks.OutcomeUnrouted {
		t.Fatalf("unknown number: %+v %v", res, err)
	}
	if e, ok := f.led.Get(res.Key); !ok || e.State != callbacks.EntryUnrouted {
		t.Errorf("unrouted entry %+v", e)
	}
}
