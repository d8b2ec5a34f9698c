package dynamo_test

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

// The page's Try again, after the answer to its first post was lost, posts
// the same signup again: the same session link, the same Meta code. Graph
// refuses a code the second time (code 100, subcode 36009), so the second
// post is answered from what the first attempt wrote, found by the one
// owner that attempt kept in the session's ledger and on the WABA's
// record. These tests run that story through the real service on
// DynamoDB Local: the owner and the code's fingerprint must survive the
// attribute round trip, the conditional writes and the reuse counter.

const dpWABA = "104000000000077"

// usedCodes is a Graph API whose codes are single use: a code exchanged
// before is refused as Graph refuses it. Codes in refuse are refused from
// the start (a new run's code that expired, say).
type usedCodes struct {
	mu     sync.Mutex
	used   map[string]bool
	refuse map[string]bool
}

func newUsedCodes(refuse ...string) *usedCodes {
	u := &usedCodes{used: map[string]bool{}, refuse: map[string]bool{}}
	for _, c := range refuse {
		u.refuse[c] = true
	}
	return u
}

func (u *usedCodes) exchange(code string) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used[code] || u.refuse[code] {
		return "", &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: "exchange_code", Kind: onboarding.KindRejected,
			Status: 400, Code: 100, Message: "This authorization code has been used."}
	}
	u.used[code] = true
	return "EAA-token-" + code, nil
}

// answer is what the API would tell the page about one post: the outcome
// or error code, its kind (the HTTP status, apigw.StatusOf), its message,
// and the record's state and failure reason as the page reads them.
type answer struct {
	outcome onboarding.Outcome
	code    onboarding.Code
	kind    onboarding.ErrorKind
	message string
	state   onboarding.State
	reason  string
}

// answerOf reads res and err as the page would, with the record's state and
// failure reason read from the table after the post.
func answerOf(t *testing.T, store *dynamo.Store, res onboarding.SignupResult, err error) answer {
	t.Helper()
	a := answer{outcome: res.Outcome}
	if err != nil {
		a.code = onboarding.ErrorCode(err)
		a.kind, a.message = a.code.Kind(), onboarding.ErrorMessage(err)
	}
	rec, gerr := store.Get(context.Background(), dpWABA)
	switch {
	case errors.Is(gerr, onboarding.ErrNotFound):
	case gerr != nil:
		t.Fatalf("read the record: %v", gerr)
	default:
		a.state, a.reason = rec.State, rec.FailureReason
	}
	return a
}

// doublePostService is the signup service on the tables of store and
// ledger: an execution environment of the signup function. Several may
// share the tables, Meta and Plivo, as two environments serve a post and
// its resend.
func doublePostService(store onboarding.Store, ledger *dynamo.SessionLedger, meta *onboardingtest.Meta, plivo *onboardingtest.Plivo,
	clock *onboardingtest.Clock, sleep func(context.Context, time.Duration) error) *onboarding.Service {
	return &onboarding.Service{Store: store, Sessions: ledger, Meta: meta, Plivo: plivo,
		AppID:  func(context.Context) (string, error) { return "app", nil },
		Policy: onboarding.RetryPolicy{BaseDelay: time.Minute, MaxDelay: 10 * time.Minute, MaxAttempts: 2, MaxAge: 24 * time.Hour, InRequestDelay: time.Millisecond},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock.Now, Random: func() float64 { return 0.5 }, Sleep: sleep}
}

// doublePost is one post of the signup on the session token tok, at at.
func doublePost(code, tok string, at time.Time, wabaOnly bool) onboarding.SignupRequest {
	req := onboarding.SignupRequest{Code: code, RequestID: "req-" + hex.EncodeToString(randomBytes(4)), WABAOnly: wabaOnly,
		Identity: onboarding.Identity{WABAID: dpWABA, PhoneNumberID: onboardingtest.PhoneNumberID, BusinessID: onboardingtest.BusinessID},
		Session:  &onboarding.SessionUse{ID: tok, ClientRef: "customer-1", UsedAt: at, ExpiresAt: at.Add(15 * time.Minute)}}
	if wabaOnly {
		req.Identity.PhoneNumberID = ""
	}
	return req
}

