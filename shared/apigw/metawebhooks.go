package apigw

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"time"

	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// WebhookAnswer is the body of a 200 answer to a Meta notification.
type WebhookAnswer struct {
	Changes   []metawebhooks.Result `json:"changes"`
	RequestID string                `json:"request_id"`
}

// MetaWebhooks is the GET and POST /webhooks/meta handler: Meta's
// subscription handshake, and signed notifications handed to the
// metawebhooks service.
type MetaWebhooks struct {
	Service *metawebhooks.Service
	// AppSecret returns the Meta app secret that signs the bodies; refresh
	// fetches it anew, for a signature made with a rotated secret.
	AppSecret func(ctx context.Context, refresh bool) (string, error)
	// VerifyToken returns the token registered with Meta for the
	// verification handshake; refresh fetches it anew, for a token an
	// operator has just put (Meta checks it the moment they save).
	VerifyToken func(ctx context.Context, refresh bool) (string, error)
	Logger      *slog.Logger
	Metrics     onboarding.Metrics
	// Budget defaults to metawebhooks.DefaultBudget.
	Budget time.Duration
}

// Handle implements Handler.
func (r *MetaWebhooks) Handle(ctx context.Context, req Request) (Response, error) {
	start := time.Now()
	budget := r.Budget
	if budget <= 0 {
		budget = metawebhooks.DefaultBudget
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	var resp Response
	switch Method(req) {
	case http.MethodGet:
		resp = r.verifyHandshake(ctx, req)
	case http.MethodPost:
		resp = r.notification(ctx, req)
	default:
		resp = Error(ctx, r.Logger, req.RequestContext.RequestID,
			onboarding.Errorf(onboarding.CodeMethodNotAllowed, "Use GET or POST for this resource."))
	}
	accessLog(ctx, r.Logger, req, resp, start)
	return resp, nil
}

// verifyHandshake answers Meta's subscription check: hub.mode=subscribe
// and our verify token get hub.challenge back as plain text.
func (r *MetaWebhooks) verifyHandshake(ctx context.Context, req Request) Response {
	rid := req.RequestContext.RequestID
	q := req.QueryStringParameters
	mode, token, challenge := q["hub.mode"], q["hub.verify_token"], q["hub.challenge"]
	matches := func(refresh bool) (bool, error) {
		want, err := r.VerifyToken(ctx, refresh)
		return want != "" && subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1, err
	}
	ok, err := matches(false)
	if err == nil && !ok && mode == "subscribe" && challenge != "" && token != "" {
		// The cached token may predate the one just put for Meta; the
		// cache lets a refresh through at most once a second.
		ok, err = matches(true)
	}
	if err != nil {
		return Error(ctx, r.Logger, rid, onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The verification cannot be answered right now."))
	}
	if mode != "subscribe" || challenge == "" || !ok {
		r.Logger.WarnContext(ctx, "meta webhook verification refused", "request_id", rid, "mode", mode, "has_challenge", challenge != "")
		return Error(ctx, r.Logger, rid, onboarding.Errorf(metawebhooks.CodeWebhookVerifyRefused, "The verification request is not ours."))
	}
	r.Logger.InfoContext(ctx, "meta webhook verified", "request_id", rid)
	return Response{StatusCode: http.StatusOK, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: challenge}
}

func (r *MetaWebhooks) notification(ctx context.Context, req Request) Response {
	rid := req.RequestContext.RequestID
	body, err := readBodyUpTo(req, metawebhooks.MaxBodyBytes)
	if err != nil {
		return Error(ctx, r.Logger, rid, err)
	}
	if err := r.verify(ctx, req, body); err != nil {
		return Error(ctx, r.Logger, rid, err)
	}
	n, err := metawebhooks.ParseNotification(body)
	if err != nil {
		return Error(ctx, r.Logger, rid, &onboarding.Error{Code: onboarding.CodeInvalidRequest, Message: "The request is invalid.",
			Fields: []onboarding.FieldError{{Field: "body", Message: "The body is not a JSON webhook notification."}}})
	}
	results, err := r.Service.Handle(ctx, n, rid)
	if err != nil {
		return Error(ctx, r.Logger, rid, err)
	}
	if results == nil {
		results = []metawebhooks.Result{}
	}
	return JSON(http.StatusOK, WebhookAnswer{Changes: results, RequestID: rid})
}

// verify checks X-Hub-Signature-256 with the cached app secret and, when
// that fails, once more with a freshly fetched one.
func (r *MetaWebhooks) verify(ctx context.Context, req Request, body []byte) error {
	header := Header(req, metawebhooks.HeaderSignature)
	secret, err := r.AppSecret(ctx, false)
	if err != nil {
		return onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The webhook cannot be verified right now; retry later.")
	}
	ok := metawebhooks.Verify(secret, body, header)
	if !ok && header != "" {
		if fresh, err := r.AppSecret(ctx, true); err == nil && fresh != secret {
			ok = metawebhooks.Verify(fresh, body, header)
		}
	}
	if ok {
		return nil
	}
	if r.Metrics != nil {
		r.Metrics.Count(metawebhooks.MetricSignatureInvalid, nil)
	}
	r.Logger.WarnContext(ctx, "meta webhook signature refused", "request_id", req.RequestContext.RequestID, "signed", header != "")
	return onboarding.Errorf(metawebhooks.CodeWebhookSignatureInvalid, "The X-Hub-Signature-256 of this webhook is missing or invalid.")
}
