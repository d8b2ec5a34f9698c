package onboarding_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

// singleUseCodes makes Meta refuse a code exchanged before, as Graph does
// (code 100). exchanged is closed once an exchange first succeeded,
// refused once an exchange was refused.
func singleUseCodes(f *fixture) (exchanged, refused <-chan struct{}) {
	var mu sync.Mutex
	used := map[string]bool{}
	ok, no := make(chan struct{}), make(chan struct{})
	f.meta.Exchange = func(code string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if used[code] {
			select {
			case <-no:
			default:
				close(no)
			}
			return "", metaErr(onboarding.KindRejected, 100)
		}
		used[code] = true
		select {
		case <-ok:
		default:
			close(ok)
		}
		return "EAA-token-" + code, nil
	}
	return ok, no
}

// TestDoublePostOfOneSignup: the page's Try again, after the answer to its
// first post was lost, posts the same payload while the first post is
// still at work. Meta refuses the second exchange of the code, and the
// first onboards the WABA: the second must not tell the customer to run
// the signup again. It answers from the first's record as soon as there is
// one, in progress or pending (the page follows the record) or replayed.
func TestDoublePostOfOneSignup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// hold pauses the first post at one step until release is closed,
		// and returns a channel closed once the first post is there: the
		// second is posted then.
		hold func(f *fixture, exchanged, release <-chan struct{}) <-chan struct{}
		// untilAnswered releases the first post once the second was
		// answered; otherwise once the second's code was refused.
		untilAnswered bool
		// code is the second's answer; "" takes in progress or replayed.
		code onboarding.Code
	}{
		{name: "first in Meta's verification when the second's code is refused",
			hold: func(f *fixture, _, release <-chan struct{}) <-chan struct{} {
				reached := make(chan struct{})
				f.meta.Debug = func(string) (onboarding.TokenInfo, error) {
					close(reached)
					<-release
					return onboardingtest.Grant(appID, waba), nil
				}
				return reached
			}},
		{name: "first in its verified save: its lock answers before the exchange",
			hold: func(f *fixture, _, release <-chan struct{}) <-chan struct{} {
				reached := make(chan struct{})
				var once sync.Once
				f.store.Fail = func(op string, _ *onboarding.Record) error {
					if op == "save" {
						once.Do(func() { close(reached); <-release })
					}
					return nil
				}
				return reached
			}, untilAnswered: true, code: onboarding.CodeInProgress},
		{name: "no hold: posted once the first's code was exchanged",
			hold: func(_ *fixture, exchanged, _ <-chan struct{}) <-chan struct{} { return exchanged }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.svc.Sessions = f.store
			f.svc.Sleep = upstream.Sleep // the first post must move on while the second waits
			exchanged, refused := singleUseCodes(f)
			release := make(chan struct{})
			reached := tt.hold(f, exchanged, release)
			now := f.clock.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			type answer struct {
				res onboarding.SignupResult
				err error
			}
			first := make(chan answer, 1)
			go func() {
				res, err := f.svc.Signup(ctx, sessionRequest("code-1", "tok", now))
				first <- answer{res, err}
			}()
			<-reached
			if !tt.untilAnswered {
				go func() {
					select {
					case <-refused:
					case <-ctx.Done():
					}
					close(release)
				}()
			}
			res, err := f.svc.Signup(ctx, sessionRequest("code-1", "tok", now.Add(time.Second)))
			if tt.untilAnswered {
				close(release)
			}
			a := <-first
			if a.err != nil || a.res.Outcome != onboarding.OutcomeOnboarded {
				t.Fatalf("first post: %s, %v; want onboarded", a.res.Outcome, a.err)
			}
			switch code := codeOf(err); {
			case code == onboarding.CodeMetaRejected:
				t.Fatalf("second post: %v; the first onboards the WABA, and it says to run the signup again", err)
			case tt.code != "" && code != tt.code, tt.code == "" && err != nil && code != onboarding.CodeInProgress:
				t.Fatalf("second post: %s, %v; want %q", res.Outcome, err, tt.code)
			}
			var e *onboarding.Error
			if codeOf(err) == onboarding.CodeInProgress && (!errors.As(err, &e) || e.RetryAfter < time.Second) {
				t.Errorf("in progress without a Retry-After: %v", err)
			}
			// A record the first saw verified (Plivo still to answer) is
			// answered pending: the page follows it as it does in progress.
			if err == nil && res.Outcome != onboarding.OutcomeReplayed && res.Outcome != onboarding.OutcomePending {
				t.Errorf("second post: %s, want replayed or pending", res.Outcome)
			}
			if err == nil && res.Record.WABAID != waba {
				t.Errorf("second post answered without the first's record: %+v", res.Record)
			}
			if calls, _ := f.plivo.Counts(); calls != 1 {
				t.Errorf("plivo calls = %d, want 1", calls)
			}
		})
	}
}

