package onboarding_test

import (
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/metrics"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

// The benchmarks here measure the service's own CPU and allocations per
// signup: upstreams answer at once from memory, and the logger and metrics
// are the production JSON and EMF writers aimed at io.Discard, so their
// formatting cost is counted. infra/cmd/bench runs them and reports the figures
// beside the end-to-end ones.

// Fixed IDs of the benchmark signups; each gets its own WABA ID.
const (
	benchAppID    = "700000000000009"
	benchPhone    = onboardingtest.PhoneNumberID
	benchBusiness = onboardingtest.BusinessID
)

func benchService(store onboarding.Store) *onboarding.Service {
	return &onboarding.Service{
		Store:   store,
		Meta:    &onboardingtest.Meta{AppID: benchAppID},
		Plivo:   &onboardingtest.Plivo{},
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
	defer testenv.StartCPU(b)()
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
	defer testenv.StartCPU(b)()
	for i := range b.N {
		store.Put(due)
		rep, err := svc.Resume(ctx, 25, "run")
		if err != nil || rep.Onboarded != 1 {
			b.Fatalf("resume %d: %+v %v", i, rep, err)
		}
	}
}
