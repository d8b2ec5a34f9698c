package onboarding_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

func TestSessionUseReuse(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	u := onboarding.SessionUse{ID: "tok", ClientRef: "customer-1", WABAID: waba, UsedAt: now}
	first := func(edit func(*onboarding.SessionUse)) *onboarding.SessionUse {
		p := &onboarding.SessionUse{ID: "tok", ClientRef: "customer-1", WABAID: waba, UsedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Minute)}
		if edit != nil {
			edit(p)
		}
		return p
	}
	tests := []struct {
		name string
		use  func(*onboarding.SessionUse)
		prev *onboarding.SessionUse
		want onboarding.Code
	}{
		{name: "retry of the same signup", prev: first(nil)},
		{name: "earlier use unknown", prev: nil, want: onboarding.CodeSessionUsed},
		{name: "another WABA", prev: first(func(p *onboarding.SessionUse) { p.WABAID = "2" }), want: onboarding.CodeSessionUsed},
		{name: "another client_ref", prev: first(func(p *onboarding.SessionUse) { p.ClientRef = "customer-2" }), want: onboarding.CodeSessionUsed},
		{name: "first use named no WABA", prev: first(func(p *onboarding.SessionUse) { p.WABAID = "" }), use: func(u *onboarding.SessionUse) { u.WABAID = "" }, want: onboarding.CodeSessionUsed},
		{name: "this use names no WABA", prev: first(nil), use: func(u *onboarding.SessionUse) { u.WABAID = "" }, want: onboarding.CodeSessionUsed},
		{name: "record expired at this instant", prev: first(func(p *onboarding.SessionUse) { p.ExpiresAt = now }), want: onboarding.CodeSessionExpired},
		{name: "expired record of another WABA", prev: first(func(p *onboarding.SessionUse) { p.WABAID, p.ExpiresAt = "2", now.Add(-time.Hour) }), want: onboarding.CodeSessionExpired},
		{name: "record without expiry", prev: first(func(p *onboarding.SessionUse) { p.ExpiresAt = time.Time{} })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			use := u
			if tt.use != nil {
				tt.use(&use)
			}
			err := use.Reuse(tt.prev)
			if got := codeOf(err); got != tt.want {
				t.Fatalf("Reuse = %v, want %q", err, tt.want)
			}
			if err != nil && onboarding.ErrorMessage(err) == "" {
				t.Fatal("refusal without a caller-safe message")
			}
		})
	}
}

func codeOf(err error) onboarding.Code {
	if err == nil {
		return ""
	}
	return onboarding.ErrorCode(err)
}

