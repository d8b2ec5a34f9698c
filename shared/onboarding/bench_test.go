package onboarding_test

import (
	"context"
	"io"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/metrics"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// The benchmarks here measure the service's own CPU and allocations per
// signup: upstreams answer at once from memory, and the logger and metrics
// are the production JSON and EMF writers aimed at io.Discard, so their
// formatting cost is counted. infra/bench runs them and reports the figures
// beside the end-to-end ones.

// Fixed IDs of the benchmark signups; each gets its own WABA ID.
const (
	benchAppID    = "700000000000009"
	benchPhone    = "112233445566778"
	benchBusiness = "198765432109876"
)

// benchMeta is a Graph API that grants whatever WABA it is asked about,
// with one number, at no cost beyond building its answers.
type benchMeta struct{}

func (benchMeta) ExchangeCode(_ context.Context, code string) (string, error) {
	return "token-" + code, nil
}

func (benchMeta) DebugToken(context.Context, string) (onboarding.TokenInfo, error) {
	return onboarding.TokenInfo{AppID: benchAppID, Valid: true}, nil
}

func (benchMeta) PhoneNumbers(context.Context, string, string) ([]onboarding.PhoneNumber, error) {
	return []onboarding.PhoneNumber{{ID: benchPhone, DisplayPhoneNumber: "+1 555-010-0100", VerifiedName: "Bench"}}, nil
}

func (benchMeta) OwnerBusinessID(context.Context, string, string) (string, error) {
	return benchBusiness, nil
}

// benchPlivo onboards every WABA at once.
type benchPlivo struct{}

func (benchPlivo) EmbeddedSignup(context.Context, onboarding.PlivoSignup) (onboarding.PlivoResult, error) {
	return onboarding.PlivoResult{APIID: "bench-api-id", Message: "Embedded signup completed successfully."}, nil
}

func benchService(store onboarding.Store) *onboarding.Service {
	return &onboarding.Service{
		Store:   store,
		Meta:    benchMeta{},
		Plivo:   benchPlivo{},
		AppID:   func(context.Context) (string, error) { return benchAppID, nil },
		Policy:  onboarding.DefaultRetryPolicy,
		Logger:  logging.New(io.Discard, "INFO"),
		Metrics: &metrics.EMF{W: io.Discard, Namespace: "Bench", Function: "signup"},
	}
}

// benchWABA returns the i-th distinct WABA ID of a benchmark run.
func benchWABA(i int) string {
	return strconv.Itoa(100000000000000 + i)
}

// BenchmarkSignup onboards a distinct WABA per iteration: lock, three Meta
// calls, verified record, Plivo, onboarded record.
func BenchmarkSignup(b *testing.B) {
	svc := benchService(memstore.New())
	reqs := make([]onboarding.SignupRequest, b.N)
	for i := range reqs {
		waba := benchWABA(i)
		reqs[i] = onboarding.SignupRequest{Code: "AQ-" + waba, RequestID: "req-" + waba, Identity: onboarding.Identity{
			WABAID: waba, PhoneNumberID: benchPhone, BusinessID: benchBusiness, ClientRef: "customer-1"}}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer startCPU(b)()
	for i := range b.N {
		res, err := svc.Signup(ctx, reqs[i])
		if err != nil || res.Outcome != onboarding.OutcomeOnboarded {
			b.Fatalf("signup %d: %v %v", i, res.Outcome, err)
		}
	}
}

// BenchmarkResume re-drives one due verified record per iteration: list due
// records, claim, Plivo, onboarded record. The same WABA is reset to
// verified each time, so the store stays one record large.
func BenchmarkResume(b *testing.B) {
	store := memstore.New()
	svc := benchService(store)
	now := time.Now().UTC()
	due := onboarding.Record{
		WABAID: benchWABA(0), State: onboarding.StateVerified, PhoneNumberID: benchPhone, BusinessID: benchBusiness,
		ClientRef: "customer-1", DisplayPhoneNumber: "+1 555-010-0100", RequestID: "seed", LockOwner: "seed",
		LockExpiresAt: now.Add(-time.Minute), CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Minute),
		VerifiedAt: now.Add(-time.Hour), PlivoAttempts: 1, NextRetryAt: now.Add(-time.Minute),
		LastError: onboarding.ReasonPlivoServerError,
	}
	due.PayloadHash = due.Identity().Hash()
	due.PlivoPayloadHash = due.PayloadHash
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer startCPU(b)()
	for i := range b.N {
		store.Put(due)
		rep, err := svc.Resume(ctx, 25, "run")
		if err != nil || rep.Onboarded != 1 {
			b.Fatalf("resume %d: %+v %v", i, rep, err)
		}
	}
}

// startCPU returns a func that reports the process's CPU time per
// iteration since the call as cpu-ns/op. On a machine shared with other
// work, ns/op is wall time and grows with the wait for a core; cpu-ns/op
// does not. GC and other background work of the process are included.
func startCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
