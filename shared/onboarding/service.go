package onboarding

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/shared/upstream"
)

// DefaultLockDuration bounds a signup's lock when the context carries no
// deadline (local runs and tests); in Lambda the invocation deadline is used.
const DefaultLockDuration = 30 * time.Second

// Service turns a finished Embedded Signup into an onboarded WABA at Plivo,
// exactly once per WABA, recording every step in the Store.
type Service struct {
	Store Store
	// Sessions spends the session tokens of signups, and counts their
	// retries when it is a SessionReuseCounter. Required when requests
	// carry a Session.
	Sessions SessionLedger
	Meta     Meta
	Plivo    Plivo
	AppID    func(ctx context.Context) (string, error)
	Policy   RetryPolicy
	Logger   *slog.Logger
	Metrics  Metrics
	Now      func() time.Time
	Random   func() float64
	Sleep    func(ctx context.Context, d time.Duration) error
	// Prepare, when set, loads at once what a valid signup request is
	// about to need (the secrets, on a cold start), so that the loads
	// overlap instead of following one another. See Service.Prepared.
	Prepare func(ctx context.Context)
}

// Prepared runs Prepare, if any. The signup handler calls it once the
// request has parsed, before the session check, whose key fetch then joins
// the loads in flight.
func (s *Service) Prepared(ctx context.Context) {
	if s.Prepare != nil {
		s.Prepare(ctx)
	}
}

// SignupRequest is what the onboarding page sends once Meta's flow finished.
// Code is secret: it is never stored or logged.
type SignupRequest struct {
	Code      string
	Identity  Identity
	RequestID string
	// Session is the verified, not yet spent, onboarding-session token
	// the signup is bound to; nil when sessions are not enforced. Signup
	// spends it for Identity.WABAID, and the record gets its ClientRef.
	Session *SessionUse
	// WABAOnly is set when Meta's flow ended with FINISH_ONLY_WABA: the
	// customer shared a WABA and no phone number (see finish.go).
	WABAOnly bool
}

// Outcome says how a signup request ended.
type Outcome string

// Outcomes of a signup request.
const (
	OutcomeOnboarded Outcome = "onboarded"
	OutcomePending   Outcome = "pending"
	OutcomeReplayed  Outcome = "replayed"
)

// SignupResult is a signup's outcome and the record as stored.
type SignupResult struct {
	Outcome Outcome
	Record  Record
}

func (s *Service) now() time.Time { return NowUTC(s.Now) }

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Service) metrics() Metrics { return MetricsOrNop(s.Metrics) }

func (s *Service) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	return upstream.Sleep(ctx, d)
}

// lockUntil is when a lock taken now must be considered abandoned: the
// invocation deadline, after which this process can no longer act.
func (s *Service) lockUntil(ctx context.Context, now time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d.UTC().Add(time.Second)
	}
	return now.Add(DefaultLockDuration)
}

// upstreamContext keeps p.Reserve of the invocation back from upstream
// calls, so the outcome can always be saved.
func upstreamContext(ctx context.Context, p RetryPolicy) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-p.Reserve))
	}
	return context.WithCancel(ctx)
}

// newOwner returns a lock owner token unique to this attempt, so a process
// whose lock expired can never overwrite the work of the one that took over.
func newOwner(requestID string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	if requestID == "" {
		return hex.EncodeToString(b[:])
	}
	return requestID + "/" + hex.EncodeToString(b[:])
}

// Signup verifies the code and IDs with Meta, records the verified signup,
// and onboards it at Plivo. The code is exchanged at most once per call.
//
// A signup bound to an onboarding session (req.Session) spends the token
// (Sessions) before anything else, whether or not Meta will accept the
// code; a token spent before is let through only for a capped number of
// retries of the same signup (SessionUse.Reuse, countReuse), and its
// refusal wins over anything the WABA's record would say. A signup naming
// its WABA takes the WABA's lock only once Meta has proven control
// (proof.go), so a warm signup writes four times: token, lock, verified,
// onboarded.
func (s *Service) Signup(ctx context.Context, req SignupRequest) (SignupResult, error) {
	res, err := s.signup(ctx, req)
	// Counted on the answer, not where the record first looked like a
	// replay: a signup run again for an onboarded WABA (rerun.go) is
	// refused after that when its token does not prove the WABA, and a
	// signup is counted once, replayed or failed.
	if err == nil && res.Outcome == OutcomeReplayed {
		s.metrics().Count(MetricSignupReplayed, nil)
	}
	return res, err
}

