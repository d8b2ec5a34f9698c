package apigw

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// LinkCheckRoute is the onboarding page's check of its link, as it loads:
// the token travels in HeaderOnboardingSession, never in the URL (access logs).
const LinkCheckRoute = "GET /api/onboarding-sessions/check"

// LinkCheckAnswer is the body of a usable link's answer.
type LinkCheckAnswer struct {
	Usable bool `json:"usable"`
}

// LinkCheckHandler answers LinkCheckRoute with check (session.LinkCheck):
// 200 {"usable":true}, or the signup's own session error (401 and its
// code), so the page can disable Connect before Meta's dialog.
func LinkCheckHandler(check func(ctx context.Context, token string) error, log *slog.Logger) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		start := time.Now()
		resp := JSON(http.StatusOK, LinkCheckAnswer{Usable: true})
		if err := check(ctx, Header(req, HeaderOnboardingSession)); err != nil {
			resp = Error(ctx, log, req.RequestContext.RequestID, err)
		}
		resp.Headers["Cache-Control"] = "no-store"
		accessLog(ctx, log, req, resp, start)
		return resp, nil
	}
}
