package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

func TestMain(m *testing.M) { testenv.MustDynamoDB(m) }

func newStore(t *testing.T) *dynamo.Store {
	t.Helper()
	client := testenv.DynamoClient("")
	return &dynamo.Store{Client: client, Table: testenv.MustCreateTable(t, client, "SignupTable")}
}

// t0 is the tests' clock. It lies in the future so that DynamoDB Local's TTL
// sweeper, which deletes items whose expiry has passed on the real clock,
// never removes an item a test is still looking at: with a date in the past
// the tests failed at random once that date had gone by.
var t0 = time.Date(2036, 11, 25, 12, 0, 0, 0, time.UTC)

func verifying(waba, owner string, until time.Time) *onboarding.Record {
	return &onboarding.Record{WABAID: waba, State: onboarding.StateVerifying, LockOwner: owner, LockExpiresAt: until,
		PhoneNumberID: "112233445566778", BusinessID: "198765432109876", ClientRef: "customer-1", CreatedAt: t0, UpdatedAt: t0}
}

func TestAcquire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		existing *onboarding.Record
		wantLost bool
	}{
		{"new waba", nil, false},
		{"lock held", verifying("1", "a", t0.Add(time.Minute)), true},
		{"lock expired", verifying("1", "a", t0.Add(-time.Second)), false},
		{"failed", &onboarding.Record{WABAID: "1", State: onboarding.StateFailed, LockOwner: "a", CreatedAt: t0}, false},
		{"verified", &onboarding.Record{WABAID: "1", State: onboarding.StateVerified, LockOwner: "a", NextRetryAt: t0, CreatedAt: t0}, true},
		{"onboarded", &onboarding.Record{WABAID: "1", State: onboarding.StateOnboarded, LockOwner: "a", PlivoAPIID: "api", CreatedAt: t0}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			ctx := context.Background()
			if tt.existing != nil {
				if _, err := s.Acquire(ctx, tt.existing, t0.Add(-time.Hour)); err != nil {
					t.Fatalf("seed: %v", err)
				}
			}
			existing, err := s.Acquire(ctx, verifying("1", "b", t0.Add(30*time.Second)), t0)
			if !tt.wantLost {
				if err != nil {
					t.Fatalf("acquire: %v", err)
				}
				got, _ := s.Get(ctx, "1")
				if got.LockOwner != "b" || got.State != onboarding.StateVerifying {
					t.Fatalf("stored %+v", got)
				}
				return
			}
			if !errors.Is(err, onboarding.ErrConditionFailed) {
				t.Fatalf("err = %v, want condition failed", err)
			}
			// ALL_OLD returns the holder without a second read.
			if existing == nil || existing.State != tt.existing.State || existing.LockOwner != "a" {
				t.Fatalf("existing = %+v", existing)
			}
		})
	}
}

func TestSaveRoundTripAndOwnership(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	rec := verifying("2", "owner", t0.Add(time.Minute))
	if _, err := s.Acquire(ctx, rec, t0); err != nil {
		t.Fatal(err)
	}
	rec.State = onboarding.StateVerified
	rec.VerifiedAt = t0.Add(time.Second)
	rec.NextRetryAt = t0.Add(time.Minute)
	rec.PlivoAttempts = 1
	rec.PayloadHash = rec.Identity().Hash()
	rec.PlivoPayloadHash = rec.PayloadHash
	rec.DisplayPhoneNumber = "+1 555 0100"
	if _, err := s.Save(ctx, rec); err != nil {
		t.Fatalf("save: %v", err)
	}
	got, err := s.Get(ctx, "2")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != onboarding.StateVerified || !got.VerifiedAt.Equal(rec.VerifiedAt) || !got.NextRetryAt.Equal(rec.NextRetryAt) ||
		got.DisplayPhoneNumber != rec.DisplayPhoneNumber || got.PlivoAttempts != 1 || got.PayloadHash != rec.PayloadHash || !got.LockExpiresAt.Equal(rec.LockExpiresAt) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, rec)
	}
	intruder := *rec
	intruder.LockOwner = "intruder"
	intruder.State = onboarding.StateFailed
	cur, err := s.Save(ctx, &intruder)
	if !errors.Is(err, onboarding.ErrConditionFailed) || cur == nil || cur.LockOwner != "owner" {
		t.Fatalf("intruder save: %v %+v", err, cur)
	}
	if _, err := s.Get(ctx, "404"); !errors.Is(err, onboarding.ErrNotFound) {
		t.Fatalf("missing record: %v", err)
	}
}

