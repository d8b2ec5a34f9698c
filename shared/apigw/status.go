package apigw

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// HeaderOnboardingSession carries the onboarding-session token the page
// polls the status route with: the proof that the caller is the customer
// the WABA's signup was bound to.
const HeaderOnboardingSession = "X-Onboarding-Session"

// ProviderStatusRoute is the AWS_IAM route that shows the full record of
// any WABA to the Tech Provider's backend.
const ProviderStatusRoute = "GET /api/provider/whatsapp/embedded-signup/{waba_id}"

// providerStatusPattern is ProviderStatusRoute's path.
const providerStatusPattern = "/api/provider/whatsapp/embedded-signup/{waba_id}"

// SessionClientRef returns the client_ref a genuine onboarding-session
// token is bound to. The status route accepts tokens past their expiry
// (see StatusSessionGrace): it only reads, and a signup may take hours to
// finish at Plivo.
type SessionClientRef func(ctx context.Context, token string) (string, error)

// StatusSessionGrace is how long after its expiry a session token still
// shows the record of its own customer's signup: as long as the longest
// link lives (session.MaxTTL).
const StatusSessionGrace = 24 * time.Hour

// StateView is all the status route shows without proof: a WABA ID is not
// a secret, and its record names the customer (client_ref, possibly an
// e-mail address), the number, the business and Plivo's IDs.
type StateView struct {
	WABAID string           `json:"waba_id"`
	State  onboarding.State `json:"state"`
}

// StatusHandler handles GET /api/whatsapp/embedded-signup/{waba_id}
// (state only, or the full record for the customer's own session) and
// ProviderStatusRoute (the full record, behind AWS_IAM; a request that
// skipped IAM is refused).
func StatusHandler(svc *onboarding.Service, sessions SessionClientRef, log *slog.Logger) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		start := time.Now()
		resp := status(ctx, svc, sessions, log, req)
		accessLog(ctx, log, req, resp, start)
		return resp, nil
	}
}

// statusView is the view of rec this request has proven it may see.
func statusView(ctx context.Context, sessions SessionClientRef, log *slog.Logger, req Request, rec *onboarding.Record) any {
	if _, ok := IAMCaller(req); ok {
		return rec.ProviderView()
	}
	if token := Header(req, HeaderOnboardingSession); token != "" && sessions != nil {
		ref, err := sessions(ctx, token)
		if err == nil && ref != "" && ref == rec.ClientRef {
			return rec.View()
		}
		log.InfoContext(ctx, "status session does not show this record", "request_id", req.RequestContext.RequestID,
			"waba_id", rec.WABAID, "error_code", onboarding.ErrorCode(err))
	}
	return StateView{WABAID: rec.WABAID, State: rec.State}
}

// providerRouteRefused refuses a provider-route request that did not come
// through the AWS_IAM authorizer: a route misconfigured without it must
// not serve records to anyone.
func providerRouteRefused(ctx context.Context, log *slog.Logger, req Request) (Response, bool) {
	if !isProviderStatus(req) {
		return Response{}, false
	}
	if _, ok := IAMCaller(req); ok {
		return Response{}, false
	}
	return Error(ctx, log, req.RequestContext.RequestID,
		onboarding.Errorf(onboarding.CodeUnauthorized, "This route requires AWS IAM (SigV4) authorization.")), true
}

// isProviderStatus reports whether req is for ProviderStatusRoute: by its
// route key or, in an event that names no route (a catch-all integration),
// by its path, so that such an integration cannot skip the IAM check.
func isProviderStatus(req Request) bool {
	if req.RouteKey == ProviderStatusRoute {
		return true
	}
	if req.RouteKey != "$default" && req.RouteKey != "" {
		return false
	}
	path := Request{RawPath: RoutePath(req)}
	return pathParam(path, "waba_id", providerStatusPattern) != ""
}

func statusAnswer(view any, rid string) Response {
	return JSON(http.StatusOK, struct {
		Record    any    `json:"record"`
		RequestID string `json:"request_id"`
	}{view, rid})
}
