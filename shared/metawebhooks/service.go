package metawebhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Records changes signup records; *dynamo.Store is one. Each call is one
// conditional write and reports whether it changed the record: false when
// the record is missing or already in the asked state, which is how a
// replayed change changes nothing twice. The state changes, and each
// health field, are applied in the order Meta sent them (sent,
// Action.Sent): one sent before a change already applied or seen is
// refused.
type Records interface {
	Disconnect(ctx context.Context, wabaID, reason string, at, sent time.Time) (bool, error)
	Restrict(ctx context.Context, wabaID, reason string, until, at, sent time.Time) (bool, error)
	Reinstate(ctx context.Context, wabaID, reason, lifts string, at, sent time.Time) (bool, error)
	PutUnclaimed(ctx context.Context, wabaID, businessID, reason string, at, sent time.Time) (bool, error)
	SetHealth(ctx context.Context, wabaID, digits string, h onboarding.Health, sent time.Time) (bool, error)
	// Get reads a record (onboarding.ErrNotFound when there is none).
	Get(ctx context.Context, wabaID string) (*onboarding.Record, error)
}

// Metric names. Dimensions are Field, Op or Event: never a WABA ID.
const (
	MetricReceived         = "MetaWebhookChange"
	MetricUnknown          = "MetaWebhookUnknown"
	MetricDuplicate        = "MetaWebhookDuplicate"
	MetricSignatureInvalid = "MetaWebhookSignatureInvalid"
	MetricRecordChanged    = "MetaWebhookRecordChanged"
	// MetricDeferred counts changes answered 503 for Meta to deliver again
	// because the WABA's signup has not ended.
	MetricDeferred = "MetaWebhookDeferred"
	// MetricOutOfTime counts deliveries answered 503 because the budget
	// ran out before every change was handled: a batch too large for one
	// delivery now and then, or, when it persists, a DynamoDB that hangs
	// (its failures past the budget are not counted as store errors).
	MetricOutOfTime = "MetaWebhookOutOfTime"
	// MetricOtherApp counts partner events (Event) about another
	// partner's app on a WABA shared with us too: nothing is changed.
	MetricOtherApp = "MetaWebhookOtherApp"
)

// Defaults of a Service.
const (
	// DefaultTTL keeps a change's dedupe entry as long as a Plivo nonce,
	// not just past Meta's 7 days of redeliveries: the entry is all that
	// refuses a captured signed body posted again (Meta signs no time or
	// nonce), and a body's own time cannot be judged, since Meta's
	// examples are years old. One small item per change; changes are rare.
	DefaultTTL = callbacks.NonceRetention
	// UnknownTTL gives an operator time to read unknown changes.
	UnknownTTL   = 30 * 24 * time.Hour
	defaultClaim = 10 * time.Second
	// finishTimeout bounds the ledger write after a change was applied,
	// which runs even when the request's budget is spent.
	finishTimeout = time.Second
)

// kindPrefix marks the ledger entries of Meta's changes apart from
// Plivo's callbacks in the shared dedup table.
const kindPrefix = "meta."

// Result is what became of one change.
type Result struct {
	Key     string `json:"key"`
	Field   string `json:"field"`
	Op      Op     `json:"op"`
	Changed bool   `json:"changed"`
	// Duplicate: the change was handled by an earlier delivery.
	Duplicate bool `json:"duplicate,omitempty"`
}

// Service applies verified notifications, each change once.
type Service struct {
	Records Records
	// Ledger is the dedup table's; entries are keyed meta#<digest>.
	Ledger  callbacks.Ledger
	Logger  *slog.Logger
	Metrics onboarding.Metrics
	Now     func() time.Time
	// AppID is our Meta app's ID. A partner event naming another app
	// (waba_info.partner_app_id) is about that app, not ours: it changes
	// no record. Empty (local tools) applies every partner event.
	AppID string
}

func (s *Service) now() time.Time { return onboarding.NowUTC(s.Now) }