func TestDueAndClaim(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	put := func(waba string, state onboarding.State, next, lock time.Time) {
		rec := &onboarding.Record{WABAID: waba, State: state, NextRetryAt: next, LockOwner: "seed", LockExpiresAt: lock, CreatedAt: t0}
		if _, err := s.Acquire(ctx, rec, t0.Add(-48*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	put("10", onboarding.StateVerified, t0.Add(-2*time.Minute), time.Time{})
	put("11", onboarding.StateVerified, t0.Add(-1*time.Minute), t0.Add(time.Minute)) // due but locked
	put("12", onboarding.StateVerified, t0.Add(time.Hour), time.Time{})              // not due
	put("13", onboarding.StateOnboarded, time.Time{}, time.Time{})                   // not in the sparse index
	put("14", onboarding.StateFailed, time.Time{}, time.Time{})

	due, err := s.Due(ctx, t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0].WABAID != "10" || due[1].WABAID != "11" {
		t.Fatalf("due = %+v", due)
	}
	if limited, _ := s.Due(ctx, t0, 1); len(limited) != 1 {
		t.Fatalf("limit ignored: %d", len(limited))
	}

	rec, err := s.Claim(ctx, "10", "run-a", t0, t0.Add(time.Minute))
	if err != nil || rec.LockOwner != "run-a" || rec.PlivoAttempts != 1 || rec.State != onboarding.StateVerified {
		t.Fatalf("claim: %v %+v", err, rec)
	}
	for _, waba := range []string{"10", "11", "12", "13", "14", "404"} {
		if _, err := s.Claim(ctx, waba, "run-b", t0, t0.Add(time.Minute)); !errors.Is(err, onboarding.ErrConditionFailed) {
			t.Errorf("second claim of %s: %v", waba, err)
		}
	}
}

// TestClaimResentAfterItsAnswerWasLost: when DynamoDB applies a claim and
// its answer is lost, the SDK sends the same UpdateItem again, and that
// retry fails the condition on the lock the first one took. The claim
// must still read as ours, or the run skips a record whose attempt it has
// just counted and whose lock it holds until its deadline.
func TestClaimResentAfterItsAnswerWasLost(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	rec := &onboarding.Record{WABAID: "20", State: onboarding.StateVerified, NextRetryAt: t0.Add(-time.Minute), LockOwner: "signup",
		PlivoAttempts: 2, ClientRef: "customer-1", CreatedAt: t0}
	if _, err := s.Acquire(ctx, rec, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	const owner = "run-a/5f2c"
	until := t0.Add(56 * time.Second)
	if _, err := s.Claim(ctx, "20", owner, t0, until); err != nil {
		t.Fatalf("claim: %v", err)
	}
	// The SDK's retry: the same owner, the same times.
	again, err := s.Claim(ctx, "20", owner, t0, until)
	if err != nil || again == nil || again.LockOwner != owner || !again.LockExpiresAt.Equal(until) || again.PlivoAttempts != 3 ||
		again.State != onboarding.StateVerified || again.ClientRef != "customer-1" {
		t.Fatalf("resent claim = %+v, %v; want the record as claimed, attempt 3", again, err)
	}
	if got, _ := s.Get(ctx, "20"); got.PlivoAttempts != 3 || got.LockOwner != owner {
		t.Fatalf("stored after the resent claim: attempts %d, owner %s; want 3, %s", got.PlivoAttempts, got.LockOwner, owner)
	}
	// Anyone else still finds the lock held, and so does this owner with
	// another lock end: only a resend of the very write is ours.
	for _, c := range []struct {
		owner string
		until time.Time
	}{{"run-b/9a01", until}, {owner, until.Add(time.Second)}} {
		if got, err := s.Claim(ctx, "20", c.owner, t0.Add(time.Second), c.until); !errors.Is(err, onboarding.ErrConditionFailed) || got != nil {
			t.Errorf("claim by %s until %v = %+v, %v; want ErrConditionFailed", c.owner, c.until, got, err)
		}
	}
}

func TestFiftyConcurrentIdenticalSignupsOnDynamoDB(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	plivo := &onboardingtest.Plivo{Gate: make(chan struct{})}
	svc := &onboarding.Service{Store: s, Meta: &onboardingtest.Meta{AppID: "app"}, Plivo: plivo, AppID: func(context.Context) (string, error) { return "app", nil }}
	var wg sync.WaitGroup
	codes := make(chan onboarding.Code, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Signup(context.Background(), onboarding.SignupRequest{Code: fmt.Sprint("c", i), RequestID: fmt.Sprint("r", i),
				Identity: onboarding.Identity{WABAID: "20", PhoneNumberID: "112233445566778", BusinessID: "198765432109876"}})
			if err == nil {
				codes <- "ok"
				return
			}
			codes <- onboarding.ErrorCode(err)
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(plivo.Gate)
	wg.Wait()
	close(codes)
	byCode := map[onboarding.Code]int{}
	for c := range codes {
		byCode[c]++
	}
	if calls, _ := plivo.Counts(); calls != 1 {
		t.Fatalf("plivo calls = %d, want 1", calls)
	}
	if byCode["ok"] < 1 || byCode["ok"]+byCode[onboarding.CodeInProgress] != 50 {
		t.Fatalf("answers = %v", byCode)
	}
	rec, _ := s.Get(context.Background(), "20")
	if rec.State != onboarding.StateOnboarded {
		t.Fatalf("state = %s", rec.State)
	}
}

func TestCrashAfterVerifiedIsResumed(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	meta := &onboardingtest.Meta{AppID: "app"}
	ctx, cancel := context.WithCancel(context.Background())
	crash := plivoFunc(func(context.Context) error { cancel(); return context.Canceled })
	svc := &onboarding.Service{Store: s, Meta: meta, Plivo: crash, AppID: func(context.Context) (string, error) { return "app", nil },
		Policy: onboarding.RetryPolicy{InRequestAttempts: 1}}
	_, _ = svc.Signup(ctx, onboarding.SignupRequest{Code: "c", Identity: onboarding.Identity{WABAID: "30", PhoneNumberID: "112233445566778", BusinessID: "198765432109876"}})
	rec, _ := s.Get(context.Background(), "30")
	if rec.State != onboarding.StateVerified {
		t.Fatalf("state after crash = %s", rec.State)
	}
	plivo := &onboardingtest.Plivo{}
	svc.Plivo = plivo
	svc.Now = func() time.Time { return time.Now().Add(time.Hour) }
	rep, err := svc.Resume(context.Background(), 10, "run")
	if err != nil || rep.Onboarded != 1 {
		t.Fatalf("resume: %+v %v", rep, err)
	}
	if calls, _ := plivo.Counts(); meta.Exchanges() != 1 || calls != 1 {
		t.Fatalf("exchanges %d plivo %d", meta.Exchanges(), calls)
	}
}

type plivoFunc func(context.Context) error

func (p plivoFunc) EmbeddedSignup(ctx context.Context, _ onboarding.PlivoSignup) (onboarding.PlivoResult, error) {
	return onboarding.PlivoResult{}, p(ctx)
}