// sessionRequest is request(code) bound to the session token tok.
func sessionRequest(code, tok string, now time.Time) onboarding.SignupRequest {
	r := request(code)
	r.Session = &onboarding.SessionUse{ID: tok, ClientRef: "customer-1", UsedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
	return r
}

// TestSignupSpendsSession covers every combination of the token's and the
// WABA's conditions: which answer wins, what is written, and in how many
// write calls. The token is spent before anything goes upstream, whatever
// the WABA's record says; the WABA's lock waits for Meta's proof.
func TestSignupSpendsSession(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	spentFor := func(wabaID, ref string, expires time.Time) *onboarding.SessionUse {
		return &onboarding.SessionUse{ID: "tok", ClientRef: ref, WABAID: wabaID, UsedAt: now.Add(-time.Minute), ExpiresAt: expires}
	}
	locked := &onboarding.Record{State: onboarding.StateVerifying, LockOwner: "other", LockExpiresAt: now.Add(20 * time.Second)}
	onboarded := &onboarding.Record{State: onboarding.StateOnboarded, LockOwner: "old"}
	failed := &onboarding.Record{State: onboarding.StateFailed, LockOwner: "old", FailureReason: onboarding.ReasonMetaUnavailable}
	tests := []struct {
		name     string
		spent    *onboarding.SessionUse
		existing *onboarding.Record
		req      func(*onboarding.SignupRequest)
		fail     map[string]error
		want     onboarding.Code
		outcome  onboarding.Outcome
		writes   int
		// calls is the store's write calls before the code exchange.
		acquires []string
		// wantUse is the WABA the token is recorded for afterwards; "-"
		// when it must stay unspent.
		wantUse string
		state   onboarding.State
		// afterMeta: the refusal comes after Meta proved control.
		afterMeta bool
	}{
		{name: "fresh token, fresh WABA: spent, then locked after Meta's proof", outcome: onboarding.OutcomeOnboarded, writes: 4,
			acquires: []string{"spend"}, wantUse: waba, state: onboarding.StateOnboarded},
		{name: "token spent on this WABA (retry after a failure)", spent: spentFor(waba, "customer-1", now.Add(time.Hour)), existing: failed,
			outcome: onboarding.OutcomeOnboarded, writes: 4, acquires: []string{"spend"}, wantUse: waba, state: onboarding.StateOnboarded},
		{name: "token spent on another WABA", spent: spentFor("2", "customer-1", now.Add(time.Hour)),
			want: onboarding.CodeSessionUsed, acquires: []string{"spend"}, wantUse: "2"},
		{name: "token spent on this WABA by another customer", spent: spentFor(waba, "customer-9", now.Add(time.Hour)),
			want: onboarding.CodeSessionUsed, acquires: []string{"spend"}, wantUse: waba},
		{name: "token's record expired", spent: spentFor(waba, "customer-1", now.Add(-time.Second)),
			want: onboarding.CodeSessionExpired, acquires: []string{"spend"}, wantUse: waba},
		{name: "WABA locked by someone else: token spent all the same", existing: locked,
			want: onboarding.CodeInProgress, acquires: []string{"spend"}, wantUse: waba, state: onboarding.StateVerifying},
		{name: "WABA onboarded by this customer: replay, token spent all the same", existing: onboarded,
			outcome: onboarding.OutcomeReplayed, acquires: []string{"spend"}, wantUse: waba, state: onboarding.StateOnboarded},
		{name: "both fail, token spent on another WABA: the session answers", spent: spentFor("2", "customer-1", now.Add(time.Hour)), existing: onboarded,
			want: onboarding.CodeSessionUsed, acquires: []string{"spend"}, wantUse: "2", state: onboarding.StateOnboarded},
		{name: "both fail, token's record expired: the session answers", spent: spentFor(waba, "customer-1", now.Add(-time.Second)), existing: locked,
			want: onboarding.CodeSessionExpired, acquires: []string{"spend"}, wantUse: waba, state: onboarding.StateVerifying},
		{name: "both fail, retry of the same signup: the record answers", spent: spentFor(waba, "customer-1", now.Add(time.Hour)), existing: onboarded,
			outcome: onboarding.OutcomeReplayed, acquires: []string{"spend"}, wantUse: waba, state: onboarding.StateOnboarded},
		{name: "both fail, retry while another attempt holds the lock", spent: spentFor(waba, "customer-1", now.Add(time.Hour)), existing: locked,
			want: onboarding.CodeInProgress, acquires: []string{"spend"}, wantUse: waba, state: onboarding.StateVerifying},
		{name: "store unavailable", fail: map[string]error{"spend": errors.New("throttled")},
			want: onboarding.CodeUpstreamUnavailable, acquires: []string{"spend"}, wantUse: "-"},
		{name: "store unavailable for the lock after Meta's proof", spent: spentFor(waba, "customer-1", now.Add(time.Hour)),
			fail: map[string]error{"acquire": errors.New("throttled")}, afterMeta: true,
			want: onboarding.CodeNotRecorded, acquires: []string{"spend"}, wantUse: waba},
		{name: "no WABA: spent on its own before the exchange", req: func(r *onboarding.SignupRequest) { r.Identity.WABAID = "" },
			outcome: onboarding.OutcomeOnboarded, writes: 4, acquires: []string{"spend"}, wantUse: "", state: onboarding.StateOnboarded},
		{name: "no WABA, token spent before", req: func(r *onboarding.SignupRequest) { r.Identity.WABAID = "" }, spent: spentFor("", "customer-1", now.Add(time.Hour)),
			want: onboarding.CodeSessionUsed, acquires: []string{"spend"}, wantUse: ""},
		{name: "no WABA, ledger unavailable", req: func(r *onboarding.SignupRequest) { r.Identity.WABAID = "" }, fail: map[string]error{"spend": errors.New("throttled")},
			want: onboarding.CodeUpstreamUnavailable, acquires: []string{"spend"}, wantUse: "-"},
		{name: "client_ref other than the session's", req: func(r *onboarding.SignupRequest) { r.Identity.ClientRef = "customer-2" },
			want: onboarding.CodeClientRefMismatch, wantUse: "-"},
		{name: "client_ref taken from the session", req: func(r *onboarding.SignupRequest) { r.Identity.ClientRef = "" },
			outcome: onboarding.OutcomeOnboarded, writes: 4, acquires: []string{"spend"}, wantUse: waba, state: onboarding.StateOnboarded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.svc.Sessions = f.store
			if tt.spent != nil {
				f.store.PutUse(*tt.spent)
			}
			if tt.existing != nil {
				rec := *tt.existing
				rec.WABAID, rec.PhoneNumberID, rec.BusinessID, rec.ClientRef = waba, phone, business, "customer-1"
				f.store.Put(rec)
			}
			var ops []string
			f.store.Fail = func(op string, _ *onboarding.Record) error {
				if op == "acquire" || op == "spend" {
					if f.meta.Exchanges() == 0 {
						ops = append(ops, op)
					}
				}
				return tt.fail[op]
			}
			req := sessionRequest("c", "tok", now)
			if tt.req != nil {
				tt.req(&req)
			}
			res, err := f.svc.Signup(context.Background(), req)
			if got := codeOf(err); got != tt.want || res.Outcome != tt.outcome {
				t.Fatalf("Signup = %s, %v; want %s, code %q", res.Outcome, err, tt.outcome, tt.want)
			}
			if tt.want != "" && !tt.afterMeta && f.meta.Calls() != 0 {
				t.Fatal("a refused signup reached Meta")
			}
			if tt.outcome == onboarding.OutcomeOnboarded && f.store.Writes != tt.writes {
				t.Fatalf("writes = %d, want %d", f.store.Writes, tt.writes)
			}
			if len(ops) != len(tt.acquires) || (len(ops) > 0 && ops[0] != tt.acquires[0]) || (len(ops) > 1 && ops[1] != tt.acquires[1]) {
				t.Fatalf("store calls before the exchange %v, want %v", ops, tt.acquires)
			}
			use, spent := f.store.Use("tok")
			switch {
			case tt.wantUse == "-" && spent:
				t.Fatalf("token spent: %+v", use)
			case tt.wantUse != "-" && (!spent || use.WABAID != tt.wantUse):
				t.Fatalf("token use %+v (spent %t), want one for WABA %q", use, spent, tt.wantUse)
			}
			if tt.spent != nil && spent && use != *tt.spent {
				t.Fatalf("the earlier use was overwritten: %+v", use)
			}
			rec, err := f.store.Get(context.Background(), waba)
			switch {
			case tt.state == "" && err == nil && tt.existing == nil && (tt.req == nil || req.Identity.WABAID != ""):
				t.Fatalf("refused signup left a record: %+v", rec)
			case tt.state != "" && (err != nil || rec.State != tt.state):
				t.Fatalf("record %+v (%v), want state %s", rec, err, tt.state)
			case tt.existing != nil && tt.outcome == "" && rec.LockOwner != tt.existing.LockOwner:
				t.Fatalf("the existing record was touched: %+v", rec)
			}
			if tt.outcome == onboarding.OutcomeOnboarded && rec.ClientRef != "customer-1" {
				t.Fatalf("record bound to %q, want the session's client_ref", rec.ClientRef)
			}
		})
	}
}