func (s *Service) signup(ctx context.Context, req SignupRequest) (SignupResult, error) {
	if err := ValidateIdentity(req.Identity); err != nil {
		return SignupResult{}, err
	}
	if req.Code == "" {
		return SignupResult{}, &Error{Code: CodeInvalidRequest, Message: "The request is invalid.",
			Fields: []FieldError{{Field: "code", Message: "code is required."}}}
	}
	// One owner names this attempt in the session's ledger and on the
	// WABA's lock and the records it writes: a resend of the same post
	// finds what this attempt ended in by it (answerOtherAttempt).
	owner := newOwner(req.RequestID)
	use, err := bindSession(&req, owner)
	if err != nil {
		return SignupResult{}, err
	}
	p := s.Policy.withDefaults()
	// Without a WABA ID the line names none until Meta does (verify): an
	// empty waba_id would stand beside the real one on later lines.
	log := s.log().With("request_id", req.RequestID, "client_ref", req.Identity.ClientRef)
	if req.Identity.WABAID != "" {
		log = log.With("waba_id", req.Identity.WABAID)
	}
	s.metrics().Count(MetricSignupStarted, nil)

	now := s.now()
	lockUntil := s.lockUntil(ctx, now)
	ctx, cancel := upstreamContext(ctx, p)
	defer cancel()
	rec := &Record{
		WABAID:        req.Identity.WABAID,
		State:         StateVerifying,
		PhoneNumberID: req.Identity.PhoneNumberID,
		BusinessID:    req.Identity.BusinessID,
		ClientRef:     req.Identity.ClientRef,
		RequestID:     req.RequestID,
		LockOwner:     owner,
		LockExpiresAt: lockUntil,
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	// The token is spent before anything goes upstream; the WABA's lock
	// waits for Meta's proof of control (proof.go). Without a WABA ID,
	// Meta must name the WABA before there is a key.
	var firstUse *SessionUse
	if use != nil {
		if firstUse, err = s.spendSession(ctx, *use, log); err != nil {
			return SignupResult{}, err
		}
	}
	if rec.WABAID != "" {
		answer, err := s.answerKnown(ctx, req.Identity, log)
		if err == nil && answer != nil && answer.Outcome == OutcomeReplayed {
			// Onboarded at Plivo, and the same signup: run again, or
			// posted twice (rerun.go).
			return answered(s.rerun(ctx, req, *answer, use, firstUse, log))
		}
		if err != nil || answer != nil {
			return answered(answer, err)
		}
		ctx = deferLock(ctx, rec)
	}

	if req.WABAOnly {
		ctx = withWABAOnly(ctx)
	}
	token, err := timed(s, ctx, log, ServiceMeta, "exchange_code", func() (string, error) { return s.Meta.ExchangeCode(ctx, req.Code) })
	if err != nil {
		if answer, aerr := s.answerOtherAttempt(ctx, req.Identity, use, firstUse, err, log); aerr != nil || answer != nil {
			return answered(answer, aerr)
		}
		return SignupResult{}, s.metaFailed(ctx, rec, err, log)
	}
	if answer, err := s.verify(ctx, token, rec, req.Identity, log); err != nil || answer != nil {
		return answered(answer, err)
	}
	if req.Identity.WABAID == "" {
		log = log.With("waba_id", rec.WABAID)
	}
	if answer, err := s.takeProvenLock(ctx, rec, req.Identity, true, log); err != nil || answer != nil {
		return answered(answer, err)
	}
	subscribeCtx, stopSubscribe := context.WithCancel(ctx)
	defer stopSubscribe()
	subscribed := s.subscribe(subscribeCtx, token, rec.WABAID, log)
	res, err := s.onboard(ctx, rec, log, p)
	// The subscription usually ends before Plivo does. A Graph that hangs
	// must not hold the customer's answer (and the function) for the rest
	// of the deadline: past the grace the subscription is given up, counted
	// and logged like a refused one. Nothing outlives the request.
	grace := time.NewTimer(p.SubscribeGrace)
	defer grace.Stop()
	select {
	case <-subscribed:
	case <-grace.C:
		stopSubscribe()
		<-subscribed
	}
	return res, err
}

// subscribe subscribes our app to the WABA's webhooks while Plivo onboards
// it. Meta sends a WABA's account and phone-number webhooks only to the
// apps subscribed to it, and the business token that may subscribe ours
// exists only during this request. The signup does not fail with it: the
// failure is logged and counted (MetricWebhookSubscribeFailed), and an
// operator subscribes the WABA with a system user's token.
func (s *Service) subscribe(ctx context.Context, token, wabaID string, log *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.subscribeApp(ctx, token, wabaID, log)
	}()
	return done
}

// subscribeApp makes the subscription call, and counts and logs its
// failure (MetricWebhookSubscribeFailed).
func (s *Service) subscribeApp(ctx context.Context, token, wabaID string, log *slog.Logger) error {
	_, err := timed(s, ctx, log, ServiceMeta, "subscribe_app", func() (struct{}, error) {
		return struct{}{}, s.Meta.SubscribeApp(ctx, token, wabaID)
	})
	if err != nil {
		s.metrics().Count(MetricWebhookSubscribeFailed, nil)
		log.WarnContext(ctx, "our app is not subscribed to the WABA's webhooks", "error", err)
	}
	return err
}

// answered is the signup's answer when the WABA's existing record decided
// it (answer) or the signup was refused (err).
func answered(answer *SignupResult, err error) (SignupResult, error) {
	if err != nil || answer == nil {
		return SignupResult{}, err
	}
	return *answer, nil
}

// bindSession returns the session use req spends, for its WABA, by the
// attempt owner, and binds req to the token's client_ref.
func bindSession(req *SignupRequest, owner string) (*SessionUse, error) {
	if req.Session == nil {
		return nil, nil
	}
	u := *req.Session
	if u.ID == "" {
		return nil, Wrap(CodeInternal, errors.New("onboarding: session use without an ID"), "An internal error occurred.")
	}
	if req.Identity.ClientRef != "" && req.Identity.ClientRef != u.ClientRef {
		return nil, SessionFailure(CodeClientRefMismatch, errors.New("request client_ref differs from the session's"))
	}
	req.Identity.ClientRef = u.ClientRef
	u.WABAID = req.Identity.WABAID
	u.Attempt = owner
	u.CodeHash = CodeHash(req.Code)
	return &u, nil
}

// acquire takes the WABA's lock. The session token, if any, is spent
// before (spendSession). It returns (nil, nil) once rec is locked. When it
// cannot lock, the answer comes from the existing record, or err refuses
// the request.
func (s *Service) acquire(ctx context.Context, rec *Record, id Identity, log *slog.Logger) (*SignupResult, error) {
	existing, err := s.Store.Acquire(ctx, rec, s.now())
	switch {
	case err == nil:
		log.Info("signup locked", "state", StateVerifying)
		return nil, nil
	case errors.Is(err, ErrConditionFailed) && existing != nil && existing.LockOwner != "" && existing.LockOwner == rec.LockOwner:
		// The lock we hold: the SDK resent a write whose answer was lost
		// after DynamoDB applied it. Owners are unique to an attempt.
		log.Info("signup locked; the store's retry found our own lock", "state", StateVerifying)
		return nil, nil
	case errors.Is(err, ErrConditionFailed) && existing != nil && reconnects(rec, existing, id, s.now()):
		// Our access was removed and the customer runs the signup again:
		// take the disconnected record over, once, as a reconnect.
		rec.Reconnect, rec.PreviousState = true, existing.State
		if existing.Reconnect && existing.PreviousState != "" {
			// A reconnect that stopped half-way: it still comes from the
			// disconnect.
			rec.PreviousState = existing.PreviousState
		}
		if rec.PhoneNumberID == "" {
			// A reconnect is of the number Plivo onboarded: kept through a
			// wait for it, so that the signup naming it matches, and asked
			// of Meta when Meta names the WABA only now.
			rec.PhoneNumberID = existing.PhoneNumberID
		}
		log.Info("signup reconnects a disconnected WABA", "state_reason", existing.StateReason)
		return s.acquire(ctx, rec, id, log)
	case errors.Is(err, ErrConditionFailed) && existing != nil:
		return s.answerFromRecord(existing, id, log)
	default:
		// Always after the code exchange: the code is spent.
		s.metrics().Count(MetricStoreError, Dims{"Operation": "acquire"})
		log.Error("store unavailable for the lock; nothing sent to Plivo", "error", err)
		return nil, notRecorded(err)
	}
}