// reusesOf reads how many retries token tok's item counted.
func reusesOf(t *testing.T, l *dynamo.SessionLedger, tok string) string {
	t.Helper()
	out, err := l.Client.(*countingAPI).Client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(l.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{dynamo.DedupKeyAttribute: &types.AttributeValueMemberS{Value: dynamo.SessionKeyPrefix + tok}},
	})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := out.Item[dynamo.SessionReusesAttribute].(*types.AttributeValueMemberN)
	if !ok {
		return "none"
	}
	return n.Value
}

// recordOrNil reads the WABA's record, nil when there is none.
func recordOrNil(t *testing.T, store *dynamo.Store) *onboarding.Record {
	t.Helper()
	rec, err := store.Get(context.Background(), dpWABA)
	switch {
	case errors.Is(err, onboarding.ErrNotFound):
		return nil
	case err != nil:
		t.Fatalf("read the record: %v", err)
	}
	return rec
}

func plivoFailure(kind onboarding.Kind, status int) error {
	return &onboarding.UpstreamError{Service: onboarding.ServicePlivo, Op: "embedded_signup", Kind: kind, Status: status, Message: "refused", APIID: "err-api"}
}

func unverifiedNumber(string) ([]onboarding.PhoneNumber, error) {
	return []onboarding.PhoneNumber{{ID: onboardingtest.PhoneNumberID, CodeVerificationStatus: "NOT_VERIFIED", Status: "PENDING"}}, nil
}

