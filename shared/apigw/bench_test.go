package apigw_test

import (
	"context"
	"io"
	"strconv"
	"syscall"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/metrics"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

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

// BenchmarkSignupHandler is one signup as the function's handler sees it:
// a payload v2 event parsed, the service run against in-memory fakes that
// answer at once, the JSON answer built, the access log line written (to
// io.Discard, through the production JSON logger).
func BenchmarkSignupHandler(b *testing.B) {
	log := logging.New(io.Discard, "INFO")
	svc := &onboarding.Service{
		Store:   memstore.New(),
		Meta:    benchMeta{},
		Plivo:   benchPlivo{},
		AppID:   func(context.Context) (string, error) { return benchAppID, nil },
		Policy:  onboarding.DefaultRetryPolicy,
		Logger:  log,
		Metrics: &metrics.EMF{W: io.Discard, Namespace: "Bench", Function: "signup"},
	}
	h := apigw.SignupHandler(svc, nil, log)
	reqs := make([]apigw.Request, b.N)
	for i := range reqs {
		waba := strconv.Itoa(100000000000000 + i)
		body := `{"code":"AQ-` + waba + `","waba_id":"` + waba + `","phone_number_id":"` + benchPhone +
			`","business_id":"` + benchBusiness + `","client_ref":"customer-1"}`
		req := apigw.Request{Version: "2.0", RouteKey: "POST /api/whatsapp/embedded-signup", RawPath: "/api/whatsapp/embedded-signup",
			Headers: map[string]string{"content-type": "application/json", "content-length": strconv.Itoa(len(body))}, Body: body}
		req.RequestContext.HTTP.Method = "POST"
		req.RequestContext.RequestID = "rid-" + waba
		reqs[i] = req
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer startCPU(b)()
	for i := range b.N {
		resp, err := h(ctx, reqs[i])
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("signup %d: %d %s %v", i, resp.StatusCode, resp.Body, err)
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
