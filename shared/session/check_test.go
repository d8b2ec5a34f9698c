package session_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
	"github.com/techprovider/wa-onboarding/shared/session"
)

const (
	waba, otherWABA = "104000000000001", "104000000000002"
	testAppID       = "app-1"
)

// TestCheck: the check verifies and binds, and returns the use to spend;
// it has no way to write anything.
func TestCheck(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "k")
	iss := mint(t, ks, "customer-1", 15*time.Minute, t0)
	wantUse := onboarding.SessionUse{ID: iss.ID, ClientRef: "customer-1", WABAID: waba, UsedAt: t0.Add(time.Minute),
		ExpiresAt: iss.ExpiresAt.Add(session.DefaultLeeway)}
	tests := []struct {
		name  string
		token string
		body  onboarding.Identity
		now   time.Time
		keys  session.KeySource
		want  onboarding.Code
	}{
		{name: "binds the token's client_ref", token: iss.Token, body: onboarding.Identity{WABAID: waba}},
		{name: "matching client_ref in the body", token: iss.Token, body: onboarding.Identity{WABAID: waba, ClientRef: "customer-1"}},
		{name: "foreign client_ref", token: iss.Token, body: onboarding.Identity{WABAID: waba, ClientRef: "customer-2"}, want: onboarding.CodeClientRefMismatch},
		{name: "missing token", token: "", body: onboarding.Identity{WABAID: waba}, want: onboarding.CodeSessionMissing},
		{name: "tampered token", token: strings.Replace(iss.Token, ".", ".x", 2), body: onboarding.Identity{WABAID: waba}, want: onboarding.CodeSessionInvalid},
		{name: "expired token", token: iss.Token, now: t0.Add(time.Hour), body: onboarding.Identity{WABAID: waba}, want: onboarding.CodeSessionExpired},
		{name: "keys unavailable", token: iss.Token, body: onboarding.Identity{WABAID: waba}, want: onboarding.CodeUpstreamUnavailable,
			keys: func(context.Context, bool) (session.Keyset, error) {
				return session.Keyset{}, errors.New("secrets manager down")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := tt.now
			if now.IsZero() {
				now = t0.Add(time.Minute)
			}
			keys := tt.keys
			if keys == nil {
				keys = session.StaticKeys(ks)
			}
			var logs bytes.Buffer
			c := &session.Checker{Verifier: &session.Verifier{Keys: keys, Now: fixed(now)}, Logger: logging.New(&logs, "DEBUG")}
			use, err := c.Check(context.Background(), tt.token, tt.body)
			if code(err) != tt.want {
				t.Fatalf("Check = %+v, %v; want code %q", use, err, tt.want)
			}
			if tt.want == "" && use != wantUse {
				t.Fatalf("use = %+v, want %+v", use, wantUse)
			}
			if tt.want != "" && use != (onboarding.SessionUse{}) {
				t.Fatalf("a refused check returned a use: %+v", use)
			}
			if strings.Contains(logs.String(), iss.Token) {
				t.Fatal("the token was logged")
			}
		})
	}
}

// TestCheckUseOutlivesVerifier pins the use's expiry: the token's expiry
// plus the leeway, so TTL never deletes the record of a token the verifier
// would still accept.
func TestCheckUseOutlivesVerifier(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "k")
	iss := mint(t, ks, "customer-1", 15*time.Minute, t0)
	c := &session.Checker{Verifier: &session.Verifier{Keys: session.StaticKeys(ks), Now: fixed(t0.Add(time.Minute)), Leeway: 10 * time.Second}}
	use, err := c.Check(context.Background(), iss.Token, onboarding.Identity{WABAID: waba})
	if err != nil {
		t.Fatal(err)
	}
	if want := iss.ExpiresAt.Add(10 * time.Second); !use.ExpiresAt.Equal(want) {
		t.Fatalf("use expires %s, want %s", use.ExpiresAt, want)
	}
}

// signupService runs signups against store, which is also the session
// ledger, at now.
func signupService(store *memstore.Store, now time.Time) *onboarding.Service {
	return &onboarding.Service{Store: store, Sessions: store, Meta: &onboardingtest.Meta{AppID: testAppID, WABAID: waba}, Plivo: &onboardingtest.Plivo{},
		AppID:  func(context.Context) (string, error) { return testAppID, nil },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: fixed(now)}
}

