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

// LinkUsedBody is the error answer of a link whose signup named a WABA:
// the page follows that WABA's status (session.LinkCheck).
type LinkUsedBody struct {
	ErrorBody
	WABAID string `json:"waba_id"`
}

// LinkCheckHandler answers LinkCheckRoute with check (session.LinkCheck):
// 200 {"usable":true}, or the signup's own session error (401 and its
// code), so the page can disable Connect before Meta's dialog. An error
// that comes with a WABA (a used link's signup) names it in waba_id.
func LinkCheckHandler(check func(ctx context.Context, token string) (string, error), log *slog.Logger) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		start := time.Now()
		resp := JSON(http.StatusOK, LinkCheckAnswer{Usable: true})
		if waba, err := check(ctx, Header(req, HeaderOnboardingSession)); err != nil {
			resp = errorAnswer(ctx, log, req.RequestContext.RequestID, err, func(b ErrorBody) any {
				if waba == "" {
					return b
				}
				return LinkUsedBody{ErrorBody: b, WABAID: waba}
			})
		}
		resp.Headers["Cache-Control"] = "no-store"
		accessLog(ctx, log, req, resp, start)
		return resp, nil
	}
}