func (s *Service) metrics() onboarding.Metrics { return onboarding.MetricsOrNop(s.Metrics) }

// MaxConcurrentChanges bounds the changes of one delivery applied at once.
// Meta batches many changes into a delivery, and each costs up to three
// DynamoDB writes: one after another, a large batch would outrun the
// budget on every redelivery and never be acknowledged.
const MaxConcurrentChanges = 16

// Handle applies every change of n. A WABA's changes are applied one at a
// time in Meta's order, and stop at the first that cannot be recorded or
// applied: a later change, such as the end of a restriction, must not
// overtake it. Different WABAs are independent and run concurrently, so one
// WABA whose signup is under way holds back only its own changes. The
// error is the first failed change's, in Meta's order, as a domain error
// (409 while another delivery holds the change, 503 when the store failed
// or a signup is under way), so that Meta redelivers the notification; the
// changes already handled are then duplicates.
func (s *Service) Handle(ctx context.Context, n *Notification, requestID string) ([]Result, error) {
	if n.Object != ObjectWABA {
		// Another object's changes are stored and counted as unknown
		// ones, never applied (byWABA). A body naming no object is
		// counted and logged too, but applied (forObject).
		s.metrics().Count(MetricUnknown, onboarding.Dims{"Field": "object"})
		s.Logger.WarnContext(ctx, "meta webhook for another object or none", "request_id", requestID, "object", n.Object,
			"applied", forObject(n.Object))
	}
	all, groups := byWABA(n, s.now())
	var wg sync.WaitGroup
	slots := make(chan struct{}, MaxConcurrentChanges)
	for _, queue := range groups {
		wg.Go(func() {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				s.applyInOrder(ctx, queue, requestID)
			case <-ctx.Done():
				queue[0].err = outOfTime(ctx)
			}
		})
	}
	wg.Wait()
	var out []Result
	var first error
	for _, p := range all {
		if p.done {
			out = append(out, p.result)
		}
		if first == nil {
			first = p.err
		}
	}
	if first != nil && ctx.Err() != nil {
		s.metrics().Count(MetricOutOfTime, nil)
		s.Logger.WarnContext(ctx, "meta webhook delivery ran out of time", "request_id", requestID,
			"changes", len(all), "handled", len(out))
	}
	return out, first
}

// pending is one change of a delivery, and what became of it.
type pending struct {
	entry  Entry
	change Change
	action Action
	result Result
	err    error
	done   bool
}

// byWABA lists n's changes in Meta's order, and groups them by the WABA
// each changes, in the order the WABAs first appear. A change that names
// no WABA is a group of its own: it orders with nothing.
func byWABA(n *Notification, now time.Time) (all []*pending, groups [][]*pending) {
	index := map[string]int{}
	for _, e := range n.Entry {
		for _, c := range e.Changes {
			p := &pending{entry: e, change: c, action: decide(e, c, now)}
			if !forObject(n.Object) {
				p.action.Op = OpUnknown
			}
			key := "#" + strconv.Itoa(len(all))
			if p.action.Op != OpUnknown {
				key = p.action.WABAID
			}
			i, seen := index[key]
			if !seen {
				i, index[key] = len(groups), len(groups)
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], p)
			all = append(all, p)
		}
	}
	return all, groups
}

// forObject reports whether the changes of a notification for object may
// be applied. Another object's fields mean something else, even where a
// name is the same, and its entry IDs are not WABAs'. A body naming no
// object is no other object's: every other webhook object names itself,
// and Meta's own account_update reference shows its PARTNER_ADDED example
// without one. Dropping such a PARTNER_REMOVED would leave a disconnected
// customer onboarded, with nothing but a counter to say so.
func forObject(object string) bool {
	return object == ObjectWABA || object == ""
}

// applyInOrder applies one WABA's changes in Meta's order, and stops at
// the first that fails or finds the delivery out of time.
func (s *Service) applyInOrder(ctx context.Context, queue []*pending, requestID string) {
	for _, p := range queue {
		if ctx.Err() != nil {
			p.err = outOfTime(ctx)
			return
		}
		if p.result, p.err = s.change(ctx, p.entry, p.change, p.action, requestID); p.err != nil {
			return
		}
		p.done = true
	}
}

