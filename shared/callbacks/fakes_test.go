package callbacks_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// directory is a fake callbacks.Directory over a slice of records.
type directory struct {
	recs []onboarding.Record
	err  error
}

func (d *directory) ByPhone(_ context.Context, digits string) ([]onboarding.Record, error) {
	if d.err != nil {
		return nil, d.err
	}
	var out []onboarding.Record
	for _, r := range d.recs {
		if onboarding.PhoneDigits(r.DisplayPhoneNumber) == digits {
			out = append(out, r)
		}
	}
	return out, nil
}

func (d *directory) Get(_ context.Context, waba string) (*onboarding.Record, error) {
	if d.err != nil {
		return nil, d.err
	}
	for _, r := range d.recs {
		if r.WABAID == waba {
			return &r, nil
		}
	}
	return nil, onboarding.ErrNotFound
}

// publisher records events; fail makes the next calls fail.
type publisher struct {
	mu     sync.Mutex
	events []callbacks.Event
	fail   int
	// deadline is the last call's context deadline.
	deadline time.Time
}

func (p *publisher) Publish(ctx context.Context, ev callbacks.Event) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deadline, _ = ctx.Deadline()
	if p.fail > 0 {
		p.fail--
		return "", errors.New("eventbridge: InternalException")
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	p.events = append(p.events, ev)
	return fmt.Sprintf("evt-%d", len(p.events)), nil
}

func (p *publisher) published() []callbacks.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]callbacks.Event(nil), p.events...)
}

// metrics counts Count calls by name and dimensions.
type metrics struct {
	mu     sync.Mutex
	counts map[string]int
}

func newMetrics() *metrics { return &metrics{counts: map[string]int{}} }

func (m *metrics) Count(name string, dims onboarding.Dims) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counts[name]++
	for k, v := range dims {
		m.counts[name+"/"+k+"="+v]++
	}
}

func (m *metrics) Latency(string, time.Duration, onboarding.Dims) {}

func (m *metrics) CountWithLatency(count, _ string, _ time.Duration, dims onboarding.Dims) {
	m.Count(count, dims)
}

func (m *metrics) get(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[key]
}
