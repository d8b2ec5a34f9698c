package onboardingtest

import (
	"context"
	"io"
	"strconv"

	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/metrics"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// BenchAppID is the Meta app of the benchmark signups.
const BenchAppID = "700000000000009"

// BenchService is the service the benchmarks measure: upstreams that answer
// at once from memory, and the production JSON logger and EMF writer aimed
// at io.Discard, so that their formatting is counted as the function's own
// work.
func BenchService(store onboarding.Store) *onboarding.Service {
	return &onboarding.Service{
		Store:   store,
		Meta:    &Meta{AppID: BenchAppID},
		Plivo:   &Plivo{},
		AppID:   func(context.Context) (string, error) { return BenchAppID, nil },
		Policy:  onboarding.DefaultRetryPolicy,
		Logger:  logging.New(io.Discard, "INFO"),
		Metrics: &metrics.EMF{W: io.Discard, Namespace: "Bench", Function: "signup"},
	}
}

// BenchWABA returns the i-th distinct WABA ID of a benchmark run: each
// iteration onboards its own WABA.
func BenchWABA(i int) string {
	return strconv.Itoa(100000000000000 + i)
}