// spendSession spends the signup's token before its code is exchanged. A
// token spent before is refused (SessionUse.Reuse), unless this is a retry
// of the same signup: then the earlier use is returned, for
// answerOtherAttempt: the attempt that spent this post's code when one did
// (a resend), else the token's first use (SessionLedger.Spend).
func (s *Service) spendSession(ctx context.Context, use SessionUse, log *slog.Logger) (*SessionUse, error) {
	if s.Sessions == nil {
		return nil, Wrap(CodeInternal, errors.New("onboarding: a signup bound to a session, and no Sessions ledger"), "An internal error occurred.")
	}
	prev, err := s.Sessions.Spend(ctx, use)
	switch {
	case err == nil:
		log.Info("session spent", "session_id", use.ID)
		return nil, nil
	case errors.Is(err, ErrSessionUsed) && prev != nil && prev.Attempt != "" && prev.Attempt == use.Attempt:
		log.Info("session spent; the store's retry found our own use", "session_id", use.ID)
		return nil, nil
	case errors.Is(err, ErrSessionUsed):
		refusal := use.Reuse(prev)
		if refusal != nil {
			log.Info("signup refused by its session", "error_code", ErrorCode(refusal), "error", refusal)
			return nil, refusal
		}
		return prev, s.countReuse(ctx, use, log)
	default:
		s.metrics().Count(MetricStoreError, Dims{"Operation": "spend_session"})
		log.Error("session ledger unavailable", "error", err)
		return nil, Wrap(CodeUpstreamUnavailable, err, "The service is temporarily unavailable. Please try again.")
	}
}

// How a signup whose code Meta refused looks for another attempt of the
// same signup (answerOtherAttempt). The window is the signup function's
// timeout (25 s) with a margin: an attempt older than that has ended. The
// wait covers that attempt's verification, from its code exchange to its
// lock: three Graph calls at once, usually well under a second.
const (
	otherAttemptWindow = 30 * time.Second
	otherAttemptWait   = 3 * time.Second
	otherAttemptPoll   = 250 * time.Millisecond
)

// answerOtherAttempt answers a signup whose code Meta refused when another
// attempt of the same signup may have exchanged that code first: the
// page's Try again, after the answer to its first post was lost, posts the
// same code while the first post is still in Meta's verification. That
// attempt onboards the WABA; "run the signup again" would be wrong.
//
// The WABA's record is read again as before the exchange (answerKnown, so
// the answer shows nothing a request could not see then). Only when the
// session's earlier use (first: spendSession) is another attempt of this
// signup, recent enough to be running still, is it read again every
// otherAttemptPoll for up to otherAttemptWait, for that attempt's lock to
// appear: a refusal with no such evidence is answered at once. When that
// attempt spent this very code (a resend: SessionUse.CodeHash) and already
// ended the signup in a state the customer must act on (phone_unverified,
// awaiting_number, failed at Plivo), this post gets that attempt's answer
// (attemptEnded): "run the signup again" would hide why. (nil, nil) when
// no record answers: the refusal stands.
func (s *Service) answerOtherAttempt(ctx context.Context, id Identity, use, first *SessionUse, refusal error, log *slog.Logger) (*SignupResult, error) {
	if ue, ok := AsUpstream(refusal); !ok || ue.Kind != KindRejected || id.WABAID == "" {
		return nil, nil
	}
	reads := 1
	// spendSession returns a first use only for the same WABA and
	// client_ref (SessionUse.Reuse).
	recent := recentOtherAttempt(use, first)
	if recent {
		reads += int(otherAttemptWait / otherAttemptPoll)
	}
	// A resend of the first attempt's post carries its code: that attempt
	// spent it, and what it ended in is this post's answer too.
	resend := recent && first.CodeHash != "" && first.CodeHash == use.CodeHash
	for i := range reads {
		if i > 0 && s.sleep(ctx, otherAttemptPoll) != nil {
			return nil, nil
		}
		existing, err := s.readKnown(ctx, id.WABAID, log)
		if err != nil {
			// The refusal is what is known.
			return nil, nil
		}
		if existing == nil {
			continue
		}
		if resend {
			if ended := attemptEnded(existing, id, first.Attempt); ended != nil {
				log.Info("code refused after another attempt of the signup spent it and ended; answered as that attempt was",
					"reads", i+1, "state", existing.State, "error_code", ErrorCode(ended))
				return nil, ended
			}
		}
		answer, err := s.answerKnownRecord(existing, id, log)
		if err != nil || answer != nil {
			log.Info("code refused after another attempt of the signup exchanged it; answered from its record", "reads", i+1)
			return answer, err
		}
	}
	return nil, nil
}

