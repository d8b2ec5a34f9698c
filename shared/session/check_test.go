package session_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// memLedger is a session.Ledger in memory with DynamoDB's semantics: the
// first Spend of an ID wins, later ones get the stored use back.
type memLedger struct {
	mu    sync.Mutex
	uses  map[string]session.Use
	calls int
	err   error
}

func newLedger() *memLedger { return &memLedger{uses: map[string]session.Use{}} }

func (l *memLedger) Spend(_ context.Context, u session.Use) (*session.Use, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.err != nil {
		return nil, l.err
	}
	if prev, ok := l.uses[u.ID]; ok {
		return &prev, session.ErrUsed
	}
	l.uses[u.ID] = u
	return nil, nil
}

func TestCheck(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "k")
	const waba, otherWABA = "104000000000001", "104000000000002"
	type attempt struct {
		body     onboarding.Identity
		now      time.Time
		want     onboarding.Code
		wantRef  string
		spendsAt bool // the ledger is consulted
	}
	tests := []struct {
		name      string
		ledgerErr error
		seed      func(l *memLedger, iss session.Issued)
		tokenFor  string
		attempts  []attempt
	}{
		{name: "first use binds the token's client_ref", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, wantRef: "customer-1", spendsAt: true},
		}},
		{name: "matching client_ref in the body", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba, ClientRef: "customer-1"}, now: t0, wantRef: "customer-1", spendsAt: true},
		}},
		{name: "foreign client_ref is refused before spending", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba, ClientRef: "customer-2"}, now: t0, want: onboarding.CodeClientRefMismatch},
			{body: onboarding.Identity{WABAID: waba}, now: t0, wantRef: "customer-1", spendsAt: true},
		}},
		{name: "reuse for another WABA", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, wantRef: "customer-1", spendsAt: true},
			{body: onboarding.Identity{WABAID: otherWABA}, now: t0.Add(time.Minute), want: onboarding.CodeSessionUsed, spendsAt: true},
		}},
		{name: "retry of the same WABA while unexpired", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, wantRef: "customer-1", spendsAt: true},
			{body: onboarding.Identity{WABAID: waba, ClientRef: "customer-1"}, now: t0.Add(5 * time.Minute), wantRef: "customer-1", spendsAt: true},
		}},
		{name: "retry of the same WABA after expiry", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, wantRef: "customer-1", spendsAt: true},
			{body: onboarding.Identity{WABAID: waba}, now: t0.Add(time.Hour), want: onboarding.CodeSessionExpired},
		}},
		{name: "first use without a WABA spends for good", attempts: []attempt{
			{body: onboarding.Identity{}, now: t0, wantRef: "customer-1", spendsAt: true},
			{body: onboarding.Identity{}, now: t0.Add(time.Minute), want: onboarding.CodeSessionUsed, spendsAt: true},
			{body: onboarding.Identity{WABAID: waba}, now: t0.Add(time.Minute), want: onboarding.CodeSessionUsed, spendsAt: true},
		}},
		{name: "retry without the WABA", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, wantRef: "customer-1", spendsAt: true},
			{body: onboarding.Identity{}, now: t0.Add(time.Minute), want: onboarding.CodeSessionUsed, spendsAt: true},
		}},
		{name: "stored use past its expiry (TTL lag)", seed: func(l *memLedger, iss session.Issued) {
			l.uses[iss.ID] = session.Use{ID: iss.ID, ClientRef: "customer-1", WABAID: waba, ExpiresAt: t0.Add(-time.Second)}
		}, attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, want: onboarding.CodeSessionExpired, spendsAt: true},
		}},
		{name: "stored use of another client_ref", seed: func(l *memLedger, iss session.Issued) {
			l.uses[iss.ID] = session.Use{ID: iss.ID, ClientRef: "customer-9", WABAID: waba, ExpiresAt: t0.Add(time.Hour)}
		}, attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, want: onboarding.CodeSessionUsed, spendsAt: true},
		}},
		{name: "ledger unavailable", ledgerErr: errors.New("dynamodb: throttled"), attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, want: onboarding.CodeUpstreamUnavailable, spendsAt: true},
		}},
		{name: "missing token never reaches the ledger", tokenFor: "-", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, want: onboarding.CodeSessionMissing},
		}},
		{name: "tampered token never reaches the ledger", tokenFor: "tampered", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, want: onboarding.CodeSessionInvalid},
		}},
		{name: "expired token never reaches the ledger", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0.Add(time.Hour), want: onboarding.CodeSessionExpired},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			iss := mint(t, ks, "customer-1", 15*time.Minute, t0)
			token := iss.Token
			switch tt.tokenFor {
			case "-":
				token = ""
			case "tampered":
				token = strings.Replace(token, ".", ".x", 2)
			}
			l := newLedger()
			l.err = tt.ledgerErr
			if tt.seed != nil {
				tt.seed(l, iss)
			}
			var logs bytes.Buffer
			for i, a := range tt.attempts {
				calls := l.calls
				c := &session.Checker{
					Verifier: &session.Verifier{Keys: session.StaticKeys(ks), Now: fixed(a.now)},
					Ledger:   l,
					Logger:   logging.New(&logs, "DEBUG"),
				}
				ref, err := c.Check(context.Background(), token, a.body)
				if got := code(err); got != a.want || ref != a.wantRef {
					t.Fatalf("attempt %d: Check = %q, %v; want %q, code %q", i+1, ref, err, a.wantRef, a.want)
				}
				if spent := l.calls > calls; spent != a.spendsAt {
					t.Fatalf("attempt %d: ledger consulted = %t, want %t", i+1, spent, a.spendsAt)
				}
			}
			if token != "" && strings.Contains(logs.String(), token) {
				t.Fatal("the token was logged")
			}
		})
	}
}

// TestCheckStoresUseUntilVerifierGivesUp pins the stored expiry: the
// token's expiry plus the leeway, so TTL never deletes the record of a token
// the verifier would still accept.
func TestCheckStoresUseUntilVerifierGivesUp(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "k")
	iss := mint(t, ks, "customer-1", 15*time.Minute, t0)
	l := newLedger()
	c := &session.Checker{Verifier: &session.Verifier{Keys: session.StaticKeys(ks), Now: fixed(t0.Add(time.Minute)), Leeway: 10 * time.Second}, Ledger: l}
	if _, err := c.Check(context.Background(), iss.Token, onboarding.Identity{WABAID: "104000000000001"}); err != nil {
		t.Fatal(err)
	}
	got := l.uses[iss.ID]
	want := session.Use{ID: iss.ID, ClientRef: "customer-1", WABAID: "104000000000001", UsedAt: t0.Add(time.Minute), ExpiresAt: iss.ExpiresAt.Add(10 * time.Second)}
	if got != want {
		t.Fatalf("stored %+v, want %+v", got, want)
	}
}

// TestCheckConcurrentFirstUse: of many simultaneous signups with one token
// for different WABAs, exactly one gets through.
func TestCheckConcurrentFirstUse(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "k")
	iss := mint(t, ks, "customer-1", 15*time.Minute, t0)
	c := &session.Checker{Verifier: &session.Verifier{Keys: session.StaticKeys(ks), Now: fixed(t0)}, Ledger: newLedger()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 32 {
		wg.Go(func() {
			waba := "10400000000" + strconv.Itoa(1000+i)
			if _, err := c.Check(context.Background(), iss.Token, onboarding.Identity{WABAID: waba}); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d signups passed, want 1", ok)
	}
}