// outOfTime is the answer for the changes a delivery had no time left for:
// Meta delivers the notification again, and the changes already handled
// are then duplicates.
func outOfTime(ctx context.Context) error {
	e := onboarding.Wrap(onboarding.CodeUpstreamUnavailable, ctx.Err(), "The webhook could not be handled in time; retry later.")
	e.RetryAfter = time.Second
	return e
}

// storeFailed counts a failed ledger or record write as a store error,
// unless the delivery ran out of time: DynamoDB did not fail then, and
// the alarm on store errors must not page for a large delivery.
func (s *Service) storeFailed(ctx context.Context, op string) {
	if ctx.Err() == nil {
		s.metrics().Count(onboarding.MetricStoreError, onboarding.Dims{"Operation": op})
	}
}

// decide is Decide, with a change naming an impossible WABA ID taken as
// unknown.
func decide(e Entry, c Change, now time.Time) Action {
	a := Decide(e, c, now)
	if a.Op != OpUnknown && !validWABAID(a.WABAID) {
		a.Op = OpUnknown
	}
	return a
}

func (s *Service) change(ctx context.Context, e Entry, c Change, a Action, requestID string) (Result, error) {
	now := s.now()
	res := Result{Key: Key(e, c), Field: c.Field, Op: a.Op}
	if s.otherApp(a) {
		// Nothing is claimed in the dedup table either: a redelivery
		// only counts it again, and nothing is kept that an event about
		// our own app could ever be taken for.
		res.Op = OpOtherApp
		s.metrics().Count(MetricReceived, onboarding.Dims{"Field": field(c.Field), "Op": string(res.Op)})
		s.metrics().Count(MetricOtherApp, onboarding.Dims{"Event": a.Event})
		s.Logger.InfoContext(ctx, "meta partner event about another app; nothing changed", "request_id", requestID, "key", res.Key,
			"waba_id", a.WABAID, "event", a.Event, "partner_app_id", a.PartnerAppID)
		return res, nil
	}
	s.metrics().Count(MetricReceived, onboarding.Dims{"Field": field(c.Field), "Op": string(a.Op)})
	unknown := unknownKeys(c)
	slices.Sort(unknown)

	// What Meta sent is clipped before it is stored: an unknown change is
	// not validated, and an item over DynamoDB's 400 KB would fail every
	// redelivery of the whole notification.
	entry := &callbacks.Entry{
		Key: res.Key, State: callbacks.EntryClaimed, Owner: requestID, ClaimExpiresAt: claimDeadline(ctx, now),
		ExpiresAt: now.Add(DefaultTTL), Kind: callbacks.Kind(kindPrefix + clip(c.Field, maxStoredName)), Status: clip(a.Event, maxStoredName),
		Route:     callbacks.Route{WABAID: clip(a.WABAID, maxStoredName), BusinessID: clip(a.BusinessID, maxStoredName)},
		RequestID: requestID, CreatedAt: now, UpdatedAt: now,
	}
	if a.Op == OpUnknown || len(unknown) > 0 {
		// Kept for the operator: Meta's webhooks carry no secrets, and
		// what they say of end users is left out (storedChange).
		entry.Fields = storedChange(e, c, unknown)
		s.metrics().Count(MetricUnknown, onboarding.Dims{"Field": field(c.Field)})
		s.Logger.WarnContext(ctx, "meta webhook change not fully known; stored", "request_id", requestID, "key", res.Key,
			"field", c.Field, "event", a.Event, "unknown_keys", unknown)
	}
	if a.Op == OpUnknown || a.Op == OpNone {
		entry.State, entry.Owner, entry.ClaimExpiresAt = callbacks.EntryUnrouted, "", time.Time{}
		entry.Reason = string(a.Op)
		if a.Op == OpUnknown {
			entry.ExpiresAt = now.Add(UnknownTTL)
		}
	}
	existing, err := s.Ledger.Claim(ctx, entry, now)
	switch {
	case errors.Is(err, onboarding.ErrConditionFailed):
		if existing == nil || existing.State == callbacks.EntryClaimed {
			e := onboarding.Errorf(callbacks.CodeCallbackInProgress, "This webhook is being handled; retry later.")
			e.RetryAfter = time.Second
			return res, e
		}
		res.Duplicate = true
		s.metrics().Count(MetricDuplicate, onboarding.Dims{"Field": field(c.Field)})
		s.Logger.InfoContext(ctx, "meta webhook change duplicate", "request_id", requestID, "key", res.Key, "first_request_id", existing.RequestID)
		return res, nil
	case err != nil:
		s.storeFailed(ctx, "meta_claim")
		return res, onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The webhook could not be recorded; retry later.")
	}
	if entry.State != callbacks.EntryClaimed {
		return res, nil
	}

	res.Changed, err = s.apply(ctx, a, now)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	if err != nil {
		// Released, so that Meta's redelivery applies the change.
		if rerr := s.Ledger.Release(fctx, res.Key, requestID, s.now()); rerr != nil {
			s.Logger.WarnContext(ctx, "meta webhook claim not released", "request_id", requestID, "key", res.Key, "error", rerr)
		}
		if errors.Is(err, onboarding.ErrSignupUnderway) {
			s.metrics().Count(MetricDeferred, onboarding.Dims{"Op": string(a.Op)})
			s.Logger.InfoContext(ctx, "meta webhook change deferred until the WABA's signup ends", "request_id", requestID,
				"key", res.Key, "waba_id", a.WABAID, "event", a.Event)
			e := onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The WhatsApp Business Account's signup is under way; retry later.")
			e.RetryAfter = time.Minute
			return res, e
		}
		s.storeFailed(ctx, "meta_"+string(a.Op))
		return res, onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The webhook could not be applied; retry later.")
	}
	outcome := "unchanged"
	if res.Changed {
		outcome = "changed"
		s.metrics().Count(MetricRecordChanged, onboarding.Dims{"Op": string(a.Op)})
	}
	if err := s.Ledger.MarkPublished(fctx, res.Key, requestID, outcome, s.now()); err != nil {
		// The change is applied; a redelivery finds the record already
		// changed and changes nothing.
		s.Logger.ErrorContext(ctx, "meta webhook change applied but not marked", "request_id", requestID, "key", res.Key, "error", err)
	}
	s.Logger.InfoContext(ctx, "meta webhook change", "request_id", requestID, "key", res.Key, "waba_id", a.WABAID,
		"field", c.Field, "event", a.Event, "op", a.Op, "changed", res.Changed, "reason", a.Reason)
	return res, nil
}

