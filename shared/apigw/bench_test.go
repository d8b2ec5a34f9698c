package apigw_test

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/metrics"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

// Fixed IDs of the benchmark signups; each gets its own WABA ID.
const (
	benchAppID    = "700000000000009"
	benchPhone    = onboardingtest.PhoneNumberID
	benchBusiness = onboardingtest.BusinessID
)

// BenchmarkSignupHandler is one signup as the function's handler sees it:
// a payload v2 event parsed, the service run against in-memory fakes that
// answer at once, the JSON answer built, the access log line written (to
// io.Discard, through the production JSON logger).
func BenchmarkSignupHandler(b *testing.B) {
	log := logging.New(io.Discard, "INFO")
	svc := &onboarding.Service{
		Store:   memstore.New(),
		Meta:    &onboardingtest.Meta{AppID: benchAppID},
		Plivo:   &onboardingtest.Plivo{},
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
	defer testenv.StartCPU(b)()
	for i := range b.N {
		resp, err := h(ctx, reqs[i])
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("signup %d: %d %s %v", i, resp.StatusCode, resp.Body, err)
		}
	}
}
