package callbacks_test

import (
	"context"
	"io"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/logging"
)

// BenchmarkReceiverWarmCallback is a warm, signed status callback for an
// onboarded number through the receiver and the service as deployed (no
// dedupe write), with in-memory ports: the function's own work per
// callback, which `go test -cpuprofile` breaks down.
func BenchmarkReceiverWarmCallback(b *testing.B) {
	f := newFixture(onboardedRec)
	f.svc.NoDedupeWrite = true
	f.svc.Logger = logging.New(io.Discard, "INFO")
	tok := &tokens{cached: "t1"}
	r := &apigw.PlivoCallbacks{Service: f.svc, URL: publicURL, Token: tok.get, Logger: f.svc.Logger, Metrics: f.met}
	req := signedEvent("t1", publicURL, status("r-1", "delivered", "+15550100001"), "", true)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := r.Handle(ctx, req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("Handle = %d %s, %v", resp.StatusCode, resp.Body, err)
		}
	}
}