// otherApp reports whether a is an app install or uninstall (appEvents)
// about another partner's app than ours (Meta's account_update reference
// names it in waba_info.partner_app_id): that app's install or removal
// leaves ours where it was. Without our app ID, or an app named, every
// partner event is ours, as before the ID was known.
func (s *Service) otherApp(a Action) bool {
	return s.AppID != "" && a.PartnerAppID != "" && a.PartnerAppID != s.AppID &&
		a.Op != OpUnknown && slices.Contains(appEvents, a.Event)
}

func (s *Service) apply(ctx context.Context, a Action, now time.Time) (bool, error) {
	switch a.Op {
	case OpDisconnect:
		return s.Records.Disconnect(ctx, a.WABAID, a.Reason, now, a.Sent)
	case OpRestrict:
		return s.Records.Restrict(ctx, a.WABAID, a.Reason, a.Until, now, a.Sent)
	case OpReinstate:
		return s.Records.Reinstate(ctx, a.WABAID, a.Reason, a.LiftsOnly, now, a.Sent)
	case OpUnclaimed:
		created, err := s.Records.PutUnclaimed(ctx, a.WABAID, a.BusinessID, a.Reason, now, a.Sent)
		if err == nil && !created {
			err = s.checkSharedAgain(ctx, a, now)
		}
		return created, err
	case OpHealth:
		changed, err := s.setHealth(ctx, a, now)
		if err == nil && !changed {
			var found bool
			if found, err = s.awaitRecord(ctx, a, now); found {
				// The signup's lock may have made the record since the
				// write found none: written once more, or that change is
				// lost. A record that refused it refuses it again.
				changed, err = s.setHealth(ctx, a, now)
			}
		}
		return changed, err
	}
	return false, nil
}

