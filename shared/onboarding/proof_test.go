package onboarding_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// noRecord fails the test when the WABA has a record: a signup Meta did
// not prove control for may not write one.
func (f *fixture) noRecord(t *testing.T) {
	t.Helper()
	if rec, err := f.store.Get(context.Background(), waba); !errors.Is(err, onboarding.ErrNotFound) {
		t.Fatalf("record written without Meta's proof of control: %+v (%v)", rec, err)
	}
}

// reasons records the Reason of each count of one metric.
type reasons struct {
	metric  string
	mu      sync.Mutex
	reasons []string
}

func (m *reasons) Count(name string, d onboarding.Dims) {
	if name != m.metric {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reasons = append(m.reasons, d["Reason"])
}

func (m *reasons) Latency(string, time.Duration, onboarding.Dims) {}

func (m *reasons) CountWithLatency(count, _ string, _ time.Duration, d onboarding.Dims) {
	m.Count(count, d)
}

// countFailures counts the reasons of f's service's SignupFailed.
func (f *fixture) countFailures() *reasons {
	m := &reasons{metric: onboarding.MetricSignupFailed}
	f.svc.Metrics = m
	return m
}

// only fails the test unless exactly one failure was counted, for reason.
func (m *reasons) only(t *testing.T, reason string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Equal(m.reasons, []string{reason}) {
		t.Fatalf("failures counted %v, want [%s]", m.reasons, reason)
	}
}