// attemptEnded is the answer the attempt owner gave when it ended the
// signup in existing in a state the customer must act on (waiting for the
// customer, or failed at Plivo), from the constructors that attempt
// answered with; nil when existing is not such an end of that attempt's.
// The owner is unique to an attempt and every write of it keeps it
// (awaitCustomer, finish), so a record another attempt, the resume
// function or a webhook wrote since does not match. It shows nothing the
// customer's page cannot read from the record (View: state,
// failure_reason).
func attemptEnded(existing *Record, id Identity, owner string) error {
	if owner == "" || existing.LockOwner != owner || existing.ClientRef != id.ClientRef {
		return nil
	}
	switch existing.State {
	case StatePhoneUnverified:
		return customerAnswer(phoneUnverified(PhoneNumber{}))
	case StateAwaitingNumber:
		return customerAnswer(awaitingNumber())
	case StateFailed:
		switch existing.FailureReason {
		case ReasonAlreadyRegistered, ReasonPhoneNumberTaken, ReasonPlivoRejected, ReasonGaveUp:
			return plivoAnswer(existing.FailureReason, errors.New("onboarding: answered from the record of the attempt that spent the code"))
		}
	}
	// Meta's refusals are recorded only by an attempt that named no WABA,
	// which no retry follows (SessionUse.Reuse); one that named its WABA
	// writes nothing before Meta's proof (proof.go). Either way nothing
	// says how that attempt ended, and the refusal of the used code
	// stands: the page's next step, Meta's flow again, is the same.
	return nil
}

// recentOtherAttempt reports whether first, the session's earlier use
// (spendSession), is another attempt of the signup that use serves, recent
// enough to be running still or to have just ended. spendSession returns
// an earlier use only for the same WABA and client_ref (SessionUse.Reuse).
func recentOtherAttempt(use, first *SessionUse) bool {
	return use != nil && first != nil && first.Attempt != use.Attempt &&
		!use.UsedAt.Before(first.UsedAt) && use.UsedAt.Sub(first.UsedAt) < otherAttemptWindow
}

// answerFromRecord answers a request from the WABA's existing record, and
// logs which way it went.
func (s *Service) answerFromRecord(existing *Record, id Identity, log *slog.Logger) (*SignupResult, error) {
	res, err := s.answerExisting(existing, id)
	if err != nil {
		log.Info("signup refused by existing record", "state", existing.State, "error_code", ErrorCode(err))
		return nil, err
	}
	log.Info("signup replayed from existing record", "state", existing.State, "outcome", res.Outcome)
	return &res, nil
}

// answerExisting answers a request for a WABA someone already holds.
func (s *Service) answerExisting(existing *Record, id Identity) (SignupResult, error) {
	now := s.now()
	matches := existing.Matches(id)
	switch {
	case existing.State.OnboardedAtPlivo() && matches:
		// A restricted WABA is onboarded at Plivo; Meta holds it back for
		// now. Nothing about the signup conflicts, and the record says
		// what Meta restricts. Counted as replayed by Signup, on its
		// answer.
		return SignupResult{Outcome: OutcomeReplayed, Record: *existing}, nil
	case existing.State == StateVerified && matches:
		s.metrics().Count(MetricSignupReplayed, nil)
		return SignupResult{Outcome: OutcomePending, Record: *existing}, nil
	case (existing.State == StateDisconnected || interruptedReconnect(existing, now)) && existing.PhoneNumberID != "" && otherNumber(existing, id):
		// Plivo keeps the WABA it onboarded, with its first number: a
		// reconnect with another number would be answered "already
		// registered" and leave the new number unknown to Plivo.
		return SignupResult{}, Errorf(CodeSecondNumber, "This WhatsApp Business Account was onboarded with another phone number. "+
			"Reconnect it with that number, then add the new number through Plivo (docs/lifecycle.md).")
	case existing.State == StateVerifying:
		retry := existing.LockExpiresAt.Sub(now)
		retry = max(time.Second, min(retry, 30*time.Second))
		return SignupResult{}, &Error{Code: CodeInProgress, Message: "A signup for this WhatsApp Business Account is already in progress.", RetryAfter: retry}
	case secondNumber(existing, id):
		return SignupResult{}, Errorf(CodeSecondNumber, "This WhatsApp Business Account is already onboarded with another phone number. "+
			"Plivo's Embedded Signup onboards a WhatsApp Business Account once, with one number: add the second number through Plivo (docs/lifecycle.md).")
	default:
		return SignupResult{}, Errorf(CodeConflict, "This WhatsApp Business Account is already %s with different details.", existing.State)
	}
}

// verify checks the business token with Meta and fills in the IDs the
// browser did not send. It leaves rec verified in memory only, and returns
// (nil, nil). When the browser sent no WABA ID, the WABA's existing record,
// found only now, may answer instead: the code was spent on a replay.
func (s *Service) verify(ctx context.Context, token string, rec *Record, id Identity, log *slog.Logger) (*SignupResult, error) {
	if rec.WABAID != "" {
		return nil, s.verifyConcurrently(ctx, token, rec, log)
	}
	// The WABA comes from the token's scopes: each call needs the one
	// before it.
	info, err := s.checkToken(ctx, token, log)
	if err != nil {
		return nil, s.metaFailed(ctx, rec, err, log)
	}
	waba, err := wabaFromScopes(info)
	if err != nil {
		return nil, err
	}
	rec.WABAID = waba
	log = log.With("waba_id", waba)
	id.WABAID = waba
	if answer, err := s.acquire(ctx, rec, id, log); err != nil || answer != nil {
		if err == nil && answer.Outcome == OutcomeReplayed {
			// The WABA is onboarded at Plivo under this signup, and the
			// code is spent: prove the token and subscribe again
			// (rerun.go).
			return s.resubscribe(ctx, token, rec.BusinessID, *answer, log)
		}
		return answer, err
	}
	number, err := s.phoneNumber(ctx, token, rec.WABAID, rec.PhoneNumberID, log)
	if err != nil {
		return nil, s.metaFailed(ctx, rec, err, log)
	}
	rec.PhoneNumberID = number.ID
	rec.DisplayPhoneNumber = number.DisplayPhoneNumber
	business, err := s.ownerBusiness(ctx, token, rec.WABAID, log)
	if err == nil {
		business, err = s.proveBusiness(rec.BusinessID, business, log)
	}
	if err != nil {
		return nil, s.metaFailed(ctx, rec, err, log)
	}
	rec.BusinessID = business
	return nil, nil
}

// errSuperseded cancels the Graph calls whose answers no longer matter.
var errSuperseded = errors.New("onboarding: call superseded by another's failure")

