package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/memstore"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// spentIn reads spent uses from a memstore, as the dedup table's GetItem.
type spentIn struct {
	s   *memstore.Store
	err error
}

func (l spentIn) Spent(_ context.Context, id string) (*onboarding.SessionUse, error) {
	if l.err != nil {
		return nil, l.err
	}
	if u, ok := l.s.Use(id); ok {
		return &u, nil
	}
	return nil, nil
}

// TestLinkCheck: the page's check on load answers each kind of dead link
// with the signup's own code, and never spends the token. A used link's
// check names the WABA its signup named and when it was spent, and only
// to the token's holder: a forged token, or an expired one, learns
// nothing.
func TestLinkCheck(t *testing.T) {
	t.Parallel()
	ks := mustKeyset(t, "k")
	tests := []struct {
		name  string
		token func(iss session.Issued) string
		spent func(iss session.Issued) *onboarding.SessionUse
		now   time.Time
		down  bool
		want  onboarding.Code
		waba  string    // the WABA the check names
		used  time.Time // when it says the link was spent
	}{
		{name: "good link", now: t0},
		{name: "good link, checked again", now: t0.Add(time.Minute)},
		{name: "missing", token: func(session.Issued) string { return "" }, now: t0, want: onboarding.CodeSessionMissing},
		{name: "forged", token: func(iss session.Issued) string { return strings.Replace(iss.Token, ".", ".x", 2) }, now: t0, want: onboarding.CodeSessionInvalid},
		{name: "expired", now: t0.Add(time.Hour), want: onboarding.CodeSessionExpired},
		{name: "spent", spent: func(iss session.Issued) *onboarding.SessionUse {
			return &onboarding.SessionUse{ID: iss.ID, ClientRef: "customer-1", WABAID: "1", UsedAt: t0.Add(-time.Minute), ExpiresAt: t0.Add(time.Hour)}
		}, now: t0, want: onboarding.CodeSessionUsed, waba: "1", used: t0.Add(-time.Minute)},
		{name: "spent without a WABA", spent: func(iss session.Issued) *onboarding.SessionUse {
			return &onboarding.SessionUse{ID: iss.ID, ClientRef: "customer-1", UsedAt: t0.Add(-time.Minute), ExpiresAt: t0.Add(time.Hour)}
		}, now: t0, want: onboarding.CodeSessionUsed},
		{name: "ledger down", down: true, now: t0, want: onboarding.CodeUpstreamUnavailable},
		{name: "spent, then expired", spent: func(iss session.Issued) *onboarding.SessionUse {
			return &onboarding.SessionUse{ID: iss.ID, ClientRef: "customer-1", WABAID: "1", UsedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		}, now: t0.Add(2 * time.Minute), want: onboarding.CodeSessionExpired},
		{name: "another's spent token, forged", token: func(iss session.Issued) string { return strings.Replace(iss.Token, ".", ".x", 2) },
			spent: func(iss session.Issued) *onboarding.SessionUse {
				return &onboarding.SessionUse{ID: iss.ID, ClientRef: "customer-1", WABAID: "1", UsedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			}, now: t0, want: onboarding.CodeSessionInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			iss := mint(t, ks, "customer-1", 15*time.Minute, t0)
			token := iss.Token
			if tt.token != nil {
				token = tt.token(iss)
			}
			store := memstore.New()
			if tt.spent != nil {
				store.PutUse(*tt.spent(iss))
			}
			lookup := spentIn{s: store}
			if tt.down {
				lookup.err = errors.New("dynamodb: throttled")
			}
			c := &session.LinkCheck{Verifier: &session.Verifier{Keys: session.StaticKeys(ks), Now: fixed(tt.now)}, Spent: lookup}
			spent, err := c.Check(context.Background(), token)
			var waba string
			var used time.Time
			if spent != nil {
				waba, used = spent.WABAID, spent.UsedAt
			}
			if got := code(err); got != tt.want || waba != tt.waba || !used.Equal(tt.used) {
				t.Fatalf("Check = %q, %s, %v, want %q, %s, %q", waba, used, err, tt.waba, tt.used, tt.want)
			}
			if store.Writes != 0 {
				t.Fatalf("the check wrote %d times", store.Writes)
			}
			if _, spent := store.Use(iss.ID); spent != (tt.spent != nil) {
				t.Fatalf("the check changed whether the token is spent (%t)", spent)
			}
		})
	}
}
