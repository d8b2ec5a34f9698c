package apigw

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Handler is a Lambda handler for HTTP API payload v2 events.
type Handler func(ctx context.Context, req Request) (Response, error)

// SignupAnswer is the body of a successful signup answer.
type SignupAnswer struct {
	Status    string          `json:"status"`
	Replayed  bool            `json:"replayed,omitempty"`
	Record    onboarding.View `json:"record"`
	RequestID string          `json:"request_id"`
}

// SessionCheck verifies an onboarding session token against the signup's
// identity (the body's client_ref must match) without spending it, and
// returns the use the signup is to spend: onboarding.Service.Signup spends
// it before anything goes upstream.
// Nil means sessions are not enforced.
type SessionCheck func(ctx context.Context, token string, id onboarding.Identity) (onboarding.SessionUse, error)

// SignupHandler handles POST /api/whatsapp/embedded-signup.
func SignupHandler(svc *onboarding.Service, sessions SessionCheck, log *slog.Logger) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		start := time.Now()
		resp := signup(ctx, svc, sessions, log, req)
		accessLog(ctx, log, req, resp, start)
		return resp, nil
	}
}

func signup(ctx context.Context, svc *onboarding.Service, sessions SessionCheck, log *slog.Logger, req Request) Response {
	rid := req.RequestContext.RequestID
	in, err := ParseSignup(req)
	if err != nil {
		return Error(ctx, log, rid, err)
	}
	svc.Prepared(ctx)
	if sessions != nil {
		use, err := sessions(ctx, in.Session, in.Request.Identity)
		if err != nil {
			return Error(ctx, log, rid, err)
		}
		in.Request.Identity.ClientRef = use.ClientRef
		in.Request.Session = &use
	}
	res, err := svc.Signup(ctx, in.Request)
	if err != nil {
		return Error(ctx, log, rid, err)
	}
	answer := SignupAnswer{Record: res.Record.View(), RequestID: rid}
	switch {
	case res.Record.State.OnboardedAtPlivo():
		// A restricted WABA is onboarded at Plivo; the record's state says
		// that Meta holds it back for now.
		answer.Status = "onboarded"
		answer.Replayed = res.Outcome == onboarding.OutcomeReplayed
		return JSON(http.StatusOK, answer)
	default:
		answer.Status = "pending"
		answer.Replayed = res.Outcome == onboarding.OutcomeReplayed || res.Outcome == onboarding.OutcomePending && res.Record.RequestID != rid
		return JSON(http.StatusAccepted, answer)
	}
}

func status(ctx context.Context, svc *onboarding.Service, sessions SessionClientRef, log *slog.Logger, req Request) Response {
	rid := req.RequestContext.RequestID
	if m := Method(req); m != http.MethodGet && m != http.MethodHead {
		return Error(ctx, log, rid, onboarding.Errorf(onboarding.CodeMethodNotAllowed, "Use GET for this resource."))
	}
	if resp, refused := providerRouteRefused(ctx, log, req); refused {
		return resp
	}
	waba := pathParam(req, "waba_id", statusPattern)
	rec, err := svc.Status(ctx, waba)
	if err != nil {
		return Error(ctx, log, rid, err)
	}
	return statusAnswer(statusView(ctx, sessions, log, req, &rec), rid)
}

// accessLog writes one line per request: what CloudWatch Logs Insights
// queries group by. It never includes the body.
func accessLog(ctx context.Context, log *slog.Logger, req Request, resp Response, start time.Time) {
	log.InfoContext(ctx, "request",
		"request_id", req.RequestContext.RequestID,
		"route", req.RouteKey,
		"method", Method(req),
		"status", resp.StatusCode,
		"duration_ms", float64(time.Since(start).Microseconds())/1000,
	)
}
