package apigw

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// LinkCheckRoute is the onboarding page's check of its link, as it loads:
// the token travels in HeaderOnboardingSession, never in the URL (access logs).
const LinkCheckRoute = "GET /api/onboarding-sessions/check"

// LinkCheckAnswer is the body of a usable link's answer.
type LinkCheckAnswer struct {
	Usable bool `json:"usable"`
}

// LinkUsedBody is the error answer of a link whose signup named a WABA:
// the page follows that WABA's status (session.LinkCheck). UsedAt is when
// the link was spent, in RFC 3339 to the second ("" when not recorded):
// until the signup's function times out, the page does not take a
// missing record, or one last written before then, as the signup's
// outcome. Both go only to the link's holder, whose own signup spent it.
type LinkUsedBody struct {
	ErrorBody
	WABAID string `json:"waba_id"`
	UsedAt string `json:"used_at,omitempty"`
}

// LinkCheckHandler answers LinkCheckRoute with check (session.LinkCheck):
// 200 {"usable":true}, or the signup's own session error (401 and its
// code), so the page can disable Connect before Meta's dialog. An error
// that comes with the link's use (a used link whose signup named a WABA)
// names that WABA in waba_id, and when the link was spent in used_at.
func LinkCheckHandler(check func(ctx context.Context, token string) (*onboarding.SessionUse, error), log *slog.Logger) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		start := time.Now()
		resp := JSON(http.StatusOK, LinkCheckAnswer{Usable: true})
		if spent, err := check(ctx, Header(req, HeaderOnboardingSession)); err != nil {
			resp = errorAnswer(ctx, log, req.RequestContext.RequestID, err, func(b ErrorBody) any {
				if spent == nil || spent.WABAID == "" {
					return b
				}
				body := LinkUsedBody{ErrorBody: b, WABAID: spent.WABAID}
				if !spent.UsedAt.IsZero() {
					body.UsedAt = spent.UsedAt.UTC().Truncate(time.Second).Format(time.RFC3339)
				}
				return body
			})
		}
		resp.Headers["Cache-Control"] = "no-store"
		accessLog(ctx, log, req, resp, start)
		return resp, nil
	}
}
