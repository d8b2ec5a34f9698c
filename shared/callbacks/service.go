package callbacks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Metric names of the receiver. Dimensions are Kind, Reason or Scheme:
// never a number, MessageUUID or client_ref.
const (
	MetricPublished        = "CallbackPublished"
	MetricDuplicate        = "CallbackDuplicate"
	MetricUnrouted         = "CallbackUnrouted"
	MetricSignatureInvalid = "CallbackSignatureInvalid"
	MetricInProgress       = "CallbackInProgress"
	MetricPublishFailed    = "CallbackPublishFailed"
	MetricLedgerError      = "CallbackLedgerError"
	MetricPublishLatency   = "CallbackPublishLatency"
)

// Defaults of a Service's zero fields.
const (
	// DefaultPublishTimeout bounds one PutEvents, the SDK's retries
	// included: Plivo waits 8 s for the whole answer.
	DefaultPublishTimeout = 2 * time.Second
	// DefaultTTL keeps a dedupe entry far longer than Plivo's retries
	// (each 60, 120 and 240 s after the one before: the last 7 min after
	// the first try).
	DefaultTTL = 7 * 24 * time.Hour
	// DefaultUnroutedTTL gives an operator time to look at unrouted ones.
	DefaultUnroutedTTL = 30 * 24 * time.Hour
	// defaultClaim is a claim's length when ctx has no deadline.
	defaultClaim = 10 * time.Second
	// finishTimeout bounds the ledger write after a publish or a failure,
	// which runs even when the request's budget is spent.
	finishTimeout = time.Second
	// maxDetailBytes keeps an event under EventBridge's 256 KiB entry
	// limit, with room for the envelope.
	maxDetailBytes = 240 << 10
)

// EventSource is the EventBridge source of every callback event.
const EventSource = "wa-onboarding.plivo"

// Outcome is what became of a verified callback.
type Outcome string

// Outcomes of Service.Handle; all of them are answered 200.
const (
	OutcomePublished Outcome = "published"
	OutcomeDuplicate Outcome = "duplicate"
	OutcomeUnrouted  Outcome = "unrouted"
)

// Result is the outcome of one callback.
type Result struct {
	Outcome Outcome
	Key     string
	EventID string
	Route   Route
	Reason  string
}

// Detail is the detail of a published event. Consumers should dedupe on
// DedupeKey (or the event id): EventBridge delivers at least once, and a
// crash between publishing and recording it publishes again on Plivo's
// retry.
type Detail struct {
	ClientRef     string `json:"client_ref"`
	WABAID        string `json:"waba_id"`
	PhoneNumberID string `json:"phone_number_id"`
	BusinessID    string `json:"business_id,omitempty"`
	Kind          Kind   `json:"kind"`
	MessageUUID   string `json:"message_uuid"`
	Status        string `json:"status,omitempty"`
	DedupeKey     string `json:"dedupe_key"`
	ReceivedAt    string `json:"received_at"`
	// Callback holds every field Plivo sent: a string, or a list of
	// strings for a field Plivo repeated.
	Callback map[string]any `json:"callback"`
}

// Service routes verified callbacks and publishes each one once.
type Service struct {
	Directory Directory
	Ledger    Ledger
	Publisher Publisher
	Logger    *slog.Logger
	Metrics   onboarding.Metrics
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// PublishTimeout, TTL and UnroutedTTL default to the Default values.
	PublishTimeout time.Duration
	TTL            time.Duration
	UnroutedTTL    time.Duration
	// NoDedupeWrite publishes a routed callback without claiming its key
	// in the Ledger first and marking it after. Those two writes only keep
	// a Plivo redelivery of a published callback off the bus, and consumers
	// dedupe on dedupe_key anyway (the bus delivers at least once); they
	// cost more per million callbacks than the redeliveries they stop
	// (docs/bench.md). Unrouted callbacks are stored in the Ledger either
	// way: it is where an operator finds them.
	NoDedupeWrite bool
}

func (s *Service) now() time.Time { return onboarding.NowUTC(s.Now) }