// TestRefusedCodeWaitsOnlyForAnotherAttempt: a refused code waits for
// another attempt's record only when the session's ledger shows another
// attempt of the same signup started moments before; otherwise the WABA's
// record is read once, and a genuine refusal is answered at once.
func TestRefusedCodeWaitsOnlyForAnotherAttempt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	firstUse := func(ago time.Duration) *onboarding.SessionUse {
		return &onboarding.SessionUse{ID: "tok", ClientRef: "customer-1", WABAID: waba, UsedAt: now.Add(-ago), ExpiresAt: now.Add(time.Hour), Attempt: "other-attempt"}
	}
	locked := onboarding.Record{WABAID: waba, State: onboarding.StateVerifying, PhoneNumberID: phone, BusinessID: business, ClientRef: "customer-1",
		LockOwner: "other-attempt", LockExpiresAt: now.Add(20 * time.Second)}
	tests := []struct {
		name    string
		session bool
		spent   *onboarding.SessionUse
		refusal error
		// appears is the record another attempt writes as the code is refused.
		appears *onboarding.Record
		want    onboarding.Code
		pauses  int
	}{
		{name: "no session, no record", refusal: metaErr(onboarding.KindRejected, 100), want: onboarding.CodeMetaRejected},
		{name: "no session, another attempt's lock", refusal: metaErr(onboarding.KindRejected, 100), appears: &locked, want: onboarding.CodeInProgress},
		{name: "fresh token", session: true, refusal: metaErr(onboarding.KindRejected, 100), want: onboarding.CodeMetaRejected},
		{name: "token spent by another attempt a second ago, no record ever", session: true, spent: firstUse(time.Second),
			refusal: metaErr(onboarding.KindRejected, 100), want: onboarding.CodeMetaRejected, pauses: 12},
		{name: "token spent minutes ago: a retry after a refused code", session: true, spent: firstUse(5 * time.Minute),
			refusal: metaErr(onboarding.KindRejected, 100), want: onboarding.CodeMetaRejected},
		{name: "our app's configuration refused", session: true, spent: firstUse(time.Second), appears: &locked,
			refusal: &onboarding.UpstreamError{Service: onboarding.ServiceMeta, Op: "exchange_code", Kind: onboarding.KindConfig, Status: 400, Code: 1},
			want:    onboarding.CodeProviderConfig},
		{name: "Meta unavailable", session: true, spent: firstUse(time.Second), appears: &locked,
			refusal: metaErr(onboarding.KindTransient, 2), want: onboarding.CodeMetaUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			var pauses int
			f.svc.Sleep = func(context.Context, time.Duration) error { pauses++; return nil }
			f.meta.Exchange = func(string) (string, error) {
				if tt.appears != nil {
					f.store.Put(*tt.appears)
				}
				return "", tt.refusal
			}
			req := request("c1")
			if tt.session {
				f.svc.Sessions = f.store
				req = sessionRequest("c1", "tok", now)
			}
			if tt.spent != nil {
				f.store.PutUse(*tt.spent)
			}
			_, err := f.svc.Signup(context.Background(), req)
			if codeOf(err) != tt.want {
				t.Fatalf("Signup: %v, want %s", err, tt.want)
			}
			if pauses != tt.pauses {
				t.Errorf("%d pauses before the answer, want %d", pauses, tt.pauses)
			}
		})
	}
}

