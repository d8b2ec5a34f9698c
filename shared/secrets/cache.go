// Package secrets reads credentials from AWS Secrets Manager at run time and
// keeps them in memory for a short while, so a warm Lambda makes no
// Secrets Manager call per request and still sees a rotated secret within
// one TTL (or at once, after a Refresh).
package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/sync/singleflight"
)

// DefaultTTL is how long a fetched secret is served from memory when
// NewCache is given no TTL.
const DefaultTTL = 5 * time.Minute

// RefreshInterval is the shortest time between two forced fetches of one
// secret. A rotated Plivo token makes every in-flight request fail with 401
// at once; the first Refresh fetches and the others reuse its result.
const RefreshInterval = time.Second

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

	group   singleflight.Group
	mu      sync.Mutex
	entries map[string]entry
	seq     uint64 // numbers fetches in the order they start
}

type entry struct {
	value       string
	fetchedAt   time.Time
	refreshedAt time.Time // last forced fetch; zero if none
	seq         uint64    // start order of the fetch that produced value
}

// Option configures a Cache.
type Option func(*Cache)

// WithClock makes the cache read the time from now instead of time.Now, so
// tests can expire entries without sleeping.
func WithClock(now func() time.Time) Option {
	return func(c *Cache) { c.now = now }
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
// less than a TTL ago.
func (c *Cache) Get(ctx context.Context, secretID string) (string, error) {
	if v, ok := c.fresh(secretID); ok {
		return v, nil
	}
	return c.fetch(ctx, "get\x00"+secretID, secretID, func() (string, bool) {
		// A caller that missed just before another goroutine's fetch
		// finished arrives here after the singleflight slot was freed:
		// look again rather than fetch twice.
		return c.fresh(secretID)
	}, false)
}

// Refresh fetches secretID from Secrets Manager even if it is cached, for
// callers that learned the cached value is stale (an upstream refused it).
// Concurrent refreshes become one call, and a refresh within
// RefreshInterval of the previous one returns that one's value instead of
// fetching again.
func (c *Cache) Refresh(ctx context.Context, secretID string) (string, error) {
	return c.fetch(ctx, "refresh\x00"+secretID, secretID, func() (string, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		e, ok := c.entries[secretID]
		if ok && !e.refreshedAt.IsZero() && c.now().Sub(e.refreshedAt) < RefreshInterval {
			return e.value, true
		}
		return "", false
	}, true)
}

func (c *Cache) fresh(secretID string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[secretID]
	if !ok || c.now().Sub(e.fetchedAt) >= c.ttl {
		return "", false
	}
	return e.value, true
}

// Preload fetches the secrets not cached yet, all at once, and waits for
// them. A cold signup needs three secrets (session keys, Meta app, Plivo),
// each at a different step; loaded together they cost one round trip
// instead of three. Errors are left for the Get that needs the secret.
func (c *Cache) Preload(ctx context.Context, secretIDs ...string) {
	var wg sync.WaitGroup
	for _, id := range secretIDs {
		if _, ok := c.fresh(id); ok || id == "" {
			continue
		}
		wg.Go(func() { _, _ = c.Get(ctx, id) })
	}
	wg.Wait()
}

// fetch runs one Secrets Manager call per key at a time. The call runs on a
// context detached from the caller's cancellation: otherwise the first
// caller timing out would fail every goroutine waiting on the same call.
// Each caller still stops waiting when its own context ends.
func (c *Cache) fetch(ctx context.Context, key, secretID string, reuse func() (string, bool), forced bool) (string, error) {
	if secretID == "" {
		return "", errors.New("secrets: empty secret ID")
	}
	ch := c.group.DoChan(key, func() (any, error) {
		if v, ok := reuse(); ok {
			return v, nil
		}
		c.mu.Lock()
		c.seq++
		seq := c.seq
		c.mu.Unlock()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		out, err := c.client.GetSecretValue(fctx, &secretsmanager.GetSecretValueInput{SecretId: &secretID})
		if err != nil {
			// SDK errors name the operation and the service's message,
			// never the secret value.
			return "", fmt.Errorf("secrets: get %q: %w", secretID, err)
		}
		if out == nil || out.SecretString == nil {
			return "", fmt.Errorf("secrets: %q has no string value", secretID)
		}
		value := *out.SecretString
		now := c.now()
		c.mu.Lock()
		defer c.mu.Unlock()
		old := c.entries[secretID]
		if old.seq > seq {
			// A Get that started before a Refresh finished after it: keep
			// the newer value; this one may predate a rotation.
			return old.value, nil
		}
		e := entry{value: value, fetchedAt: now, refreshedAt: old.refreshedAt, seq: seq}
		if forced {
			e.refreshedAt = now
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