// verifyConcurrently is verify for a WABA known beforehand: debug_token,
// phone_numbers and owner_business (always: a business_id the request
// sent is proven too) run at once, so verification takes as long as the slowest call, not the
// sum. Asking before debug_token has vouched for the token is safe: it came
// from exchanging the code with our own app secret. debug_token still
// decides: when it or the token fails, the others are cancelled and their
// answers dropped. Failures are reported in that order of precedence:
// debug_token's, then phone_numbers', then owner_business'.
func (s *Service) verifyConcurrently(ctx context.Context, token string, rec *Record, log *slog.Logger) error {
	number, business, err := s.proveControl(ctx, token, rec.WABAID, rec.PhoneNumberID, rec.BusinessID, log)
	if err != nil {
		return s.metaFailed(ctx, rec, err, log)
	}
	rec.PhoneNumberID = number.ID
	rec.DisplayPhoneNumber = number.DisplayPhoneNumber
	rec.BusinessID = business
	return nil
}

// proveControl runs verifyConcurrently's three calls for the WABA wabaID,
// the number wantNumber ("" takes the only one) and the business claimed
// ("" when the request sent none), and returns the number and the proven
// business, or the first failure in order of precedence, as Meta gave it.
func (s *Service) proveControl(ctx context.Context, token, wabaID, wantNumber, claimed string, log *slog.Logger) (PhoneNumber, string, error) {
	others, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg                     sync.WaitGroup
		number                 PhoneNumber
		business               string
		numberErr, businessErr error
	)
	wg.Go(func() {
		number, numberErr = s.phoneNumber(others, token, wabaID, wantNumber, log)
		if numberErr != nil {
			// owner_business's answer can no longer change the outcome.
			cancel(errSuperseded)
		}
	})
	// owner_business always runs: a business_id from the browser is proven.
	wg.Go(func() { business, businessErr = s.ownerBusiness(others, token, wabaID, log) })
	info, tokenErr := s.checkToken(ctx, token, log)
	if tokenErr == nil && !grantsWABA(info, wabaID) {
		tokenErr = Errorf(CodeMetaRejected, "Meta did not confirm the signup: the access token does not grant this WhatsApp Business Account. Please run the signup again.")
	}
	if tokenErr != nil {
		cancel(errSuperseded)
	}
	// Every call has returned before verify does: nothing outlives the
	// request, and the results are read only after wg.Wait.
	wg.Wait()
	if businessErr == nil {
		business, businessErr = s.proveBusiness(claimed, business, log)
	}
	for _, err := range []error{tokenErr, numberErr, businessErr} {
		if err != nil {
			return PhoneNumber{}, "", err
		}
	}
	return number, business, nil
}

// checkToken asks debug_token about the business token and returns what
// it says, or why the token is no usable grant for our app.
func (s *Service) checkToken(ctx context.Context, token string, log *slog.Logger) (TokenInfo, error) {
	info, err := timed(s, ctx, log, ServiceMeta, "debug_token", func() (TokenInfo, error) { return s.Meta.DebugToken(ctx, token) })
	if err != nil {
		return TokenInfo{}, err
	}
	appID, err := s.AppID(ctx)
	if err != nil {
		return TokenInfo{}, err
	}
	if reason := tokenProblem(info, appID, s.now()); reason != "" {
		return TokenInfo{}, Errorf(CodeMetaRejected, "Meta did not confirm the signup: %s. Please run the signup again.", reason)
	}
	return info, nil
}

// phoneNumber lists the WABA's numbers and picks the signup's (pickNumber).
func (s *Service) phoneNumber(ctx context.Context, token, wabaID, want string, log *slog.Logger) (PhoneNumber, error) {
	numbers, err := timed(s, ctx, log, ServiceMeta, "phone_numbers", func() ([]PhoneNumber, error) { return s.Meta.PhoneNumbers(ctx, token, wabaID) })
	if err != nil {
		return PhoneNumber{}, err
	}
	return finishState(ctx, numbers, want)
}

// ownerBusiness asks Meta which business owns the WABA ("" when Meta
// names none: proveBusiness decides).
func (s *Service) ownerBusiness(ctx context.Context, token, wabaID string, log *slog.Logger) (string, error) {
	return timed(s, ctx, log, ServiceMeta, "owner_business", func() (string, error) { return s.Meta.OwnerBusinessID(ctx, token, wabaID) })
}

// tokenProblem says why a debug_token answer does not prove a usable grant
// for our app, or returns "".
func tokenProblem(info TokenInfo, appID string, now time.Time) string {
	switch {
	case !info.Valid:
		return "the access token is not valid"
	case info.AppID != appID:
		return "the access token belongs to another app"
	case !info.ExpiresAt.IsZero() && !info.ExpiresAt.After(now):
		return "the access token has expired"
	}
	return ""
}

// scopeWABAManagement is the grant whose targets are the WABAs shared with
// our app, the most recently shared first.
const scopeWABAManagement = "whatsapp_business_management"

// wabaFromScopes finds the WABA a grant targets. Scope names are not
// trusted (Meta renames them), so every scope that mentions WhatsApp is
// read: when they all name one ID, that is the WABA. When they name
// several (the customer shared WABAs with us before), Meta's documented
// answer is the first target of whatsapp_business_management, the newest;
// without that scope nothing says which, and the request is refused.
// Either way the calls that follow prove the token reaches it.
func wabaFromScopes(info TokenInfo) (string, error) {
	ids := map[string]bool{}
	for scope, targets := range info.Scopes {
		if !isWhatsAppScope(scope) {
			continue
		}
		for _, t := range targets {
			ids[t] = true
		}
	}
	if len(ids) == 1 {
		for id := range ids {
			return id, nil
		}
	}
	if newest := info.Scopes[scopeWABAManagement]; len(ids) > 1 && len(newest) > 0 {
		return newest[0], nil
	}
	field := "waba_id is required: Meta's grant names no WhatsApp Business Account."
	if len(ids) > 1 {
		field = "waba_id is required: Meta's grant names several WhatsApp Business Accounts."
	}
	return "", &Error{Code: CodeInvalidRequest, Message: "The request is invalid.", Fields: []FieldError{{Field: "waba_id", Message: field}}}
}