// TestOneOwnerPerAttempt: the owner an attempt records in the session's
// ledger is the one on the records it writes, however it ends, so that a
// resend of its post can tell that attempt's record from another's.
func TestOneOwnerPerAttempt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(f *fixture)
		state onboarding.State
	}{
		{name: "onboarded", setup: func(*fixture) {}, state: onboarding.StateOnboarded},
		{name: "phone_unverified", setup: func(f *fixture) {
			f.meta.Numbers = func(string) ([]onboarding.PhoneNumber, error) {
				return []onboarding.PhoneNumber{{ID: phone, CodeVerificationStatus: "NOT_VERIFIED"}}, nil
			}
		}, state: onboarding.StatePhoneUnverified},
		{name: "failed at Plivo", setup: func(f *fixture) { f.plivo.Err = plivoErr(onboarding.KindRejected, 400, "invalid waba") },
			state: onboarding.StateFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.svc.Sessions = f.store
			tt.setup(f)
			_, _ = f.svc.Signup(context.Background(), sessionRequest("code-1", "tok", f.clock.Now()))
			rec := f.record(t)
			use, ok := f.store.Use("tok")
			if !ok || rec.State != tt.state {
				t.Fatalf("record %s, session use recorded: %v; want %s and a use", rec.State, ok, tt.state)
			}
			if use.Attempt == "" || rec.LockOwner != use.Attempt {
				t.Errorf("record's owner %q, session use's attempt %q: want one owner", rec.LockOwner, use.Attempt)
			}
		})
	}
}

