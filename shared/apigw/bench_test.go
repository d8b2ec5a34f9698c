package apigw_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

// BenchmarkSignupHandler is one signup as the function's handler sees it:
// a payload v2 event parsed, the service run against in-memory fakes that
// answer at once, the JSON answer built, the access log line written (to
// io.Discard, through the production JSON logger).
func BenchmarkSignupHandler(b *testing.B) {
	svc := onboardingtest.BenchService(memstore.New())
	h := apigw.SignupHandler(svc, nil, svc.Logger)
	reqs := make([]apigw.Request, b.N)
	for i := range reqs {
		waba := onboardingtest.BenchWABA(i)
		body := `{"code":"AQ-` + waba + `","waba_id":"` + waba + `","phone_number_id":"` + onboardingtest.PhoneNumberID +
			`","business_id":"` + onboardingtest.BusinessID + `","client_ref":"customer-1"}`
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