// grantsWABA reports whether the token's WhatsApp permissions cover
// wabaID. Reading the WABA proves only that the token reaches it, which a
// business_management grant over its owner may also do; Meta's granular
// scopes name the WABAs the customer shared with our app. A WhatsApp scope
// listed without targets is not limited to any, as debug_token reports
// permissions that are not granular, but only while no WhatsApp scope
// names targets: once one does, those are the WABAs the customer chose,
// and a sibling reported without them must not widen the grant. Names are
// read as wabaFromScopes reads them.
func grantsWABA(info TokenInfo, wabaID string) bool {
	granular, unlimited := false, false
	for scope, targets := range info.Scopes {
		switch {
		case !isWhatsAppScope(scope):
		case slices.Contains(targets, wabaID):
			return true
		case len(targets) == 0:
			unlimited = true
		default:
			granular = true
		}
	}
	return unlimited && !granular
}

func isWhatsAppScope(scope string) bool {
	for i := 0; i+8 <= len(scope); i++ {
		if scope[i:i+8] == "whatsapp" {
			return true
		}
	}
	return false
}

// pickNumber checks the browser's phone number ID against the WABA's numbers,
// or takes the only number when none was sent.
func pickNumber(numbers []PhoneNumber, want string) (PhoneNumber, error) {
	if want != "" {
		for _, n := range numbers {
			if n.ID == want {
				return n, nil
			}
		}
		return PhoneNumber{}, Errorf(CodeMetaRejected, "The phone number is not one of this WhatsApp Business Account's numbers. Please run the signup again.")
	}
	switch len(numbers) {
	case 1:
		return numbers[0], nil
	case 0:
		return PhoneNumber{}, awaitingNumber()
	}
	return PhoneNumber{}, &Error{Code: CodeInvalidRequest, Message: "The request is invalid.",
		Fields: []FieldError{{Field: "phone_number_id", Message: "phone_number_id is required: this WhatsApp Business Account has several numbers."}}}
}

// metaFailed turns a Meta failure into the caller's answer and releases the
// lock by marking the record failed, so the customer may run the flow again.
func (s *Service) metaFailed(ctx context.Context, rec *Record, err error, log *slog.Logger) error {
	if wait, ok := asAwaitCustomer(err); ok {
		return s.awaitCustomer(ctx, rec, wait, log)
	}
	reason, answer := ReasonMetaRejected, err
	if ue, ok := AsUpstream(err); ok {
		if ue.Kind == KindConfig {
			reason, answer = metaConfigFailure(err)
			s.metrics().Count(MetricMetaConfig, nil)
		} else if ue.Retryable() {
			reason = ReasonMetaUnavailable
			answer = Wrap(CodeMetaUnavailable, err, "Meta is not answering right now. Please try the signup again in a minute.")
		} else {
			answer = Wrap(CodeMetaRejected, err, "Meta did not accept this signup (the code may have expired or been used). Please run the signup again.")
		}
	} else if ErrorCode(err) == CodeBusinessMismatch {
		reason = ReasonBusinessMismatch
	} else if ErrorCode(err) == CodeInternal {
		reason = ReasonMetaUnavailable
		answer = Wrap(CodeMetaUnavailable, err, "The service is temporarily unavailable. Please try again.")
	}
	s.metrics().Count(MetricSignupFailed, Dims{"Reason": reason})
	log.Warn("meta verification failed", "reason", reason, "error", err)
	if rec.LockOwner != "" && rec.WABAID != "" && rec.State == StateVerifying {
		// The lock is only ours if acquire wrote it; an unlocked record
		// (WABA unknown) has no item to release.
		failed := *rec
		failed.State = StateFailed
		failed.FailureReason = reason
		failed.LastError = reason
		failed.LastErrorMessage = ErrorMessage(answer)
		failed.LockOwner = rec.LockOwner
		failed.LockExpiresAt = time.Time{}
		failed.UpdatedAt = s.now()
		if rec.CreatedAt.IsZero() {
			failed.CreatedAt = failed.UpdatedAt
		}
		if _, serr := s.save(ctx, &failed, log); serr != nil {
			log.Error("could not release lock after meta failure; it expires by itself", "error", serr, "lock_expires_at", rec.LockExpiresAt)
		}
	}
	return answer
}

// onboard persists the verified signup, then calls Plivo.
func (s *Service) onboard(ctx context.Context, rec *Record, log *slog.Logger, p RetryPolicy) (SignupResult, error) {
	// A verified signup's lock is in the retry index (takeProvenLock); a
	// lock taken before Meta's proof, by a signup that named no WABA, is not.
	indexed := !rec.NextRetryAt.IsZero()
	now := s.now()
	id := rec.Identity()
	rec.State = StateVerified
	rec.PayloadHash = id.Hash()
	rec.PlivoPayloadHash = id.Hash()
	rec.VerifiedAt = now
	rec.UpdatedAt = now
	rec.PlivoAttempts = 1
	// If this process dies from here on, the resume function takes over once
	// the lock has expired.
	rec.NextRetryAt = rec.LockExpiresAt
	if existing, err := s.save(ctx, rec, log); err != nil {
		if errors.Is(err, ErrConditionFailed) {
			return answered(s.lockLost(existing, id, err, log))
		}
		if !indexed {
			// Nothing would find a Plivo call made now.
			log.Error("could not persist verified signup; nothing sent to Plivo", "error", err)
			return SignupResult{}, notRecorded(err)
		}
		// Meta verified the signup and the code is spent: going on to Plivo
		// is better than asking the customer to start again, and the
		// resume function finds the lock if no save lands.
		log.Error("could not persist verified signup; calling Plivo anyway", "error", err)
	} else {
		log.Info("signup verified", "state", StateVerified, "phone_number_id", rec.PhoneNumberID, "business_id", rec.BusinessID)
	}
	return s.callPlivo(ctx, rec, log, p, 0)
}

