package apigw

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// CustomerLister lists one customer's records; *dynamo.Store is one
// (ByClientRef queries the table's by-client index).
type CustomerLister interface {
	ByClientRef(ctx context.Context, clientRef string) ([]onboarding.Record, error)
}

// CustomerAnswer is the body of GET /api/customers/{client_ref}/whatsapp.
type CustomerAnswer struct {
	ClientRef string                      `json:"client_ref"`
	Records   []onboarding.CustomerRecord `json:"records"`
	RequestID string                      `json:"request_id"`
}

// CustomersHandler serves GET /api/customers/{client_ref}/whatsapp, an
// AWS_IAM route: the Tech Provider's backend (and its console) reads every
// WABA and number of one customer, with state, health and last error.
func CustomersHandler(list CustomerLister, log *slog.Logger) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		start := time.Now()
		resp := customers(ctx, list, log, req)
		accessLog(ctx, log, req, resp, start)
		return resp, nil
	}
}

func customers(ctx context.Context, list CustomerLister, log *slog.Logger, req Request) Response {
	rid := req.RequestContext.RequestID
	if m := Method(req); m != http.MethodGet && m != http.MethodHead {
		return Error(ctx, log, rid, onboarding.Errorf(onboarding.CodeMethodNotAllowed, "Use GET for this resource."))
	}
	// API Gateway lets only IAM-signed requests through; a request without
	// an IAM caller did not come through that route.
	if _, ok := IAMCaller(req); !ok {
		return Error(ctx, log, rid, onboarding.Errorf(onboarding.CodeUnauthorized, "Sign this request with AWS SigV4 (AWS_IAM)."))
	}
	ref := pathParam(req, "client_ref", customersPattern)
	if !onboarding.ValidClientRef(ref) {
		return Error(ctx, log, rid, &onboarding.Error{Code: onboarding.CodeInvalidRequest, Message: "The request is invalid.",
			Fields: []onboarding.FieldError{{Field: "client_ref", Message: "client_ref is not a valid customer reference."}}})
	}
	recs, err := list.ByClientRef(ctx, ref)
	if err != nil {
		return Error(ctx, log, rid, onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The records cannot be read right now; retry later."))
	}
	out := CustomerAnswer{ClientRef: ref, Records: make([]onboarding.CustomerRecord, 0, len(recs)), RequestID: rid}
	for i := range recs {
		out.Records = append(out.Records, recs[i].CustomerView())
	}
	return JSON(http.StatusOK, out)
}
