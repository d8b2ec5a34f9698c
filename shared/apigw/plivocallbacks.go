package apigw

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// CallbackAnswer is the body of a 200 answer to a Plivo callback. Plivo
// reads only the status code; the body is for people replaying events.
type CallbackAnswer struct {
	Status    callbacks.Outcome `json:"status"`
	RequestID string            `json:"request_id"`
}

// PlivoCallbacks is the POST and GET /webhooks/plivo/whatsapp handler: it parses a
// callback, verifies Plivo's signature, and hands it to the callbacks
// service.
type PlivoCallbacks struct {
	Service *callbacks.Service
	// URL is the public URL Plivo calls (custom domain, stage and path
	// included), which is what Plivo signs. It is configuration: behind
	// API Gateway and a custom domain, the event cannot tell it.
	URL string
	// Token returns the Plivo auth token; refresh fetches it anew, for a
	// signature that fails because the token was rotated.
	Token   func(ctx context.Context, refresh bool) (string, error)
	Logger  *slog.Logger
	Metrics onboarding.Metrics
	// Budget defaults to callbacks.DefaultBudget.
	Budget time.Duration
	// AcceptV2 accepts callbacks signed with V2 only (no V3 header). Off,
	// the default, such a callback is refused like an unsigned one: V2
	// signs neither the body nor the query. On, each V2 nonce is spent in
	// Nonces.
	AcceptV2 bool
	// Nonces binds a signature's nonce to the first body seen with it: every
	// accepted V2 callback's, and a V3 message's (callbacks.CarriesMessageV3).
	// Without it such a callback is answered 500.
	Nonces callbacks.NonceLedger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Handle implements Handler.
func (r *PlivoCallbacks) Handle(ctx context.Context, req Request) (Response, error) {
	start := time.Now()
	resp := r.handle(ctx, req)
	accessLog(ctx, r.Logger, req, resp, start)
	return resp, nil
}

func (r *PlivoCallbacks) handle(ctx context.Context, req Request) Response {
	rid := req.RequestContext.RequestID
	budget := r.Budget
	if budget <= 0 {
		budget = callbacks.DefaultBudget
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	cb, err := ParseCallback(req)
	if err != nil {
		return Error(ctx, r.Logger, rid, err)
	}
	if err := r.verify(ctx, req, cb); err != nil {
		return Error(ctx, r.Logger, rid, err)
	}
	res, err := r.Service.Handle(ctx, cb, rid)
	if err != nil {
		return Error(ctx, r.Logger, rid, err)
	}
	return JSON(http.StatusOK, CallbackAnswer{Status: res.Outcome, RequestID: rid})
}

// ParseCallback reads a payload v2 event as a Plivo callback: a POST with a
// form-encoded body, which API Gateway may have base64-encoded, or a GET
// with the same fields in the query, as Plivo calls a URL whose method is
// set to GET. It keeps every field, known or not, and fails only on fields
// that are not a form.
func ParseCallback(req Request) (*callbacks.Callback, error) {
	switch Method(req) {
	case http.MethodPost:
	case http.MethodGet:
		if len(req.RawQueryString) > callbacks.MaxBodyBytes {
			return nil, onboarding.Errorf(onboarding.CodePayloadTooLarge, "The request is too large.")
		}
		// A "#" ends the URL that is signed, but not the fields read: what
		// follows it would be read without being signed.
		if strings.Contains(req.RawQueryString, "#") {
			return nil, onboarding.Errorf(onboarding.CodeInvalidRequest, "The query is not a form.")
		}
		fields, err := callbacks.ParseForm([]byte(req.RawQueryString))
		if err != nil {
			return nil, err
		}
		return &callbacks.Callback{Fields: fields}, nil
	default:
		return nil, onboarding.Errorf(onboarding.CodeMethodNotAllowed, "Use POST or GET for this resource.")
	}
	if Header(req, "Content-Type") != "" {
		if mt, ok := mediaType(req); !ok || mt != "application/x-www-form-urlencoded" {
			return nil, onboarding.Errorf(onboarding.CodeUnsupportedMedia, "Send the body as application/x-www-form-urlencoded.")
		}
	}
	body, err := readBodyUpTo(req, callbacks.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	fields, err := callbacks.ParseForm(body)
	if err != nil {
		return nil, err
	}
	return &callbacks.Callback{Fields: fields}, nil
}

// verify checks the signature with the cached auth token and, when that
// fails, once more with a freshly fetched one: a token rotated in the
// Plivo console signs callbacks before this cache notices. V3 is required
// unless AcceptV2; a V2 signature then also spends its nonce, and so does a
// V3 one that carries a message someone wrote (callbacks.CarriesMessageV3).
func (r *PlivoCallbacks) verify(ctx context.Context, req Request, cb *callbacks.Callback) error {
	// A signature header may hold several signatures (matchesAny), but
	// one nonce: a nonce that came twice is read as the one it repeats.
	header := func(name string) string { return headerOnce(req, name) }
	signed := r.signedURL(req)
	method := Method(req)
	token, err := r.Token(ctx, false)
	if err != nil {
		return onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The callback cannot be verified right now; retry later.")
	}
	scheme, ok := callbacks.VerifySignature(header, token, method, signed, cb.Fields)
	refusedScheme := scheme == callbacks.SchemeNone || (scheme == callbacks.SchemeV2 && !r.AcceptV2)
	if !ok && !refusedScheme {
		fresh, err := r.Token(ctx, true)
		switch {
		case err != nil:
			r.Logger.WarnContext(ctx, "plivo token refresh failed", "request_id", req.RequestContext.RequestID, "error", err)
		case fresh != token:
			scheme, ok = callbacks.VerifySignature(header, fresh, method, signed, cb.Fields)
		}
	}
	if ok && !refusedScheme {
		switch {
		case scheme == callbacks.SchemeV2:
			return r.spendNonce(ctx, req, cb, scheme, header(callbacks.HeaderNonceV2))
		case callbacks.CarriesMessageV3(method, signed, cb.Fields):
			return r.spendNonce(ctx, req, cb, scheme, header(callbacks.HeaderNonceV3))
		}
		return nil
	}
	if r.Metrics != nil {
		r.Metrics.Count(callbacks.MetricSignatureInvalid, onboarding.Dims{"Scheme": string(scheme)})
	}
	// Which headers came, never their values: a signature is not secret,
	// but nothing here needs it. The URL is logged without its query: a
	// GET callback's query is the message itself.
	r.Logger.WarnContext(ctx, "callback signature refused", "request_id", req.RequestContext.RequestID,
		"scheme", scheme, "signed_url", withoutQuery(signed), "query_bytes", len(req.RawQueryString), "v2_accepted", r.AcceptV2)
	return errSignature()
}

func errSignature() error {
	return onboarding.Errorf(callbacks.CodeSignatureInvalid, "The Plivo signature of this callback is missing or invalid.")
}

// spendNonce binds a verified nonce to this body: the first body seen with
// it is the one Plivo signed for, a different one is a forgery.
func (r *PlivoCallbacks) spendNonce(ctx context.Context, req Request, cb *callbacks.Callback, scheme callbacks.Scheme, nonce string) error {
	if r.Nonces == nil {
		return onboarding.Errorf(onboarding.CodeInternal, "Callbacks are verified without a nonce ledger.")
	}
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	err := r.Nonces.Spend(ctx, scheme, nonce, cb.Hash(), now.Add(callbacks.NonceRetention), now)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, callbacks.ErrNonceReused):
		if r.Metrics != nil {
			r.Metrics.Count(callbacks.MetricNonceReused, onboarding.Dims{"Scheme": string(scheme)})
		}
		r.Logger.WarnContext(ctx, "callback refused: signature nonce reused with another body", "request_id", req.RequestContext.RequestID, "scheme", scheme)
		return errSignature()
	default:
		return onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The callback cannot be verified right now; retry later.")
	}
}

func withoutQuery(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}

// signedURL is the URL Plivo called and signed: the configured public URL
// (the request cannot tell a custom domain or stage) with the query the
// request arrived with. A GET's query is the configured query, if any,
// with the fields after it: all of it is signed, and all of it is read as
// fields, so the arriving query is what is checked. A POST's query is
// the configured one, or, when the configuration gives none, the one the
// request arrived with.
func (r *PlivoCallbacks) signedURL(req Request) string {
	switch {
	case Method(req) == http.MethodGet && req.RawQueryString != "":
		return withoutQuery(r.URL) + "?" + req.RawQueryString
	case req.RawQueryString != "" && !strings.Contains(r.URL, "?"):
		return r.URL + "?" + req.RawQueryString
	}
	return r.URL
}