// TestDoublePostAfterFirstAttemptFailed: the page's Try again posts the
// same code again after the first post ended in a failure its record
// keeps. Meta refuses the used code; the second must answer what the first
// answered (the customer's real next step), not "run the signup again".
// Only a resend of the same code, seconds after, answered from the record
// that very attempt wrote, is; anything else keeps Meta's refusal.
func TestDoublePostAfterFirstAttemptFailed(t *testing.T) {
	t.Parallel()
	unverified := func(string) ([]onboarding.PhoneNumber, error) {
		return []onboarding.PhoneNumber{{ID: phone, CodeVerificationStatus: "NOT_VERIFIED", Status: "PENDING"}}, nil
	}
	tests := []struct {
		name  string
		setup func(f *fixture)
		// state and firstCode are the first post's record and answer.
		state     onboarding.State
		firstCode onboarding.Code
		// rewrite, when set, changes the first's record before the second
		// post, as another attempt's write would.
		rewrite func(rec *onboarding.Record)
		// wabaOnly posts both as Meta's "no number" finish.
		wabaOnly bool
		// earlierRun runs the signup on the same link, with another code,
		// ten minutes before the first post: the session's first use is
		// then that run's, not the first post's.
		earlierRun bool
		// between, when set, is a code posted on the link half-way between
		// the two posts, which Meta refuses.
		between string
		// code and after are the second post's code and delay.
		code  string
		after time.Duration
		want  onboarding.Code
	}{
		{name: "phone_unverified", setup: func(f *fixture) { f.meta.Numbers = unverified },
			state: onboarding.StatePhoneUnverified, firstCode: onboarding.CodePhoneUnverified,
			code: "code-1", after: time.Second, want: onboarding.CodePhoneUnverified},
		{name: "awaiting_number", setup: func(*fixture) {}, wabaOnly: true,
			state: onboarding.StateAwaitingNumber, firstCode: onboarding.CodeNumberMissing,
			code: "code-1", after: time.Second, want: onboarding.CodeNumberMissing},
		{name: "failed: Plivo refused", setup: func(f *fixture) { f.plivo.Err = plivoErr(onboarding.KindRejected, 400, "invalid waba") },
			state: onboarding.StateFailed, firstCode: onboarding.CodeUpstreamFailed,
			code: "code-1", after: time.Second, want: onboarding.CodeUpstreamFailed},
		{name: "failed: registered elsewhere at Plivo", setup: func(f *fixture) {
			f.plivo.Err = plivoErr(onboarding.KindAlreadyRegistered, 409, "already registered")
		}, state: onboarding.StateFailed, firstCode: onboarding.CodeAlreadyRegistered,
			code: "code-1", after: time.Second, want: onboarding.CodeAlreadyRegistered},
		{name: "phone_unverified, on the link's second run", setup: func(f *fixture) { f.meta.Numbers = unverified }, earlierRun: true,
			state: onboarding.StatePhoneUnverified, firstCode: onboarding.CodePhoneUnverified,
			code: "code-1", after: time.Second, want: onboarding.CodePhoneUnverified},
		{name: "failed: Plivo refused, on the link's second run", setup: func(f *fixture) { f.plivo.Err = plivoErr(onboarding.KindRejected, 400, "invalid waba") },
			earlierRun: true, state: onboarding.StateFailed, firstCode: onboarding.CodeUpstreamFailed,
			code: "code-1", after: time.Second, want: onboarding.CodeUpstreamFailed},
		{name: "phone_unverified, record since written by another attempt", setup: func(f *fixture) { f.meta.Numbers = unverified },
			state: onboarding.StatePhoneUnverified, firstCode: onboarding.CodePhoneUnverified,
			rewrite: func(rec *onboarding.Record) { rec.LockOwner = "req-other/0123456789abcdef" },
			code:    "code-1", after: time.Second, want: onboarding.CodeMetaRejected},
		// Attacks on the retries' record of the code each spent: none gets
		// an answer from a record its own attempt did not write.
		{name: "phone_unverified on the link's second run, record since written by another attempt", setup: func(f *fixture) { f.meta.Numbers = unverified },
			earlierRun: true, state: onboarding.StatePhoneUnverified, firstCode: onboarding.CodePhoneUnverified,
			rewrite: func(rec *onboarding.Record) { rec.LockOwner = "req-other/0123456789abcdef" },
			code:    "code-1", after: time.Second, want: onboarding.CodeMetaRejected},
		{name: "the earlier run's code, resent after the second run ended", setup: func(f *fixture) { f.meta.Numbers = unverified },
			earlierRun: true, state: onboarding.StatePhoneUnverified, firstCode: onboarding.CodePhoneUnverified,
			code: "code-0", after: time.Second, want: onboarding.CodeMetaRejected},
		{name: "a code Meta never exchanged, posted twice", setup: func(f *fixture) { f.meta.Numbers = unverified },
			state: onboarding.StatePhoneUnverified, firstCode: onboarding.CodePhoneUnverified,
			between: "code-9", code: "code-9", after: time.Second, want: onboarding.CodeMetaRejected},
		{name: "failed, then a new code Meta refuses", setup: func(f *fixture) { f.plivo.Err = plivoErr(onboarding.KindRejected, 400, "invalid waba") },
			state: onboarding.StateFailed, firstCode: onboarding.CodeUpstreamFailed,
			code: "code-2", after: time.Second, want: onboarding.CodeMetaRejected},
		{name: "phone_unverified, the same code minutes later", setup: func(f *fixture) { f.meta.Numbers = unverified },
			state: onboarding.StatePhoneUnverified, firstCode: onboarding.CodePhoneUnverified,
			code: "code-1", after: 5 * time.Minute, want: onboarding.CodeMetaRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.svc.Sessions = f.store
			singleUseCodes(f)
			exchange := f.meta.Exchange
			f.meta.Exchange = func(code string) (string, error) {
				if code != "code-1" && code != "code-0" {
					// A new run's code Meta refuses too (expired, say).
					return "", metaErr(onboarding.KindRejected, 100)
				}
				return exchange(code)
			}
			tt.setup(f)
			ctx := context.Background()
			post := func(code string, at time.Time) (onboarding.SignupResult, error) {
				req := sessionRequest(code, "tok", at)
				if tt.wabaOnly {
					req.WABAOnly, req.Identity.PhoneNumberID = true, ""
				}
				return f.svc.Signup(ctx, req)
			}
			if tt.earlierRun {
				_, _ = post("code-0", f.clock.Now())
				f.clock.Advance(10 * time.Minute)
			}
			now := f.clock.Now()

			_, firstErr := post("code-1", now)
			if codeOf(firstErr) != tt.firstCode {
				t.Fatalf("first post: %v, want %s", firstErr, tt.firstCode)
			}
			rec := f.record(t)
			if rec.State != tt.state {
				t.Fatalf("first post's record is %s, want %s", rec.State, tt.state)
			}
			if tt.rewrite != nil {
				tt.rewrite(&rec)
				f.store.Put(rec)
			}
			plivoCalls, _ := f.plivo.Counts()
			if tt.between != "" {
				if _, err := post(tt.between, now.Add(tt.after/2)); codeOf(err) != onboarding.CodeMetaRejected {
					t.Fatalf("post between: %v, want %s", err, onboarding.CodeMetaRejected)
				}
			}

			_, err := post(tt.code, now.Add(tt.after))
			if codeOf(err) != tt.want {
				t.Fatalf("second post: %v, want %s", err, tt.want)
			}
			if tt.want == tt.firstCode && onboarding.ErrorMessage(err) != onboarding.ErrorMessage(firstErr) {
				t.Errorf("second post says %q, the first said %q", onboarding.ErrorMessage(err), onboarding.ErrorMessage(firstErr))
			}
			if after := f.record(t); after.State != rec.State || after.LockOwner != rec.LockOwner || !after.UpdatedAt.Equal(rec.UpdatedAt) {
				t.Errorf("second post changed the record: %s by %q, was %s by %q", after.State, after.LockOwner, rec.State, rec.LockOwner)
			}
			if calls, _ := f.plivo.Counts(); calls != plivoCalls {
				t.Errorf("plivo calls = %d after the second post, want %d", calls, plivoCalls)
			}
		})
	}
}