// TestSignupSessionWithoutLedger: a session-bound signup without a WABA
// and without a ledger to spend in fails closed.
func TestSignupSessionWithoutLedger(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	req := sessionRequest("c", "tok", time.Now())
	req.Identity.WABAID = ""
	if _, err := f.svc.Signup(context.Background(), req); onboarding.ErrorCode(err) != onboarding.CodeInternal || f.meta.Calls() != 0 {
		t.Fatalf("err = %v, meta calls %d", err, f.meta.Calls())
	}
}

// TestSignupSessionRetryAfterMetaOutage is the reason spent tokens admit
// retries: Meta is down on the first attempt, which spends the token and
// takes no lock; the retry is counted, takes the lock after Meta's proof
// and onboards.
func TestSignupSessionRetryAfterMetaOutage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.svc.Sessions = f.store
	now := f.clock.Now()
	f.meta.Exchange = func(string) (string, error) { return "", metaErr(onboarding.KindTransient, 2) }
	if _, err := f.svc.Signup(context.Background(), sessionRequest("c1", "tok", now)); onboarding.ErrorCode(err) != onboarding.CodeMetaUnavailable {
		t.Fatalf("first attempt: %v", err)
	}
	if _, spent := f.store.Use("tok"); !spent || f.store.Writes != 1 {
		t.Fatalf("first attempt: spent %t after %d writes, want the token spent and nothing else written", spent, f.store.Writes)
	}
	f.meta.Exchange = nil
	res, err := f.svc.Signup(context.Background(), sessionRequest("c2", "tok", now.Add(time.Minute)))
	if err != nil || res.Outcome != onboarding.OutcomeOnboarded {
		t.Fatalf("retry: %s %v", res.Outcome, err)
	}
	// The retry: the spend refused (token spent), the retry counted, the
	// lock, verified, onboarded.
	if f.store.Writes != 1+4 {
		t.Fatalf("writes = %d, want 5", f.store.Writes)
	}
}

