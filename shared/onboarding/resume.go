package onboarding

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"
)

// ResumeReport summarises one resume run.
type ResumeReport struct {
	Due       int `json:"due"`
	Claimed   int `json:"claimed"`
	Onboarded int `json:"onboarded"`
	Pending   int `json:"pending"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
	// Lifted counts restricted records moved back to onboarded because
	// their restriction's end had come.
	Lifted int `json:"lifted"`
}

// Resume retries Plivo for verified records whose retry time has come, then
// lifts the restrictions whose end has come. Each record is claimed with a
// conditional write first, so overlapping runs (or a signup still running)
// never call Plivo twice for one WABA.
func (s *Service) Resume(ctx context.Context, limit int, runID string) (ResumeReport, error) {
	report, plivoErr := s.resumePlivo(ctx, limit, runID)
	lifted, liftErr := s.liftExpired(ctx, limit, runID)
	report.Lifted = lifted
	return report, cmp.Or(plivoErr, liftErr)
}

// liftExpired moves restricted records whose restriction ended back to
// onboarded. Meta sends no webhook when a restriction lapses; without this
// a restricted_until in the past would read as restricted for good.
func (s *Service) liftExpired(ctx context.Context, limit int, runID string) (int, error) {
	now := s.now()
	expired, err := s.Store.ExpiredRestrictions(ctx, now, limit)
	if err != nil {
		s.metrics().Count(MetricStoreError, Dims{"Operation": "expired"})
		return 0, Wrap(CodeUpstreamUnavailable, err, "could not list expired restrictions")
	}
	lifted := 0
	reserve := s.Policy.withDefaults().Reserve
	for _, r := range expired {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < reserve {
			break // the next run lifts the rest
		}
		rec, err := s.Store.LiftRestriction(ctx, r.WABAID, s.now())
		if errors.Is(err, ErrConditionFailed) {
			continue // reinstated, restricted again or disconnected since the listing
		}
		if err != nil {
			s.metrics().Count(MetricStoreError, Dims{"Operation": "lift"})
			s.log().Error("could not lift an expired restriction", "request_id", runID, "waba_id", r.WABAID, "error", err)
			continue
		}
		lifted++
		s.log().Info("restriction ended", "request_id", runID, "waba_id", rec.WABAID, "client_ref", rec.ClientRef,
			"restricted_until", r.RestrictedUntil)
	}
	return lifted, nil
}

// resumePlivo is Resume's Plivo half.
func (s *Service) resumePlivo(ctx context.Context, limit int, runID string) (ResumeReport, error) {
	p := s.Policy.withDefaults()
	p.InRequestAttempts = 1
	var report ResumeReport
	now := s.now()
	due, err := s.Store.Due(ctx, now, limit)
	if err != nil {
		s.metrics().Count(MetricStoreError, Dims{"Operation": "due"})
		return report, Wrap(CodeUpstreamUnavailable, err, "could not list records due for retry")
	}
	report.Due = len(due)
	for i, d := range due {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < p.Reserve+5*time.Second {
			s.skip(ctx, &report, s.log().With("request_id", runID), slog.LevelWarn, skipOutOfTime, len(due)-i,
				"resume run out of time; the next run takes the rest")
			break
		}
		now := s.now()
		owner := newOwner(runID)
		lockUntil := s.lockUntil(ctx, now)
		rec, err := s.Store.Claim(ctx, d.WABAID, owner, now, lockUntil)
		if errors.Is(err, ErrConditionFailed) {
			s.skip(ctx, &report, s.log().With("request_id", runID, "waba_id", d.WABAID), slog.LevelInfo, skipNotClaimable, 1,
				"due record not claimed: another run or a signup holds it, or it changed since the listing")
			continue
		}
		if err != nil {
			s.metrics().Count(MetricStoreError, Dims{"Operation": "claim"})
			s.skip(ctx, &report, s.log().With("request_id", runID, "waba_id", d.WABAID, "error", err), slog.LevelError, skipStoreError, 1,
				"could not claim record")
			continue
		}
		report.Claimed++
		log := s.log().With("request_id", runID, "waba_id", rec.WABAID, "client_ref", rec.ClientRef)
		s.metrics().Count(MetricResumeAttempt, nil)
		priorCalls := rec.PlivoAttempts - 1
		if rec.State == StateVerifying {
			// A proven signup none of whose saves landed: it may have called
			// Plivo, so "already registered" is ours (callPlivo).
			log.Warn("resuming a proven signup whose verification was never recorded")
			id := rec.Identity()
			rec.State, rec.PayloadHash, rec.PlivoPayloadHash = StateVerified, id.Hash(), id.Hash()
			rec.VerifiedAt = cmp.Or(rec.VerifiedAt, rec.CreatedAt)
			priorCalls = max(priorCalls, 1)
		}
		log.Info("resuming signup", "attempt", rec.PlivoAttempts, "last_error", rec.LastError)
		callCtx, cancel := upstreamContext(ctx, p)
		res, err := s.callPlivo(callCtx, rec, log, p, priorCalls)
		cancel()
		switch {
		case err != nil:
			report.Failed++
		case res.Outcome == OutcomeOnboarded:
			report.Onboarded++
		default:
			report.Pending++
		}
	}
	return report, nil
}

// Why a resume run leaves a due record for a later run: the reason of its
// log line and the Reason of MetricResumeSkipped. A skipped record stays
// due, so its skip is what explains a retry that comes late.
const (
	skipNotClaimable = "not_claimable"
	skipStoreError   = "store_error"
	skipOutOfTime    = "out_of_time"
)

// skip counts n due records as skipped for reason, and logs it once at
// level with msg.
func (s *Service) skip(ctx context.Context, report *ResumeReport, log *slog.Logger, level slog.Level, reason string, n int, msg string) {
	report.Skipped += n
	for range n {
		s.metrics().Count(MetricResumeSkipped, Dims{"Reason": reason})
	}
	log.Log(ctx, level, msg, "reason", reason, "skipped", n)
}

// Status returns the stored record of one WABA.
func (s *Service) Status(ctx context.Context, wabaID string) (Record, error) {
	if !ValidWABAID(wabaID) {
		return Record{}, &Error{Code: CodeInvalidRequest, Message: "The request is invalid.",
			Fields: []FieldError{{Field: "waba_id", Message: "waba_id must be a Meta object ID (digits only, no leading zero, at most 20)."}}}
	}
	rec, err := s.Store.Get(ctx, wabaID)
	if errors.Is(err, ErrNotFound) {
		return Record{}, Errorf(CodeNotFound, "No signup is recorded for this WhatsApp Business Account.")
	}
	if err != nil {
		return Record{}, Wrap(CodeUpstreamUnavailable, err, "The service is temporarily unavailable. Please try again.")
	}
	return *rec, nil
}
