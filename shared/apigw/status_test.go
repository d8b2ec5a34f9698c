package apigw_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestStatusDisclosure: a WABA ID is not a secret, so the status route
// shows the state alone unless the caller proves it may see more: the
// onboarding session of the record's own customer, or AWS_IAM on the
// provider route (which refuses a request that skipped IAM).
func TestStatusDisclosure(t *testing.T) {
	t.Parallel()
	const waba = "109876543210987"
	store := memstore.New()
	rec := &onboarding.Record{WABAID: waba, State: onboarding.StateOnboarded, PhoneNumberID: "1", BusinessID: "2",
		ClientRef: "ceo@victim.example", DisplayPhoneNumber: "+1 555-0100", PlivoAPIID: "api-1",
		LastError: "plivo_undocumented", LastErrorMessage: "PLIVO-OWN-TEXT about the provider's account"}
	if _, err := store.Acquire(context.Background(), rec, rec.CreatedAt); err != nil {
		t.Fatal(err)
	}
	svc := &onboarding.Service{Store: store}
	sessions := func(_ context.Context, token string) (string, error) {
		switch token {
		case "victim-session":
			return "ceo@victim.example", nil
		case "attacker-session":
			return "attacker", nil
		}
		return "", onboarding.Errorf(onboarding.CodeSessionInvalid, "invalid")
	}
	h := apigw.StatusHandler(svc, sessions, logging.New(&strings.Builder{}, "ERROR"))
	iam := &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
		UserARN: "arn:aws:iam::123456789012:role/provider-backend"}}
	tests := []struct {
		name    string
		route   string
		path    string
		session string
		auth    *events.APIGatewayV2HTTPRequestContextAuthorizerDescription
		code    int
		full    bool
		// upstream: Plivo's own text, which only the provider may read.
		upstream bool
	}{
		{name: "anonymous", code: 200},
		{name: "another customer's session", session: "attacker-session", code: 200},
		{name: "forged session", session: "v1.x.y.z", code: 200},
		{name: "the customer's own session", session: "victim-session", code: 200, full: true},
		{name: "provider route with IAM", route: apigw.ProviderStatusRoute, auth: iam, code: 200, full: true, upstream: true},
		{name: "provider route without IAM", route: apigw.ProviderStatusRoute, code: 401},
		{name: "provider route with a session only", route: apigw.ProviderStatusRoute, session: "victim-session", code: 401},
		// A catch-all integration ($default, as aws-lambda-go's samples
		// and `sam local generate-event` send) names no route: the path
		// tells the provider route, and it still requires IAM.
		{name: "provider path through $default without IAM", route: "$default", path: "/api/provider/whatsapp/embedded-signup/" + waba, code: 401},
		{name: "provider path through $default on a stage", route: "$default", path: "/prod/api/provider/whatsapp/embedded-signup/" + waba + "/", code: 401},
		{name: "provider path through $default with IAM", route: "$default", path: "/api/provider/whatsapp/embedded-signup/" + waba, auth: iam, code: 200, full: true, upstream: true},
		{name: "public path through $default", route: "$default", path: "/api/whatsapp/embedded-signup/" + waba, code: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := statusEvent(waba)
			if tt.route != "" {
				req.RouteKey = tt.route
			}
			if tt.path != "" {
				req.RawPath, req.PathParameters = tt.path, nil
			}
			if tt.session != "" {
				req.Headers["x-onboarding-session"] = tt.session
			}
			req.RequestContext.Authorizer = tt.auth
			resp, err := h(context.Background(), req)
			if err != nil || resp.StatusCode != tt.code {
				t.Fatalf("status = %d %s, %v; want %d", resp.StatusCode, resp.Body, err, tt.code)
			}
			if tt.code != 200 {
				return
			}
			disclosed := strings.Contains(resp.Body, "ceo@victim.example") || strings.Contains(resp.Body, "api-1") || strings.Contains(resp.Body, "555")
			if disclosed != tt.full || !strings.Contains(resp.Body, `"state":"onboarded"`) {
				t.Errorf("full view %v, want %v: %s", disclosed, tt.full, resp.Body)
			}
			if upstream := strings.Contains(resp.Body, "PLIVO-OWN-TEXT"); upstream != tt.upstream {
				t.Errorf("Plivo's own text shown %v, want %v: %s", upstream, tt.upstream, resp.Body)
			}
		})
	}
}