func (s *Service) metrics() onboarding.Metrics { return onboarding.MetricsOrNop(s.Metrics) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Handle routes a verified callback and publishes it, unless its key was
// already published or stored unrouted. It claims the key before
// publishing and marks it published after, so a redelivery after a crash in
// between publishes (the claim expires) and one after the mark does not.
// Errors are domain errors: 409 while another invocation holds the claim,
// 503 when the callback could not be recorded or published, so that Plivo
// retries.
func (s *Service) Handle(ctx context.Context, cb *Callback, requestID string) (Result, error) {
	now := s.now()
	res := Result{Key: cb.Key()}
	route, reason, err := resolve(ctx, s.Directory, cb)
	if err != nil {
		s.metrics().Count(onboarding.MetricStoreError, onboarding.Dims{"Operation": "route"})
		return res, onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The callback could not be routed right now; retry later.")
	}
	var detail []byte
	if reason == "" {
		detail, err = s.detail(cb, route, res.Key, now)
		if err != nil {
			return res, onboarding.Wrap(onboarding.CodeInternal, err, "The callback could not be encoded.")
		}
		if len(detail) > maxDetailBytes {
			reason = ReasonOversize
		}
	}

	if reason == "" && s.NoDedupeWrite {
		// No ledger write: a failure answers 503 so that Plivo retries, and
		// a redelivery is published again under the same dedupe_key.
		eventID, err := s.putOnBus(ctx, cb, detail, now)
		if err != nil {
			return res, err
		}
		return s.published(ctx, cb, route, eventID, requestID, res), nil
	}

	e := &Entry{
		Key: res.Key, State: EntryClaimed, Owner: requestID, ClaimExpiresAt: claimDeadline(ctx, now),
		ExpiresAt: now.Add(orDefault(s.TTL, DefaultTTL)), PayloadHash: cb.Hash(), Kind: cb.Kind(),
		MessageUUID: cb.MessageUUID(), Status: cb.Status(), Route: route, RequestID: requestID,
		CreatedAt: now, UpdatedAt: now,
	}
	if reason != "" {
		e.State, e.Reason, e.Fields = EntryUnrouted, reason, cb.Fields
		e.Owner, e.ClaimExpiresAt = "", time.Time{}
		e.ExpiresAt = now.Add(orDefault(s.UnroutedTTL, DefaultUnroutedTTL))
	}
	existing, err := s.Ledger.Claim(ctx, e, now)
	switch {
	case errors.Is(err, onboarding.ErrConditionFailed):
		return s.repeated(ctx, cb, e, existing, now)
	case err != nil:
		s.metrics().Count(onboarding.MetricStoreError, onboarding.Dims{"Operation": "claim"})
		return res, onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The callback could not be recorded; retry later.")
	}

	if reason != "" {
		res.Outcome, res.Reason = OutcomeUnrouted, reason
		s.metrics().Count(MetricUnrouted, onboarding.Dims{"Reason": reason})
		s.Logger.WarnContext(ctx, "callback unrouted", "request_id", requestID, "key", res.Key, "kind", cb.Kind(), "reason", reason)
		return res, nil
	}

	eventID, err := s.putOnBus(ctx, cb, detail, now)
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer fcancel()
	if err != nil {
		if rerr := s.Ledger.Release(fctx, res.Key, requestID, s.now()); rerr != nil {
			// The claim then ends at its deadline instead.
			s.Logger.WarnContext(ctx, "callback claim not released", "request_id", requestID, "key", res.Key, "error", rerr)
		}
		return res, err
	}
	if err := s.Ledger.MarkPublished(fctx, res.Key, requestID, eventID, s.now()); err != nil {
		// Published all the same: answering 5xx would only make Plivo
		// redeliver it, and the expired claim would publish it again.
		s.metrics().Count(MetricLedgerError, onboarding.Dims{"Op": "mark_published"})
		s.Logger.ErrorContext(ctx, "callback published but not marked", "request_id", requestID, "key", res.Key, "event_id", eventID, "error", err)
	}
	return s.published(ctx, cb, route, eventID, requestID, res), nil
}

// putOnBus publishes cb's event within the publish budget and records the
// outcome with its latency as one data point.
func (s *Service) putOnBus(ctx context.Context, cb *Callback, detail []byte, now time.Time) (string, error) {
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, s.publishBudget(ctx))
	eventID, err := s.Publisher.Publish(pctx, Event{DetailType: cb.DetailType(), Detail: detail, Time: now})
	cancel()
	outcome := MetricPublished
	if err != nil {
		outcome = MetricPublishFailed
	}
	s.metrics().CountWithLatency(outcome, MetricPublishLatency, time.Since(start), onboarding.Dims{"Kind": string(cb.Kind())})
	if err != nil {
		return "", onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The callback could not be published; retry later.")
	}
	return eventID, nil
}

