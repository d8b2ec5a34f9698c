package callbacks

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// DefaultBudget is how long a Receiver works on one callback before it
// gives up: Plivo waits 8 s for an answer, and API Gateway and the network
// take their share.
const DefaultBudget = 6 * time.Second

// Answer is the body of a 200 answer. Plivo reads only the status code;
// the body is for people replaying events.
type Answer struct {
	Status    Outcome `json:"status"`
	RequestID string  `json:"request_id"`
}

// Receiver is the POST /webhooks/plivo/whatsapp handler: it parses a
// callback, verifies Plivo's signature, and hands it to the Service.
type Receiver struct {
	Service *Service
	// URL is the public URL Plivo calls (custom domain, stage and path
	// included), which is what Plivo signs. It is configuration: behind
	// API Gateway and a custom domain, the event cannot tell it.
	URL string
	// Token returns the Plivo auth token; refresh fetches it anew, for a
	// signature that fails because the token was rotated.
	Token   func(ctx context.Context, refresh bool) (string, error)
	Logger  *slog.Logger
	Metrics onboarding.Metrics
	// Budget defaults to DefaultBudget.
	Budget time.Duration
	// AcceptV2 accepts callbacks signed with V2 only (no V3 header). Off,
	// the default, such a callback is refused like an unsigned one: V2
	// signs neither the body nor the query. On, each V2 nonce is spent in
	// Nonces, which is then required.
	AcceptV2 bool
	Nonces   NonceLedger
	// Now defaults to time.Now.
	Now func() time.Time
}

// NonceRetention is how long a spent V2 nonce is remembered: as long as an
// unrouted callback is kept, far past Plivo's retries. A pair captured
// and replayed after that still carries only the body it was first seen
// with, unless the attacker also waited out every record of it.
const NonceRetention = DefaultUnroutedTTL

// MetricNonceReused counts V2 callbacks refused because their nonce came
// with another body before.
const MetricNonceReused = "CallbackNonceReused"

// Handle implements apigw.Handler.
func (r *Receiver) Handle(ctx context.Context, req apigw.Request) (apigw.Response, error) {
	start := time.Now()
	resp := r.handle(ctx, req)
	apigw.AccessLog(ctx, r.Logger, req, resp, start)
	return resp, nil
}

func (r *Receiver) handle(ctx context.Context, req apigw.Request) apigw.Response {
	rid := req.RequestContext.RequestID
	ctx, cancel := context.WithTimeout(ctx, orDefault(r.Budget, DefaultBudget))
	defer cancel()
	cb, err := ParseCallback(req)
	if err != nil {
		return apigw.Error(ctx, r.Logger, rid, err)
	}
	if err := r.verify(ctx, req, cb); err != nil {
		return apigw.Error(ctx, r.Logger, rid, err)
	}
	res, err := r.Service.Handle(ctx, cb, rid)
	if err != nil {
		return apigw.Error(ctx, r.Logger, rid, err)
	}
	return apigw.JSON(http.StatusOK, Answer{Status: res.Outcome, RequestID: rid})
}

// verify checks the signature with the cached auth token and, when that
// fails, once more with a freshly fetched one: a token rotated in the
// Plivo console signs callbacks before this cache notices. V3 is required
// unless AcceptV2; a V2 signature then also spends its nonce.
func (r *Receiver) verify(ctx context.Context, req apigw.Request, cb *Callback) error {
	header := func(name string) string { return apigw.Header(req, name) }
	signed := r.signedURL(req)
	method := apigw.Method(req)
	token, err := r.Token(ctx, false)
	if err != nil {
		return onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The callback cannot be verified right now; retry later.")
	}
	scheme, ok := VerifySignature(header, token, method, signed, cb.Fields)
	refusedScheme := scheme == SchemeNone || (scheme == SchemeV2 && !r.AcceptV2)
	if !ok && !refusedScheme {
		fresh, err := r.Token(ctx, true)
		switch {
		case err != nil:
			r.Logger.WarnContext(ctx, "plivo token refresh failed", "request_id", req.RequestContext.RequestID, "error", err)
		case fresh != token:
			scheme, ok = VerifySignature(header, fresh, method, signed, cb.Fields)
		}
	}
	if ok && !refusedScheme {
		if scheme != SchemeV2 {
			return nil
		}
		return r.spendNonce(ctx, req, cb, header(HeaderNonceV2))
	}
	if r.Metrics != nil {
		r.Metrics.Count(MetricSignatureInvalid, onboarding.Dims{"Scheme": string(scheme)})
	}
	// Which headers came, never their values: a signature is not secret,
	// but nothing here needs it.
	r.Logger.WarnContext(ctx, "callback signature refused", "request_id", req.RequestContext.RequestID,
		"scheme", scheme, "signed_url", signed, "v2_accepted", r.AcceptV2)
	return errSignature()
}

func errSignature() error {
	return onboarding.Errorf(CodeSignatureInvalid, "The Plivo signature of this callback is missing or invalid.")
}

// spendNonce binds a verified V2 nonce to this body: the first body seen
// with it is the one Plivo signed for, a different one is a forgery.
func (r *Receiver) spendNonce(ctx context.Context, req apigw.Request, cb *Callback, nonce string) error {
	if r.Nonces == nil {
		return onboarding.Errorf(onboarding.CodeInternal, "V2 callbacks are accepted without a nonce ledger.")
	}
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	err := r.Nonces.Spend(ctx, nonce, cb.Hash(), now.Add(NonceRetention), now)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNonceReused):
		if r.Metrics != nil {
			r.Metrics.Count(MetricNonceReused, nil)
		}
		r.Logger.WarnContext(ctx, "callback refused: V2 nonce reused with another body", "request_id", req.RequestContext.RequestID)
		return errSignature()
	default:
		return onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The callback cannot be verified right now; retry later.")
	}
}

// signedURL is the configured public URL, with the query the request
// arrived with when the configuration gives none: Plivo signs the query of
// the URL it called.
func (r *Receiver) signedURL(req apigw.Request) string {
	if req.RawQueryString != "" && !strings.Contains(r.URL, "?") {
		return r.URL + "?" + req.RawQueryString
	}
	return r.URL
}