// setHealth writes a's health change on its WABA's record, stamped now
// like the state changes: the stamp becomes the record's updated_at, and
// so the lifecycle event's occurred_at and dedupe_key, which must differ
// for each change of a delivery and follow the order they were applied in.
func (s *Service) setHealth(ctx context.Context, a Action, now time.Time) (bool, error) {
	h := a.Health
	h.UpdatedAt = now
	changed, err := s.Records.SetHealth(ctx, a.WABAID, a.PhoneDigits, h, a.Sent)
	if err == nil && !changed && a.PhoneDigits != "" && a.PortfolioLimit != "" {
		// Refused: the record keeps another of the WABA's numbers (or
		// Meta changed its fields since, which this write refuses too).
		// The portfolio's limit is every number's, the record's as well.
		changed, err = s.Records.SetHealth(ctx, a.WABAID, "", onboarding.Health{MessagingLimit: a.PortfolioLimit, UpdatedAt: now}, a.Sent)
	}
	return changed, err
}

// recordWaitPrefix keys awaitRecord's markers in the dedup table.
const recordWaitPrefix = "meta-record-wait#"

// awaitRecord defers (onboarding.ErrSignupUnderway: Meta delivers it
// again) a health change that found no record of its WABA, while the
// signup that makes the record may still be posting its code. Meta's
// business_capability_update reference lists the creation of a WABA
// among its triggers, and Embedded Signup creates the WABA before the
// page posts the code: the portfolio's first limit can come before the
// record, and Meta sends it again only when it changes. The wait is the
// share's (waitFor: shareSettle on our clock from the first such change,
// none for a change Meta sent more than shareFresh away); past it the
// change is acknowledged and changes nothing. found reports that the
// record exists now. The read is advice: its failure is logged and the
// change counts as applied.
func (s *Service) awaitRecord(ctx context.Context, a Action, now time.Time) (found bool, err error) {
	if a.Sent.IsZero() {
		return false, nil
	}
	_, err = s.Records.Get(ctx, a.WABAID)
	switch {
	case err == nil:
		return true, nil
	case !errors.Is(err, onboarding.ErrNotFound):
		s.Logger.WarnContext(ctx, "meta health change that changed nothing not checked against its record", "waba_id", a.WABAID, "error", err)
		return false, nil
	}
	if s.waitFor(ctx, a, recordWaitPrefix+a.WABAID, "record_wait", now) {
		return false, onboarding.ErrSignupUnderway
	}
	return false, nil
}

// sharedAgainAfter is how long after our app's latest subscription to a
// WABA a share of it must come to be a new one. Meta stamps the share of a
// signup (the first, or one run again) before the signup's code reaches
// us, so it comes before the subscription; the margin absorbs the
// difference of Meta's and our clocks.
const sharedAgainAfter = 5 * time.Minute

// shareSettle is how long a share that would page waits for its signup:
// Meta sends the share of a customer's run of the signup again as the
// customer finishes Meta's flow, often before the page's post of the
// run's code reaches us and subscribes our app. Such a share is deferred
// for Meta to deliver again until this long after we first saw it, on
// our clock (waitForRun); the signup function's timeout is 25 s.
const shareSettle = 2 * time.Minute

// shareWaitLife is how long waitForRun remembers when it first saw a
// share that would page: far longer than Meta's wait before delivering
// a refused webhook again, so that a share is deferred once, for
// shareSettle, however its redeliveries are stamped.
const shareWaitLife = 24 * time.Hour