// TestSignupSessionReuseCapped: a spent token serves MaxSessionReuses
// retries of its signup and then none, before anything goes upstream, so
// one link cannot keep trying codes.
func TestSignupSessionReuseCapped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.svc.Sessions = f.store
	now := f.clock.Now()
	f.meta.Exchange = func(string) (string, error) { return "", metaErr(onboarding.KindRejected, 100) }
	for i := range 1 + onboarding.MaxSessionReuses {
		if _, err := f.svc.Signup(context.Background(), sessionRequest("bad", "tok", now)); onboarding.ErrorCode(err) != onboarding.CodeMetaRejected {
			t.Fatalf("attempt %d: %v, want meta_rejected", i+1, err)
		}
	}
	calls := f.meta.Calls()
	f.meta.Exchange = nil
	_, err := f.svc.Signup(context.Background(), sessionRequest("good", "tok", now))
	if onboarding.ErrorCode(err) != onboarding.CodeSessionUsed || f.meta.Calls() != calls {
		t.Fatalf("retry past the cap: %v, Meta calls %d -> %d; want session_used and nothing upstream", err, calls, f.meta.Calls())
	}
	f.noRecord(t)
}

// TestSignupSessionReuseUncountable: a ledger that cannot count retries
// refuses them.
func TestSignupSessionReuseUncountable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.svc.Sessions = spendOnly{f.store}
	now := f.clock.Now()
	f.meta.Exchange = func(string) (string, error) { return "", metaErr(onboarding.KindTransient, 2) }
	_, _ = f.svc.Signup(context.Background(), sessionRequest("c1", "tok", now))
	f.meta.Exchange = nil
	if _, err := f.svc.Signup(context.Background(), sessionRequest("c2", "tok", now)); onboarding.ErrorCode(err) != onboarding.CodeSessionUsed {
		t.Fatalf("retry: %v, want session_used", err)
	}
}

// TestSignupSessionSpendAnswerLost: the AWS SDK resends a spend whose
// answer was lost after DynamoDB applied it. The resend finds the token
// spent by this very attempt, which goes on: the link is not dead on its
// first use.
func TestSignupSessionSpendAnswerLost(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.svc.Sessions = replayedSpend{f.store}
	req := sessionRequest("c1", "tok", f.clock.Now())
	req.Identity.WABAID = ""
	res, err := f.svc.Signup(context.Background(), req)
	if err != nil || res.Outcome != onboarding.OutcomeOnboarded {
		t.Fatalf("signup: %s %v, want onboarded", res.Outcome, err)
	}
	// A later attempt with the same token is another attempt: refused.
	if _, err := f.svc.Signup(context.Background(), req); onboarding.ErrorCode(err) != onboarding.CodeSessionUsed {
		t.Fatalf("second attempt: %v, want session_used", err)
	}
}

// replayedSpend spends twice, as the SDK's retry after a lost answer does.
type replayedSpend struct{ *memstore.Store }

func (r replayedSpend) Spend(ctx context.Context, u onboarding.SessionUse) (*onboarding.SessionUse, error) {
	if prev, err := r.Store.Spend(ctx, u); err != nil {
		return prev, err
	}
	return r.Store.Spend(ctx, u)
}

// spendOnly is a SessionLedger that counts no retries.
type spendOnly struct{ l onboarding.SessionLedger }

func (s spendOnly) Spend(ctx context.Context, u onboarding.SessionUse) (*onboarding.SessionUse, error) {
	return s.l.Spend(ctx, u)
}

var _ onboarding.SessionLedger = (*memstore.Store)(nil)

// TestCodeHash: a session use keeps the first 16 bytes of the code's
// SHA-256, never the code itself: the ledger outlives the code, and its
// fingerprint only tells a resend (the same code) from a new run.
func TestCodeHash(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, code, want string
	}{
		{"a code", "code-1", "51bd6639fed7c0b4826af6c06bfe4f4c"},
		{"empty", "", "e3b0c44298fc1c149afbf4c8996fb924"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := onboarding.CodeHash(tt.code); got != tt.want {
				t.Errorf("CodeHash(%q) = %q, want %q", tt.code, got, tt.want)
			}
		})
	}
}