// published is res once cb's event is on the bus, logged.
func (s *Service) published(ctx context.Context, cb *Callback, route Route, eventID, requestID string, res Result) Result {
	s.Logger.InfoContext(ctx, "callback published", "request_id", requestID, "key", res.Key, "kind", cb.Kind(),
		"waba_id", route.WABAID, "event_id", eventID)
	res.Outcome, res.EventID, res.Route = OutcomePublished, eventID, route
	return res
}

// repeated answers a callback whose key already has an entry that won.
func (s *Service) repeated(ctx context.Context, cb *Callback, mine, existing *Entry, now time.Time) (Result, error) {
	res := Result{Key: mine.Key}
	if existing == nil || existing.State == EntryClaimed {
		retry := time.Second
		if existing != nil && existing.ClaimExpiresAt.Sub(now) > retry {
			retry = existing.ClaimExpiresAt.Sub(now)
		}
		s.metrics().Count(MetricInProgress, onboarding.Dims{"Kind": string(cb.Kind())})
		e := onboarding.Errorf(CodeCallbackInProgress, "This callback is being handled; retry later.")
		e.RetryAfter = retry
		return res, e
	}
	res.Outcome, res.EventID, res.Reason = OutcomeDuplicate, existing.EventID, existing.Reason
	res.Route = existing.Route
	s.metrics().Count(MetricDuplicate, onboarding.Dims{"Kind": string(cb.Kind())})
	// A different payload under the same key is logged, not refused:
	// Plivo would only retry a refusal, and the key was handled already.
	s.Logger.InfoContext(ctx, "callback duplicate", "request_id", mine.RequestID, "key", mine.Key,
		"first_request_id", existing.RequestID, "state", existing.State, "same_payload", existing.PayloadHash == mine.PayloadHash)
	return res, nil
}

// claimDeadline ends a claim with the invocation's own deadline: a claim
// that outlives its holder blocks Plivo's retries for nothing.
func claimDeadline(ctx context.Context, now time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d.UTC()
	}
	return now.Add(defaultClaim)
}

// publishBudget is PublishTimeout, cut short so that releasing or marking
// the claim still fits before the invocation's deadline.
func (s *Service) publishBudget(ctx context.Context) time.Duration {
	d := orDefault(s.PublishTimeout, DefaultPublishTimeout)
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - finishTimeout/2; left < d {
			d = max(left, time.Millisecond)
		}
	}
	return d
}

func (s *Service) detail(cb *Callback, route Route, key string, now time.Time) ([]byte, error) {
	fields := make(map[string]any, len(cb.Fields))
	for k, vs := range cb.Fields {
		if len(vs) == 1 {
			fields[k] = vs[0]
		} else {
			fields[k] = vs
		}
	}
	d := Detail{
		ClientRef: route.ClientRef, WABAID: route.WABAID, PhoneNumberID: route.PhoneNumberID, BusinessID: route.BusinessID,
		Kind: cb.Kind(), MessageUUID: cb.MessageUUID(), Status: cb.Status(), DedupeKey: key,
		ReceivedAt: now.Format(time.RFC3339Nano), Callback: fields,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Message texts keep their <, > and & readable for consumers.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
