package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/stack/console"
	"github.com/techprovider/wa-onboarding/shared/apigw"
)

// TestCustomersCallsTheIAMRoute: /console/customers/{client_ref} calls the
// per-customer function as API Gateway would for a SigV4-signed request
// (route, path parameter, IAM caller) and shows the call and its answer.
func TestCustomersCallsTheIAMRoute(t *testing.T) {
	t.Parallel()
	var got apigw.Request
	c := console.New(nil, nil, nil)
	c.Customers = func(_ context.Context, req apigw.Request) (apigw.Response, error) {
		got = req
		return apigw.JSON(http.StatusOK, map[string]any{"client_ref": req.PathParameters["client_ref"], "records": []any{}}), nil
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/customers/customer%2F42", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var call console.APICall
	if err := json.Unmarshal(rec.Body.Bytes(), &call); err != nil {
		t.Fatal(err)
	}
	if got.RouteKey != "GET /api/customers/{client_ref}/whatsapp" || got.PathParameters["client_ref"] != "customer/42" {
		t.Errorf("event route %q, client_ref %q", got.RouteKey, got.PathParameters["client_ref"])
	}
	if a := got.RequestContext.Authorizer; a == nil || a.IAM == nil || a.IAM.UserARN == "" {
		t.Error("the event carries no IAM caller")
	}
	if call.Status != http.StatusOK || call.Path != "/api/customers/customer%2F42/whatsapp" || call.Route != got.RouteKey {
		t.Errorf("call %+v", call)
	}

	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/console/customers/x", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST answered %d", rec.Code)
	}
	c.Customers = nil
	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/customers/x", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("without the function: %d", rec.Code)
	}
}