// TestDoublePostOnDynamoDB: the resend of a post, a second after the first
// ended, gets the first's answer, for every end of the first attempt that
// the customer acts on or the page follows, with no second Plivo call and
// no write to the record. A new code on the same link, the same code after
// another attempt rewrote the record, or the same code minutes later keeps
// Meta's refusal, as the unit tests say with memstore.
func TestDoublePostOnDynamoDB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup scripts Meta and Plivo for the first post.
		setup    func(meta *onboardingtest.Meta, plivo *onboardingtest.Plivo)
		wabaOnly bool
		// first is the first post's outcome or error code, and the state
		// and failure reason it leaves.
		first  onboarding.Code
		out    onboarding.Outcome
		state  onboarding.State
		reason string
		// rewrite, when set, is another attempt's write of the record
		// between the two posts.
		rewrite bool
		// earlierRun runs the signup on the same link, with another code
		// and the same upstreams, ten minutes before the first post: the
		// customer's first run of Meta's flow, the first post's run being
		// the second.
		earlierRun bool
		// code and after are the second post's code and delay; want is
		// its code when it is not the first's answer.
		code  string
		after time.Duration
		want  onboarding.Code
		// resubscribed says the second post subscribed our app to the
		// WABA again and stamped the record (rerun.go).
		resubscribed bool
	}{
		{name: "onboarded", setup: func(*onboardingtest.Meta, *onboardingtest.Plivo) {},
			out: onboarding.OutcomeOnboarded, state: onboarding.StateOnboarded, code: "code-1", after: time.Second},
		// A new code seconds after is a new run of Meta's flow: spent and
		// proven, our app subscribed again; refused, answered from the
		// record all the same.
		{name: "onboarded, then a new code", setup: func(*onboardingtest.Meta, *onboardingtest.Plivo) {},
			out: onboarding.OutcomeOnboarded, state: onboarding.StateOnboarded, code: "code-3", after: time.Second, resubscribed: true},
		{name: "onboarded, then a new code Meta refuses", setup: func(*onboardingtest.Meta, *onboardingtest.Plivo) {},
			out: onboarding.OutcomeOnboarded, state: onboarding.StateOnboarded, code: "code-2", after: time.Second},
		{name: "phone_unverified", setup: func(m *onboardingtest.Meta, _ *onboardingtest.Plivo) { m.Numbers = unverifiedNumber },
			first: onboarding.CodePhoneUnverified, state: onboarding.StatePhoneUnverified, code: "code-1", after: time.Second},
		{name: "awaiting_number", setup: func(*onboardingtest.Meta, *onboardingtest.Plivo) {}, wabaOnly: true,
			first: onboarding.CodeNumberMissing, state: onboarding.StateAwaitingNumber, code: "code-1", after: time.Second},
		{name: "failed: Plivo refused (4xx)", setup: func(_ *onboardingtest.Meta, p *onboardingtest.Plivo) {
			p.Err = plivoFailure(onboarding.KindRejected, 400)
		}, first: onboarding.CodeUpstreamFailed, state: onboarding.StateFailed, reason: onboarding.ReasonPlivoRejected, code: "code-1", after: time.Second},
		{name: "failed: registered elsewhere at Plivo", setup: func(_ *onboardingtest.Meta, p *onboardingtest.Plivo) {
			p.Err = plivoFailure(onboarding.KindAlreadyRegistered, 409)
		}, first: onboarding.CodeAlreadyRegistered, state: onboarding.StateFailed, reason: onboarding.ReasonAlreadyRegistered, code: "code-1", after: time.Second},
		{name: "failed: Plivo 5xx after its retries", setup: func(_ *onboardingtest.Meta, p *onboardingtest.Plivo) {
			p.Err = plivoFailure(onboarding.KindTransient, 503)
		}, first: onboarding.CodeUpstreamFailed, state: onboarding.StateFailed, reason: onboarding.ReasonGaveUp, code: "code-1", after: time.Second},
		// The ledger keeps the link's first use; the attempt that spent a
		// later run's code is the one a resend of that run must find.
		{name: "phone_unverified, on the link's second run", setup: func(m *onboardingtest.Meta, _ *onboardingtest.Plivo) { m.Numbers = unverifiedNumber },
			earlierRun: true, first: onboarding.CodePhoneUnverified, state: onboarding.StatePhoneUnverified, code: "code-1", after: time.Second},
		{name: "failed: Plivo refused, on the link's second run", setup: func(_ *onboardingtest.Meta, p *onboardingtest.Plivo) {
			p.Err = plivoFailure(onboarding.KindRejected, 400)
		}, earlierRun: true, first: onboarding.CodeUpstreamFailed, state: onboarding.StateFailed, reason: onboarding.ReasonPlivoRejected, code: "code-1", after: time.Second},
		{name: "verified, Plivo to be retried", setup: func(_ *onboardingtest.Meta, p *onboardingtest.Plivo) {
			p.Err = plivoFailure(onboarding.KindForbidden, 403)
		}, out: onboarding.OutcomePending, state: onboarding.StateVerified, code: "code-1", after: time.Second},
		{name: "phone_unverified, record since written by another attempt", setup: func(m *onboardingtest.Meta, _ *onboardingtest.Plivo) { m.Numbers = unverifiedNumber },
			first: onboarding.CodePhoneUnverified, state: onboarding.StatePhoneUnverified, rewrite: true,
			code: "code-1", after: time.Second, want: onboarding.CodeMetaRejected},
		{name: "failed, then a new code Meta refuses", setup: func(_ *onboardingtest.Meta, p *onboardingtest.Plivo) {
			p.Err = plivoFailure(onboarding.KindRejected, 400)
		}, first: onboarding.CodeUpstreamFailed, state: onboarding.StateFailed, reason: onboarding.ReasonPlivoRejected,
			code: "code-2", after: time.Second, want: onboarding.CodeMetaRejected},
		// Meta's own refusals of a post naming its WABA are written
		// nowhere (proof.go: nothing before Meta's proof), so no record
		// tells a resend what the first attempt ended in: it keeps Meta's
		// refusal of the used code, the same status and the same next
		// step on the page (Start again), and still writes nothing.
		{name: "failed at Meta: business mismatch", setup: func(m *onboardingtest.Meta, _ *onboardingtest.Plivo) {
			m.Owner = func(string) (string, error) { return "198765432100000", nil }
		}, first: onboarding.CodeBusinessMismatch, code: "code-1", after: time.Second, want: onboarding.CodeMetaRejected},
		{name: "failed at Meta: token of another app", setup: func(m *onboardingtest.Meta, _ *onboardingtest.Plivo) {
			m.Debug = func(string) (onboarding.TokenInfo, error) {
				return onboarding.TokenInfo{AppID: "other-app", Valid: true}, nil
			}
		}, first: onboarding.CodeMetaRejected, code: "code-1", after: time.Second, want: onboarding.CodeMetaRejected},
		{name: "phone_unverified, the same code minutes later", setup: func(m *onboardingtest.Meta, _ *onboardingtest.Plivo) { m.Numbers = unverifiedNumber },
			first: onboarding.CodePhoneUnverified, state: onboarding.StatePhoneUnverified,
			code: "code-1", after: 5 * time.Minute, want: onboarding.CodeMetaRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, ledger, _ := sessionTables(t)
			codes := newUsedCodes("code-2")
			meta := &onboardingtest.Meta{AppID: "app", Exchange: codes.exchange}
			plivo := &onboardingtest.Plivo{}
			tt.setup(meta, plivo)
			clock := onboardingtest.NewClock(ttlSafe)
			svc := doublePostService(store, ledger, meta, plivo, clock, func(context.Context, time.Duration) error { return nil })
			ctx := context.Background()
			tok := strings.ToUpper(hex.EncodeToString(randomBytes(11)))
			reuses := "1"
			if tt.earlierRun {
				_, _ = svc.Signup(ctx, doublePost("code-0", tok, clock.Now(), tt.wabaOnly))
				clock.Advance(10 * time.Minute)
				reuses = "2"
			}
			now := clock.Now()

			res, err := svc.Signup(ctx, doublePost("code-1", tok, now, tt.wabaOnly))
			first := answerOf(t, store, res, err)
			if first.code != tt.first || first.outcome != tt.out || first.state != tt.state || first.reason != tt.reason {
				t.Fatalf("first post: %+v (%v); want %s%s, record %s %q", first, err, tt.out, tt.first, tt.state, tt.reason)
			}
			// rec is the first post's record; nil when it wrote none.
			rec := recordOrNil(t, store)
			if tt.rewrite {
				// Another attempt takes the waiting record over and leaves
				// it waiting again, under its own owner.
				other := *rec
				other.State, other.LockOwner, other.LockExpiresAt = onboarding.StateVerifying, owner("req-other"), now.Add(time.Minute)
				if _, err := store.Acquire(ctx, &other, now); err != nil {
					t.Fatalf("another attempt's lock: %v", err)
				}
				other.State, other.LockExpiresAt = rec.State, time.Time{}
				if _, err := store.Save(ctx, &other); err != nil {
					t.Fatalf("another attempt's save: %v", err)
				}
				rec = recordOrNil(t, store)
			}
			plivoCalls, _ := plivo.Counts()
			exchanges := meta.Exchanges()

			clock.Advance(tt.after)
			res, err = svc.Signup(ctx, doublePost(tt.code, tok, now.Add(tt.after), tt.wabaOnly))
			second := answerOf(t, store, res, err)
			switch {
			case tt.want != "" && second.code != tt.want:
				t.Fatalf("second post: %+v (%v); want %s", second, err, tt.want)
			case tt.want == "" && second.code == onboarding.CodeMetaRejected:
				t.Fatalf("second post: %v; the first attempt's answer was %+v, and it says to run the signup again", err, first)
			case tt.want == "":
				want := first
				if want.outcome == onboarding.OutcomeOnboarded {
					want.outcome = onboarding.OutcomeReplayed
				}
				if second != want {
					t.Fatalf("second post answered %+v, want the first's %+v", second, want)
				}
			}
			after := recordOrNil(t, store)
			switch {
			case (rec == nil) != (after == nil):
				t.Fatalf("second post left the record %+v, was %+v", after, rec)
			case rec != nil && (after.State != rec.State || after.LockOwner != rec.LockOwner || !after.UpdatedAt.Equal(rec.UpdatedAt)):
				t.Errorf("second post changed the record: %s by %q at %v, was %s by %q at %v",
					after.State, after.LockOwner, after.UpdatedAt, rec.State, rec.LockOwner, rec.UpdatedAt)
			}
			if got := after != nil && !after.SubscribedAt.IsZero(); got != tt.resubscribed {
				t.Errorf("subscribed again: %t, want %t", got, tt.resubscribed)
			}
			if calls, _ := plivo.Counts(); calls != plivoCalls {
				t.Errorf("plivo calls = %d after the second post, want %d", calls, plivoCalls)
			}
			if tt.code == "code-1" && meta.Exchanges() > exchanges+1 {
				t.Errorf("%d exchanges for the resend, want at most one", meta.Exchanges()-exchanges)
			}
			if got := reusesOf(t, ledger, tok); got != reuses {
				t.Errorf("the token counted %s retries, want %s", got, reuses)
			}
		})
	}
}

