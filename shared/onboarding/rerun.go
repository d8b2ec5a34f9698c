package onboarding

import (
	"context"
	"errors"
	"log/slog"
)

// A customer may run Embedded Signup again for a WABA whose record says
// Plivo onboarded it (onboarded or restricted). Meta may have removed our
// access since, in a removal whose webhook never reached us (Meta gives up
// redelivering after seven days), and sharing the WABA again does not
// subscribe our app to its webhooks: only a subscribed_apps call with the
// customer's business token does, and that token exists only during a
// signup. Answered from the record alone, such a signup would leave Meta
// sending us nothing about the WABA.
//
// So a signup that matches such a record spends its code (rerun): it
// exchanges it, proves control of the WABA, its number and its owner as a
// new signup does (proveControl), subscribes our app again and stamps the
// record (Store.StampSubscribed), then answers from the record as a
// replay, as before. Plivo is not called, and the record changes by its
// stamp only. What stops short of that:
//
//   - a code Meta does not exchange is answered from the record as
//     before. The double POST of one code (a retry after a lost answer;
//     the code is single use, and Graph refuses it the second time with
//     code 100, subcode 36009 "This authorization code has been used")
//     is the usual case: the first post did the work. Meta failing or
//     refusing our app's secret is answered the same way: the WABA is
//     onboarded, and failing the customer would not subscribe our app
//     either;
//   - Meta failing during the proof, likewise, once the code is spent;
//   - a token that does not prove control (another WABA's grant, another
//     app, a number or owner that is not the record's) is refused as a
//     new signup's failed proof is, with nothing of the record: the
//     session proved only which customer posts, not that this run shared
//     the WABA, and "connected" would hide a WABA we are still not
//     subscribed to;
//   - a retry seconds after another attempt of the same signup spent the
//     same session token with the same code (recentOtherAttempt,
//     SessionUse.CodeHash) is answered from the record without calling
//     Meta: it is that attempt's lost answer, and that attempt spends the
//     code. A new code seconds after is a new run of Meta's flow (the
//     first one refused, say): it is spent and proven.

// rerun answers a signup whose WABA's record is onboarded at Plivo and
// matches it; replay is the record's answer (answerKnown).
func (s *Service) rerun(ctx context.Context, req SignupRequest, replay SignupResult, use, first *SessionUse, log *slog.Logger) (*SignupResult, error) {
	if recentOtherAttempt(use, first) && (first.CodeHash == "" || first.CodeHash == use.CodeHash) {
		log.Info("signup retried seconds after another attempt; answered from its record without spending the code")
		return &replay, nil
	}
	token, err := timed(s, ctx, log, ServiceMeta, "exchange_code", func() (string, error) { return s.Meta.ExchangeCode(ctx, req.Code) })
	if err != nil {
		if ue, ok := AsUpstream(err); ok && ue.Kind == KindConfig {
			s.metrics().Count(MetricMetaConfig, nil)
		}
		log.Info("code of a signup run again not exchanged; answered from its record", "error", err)
		return &replay, nil
	}
	return s.resubscribe(ctx, token, req.Identity.BusinessID, replay, log)
}

// resubscribe proves that token controls the WABA of replay's record, its
// number and its owner (the business the request claimed, when it sent
// one, and the record's), then subscribes our app to the WABA again.
func (s *Service) resubscribe(ctx context.Context, token, claimed string, replay SignupResult, log *slog.Logger) (*SignupResult, error) {
	rec := replay.Record
	if claimed == "" {
		claimed = rec.BusinessID
	}
	// The request matches the record: the business it claims, if any, is
	// the record's, which Meta must name as the owner.
	_, _, err := s.proveControl(ctx, token, rec.WABAID, rec.PhoneNumberID, claimed, log)
	switch {
	case metaDown(err):
		log.Warn("meta failed to prove a signup run again; answered from its record, our app not subscribed again", "error", err)
		return &replay, nil
	case err != nil:
		// Unlocked and unrecorded, the refusal writes nothing.
		return nil, s.metaFailed(ctx, &Record{WABAID: rec.WABAID}, err, log)
	}
	p := s.Policy.withDefaults()
	// Bounded as a new signup's subscription is: a Graph that hangs does
	// not hold the customer's answer.
	subCtx, cancel := context.WithTimeout(ctx, p.SubscribeGrace)
	defer cancel()
	if s.subscribeApp(subCtx, token, rec.WABAID, log) != nil {
		return &replay, nil
	}
	s.metrics().Count(MetricWebhookResubscribed, nil)
	at := s.now()
	// The subscription is made: it is recorded even when the invocation
	// is ending, as a save is.
	stampCtx, stop := s.detached(ctx)
	defer stop()
	switch err := s.Store.StampSubscribed(stampCtx, rec.WABAID, at); {
	case err == nil:
		log.Info("our app subscribed again to the WABA of a signup run again", "state", rec.State, "subscribed_at", at)
	case errors.Is(err, ErrConditionFailed):
		// Disconnected meanwhile, or a later run stamped it first.
		log.Info("our app subscribed again; the record took no stamp", "state", rec.State)
	default:
		s.metrics().Count(MetricStoreError, Dims{"Operation": "stamp_subscribed"})
		log.Error("our app subscribed again; the stamp was not recorded", "error", err)
	}
	return &replay, nil
}

// metaDown reports whether err is Meta failing (or refusing our own app's
// configuration) rather than refusing the customer's grant.
func metaDown(err error) bool {
	if err == nil {
		return false
	}
	if ue, ok := AsUpstream(err); ok {
		return ue.Kind == KindConfig || ue.Retryable()
	}
	return ErrorCode(err) == CodeInternal
}