// TestCheckThenSignup walks a token through successive signups: the check
// writes nothing, the signup spends the use it returns, and a spent token
// admits only a retry of the same signup while its record is unexpired.
func TestCheckThenSignup(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "k")
	type attempt struct {
		body   onboarding.Identity
		now    time.Time
		want   onboarding.Code
		writes int // store writes the attempt makes
	}
	// A fresh signup: the token, then (after Meta's proof) the lock,
	// verified and onboarded, with or without a WABA in the body. A
	// permitted retry writes its count; one with a new code for the WABA
	// it onboarded also stamps the subscription it makes again.
	const fresh, freshNoWABA, retry = 4, 4, 1
	const rerun = retry + 1
	tests := []struct {
		name      string
		storeFail error
		seed      func(s *memstore.Store, iss session.Issued)
		token     string
		attempts  []attempt
	}{
		{name: "first use binds the token's client_ref", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, writes: fresh},
		}},
		{name: "foreign client_ref is refused before spending", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba, ClientRef: "customer-2"}, now: t0, want: onboarding.CodeClientRefMismatch},
			{body: onboarding.Identity{WABAID: waba, ClientRef: "customer-1"}, now: t0, writes: fresh},
		}},
		{name: "reuse for another WABA", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, writes: fresh},
			{body: onboarding.Identity{WABAID: otherWABA}, now: t0.Add(time.Minute), want: onboarding.CodeSessionUsed},
		}},
		{name: "retry of the same WABA while unexpired is replayed", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, writes: fresh},
			{body: onboarding.Identity{WABAID: waba, ClientRef: "customer-1"}, now: t0.Add(5 * time.Minute), writes: rerun},
		}},
		{name: "retry of the same WABA after expiry", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, writes: fresh},
			{body: onboarding.Identity{WABAID: waba}, now: t0.Add(time.Hour), want: onboarding.CodeSessionExpired},
		}},
		{name: "first use without a WABA spends for good", attempts: []attempt{
			{body: onboarding.Identity{}, now: t0, writes: freshNoWABA},
			{body: onboarding.Identity{}, now: t0.Add(time.Minute), want: onboarding.CodeSessionUsed},
			{body: onboarding.Identity{WABAID: waba}, now: t0.Add(time.Minute), want: onboarding.CodeSessionUsed},
		}},
		{name: "retry without the WABA", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, writes: fresh},
			{body: onboarding.Identity{}, now: t0.Add(time.Minute), want: onboarding.CodeSessionUsed},
		}},
		{name: "stored use past its expiry (TTL lag)", seed: func(s *memstore.Store, iss session.Issued) {
			s.PutUse(onboarding.SessionUse{ID: iss.ID, ClientRef: "customer-1", WABAID: waba, ExpiresAt: t0.Add(-time.Second)})
		}, attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, want: onboarding.CodeSessionExpired},
		}},
		{name: "stored use of another client_ref", seed: func(s *memstore.Store, iss session.Issued) {
			s.PutUse(onboarding.SessionUse{ID: iss.ID, ClientRef: "customer-9", WABAID: waba, ExpiresAt: t0.Add(time.Hour)})
		}, attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, want: onboarding.CodeSessionUsed},
		}},
		{name: "store unavailable", storeFail: errors.New("dynamodb: throttled"), attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, want: onboarding.CodeUpstreamUnavailable},
			{body: onboarding.Identity{}, now: t0, want: onboarding.CodeUpstreamUnavailable},
		}},
		{name: "missing token", token: "-", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, want: onboarding.CodeSessionMissing},
		}},
		{name: "tampered token", token: "tampered", attempts: []attempt{
			{body: onboarding.Identity{WABAID: waba}, now: t0, want: onboarding.CodeSessionInvalid},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			iss := mint(t, ks, "customer-1", 15*time.Minute, t0)
			token := iss.Token
			switch tt.token {
			case "-":
				token = ""
			case "tampered":
				token = strings.Replace(token, ".", ".x", 2)
			}
			store := memstore.New()
			if tt.seed != nil {
				tt.seed(store, iss)
			}
			if tt.storeFail != nil {
				store.Fail = func(string, *onboarding.Record) error { return tt.storeFail }
			}
			for i, a := range tt.attempts {
				before := store.Writes
				c := &session.Checker{Verifier: &session.Verifier{Keys: session.StaticKeys(ks), Now: fixed(a.now)}}
				use, err := c.Check(context.Background(), token, a.body)
				if err == nil {
					req := onboarding.SignupRequest{Code: "code-" + strconv.Itoa(i), Identity: a.body, Session: &use}
					req.Identity.ClientRef = use.ClientRef
					_, err = signupService(store, a.now).Signup(context.Background(), req)
				}
				if got := code(err); got != a.want {
					t.Fatalf("attempt %d: code %q (%v), want %q", i+1, got, err, a.want)
				}
				if got := store.Writes - before; got != a.writes {
					t.Fatalf("attempt %d: %d writes, want %d", i+1, got, a.writes)
				}
			}
		})
	}
}

// TestCheckConcurrentFirstUse: of many simultaneous signups with one token
// for different WABAs, exactly one gets through.
func TestCheckConcurrentFirstUse(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "k")
	iss := mint(t, ks, "customer-1", 15*time.Minute, t0)
	c := &session.Checker{Verifier: &session.Verifier{Keys: session.StaticKeys(ks), Now: fixed(t0)}}
	store := memstore.New()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[onboarding.Code]int{}
	for i := range 32 {
		wg.Go(func() {
			id := onboarding.Identity{WABAID: "10400000000" + strconv.Itoa(1000+i)}
			use, err := c.Check(context.Background(), iss.Token, id)
			if err == nil {
				svc := signupService(store, t0)
				svc.Meta = &onboardingtest.Meta{AppID: testAppID, WABAID: id.WABAID}
				_, err = svc.Signup(context.Background(), onboarding.SignupRequest{Code: "c", Identity: id, Session: &use})
			}
			mu.Lock()
			codes[code(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[""] != 1 || codes[onboarding.CodeSessionUsed] != 31 {
		t.Fatalf("answers %v, want 1 success and 31 session_used", codes)
	}
}