// heldReads is a store whose reads wait, once held, until released: the
// resend's environment reading the WABA's record after its code was
// refused, while the first post is still at work elsewhere.
type heldReads struct {
	*dynamo.Store
	held    atomic.Bool
	release chan struct{}
}

func (s *heldReads) Get(ctx context.Context, wabaID string) (*onboarding.Record, error) {
	if s.held.Load() {
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Store.Get(ctx, wabaID)
}

// TestDoublePostWhileFirstIsWithMetaOnDynamoDB: the resend reaches another
// execution environment while the first post is still in Meta's
// verification. Meta refuses the resend's code; the first then ends the
// signup, and the resend answers as the first did. With waitForFirst the
// resend reads the record only once the first has answered; without, it
// reads whatever the first has written by then, and may answer
// signup_in_progress from its lock, which the page follows to the same
// record. Never meta_rejected, and Plivo is called once at most.
func TestDoublePostWhileFirstIsWithMetaOnDynamoDB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		setup        func(meta *onboardingtest.Meta, plivo *onboardingtest.Plivo)
		waitForFirst bool
		plivoCalls   int
	}{
		{name: "onboarded", setup: func(*onboardingtest.Meta, *onboardingtest.Plivo) {}, waitForFirst: true, plivoCalls: 1},
		{name: "phone_unverified", setup: func(m *onboardingtest.Meta, _ *onboardingtest.Plivo) { m.Numbers = unverifiedNumber }, waitForFirst: true},
		{name: "failed at Plivo", setup: func(_ *onboardingtest.Meta, p *onboardingtest.Plivo) {
			p.Err = plivoFailure(onboarding.KindRejected, 400)
		}, waitForFirst: true, plivoCalls: 1},
		{name: "onboarded, read while the first is at work", setup: func(*onboardingtest.Meta, *onboardingtest.Plivo) {}, plivoCalls: 1},
		{name: "phone_unverified, read while the first is at work", setup: func(m *onboardingtest.Meta, _ *onboardingtest.Plivo) { m.Numbers = unverifiedNumber }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, ledger, _ := sessionTables(t)
			codes := newUsedCodes()
			reached, release := make(chan struct{}), make(chan struct{})
			resendStore := &heldReads{Store: store, release: make(chan struct{})}
			var once, refusedOnce sync.Once
			exchange := func(code string) (string, error) {
				token, err := codes.exchange(code)
				if err != nil {
					// Set before the resend reads the record again.
					resendStore.held.Store(tt.waitForFirst)
					refusedOnce.Do(func() { close(release) })
				}
				return token, err
			}
			meta := &onboardingtest.Meta{AppID: "app", Exchange: exchange, Debug: func(string) (onboarding.TokenInfo, error) {
				// Only the first post's code is exchanged, so only it asks.
				once.Do(func() { close(reached) })
				<-release
				return onboardingtest.Grant("app", dpWABA), nil
			}}
			plivo := &onboardingtest.Plivo{}
			tt.setup(meta, plivo)
			clock := onboardingtest.NewClock(ttlSafe)
			firstEnv := doublePostService(store, ledger, meta, plivo, clock, nil)
			resendEnv := doublePostService(resendStore, ledger, meta, plivo, clock, nil)
			ctx := context.Background()
			tok := strings.ToUpper(hex.EncodeToString(randomBytes(11)))
			now := clock.Now()

			type result struct {
				res onboarding.SignupResult
				err error
			}
			firstDone := make(chan result, 1)
			go func() {
				res, err := firstEnv.Signup(ctx, doublePost("code-1", tok, now, false))
				firstDone <- result{res, err}
			}()
			select {
			case <-reached:
			case <-time.After(20 * time.Second):
				t.Fatal("the first post never reached Meta's verification")
			}
			var first result
			go func() {
				// The resend's reads after the refusal wait for the first's
				// answer.
				first = <-firstDone
				close(resendStore.release)
			}()
			res, err := resendEnv.Signup(ctx, doublePost("code-1", tok, now.Add(time.Second), false))
			select {
			case <-resendStore.release:
			case <-time.After(20 * time.Second):
				t.Fatal("the first post never answered")
			}
			firstAnswer := answerOf(t, store, first.res, first.err)
			second := answerOf(t, store, res, err)
			want := firstAnswer
			if want.outcome == onboarding.OutcomeOnboarded {
				want.outcome = onboarding.OutcomeReplayed
			}
			switch {
			case second.code == onboarding.CodeMetaRejected:
				t.Fatalf("second post: %v; the first ended %+v, and it says to run the signup again", err, firstAnswer)
			case second.code == onboarding.CodeInProgress && !tt.waitForFirst:
				var e *onboarding.Error
				if !errors.As(err, &e) || e.RetryAfter < time.Second {
					t.Errorf("in progress without a Retry-After: %v", err)
				}
			case second != want:
				t.Fatalf("second post answered %+v, want the first's %+v", second, want)
			}
			if calls, _ := plivo.Counts(); calls != tt.plivoCalls {
				t.Errorf("plivo calls = %d, want %d", calls, tt.plivoCalls)
			}
		})
	}
}