// shareFresh bounds how far from our clock a share's entry.time may be
// for it to be a run's still posting its code: far more than the code's
// 30 s and the clocks' usual difference.
const shareFresh = 10 * time.Minute

// shareWaitPrefix keys waitForRun's markers in the dedup table.
const shareWaitPrefix = "meta-share-wait#"

// checkSharedAgain pages the operator (MetricWebhookSubscribeFailed) when
// Meta shares a WABA with our app again, well after our app's latest
// subscription to it (the record's onboarded_at, or subscribed_at when a
// signup run again subscribed it since), while its record says it is
// still onboarded. Usually a removal came before that share, and we never
// heard of it (Meta stops redelivering after seven days): it took our
// app's webhook subscription with it. A customer who shares the WABA by
// running the signup again subscribes our app again
// (onboarding.Service.Signup) and stamps the record, so the share of that
// run, delivered after it, does not page. One delivered before the run's
// signup reached us, or a share that no signup followed, still pages: the
// runbook checks the subscription before acting. A record a removal did
// disconnect needs nothing: the customer's signup reconnects it and
// subscribes. A share that would page, sent within shareSettle of now, is
// deferred (onboarding.ErrSignupUnderway: Meta delivers it again) so that
// the run it may belong to can subscribe first. The read is advice: its
// failure is logged and the change still counts as applied.
func (s *Service) checkSharedAgain(ctx context.Context, a Action, now time.Time) error {
	if a.Sent.IsZero() {
		return nil
	}
	rec, err := s.Records.Get(ctx, a.WABAID)
	switch {
	case errors.Is(err, onboarding.ErrNotFound):
		return nil
	case err != nil:
		s.Logger.WarnContext(ctx, "meta share of a known WABA not checked against its record", "waba_id", a.WABAID, "error", err)
		return nil
	}
	subscribed := rec.OnboardedAt
	if rec.SubscribedAt.After(subscribed) {
		subscribed = rec.SubscribedAt
	}
	if !rec.State.OnboardedAtPlivo() || subscribed.IsZero() || !a.Sent.After(subscribed.Add(sharedAgainAfter)) {
		return nil
	}
	if s.waitForRun(ctx, a, subscribed, now) {
		return onboarding.ErrSignupUnderway
	}
	s.metrics().Count(onboarding.MetricWebhookSubscribeFailed, nil)
	s.Logger.WarnContext(ctx, "our app may no longer be subscribed to the WABA's webhooks: Meta shared it again after its onboarding, "+
		"so a removal we never received may have come first", "waba_id", a.WABAID, "state", rec.State,
		"onboarded_at", rec.OnboardedAt, "subscribed_at", rec.SubscribedAt, "shared_at", a.Sent, "event", a.Event)
	return nil
}

// waitForRun reports whether a share of a's WABA that would page is
// still waiting for the signup run it may belong to (shareSettle). The
// wait runs on our clock from the first such share we saw since our app's
// latest subscription (subscribed), remembered in the ledger, and not
// from entry.time: Meta's reference does not say whether a redelivery
// keeps the first delivery's entry.time or is stamped anew, and stamped
// anew, every redelivery would look fresh and be deferred until Meta gave
// up, never paging; and Meta's clock minutes off ours would page the
// run's own share at once. A share Meta stamped more than shareFresh
// from our clock, either way, is no run's still posting its code (Meta's
// code lives 30 s), or Meta's clock is too far off to tell: it pages at
// once. Only when the ledger cannot say does entry.time alone decide.
func (s *Service) waitForRun(ctx context.Context, a Action, subscribed, now time.Time) bool {
	return s.waitFor(ctx, a, shareWaitPrefix+a.WABAID+"#"+strconv.FormatInt(subscribed.UnixNano(), 10), "share_wait", now)
}

