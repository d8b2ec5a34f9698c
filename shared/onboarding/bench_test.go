package onboarding_test

import (
	"context"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

// The benchmarks here measure the service's own CPU and allocations per
// signup: upstreams answer at once from memory, and the logger and metrics
// are the production JSON and EMF writers aimed at io.Discard, so their
// formatting cost is counted. infra/cmd/bench runs them and reports the figures
// beside the end-to-end ones.

const (
	benchPhone    = onboardingtest.PhoneNumberID
	benchBusiness = onboardingtest.BusinessID
)

// BenchmarkSignup onboards a distinct WABA per iteration: lock, three Meta
// calls, verified record, Plivo, onboarded record.
func BenchmarkSignup(b *testing.B) {
	svc := onboardingtest.BenchService(memstore.New())
	reqs := make([]onboarding.SignupRequest, b.N)
	for i := range reqs {
		waba := onboardingtest.BenchWABA(i)
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
	svc := onboardingtest.BenchService(store)
	now := time.Now().UTC()
	due := onboarding.Record{
		WABAID: onboardingtest.BenchWABA(0), State: onboarding.StateVerified, PhoneNumberID: benchPhone, BusinessID: benchBusiness,
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
