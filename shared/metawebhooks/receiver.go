package metawebhooks

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"time"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// MaxBodyBytes refuses bodies over 256 KiB before their signature is
// computed: Meta's account and phone-number notifications are a few hundred
// bytes, and a batch of them a few KiB.
const MaxBodyBytes = 256 << 10

// DefaultBudget is how long a Receiver works on one delivery: Meta expects
// an answer within seconds, and each change is two or three writes.
const DefaultBudget = 4 * time.Second

// Answer is the body of a 200 answer to a notification.
type Answer struct {
	Changes   []Result `json:"changes"`
	RequestID string   `json:"request_id"`
}

// Receiver is the GET and POST /webhooks/meta handler.
type Receiver struct {
	Service *Service
	// AppSecret returns the Meta app secret that signs the bodies; refresh
	// fetches it anew, for a signature made with a rotated secret.
	AppSecret func(ctx context.Context, refresh bool) (string, error)
	// VerifyToken returns the token registered with Meta for the
	// verification handshake.
	VerifyToken func(ctx context.Context) (string, error)
	Logger      *slog.Logger
	Metrics     onboarding.Metrics
	// Budget defaults to DefaultBudget.
	Budget time.Duration
}

// Handle implements apigw.Handler.
func (r *Receiver) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	start := time.Now()
	budget := r.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	var resp apigw.Response
	switch apigw.Method(req) {
	case http.MethodGet:
		resp = r.verifyHandshake(ctx, req)
	case http.MethodPost:
		resp = r.notification(ctx, req)
	default:
		resp = apigw.Error(ctx, r.Logger, req.RequestContext.RequestID,
			onboarding.Errorf(onboarding.CodeMethodNotAllowed, "Use GET or POST for this resource."))
	}
	apigw.AccessLog(ctx, r.Logger, req, resp, start)
	return resp, nil
}

// verifyHandshake answers Meta's subscription check: hub.mode=subscribe
// and our verify token get hub.challenge back as plain text.
func (r *Receiver) verifyHandshake(ctx context.Context, req apigw.Request) apigw.Response {
	rid := req.RequestContext.RequestID
	q := req.QueryStringParameters
	mode, token, challenge := q["hub.mode"], q["hub.verify_token"], q["hub.challenge"]
	want, err := r.VerifyToken(ctx)
	if err != nil {
		return apigw.Error(ctx, r.Logger, rid, onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The verification cannot be answered right now."))
	}
	if mode != "subscribe" || challenge == "" || want == "" || subtle.ConstantTimeCompare([]byte(token), []byte(want)) != 1 {
		r.Logger.WarnContext(ctx, "meta webhook verification refused", "request_id", rid, "mode", mode, "has_challenge", challenge != "")
		return apigw.Error(ctx, r.Logger, rid, onboarding.Errorf(CodeWebhookVerifyRefused, "The verification request is not ours."))
	}
	r.Logger.InfoContext(ctx, "meta webhook verified", "request_id", rid)
	return apigw.Response{StatusCode: http.StatusOK, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: challenge}
}

func (r *Receiver) notification(ctx context.Context, req apigw.Request) apigw.Response {
	rid := req.RequestContext.RequestID
	body, err := apigw.BodyUpTo(req, MaxBodyBytes)
	if err != nil {
		return apigw.Error(ctx, r.Logger, rid, err)
	}
	if err := r.verify(ctx, req, body); err != nil {
		return apigw.Error(ctx, r.Logger, rid, err)
	}
	n, err := ParseNotification(body)
	if err != nil {
		return apigw.Error(ctx, r.Logger, rid, &onboarding.Error{Code: onboarding.CodeInvalidRequest, Message: "The request is invalid.",
			Fields: []onboarding.FieldError{{Field: "body", Message: "The body is not a JSON webhook notification."}}})
	}
	results, err := r.Service.Handle(ctx, n, rid)
	if err != nil {
		return apigw.Error(ctx, r.Logger, rid, err)
	}
	if results == nil {
		results = []Result{}
	}
	return apigw.JSON(http.StatusOK, Answer{Changes: results, RequestID: rid})
}

// verify checks X-Hub-Signature-256 with the cached app secret and, when
// that fails, once more with a freshly fetched one.
func (r *Receiver) verify(ctx context.Context, req apigw.Request, body []byte) error {
	header := apigw.Header(req, HeaderSignature)
	secret, err := r.AppSecret(ctx, false)
	if err != nil {
		return onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The webhook cannot be verified right now; retry later.")
	}
	ok := Verify(secret, body, header)
	if !ok && header != "" {
		if fresh, err := r.AppSecret(ctx, true); err == nil && fresh != secret {
			ok = Verify(fresh, body, header)
		}
	}
	if ok {
		return nil
	}
	if r.Metrics != nil {
		r.Metrics.Count(MetricSignatureInvalid, nil)
	}
	r.Logger.WarnContext(ctx, "meta webhook signature refused", "request_id", req.RequestContext.RequestID, "signed", header != "")
	return onboarding.Errorf(CodeWebhookSignatureInvalid, "The X-Hub-Signature-256 of this webhook is missing or invalid.")
}