// waitFor reports whether a change of a's, which would act now on what
// a signup still posting its code is about to change, may wait for it:
// for shareSettle on our clock from the first sight of such a change,
// kept in the ledger under key (as waitForRun explains), and not at all
// for a change Meta stamped more than shareFresh from our clock.
func (s *Service) waitFor(ctx context.Context, a Action, key, reason string, now time.Time) bool {
	if age := now.Sub(a.Sent); age > shareFresh || age < -shareFresh {
		return false
	}
	marker := &callbacks.Entry{
		Key: key, State: callbacks.EntryUnrouted, Reason: reason, Kind: callbacks.Kind(kindPrefix + reason),
		Route: callbacks.Route{WABAID: a.WABAID}, ExpiresAt: now.Add(shareWaitLife), CreatedAt: now, UpdatedAt: now,
	}
	first, err := s.Ledger.Claim(ctx, marker, now)
	switch {
	case err == nil:
		return true
	case errors.Is(err, onboarding.ErrConditionFailed) && first != nil && !first.CreatedAt.IsZero():
		return now.Sub(first.CreatedAt) < shareSettle
	}
	s.Logger.WarnContext(ctx, "meta change's first sight not read; its entry.time decides its wait", "waba_id", a.WABAID,
		"wait", reason, "error", err)
	age := now.Sub(a.Sent)
	return age < shareSettle && age > -shareSettle
}

// field keeps metric dimensions to the fields Meta documents.
func field(f string) string {
	if _, ok := knownKeys[f]; ok {
		return f
	}
	return "other"
}

func claimDeadline(ctx context.Context, now time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d.UTC()
	}
	return now.Add(defaultClaim)
}

// Bounds of what the ledger keeps of an unknown change: at most about
// 32 KiB of its value and 8 KiB of names, far below DynamoDB's 400 KB item.
const (
	MaxStoredValueBytes = 32 << 10
	maxStoredName       = 128
	maxStoredKeys       = 64
)

// accountFields are the webhook fields about the WABA itself (its account,
// numbers, templates and capabilities), whose values an operator may read
// whole. Every other field, such as messages, message echoes, history,
// calls and user preferences, and any field Meta adds later, may carry
// what the customer's own customers wrote, their names and their numbers:
// none of that is the onboarding's to keep.
var accountFields = map[string]bool{
	FieldAccountUpdate: true, FieldQualityUpdate: true, FieldNameUpdate: true, FieldCapabilityUpdate: true,
	FieldReviewUpdate: true, "account_alerts": true, "business_status_update": true, "security": true,
	"message_template_status_update": true, "message_template_quality_update": true,
	"message_template_components_update": true, "template_category_update": true,
	"partner_solutions": true, "payment_configuration_update": true,
}

// storedChange is the ledger's copy of a change not fully known: its field,
// entry, the names of the keys this version does not read (every key, for
// a field it does not read), and its value, clipped past
// MaxStoredValueBytes with the whole value's size and digest. Of a field
// outside accountFields only the size and digest are kept.
func storedChange(e Entry, c Change, unknown []string) url.Values {
	fields := url.Values{"field": {clip(c.Field, maxStoredName)}, "entry_id": {clip(e.ID, maxStoredName)}}
	value := string(c.Value)
	if len(value) > MaxStoredValueBytes || !accountFields[c.Field] {
		sum := sha256.Sum256(c.Value)
		fields["value_bytes"] = []string{strconv.Itoa(len(value))}
		fields["value_sha256"] = []string{hex.EncodeToString(sum[:])}
		value = clip(value, MaxStoredValueBytes)
	}
	if accountFields[c.Field] {
		fields["value"] = []string{value}
	}
	for i, k := range unknown {
		if i == maxStoredKeys {
			fields["unknown_keys_omitted"] = []string{strconv.Itoa(len(unknown) - i)}
			break
		}
		fields["unknown_keys"] = append(fields["unknown_keys"], clip(k, maxStoredName))
	}
	return fields
}

// clip cuts s to at most n bytes and drops what is not UTF-8, such as a
// character the cut split: DynamoDB stores only UTF-8 strings.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}