// TestDoublePostWhileFirstAttemptFails: the resend arrives while the first
// post is still in Meta's verification, which then finds the number
// unverified. The second, waiting for the first's record, answers with the
// first's phone_unverified (or, should it read the first's brief lock, in
// progress, which the page follows to the same record), never meta_rejected.
func TestDoublePostWhileFirstAttemptFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.svc.Sessions = f.store
	f.svc.Sleep = upstream.Sleep // the first post must move on while the second waits
	_, refused := singleUseCodes(f)
	reached, release := make(chan struct{}), make(chan struct{})
	f.meta.Debug = func(string) (onboarding.TokenInfo, error) {
		close(reached)
		<-release
		return onboardingtest.Grant(appID, waba), nil
	}
	f.meta.Numbers = func(string) ([]onboarding.PhoneNumber, error) {
		return []onboarding.PhoneNumber{{ID: phone, CodeVerificationStatus: "NOT_VERIFIED"}}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	now := f.clock.Now()
	first := make(chan error, 1)
	go func() {
		_, err := f.svc.Signup(ctx, sessionRequest("code-1", "tok", now))
		first <- err
	}()
	<-reached
	go func() {
		select {
		case <-refused:
		case <-ctx.Done():
		}
		close(release)
	}()
	_, err := f.svc.Signup(ctx, sessionRequest("code-1", "tok", now.Add(time.Second)))
	if firstErr := <-first; codeOf(firstErr) != onboarding.CodePhoneUnverified {
		t.Fatalf("first post: %v, want phone_unverified", firstErr)
	}
	if code := codeOf(err); code != onboarding.CodePhoneUnverified && code != onboarding.CodeInProgress {
		t.Fatalf("second post: %v, want phone_unverified", err)
	}
}
