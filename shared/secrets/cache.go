// Package secrets reads credentials from AWS Secrets Manager at run time and
// keeps them in memory for a short while, so a warm Lambda makes no
// Secrets Manager call per request and still sees a rotated secret within
// one TTL (or at once, after a Refresh). When Secrets Manager throttles or
// fails, Get keeps serving the value it has, for up to StaleFor.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/singleflight"
)

// DefaultTTL is how long a fetched secret is served from memory when
// NewCache is given no TTL.
const DefaultTTL = 5 * time.Minute

// RefreshInterval is the shortest time between two forced fetches of one
// secret. A rotated Plivo token makes every in-flight request fail with 401
// at once; the first Refresh fetches and the others reuse its result.
const RefreshInterval = time.Second

// StaleFor is how long after its fetch (the TTL included) a value is still
// served when fetching it again fails. A Secrets Manager throttle or outage
// then fails no request that a value fetched a moment earlier would have
// served, and a value rotated away from during a long outage stays in use
// no longer than that.
const StaleFor = time.Hour

// After a failed refetch Get serves the stale value without asking again
// for FailureBackoff, doubled after each further failure up to
// MaxFailureBackoff: otherwise every request would add its own calls (and
// the SDK's retries) to a throttled account, and wait for them. A
// successful fetch ends the backoff.
const (
	FailureBackoff    = 5 * time.Second
	MaxFailureBackoff = time.Minute
)

// fetchTimeout bounds a fetch that runs detached from its first caller (see
// fetch), so a hung connection cannot pin the singleflight slot forever.
const fetchTimeout = 10 * time.Second

// Client is the one Secrets Manager call the cache makes;
// *secretsmanager.Client implements it.
type Client interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ Client = (*secretsmanager.Client)(nil)

// Cache serves secret strings by ID from memory, fetching them from Secrets
// Manager when missing, older than the TTL, or refreshed. It is safe for
// concurrent use; concurrent fetches of one ID become one call.
type Cache struct {
	client Client
	ttl    time.Duration
	now    func() time.Time
	// onStale is told of each stale value Get serves; nil when unset.
	onStale func(secretID string, err error)

	group   singleflight.Group
	mu      sync.Mutex
	entries map[string]entry
	seq     uint64 // numbers fetches in the order they start
}

type entry struct {
	value       string
	fetchedAt   time.Time
	refreshedAt time.Time // last forced fetch, answered or not; zero if none
	refreshErr  error     // its error; nil when it answered
	seq         uint64    // start order of the fetch that produced value

	// Since Get's last refetch failed: its error, the time before which
	// Get does not ask again, and the wait that set it. Zero after a
	// successful fetch.
	failure error
	retryAt time.Time
	backoff time.Duration
}

// Option configures a Cache.
type Option func(*Cache)

// WithClock makes the cache read the time from now instead of time.Now, so
// tests can expire entries without sleeping.
func WithClock(now func() time.Time) Option {
	return func(c *Cache) { c.now = now }
}

// WithStaleHook makes Get call fn each time it serves a stale value because
// fetching secretID again failed with err, so the caller can log and count
// it: the package has no logger. err names the secret, never its value. fn
// may be called from several goroutines at once.
func WithStaleHook(fn func(secretID string, err error)) Option {
	return func(c *Cache) { c.onStale = fn }
}