// callPlivo makes up to p.InRequestAttempts Plivo calls for a locked,
// verified record, then persists the outcome and releases the lock.
// priorCalls counts the calls made for this record before this run.
func (s *Service) callPlivo(ctx context.Context, rec *Record, log *slog.Logger, p RetryPolicy, priorCalls int) (SignupResult, error) {
	req := PlivoSignup{WABAID: rec.WABAID, BusinessID: rec.BusinessID, PhoneNumberID: rec.PhoneNumberID, ClientRef: rec.ClientRef}
	var err error
	for attempt := 1; ; attempt++ {
		var res PlivoResult
		res, err = timed(s, ctx, log, ServicePlivo, "embedded_signup", func() (PlivoResult, error) { return s.Plivo.EmbeddedSignup(ctx, req) })
		if err == nil {
			rec.PlivoAPIID = res.APIID
			return s.finish(ctx, rec, log, p, nil, false)
		}
		ue, ok := AsUpstream(err)
		if ok && ue.Kind == KindAlreadyRegistered && (priorCalls > 0 || attempt > 1 || rec.Reconnect) && rec.PlivoPayloadHash == rec.Identity().Hash() {
			// Our own earlier call succeeded but its answer was lost, or
			// this reconnects a WABA we onboarded before it was removed.
			rec.PlivoAPIID = ue.APIID
			return s.finish(ctx, rec, log, p, nil, true)
		}
		if !ok || !ue.Retryable() || attempt >= p.InRequestAttempts {
			break
		}
		// A short pause: the long backoff belongs to the resume function.
		wait := RetryPolicy{BaseDelay: p.InRequestDelay, MaxDelay: 8 * p.InRequestDelay}.Backoff(attempt, s.Random)
		if dl, has := ctx.Deadline(); has && time.Until(dl) < wait+p.Reserve+5*time.Second {
			break
		}
		if s.sleep(ctx, wait) != nil || !s.stillLocked(ctx, rec, log) {
			break
		}
		rec.PlivoAttempts++
	}
	return s.finish(ctx, rec, log, p, err, false)
}

// finish records the outcome of the Plivo attempts and answers the caller.
func (s *Service) finish(ctx context.Context, rec *Record, log *slog.Logger, p RetryPolicy, plivoErr error, reconciled bool) (SignupResult, error) {
	now := s.now()
	rec.UpdatedAt = now
	next := *rec
	next.LockExpiresAt = time.Time{}
	if plivoErr == nil {
		next.State = StateOnboarded
		next.OnboardedAt = now
		next.NextRetryAt = time.Time{}
		next.LastError, next.LastErrorMessage = "", ""
		next.Reconciled = reconciled
		if reconciled {
			next.LastErrorMessage = "Plivo reported the WABA as already registered after our earlier call; treated as onboarded."
		}
	} else {
		reason, terminal, delay := classifyPlivo(plivoErr, p, next.PlivoAttempts, s.Random)
		next.LastError = reason
		next.LastErrorMessage = plivoMessage(plivoErr)
		if ue, ok := AsUpstream(plivoErr); ok && ue.APIID != "" {
			next.PlivoAPIID = ue.APIID
		}
		switch {
		case terminal:
			next.State = StateFailed
			next.FailureReason = reason
			next.NextRetryAt = time.Time{}
		case next.PlivoAttempts >= p.MaxAttempts || (!next.VerifiedAt.IsZero() && now.Sub(next.VerifiedAt) >= p.MaxAge):
			next.State = StateFailed
			next.FailureReason = ReasonGaveUp
			next.NextRetryAt = time.Time{}
			s.metrics().Count(MetricResumeGaveUp, Dims{"Reason": reason})
			log.Error("giving up on signup", "attempts", next.PlivoAttempts, "last_error", reason)
		default:
			next.State = StateVerified
			next.NextRetryAt = now.Add(delay)
		}
	}
	if existing, err := s.save(ctx, &next, log); err != nil {
		if errors.Is(err, ErrConditionFailed) && existing != nil && existing.State == StateDisconnected {
			// Whatever Plivo did, Meta has withdrawn our access: the
			// customer must share the WABA again, and that reconnect
			// reconciles Plivo's "already registered".
			return answered(s.lockLost(existing, rec.Identity(), err, log))
		}
		if errors.Is(err, ErrConditionFailed) {
			log.Error("lock lost before the outcome was saved", "state", next.State)
		} else {
			s.metrics().Count(MetricStoreError, Dims{"Operation": "finish"})
			log.Error("could not persist signup outcome", "state", next.State, "error", err)
		}
		if plivoErr == nil {
			// Plivo onboarded the WABA: the customer is done even if our
			// record lags; a retry reconciles it.
			return SignupResult{Outcome: OutcomeOnboarded, Record: next}, nil
		}
	}
	*rec = next
	switch next.State {
	case StateOnboarded:
		s.metrics().Count(MetricSignupOnboarded, nil)
		log.Info("signup onboarded", "state", next.State, "plivo_api_id", next.PlivoAPIID, "reconciled", reconciled, "attempts", next.PlivoAttempts)
		return SignupResult{Outcome: OutcomeOnboarded, Record: next}, nil
	case StateVerified:
		s.metrics().Count(MetricSignupPending, Dims{"Reason": next.LastError})
		log.Warn("plivo not finished; will retry", "state", next.State, "last_error", next.LastError, "next_retry_at", next.NextRetryAt, "attempts", next.PlivoAttempts)
		return SignupResult{Outcome: OutcomePending, Record: next}, nil
	default:
		s.metrics().Count(MetricSignupFailed, Dims{"Reason": next.FailureReason})
		log.Error("signup failed", "state", next.State, "reason", next.FailureReason, "error", plivoErr)
		return SignupResult{Record: next}, plivoAnswer(next.FailureReason, plivoErr)
	}
}

