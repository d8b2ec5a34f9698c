package callbacks

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Defaults of a RouteCache's zero fields. A warm execution environment
// serves the callbacks of the numbers it saw in the last TTL from memory:
// a number has one owner for months, and its statuses come in bursts
// (sent, delivered, read within seconds), so a short TTL removes nearly
// every read while bounding how long a number that moved to another
// customer is still routed to the old one.
const (
	DefaultRouteTTL = 30 * time.Second
	// DefaultNegativeRouteTTL is shorter: a number that was unknown a
	// moment ago may have finished its onboarding since, and its callbacks
	// would be stored unrouted until the entry expires.
	DefaultNegativeRouteTTL = 5 * time.Second
	// DefaultRouteEntries bounds the memory: one entry is a few hundred
	// bytes, so 10 000 numbers and WABAs take a few MB of the 128 MB.
	DefaultRouteEntries = 10_000
)

// RouteCache is a Directory that answers from memory what another
// Directory answered less than TTL ago. Lookups that found nothing are kept
// NegativeTTL; errors are never kept. It holds at most MaxEntries answers
// and drops the least recently used first. Safe for concurrent use.
type RouteCache struct {
	Directory Directory
	// TTL and NegativeTTL default to DefaultRouteTTL and
	// DefaultNegativeRouteTTL; MaxEntries to DefaultRouteEntries.
	TTL, NegativeTTL time.Duration
	MaxEntries       int
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu      sync.Mutex
	order   *list.List // of *routeEntry, most recently used first
	entries map[routeKey]*list.Element
	hits    uint64
	misses  uint64
}

var _ Directory = (*RouteCache)(nil)

// routeKey tells a number's lookup from a WABA's.
type routeKey struct {
	byPhone bool
	id      string
}

type routeEntry struct {
	key     routeKey
	recs    []onboarding.Record // ByPhone's answer, or Get's record alone
	found   bool                // Get found the record
	expires time.Time
}

func (c *RouteCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// ByPhone implements Directory.
func (c *RouteCache) ByPhone(ctx context.Context, digits string) ([]onboarding.Record, error) {
	k := routeKey{byPhone: true, id: digits}
	if e, ok := c.lookup(k); ok {
		return cloneRecords(e.recs), nil
	}
	recs, err := c.Directory.ByPhone(ctx, digits)
	if err != nil {
		return nil, err
	}
	c.store(&routeEntry{key: k, recs: cloneRecords(recs), found: len(recs) > 0})
	return recs, nil
}

// Get implements Directory.
func (c *RouteCache) Get(ctx context.Context, wabaID string) (*onboarding.Record, error) {
	k := routeKey{id: wabaID}
	if e, ok := c.lookup(k); ok {
		if !e.found {
			return nil, onboarding.ErrNotFound
		}
		rec := e.recs[0]
		return &rec, nil
	}
	rec, err := c.Directory.Get(ctx, wabaID)
	switch {
	case errors.Is(err, onboarding.ErrNotFound):
		c.store(&routeEntry{key: k})
		return nil, err
	case err != nil:
		return nil, err
	}
	c.store(&routeEntry{key: k, recs: []onboarding.Record{*rec}, found: true})
	return rec, nil
}

// Stats are the lookups answered from memory and those that went to the
// Directory.
func (c *RouteCache) Stats() (hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

func (c *RouteCache) lookup(k routeKey) (*routeEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		e := el.Value.(*routeEntry)
		if c.now().Before(e.expires) {
			c.order.MoveToFront(el)
			c.hits++
			return e, true
		}
		c.order.Remove(el)
		delete(c.entries, k)
	}
	c.misses++
	return nil, false
}

func (c *RouteCache) store(e *routeEntry) {
	ttl := orDefault(c.TTL, DefaultRouteTTL)
	if !e.found {
		ttl = orDefault(c.NegativeTTL, DefaultNegativeRouteTTL)
	}
	e.expires = c.now().Add(ttl)
	limit := c.MaxEntries
	if limit <= 0 {
		limit = DefaultRouteEntries
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries, c.order = map[routeKey]*list.Element{}, list.New()
	}
	if el, ok := c.entries[e.key]; ok {
		c.order.Remove(el)
	}
	c.entries[e.key] = c.order.PushFront(e)
	for c.order.Len() > limit {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.entries, last.Value.(*routeEntry).key)
	}
}

// cloneRecords copies the slice, so that a caller cannot change what the
// cache holds.
func cloneRecords(recs []onboarding.Record) []onboarding.Record {
	if recs == nil {
		return nil
	}
	return append([]onboarding.Record(nil), recs...)
}