// NewCache returns a cache over client. A ttl of zero or less means
// DefaultTTL.
func NewCache(client Client, ttl time.Duration, opts ...Option) *Cache {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	c := &Cache{client: client, ttl: ttl, now: time.Now, entries: map[string]entry{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Get returns the secret string of secretID, from memory when it was fetched
// less than a TTL ago. When fetching it again fails, Get returns the value
// it has if that was fetched less than StaleFor ago (and tells the stale
// hook), and asks Secrets Manager again only after a backoff.
func (c *Cache) Get(ctx context.Context, secretID string) (string, error) {
	v, err := c.load(ctx, secretID)
	if err == nil {
		return v, nil
	}
	// A caller that gave up wants its own error, not a value.
	if ctx.Err() != nil {
		return "", err
	}
	c.mu.Lock()
	e, ok := c.entries[secretID]
	c.mu.Unlock()
	switch age := c.now().Sub(e.fetchedAt); {
	case !ok || age >= StaleFor || !unavailable(err):
		return "", err
	case age < c.ttl:
		// Another caller's fetch stored a fresh value meanwhile.
		return e.value, nil
	}
	if c.onStale != nil {
		c.onStale(secretID, err)
	}
	return e.value, nil
}

// load is Get without serving a stale value: the fresh value, or a fetch's
// result. During the backoff after a failed refetch it returns that
// failure without a call.
func (c *Cache) load(ctx context.Context, secretID string) (string, error) {
	if v, ok, err := c.cached(secretID); ok || err != nil {
		return v, err
	}
	// A caller that missed just before another goroutine's fetch finished
	// arrives in fetch after the singleflight slot was freed: it looks
	// again rather than fetch twice, or during the backoff that fetch's
	// failure started.
	return c.fetch(ctx, "get\x00"+secretID, secretID, func() (string, bool, error) {
		return c.cached(secretID)
	}, false)
}

// Refresh fetches secretID from Secrets Manager even if it is cached, for
// callers that learned the cached value is stale (an upstream refused it).
// Concurrent refreshes become one call, and a refresh within
// RefreshInterval of the previous one returns that one's value, or its
// error, instead of fetching again: callers that anyone can set off (a
// wrong webhook verify token) then cost one call a second at most, also
// while Secrets Manager fails.
func (c *Cache) Refresh(ctx context.Context, secretID string) (string, error) {
	return c.fetch(ctx, "refresh\x00"+secretID, secretID, func() (string, bool, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		e, ok := c.entries[secretID]
		if ok && !e.refreshedAt.IsZero() && c.now().Sub(e.refreshedAt) < RefreshInterval {
			return e.value, e.refreshErr == nil, e.refreshErr
		}
		return "", false, nil
	}, true)
}

// cached reports what Get can answer without a call: the value while it is
// fresh (ok), or, during the backoff after a failed refetch of a value
// still within StaleFor, that failure. Neither means a fetch is due.
func (c *Cache) cached(secretID string) (value string, ok bool, failure error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.entries[secretID]
	if !found {
		return "", false, nil
	}
	now := c.now()
	switch age := now.Sub(e.fetchedAt); {
	case age < c.ttl:
		return e.value, true, nil
	case e.failure != nil && now.Before(e.retryAt) && age < StaleFor:
		// Past StaleFor there is no value to serve meanwhile: as on a
		// cold miss, every Get asks.
		return "", false, e.failure
	}
	return "", false, nil
}

// Preload fetches the secrets not cached yet, all at once, and waits for
// them. A cold signup needs three secrets (session keys, Meta app, Plivo),
// each at a different step; loaded together they cost one round trip
// instead of three. Errors are left for the Get that needs the secret.
func (c *Cache) Preload(ctx context.Context, secretIDs ...string) {
	var wg sync.WaitGroup
	for _, id := range secretIDs {
		if _, ok, err := c.cached(id); ok || err != nil || id == "" {
			continue
		}
		// load, not Get: a stale value preloaded is served to no one,
		// and the Get that serves it reports it.
		wg.Go(func() { _, _ = c.load(ctx, id) })
	}
	wg.Wait()
}

// fetch runs one Secrets Manager call per key at a time. The call runs on a
// context detached from the caller's cancellation: otherwise the first
// caller timing out would fail every goroutine waiting on the same call.
// Each caller still stops waiting when its own context ends. reuse runs
// first, in the singleflight slot: a value it returns (ok) or an error
// stands for the call. A failed Get (not forced) starts or extends the
// backoff of an entry it had.
func (c *Cache) fetch(ctx context.Context, key, secretID string, reuse func() (string, bool, error), forced bool) (string, error) {
	if secretID == "" {
		return "", errors.New("secrets: empty secret ID")
	}
	ch := c.group.DoChan(key, func() (any, error) {
		if v, ok, err := reuse(); ok || err != nil {
			return v, err
		}
		c.mu.Lock()
		c.seq++
		seq := c.seq
		c.mu.Unlock()
		value, err := c.call(ctx, secretID)
		now := c.now()
		c.mu.Lock()
		defer c.mu.Unlock()
		old, had := c.entries[secretID]
		if old.seq > seq {
			// A Get that started before a Refresh finished after it: keep
			// the newer value; this one may predate a rotation. A failed
			// call answers it too, with no error and no backoff: it is
			// as new as anything the call could have read.
			return old.value, nil
		}
		if err != nil {
			switch {
			case had && forced:
				old.refreshedAt, old.refreshErr = now, err
				c.entries[secretID] = old
			case had && unavailable(err):
				c.entries[secretID] = old.failed(err, now)
			}
			return "", err
		}
		e := entry{value: value, fetchedAt: now, refreshedAt: old.refreshedAt, refreshErr: old.refreshErr, seq: seq}
		if forced {
			e.refreshedAt, e.refreshErr = now, nil
		}
		c.entries[secretID] = e
		return value, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("secrets: get %q: %w", secretID, ctx.Err())
	}
}

// call makes the GetSecretValue call, bounded by fetchTimeout.
func (c *Cache) call(ctx context.Context, secretID string) (string, error) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	out, err := c.client.GetSecretValue(fctx, &secretsmanager.GetSecretValueInput{SecretId: &secretID})
	if err != nil {
		// SDK errors name the operation and the service's message, never
		// the secret value.
		return "", fmt.Errorf("secrets: get %q: %w", secretID, err)
	}
	if out == nil || out.SecretString == nil {
		return "", fmt.Errorf("secrets: %q has %w", secretID, errNoString)
	}
	return *out.SecretString, nil
}

// failed returns e after a refetch that failed at now with err: the first
// failure waits FailureBackoff, each further one twice the last wait, up
// to MaxFailureBackoff.
func (e entry) failed(err error, now time.Time) entry {
	e.backoff = min(max(2*e.backoff, FailureBackoff), MaxFailureBackoff)
	e.failure = err
	e.retryAt = now.Add(e.backoff)
	return e
}

// errNoString is the answer for a secret that holds binary, not a string.
var errNoString = errors.New("no string value")

// unavailable reports whether err says Secrets Manager could not answer
// (throttled, failing, unreachable or too slow) rather than that it
// refused: a secret deleted, scheduled for deletion, no longer readable by
// this function or no longer a string must stop being used at once, not
// an hour later.
func unavailable(err error) bool {
	var resp interface{ HTTPStatusCode() int }
	if errors.As(err, &resp) && (resp.HTTPStatusCode() >= 500 || resp.HTTPStatusCode() == http.StatusTooManyRequests) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		_, throttled := retry.DefaultThrottleErrorCodes[api.ErrorCode()]
		return throttled || api.ErrorFault() == smithy.FaultServer
	}
	// No answer at all: a network error, a timeout, the SDK's retry quota.
	return !errors.Is(err, errNoString)
}