// classifyPlivo decides what a Plivo failure means for the record: its
// reason, whether it is final, and when to try again.
func classifyPlivo(err error, p RetryPolicy, attempts int, random func() float64) (reason string, terminal bool, delay time.Duration) {
	ue, ok := AsUpstream(err)
	if !ok {
		return ReasonInterrupted, false, p.Backoff(attempts, random)
	}
	switch ue.Kind {
	case KindAlreadyRegistered:
		return ReasonAlreadyRegistered, true, 0
	case KindPhoneNumberTaken:
		return ReasonPhoneNumberTaken, true, 0
	case KindRejected:
		return ReasonPlivoRejected, true, 0
	case KindUnauthorized:
		// An account-level problem: waiting the longest keeps the resume
		// function from hammering Plivo while an operator fixes it.
		return ReasonPlivoUnauthorized, false, p.MaxDelay
	case KindForbidden:
		return ReasonPlivoForbidden, false, p.MaxDelay
	case KindSolutionInactive:
		return ReasonSolutionInactive, false, p.MaxDelay
	case KindUndocumented:
		// Never final: Plivo may have added a rule, or be failing in a way
		// it does not document. The alarm brings an operator in.
		return ReasonPlivoUndocumented, false, p.MaxDelay
	case KindThrottled:
		return ReasonPlivoThrottled, false, p.Backoff(attempts, random)
	}
	if ue.Status >= 500 {
		return ReasonPlivoServerError, false, p.Backoff(attempts, random)
	}
	return ReasonPlivoUnreachable, false, p.Backoff(attempts, random)
}

func plivoMessage(err error) string {
	if ue, ok := AsUpstream(err); ok && ue.Message != "" {
		return ue.Message
	}
	return "Plivo did not answer in time."
}

// plivoAnswer is the caller-facing error of a terminal Plivo failure.
func plivoAnswer(reason string, err error) error {
	switch reason {
	case ReasonAlreadyRegistered:
		return Wrap(CodeAlreadyRegistered, err, "This WhatsApp Business Account is already registered with Plivo by someone else. Contact support.")
	case ReasonPhoneNumberTaken:
		return Wrap(CodePhoneNumberTaken, err, "This phone number is already registered under another WhatsApp Business Account.")
	case ReasonGaveUp:
		return Wrap(CodeUpstreamFailed, err, "Plivo could not complete the onboarding. Our team has been alerted.")
	}
	return Wrap(CodeUpstreamFailed, err, "Plivo refused the onboarding. Our team has been alerted.")
}

// detached is ctx cut from the request's end, for the policy's Reserve:
// an expiring invocation must still record what happened upstream.
func (s *Service) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.Policy.withDefaults().Reserve)
}

// save writes rec under its lock, retrying transient store errors briefly
// because losing a verified record costs the customer a whole new signup.
// When the lock is lost it returns the record that holds the WABA now
// (nil when there is none) with ErrConditionFailed.
func (s *Service) save(ctx context.Context, rec *Record, log *slog.Logger) (*Record, error) {
	ctx, cancel := s.detached(ctx)
	defer cancel()
	var err error
	for attempt := 1; attempt <= 4; attempt++ {
		var existing *Record
		existing, err = s.Store.Save(ctx, rec)
		if errors.Is(err, ErrConditionFailed) {
			return existing, err
		}
		if err == nil || ctx.Err() != nil {
			return nil, err
		}
		s.metrics().Count(MetricStoreError, Dims{"Operation": "save"})
		log.Warn("store write failed; retrying", "attempt", attempt, "error", err)
		if s.sleep(ctx, time.Duration(50*math.Pow(2, float64(attempt)))*time.Millisecond) != nil {
			break
		}
	}
	return nil, err
}

// lockLost answers a signup whose save found its lock gone, from the
// record that holds the WABA now (existing, nil when there is none); id
// is the signup's, as Meta proved it. Only Meta's disconnect webhook and
// another attempt that took the WABA over remove a lock: a disconnect
// means the customer must share the WABA again, and polling it would
// never end; another attempt's record answers as it would a new request.
func (s *Service) lockLost(existing *Record, id Identity, cause error, log *slog.Logger) (*SignupResult, error) {
	switch {
	case existing == nil:
		log.Error("the signup's record is gone; nothing more sent to Plivo", "error", cause)
		return nil, notRecorded(cause)
	case existing.State == StateDisconnected:
		log.Warn("access to the WABA was removed during the signup; nothing more sent to Plivo",
			"state_reason", existing.StateReason, "previous_state", existing.PreviousState)
		return nil, accessRemoved(cause)
	case existing.State == StateVerifying || existing.State == StateVerified || existing.State.OnboardedAtPlivo():
		log.Warn("another attempt took the WABA over during the signup", "state", existing.State)
		return s.answerFromRecord(existing, id, log)
	default:
		// Failed, or waiting for the customer, under another attempt:
		// nothing of this signup is recorded.
		log.Error("the signup's lock was lost to a settled record; nothing more sent to Plivo", "state", existing.State)
		return nil, notRecorded(cause)
	}
}

// stillLocked reports whether rec's lock is still its own, before another
// Plivo call: a disconnect recorded meanwhile must stop the calls. A store
// that cannot say does not stop them; the outcome's save decides.
func (s *Service) stillLocked(ctx context.Context, rec *Record, log *slog.Logger) bool {
	current, err := s.Store.Get(ctx, rec.WABAID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		log.Warn("could not read the record before another Plivo attempt", "error", err)
		return true
	}
	return err == nil && current.LockOwner == rec.LockOwner
}

// timed runs one upstream call, logging and measuring its latency and
// outcome. It never logs arguments or results: they may hold tokens. A
// call cancelled because another's failure made it moot (errSuperseded) is
// logged as cancelled and kept out of the latency and error metrics: it
// says nothing about the upstream.
func timed[T any](s *Service, ctx context.Context, log *slog.Logger, service, op string, call func() (T, error)) (T, error) {
	start := time.Now()
	v, err := call()
	d := time.Since(start)
	status := "ok"
	switch {
	case err != nil && errors.Is(context.Cause(ctx), errSuperseded):
		log.InfoContext(ctx, "upstream call", "service", service, "operation", op, "outcome", "cancelled", "latency_ms", float64(d.Microseconds())/1000)
		return v, err
	case err != nil:
		status = "error"
		if ue, ok := AsUpstream(err); ok {
			status = string(ue.Kind)
		}
		s.metrics().Count(MetricUpstreamError, Dims{"Service": service, "Operation": op, "Outcome": status})
	}
	s.metrics().Latency(MetricUpstreamLatency, d, Dims{"Service": service, "Operation": op})
	log.InfoContext(ctx, "upstream call", "service", service, "operation", op, "outcome", status, "latency_ms", float64(d.Microseconds())/1000)
	return v, err
}
