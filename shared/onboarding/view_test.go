package onboarding_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestViewsShowWhatMetaSaid: the status answer and the per-customer view of
// a restricted record say why, until when, and the health Meta reported;
// a record Meta said nothing about carries none of it.
func TestViewsShowWhatMetaSaid(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	restricted := onboarding.Record{WABAID: "102000000000009", State: onboarding.StateRestricted, UpdatedAt: at,
		Lifecycle: onboarding.Lifecycle{PreviousState: onboarding.StateOnboarded, StateReason: "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING",
			RestrictedUntil: at.Add(24 * time.Hour),
			Health:          onboarding.Health{MessagingLimit: "2000", ReviewDecision: "APPROVED", UpdatedAt: at}}}
	quiet := onboarding.Record{WABAID: "102000000000010", State: onboarding.StateOnboarded, UpdatedAt: at}
	for name, v := range map[string]any{"status": restricted.View(), "customer": restricted.CustomerView()} {
		b, _ := json.Marshal(v)
		for _, want := range []string{`"state_reason":"account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING"`,
			`"restricted_until":"2026-12-02T10:00:00Z"`, `"messaging_limit":"2000"`, `"review_decision":"APPROVED"`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s view %s lacks %s", name, b, want)
			}
		}
	}
	for name, v := range map[string]any{"status": quiet.View(), "customer": quiet.CustomerView()} {
		b, _ := json.Marshal(v)
		if s := string(b); strings.Contains(s, "health") || strings.Contains(s, "restricted_until") || strings.Contains(s, "state_reason") {
			t.Errorf("%s view of a record Meta said nothing about: %s", name, s)
		}
	}
}

// TestOnlyTheProviderSeesPlivo: the view the customer's page gets says
// nothing of Plivo (the provider's BSP); the provider's view shows its
// side, an attempt count of 0 included.
func TestOnlyTheProviderSeesPlivo(t *testing.T) {
	t.Parallel()
	rec := onboarding.Record{WABAID: "102000000000011", State: onboarding.StateVerified, LastError: "multi_partner_solution_inactive",
		LastErrorMessage: "The solution is not active"}
	customer, _ := json.Marshal(rec.View())
	for _, internal := range []string{"plivo", "last_error", "solution"} {
		if strings.Contains(string(customer), internal) {
			t.Errorf("the customer's view %s shows %q", customer, internal)
		}
	}
	provider, _ := json.Marshal(rec.ProviderView())
	for _, want := range []string{`"plivo_attempts":0`, `"last_error":"multi_partner_solution_inactive"`, `"last_error_message":"The solution is not active"`} {
		if !strings.Contains(string(provider), want) {
			t.Errorf("the provider's view %s lacks %s", provider, want)
		}
	}
}

// TestProviderSeesTheLatestSubscription: a customer's run of the signup
// again for an onboarded WABA subscribes our app to it again and stamps
// subscribed_at. The provider's view shows it: the runbook's "shared it
// again" check compares Meta's share with it. The customer's page, which
// the stamp changes nothing for, does not get it; a record never run
// again shows none.
func TestProviderSeesTheLatestSubscription(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	rerun := onboarding.Record{WABAID: "102000000000012", State: onboarding.StateOnboarded, OnboardedAt: at.Add(-24 * time.Hour), SubscribedAt: at}
	provider, _ := json.Marshal(rerun.ProviderView())
	if want := `"subscribed_at":"2026-12-01T10:00:00.123456789Z"`; !strings.Contains(string(provider), want) {
		t.Errorf("the provider's view %s lacks %s", provider, want)
	}
	for name, v := range map[string]any{"status": rerun.View(), "customer": rerun.CustomerView()} {
		if b, _ := json.Marshal(v); strings.Contains(string(b), "subscribed_at") {
			t.Errorf("the %s view %s shows subscribed_at", name, b)
		}
	}
	once := onboarding.Record{WABAID: "102000000000013", State: onboarding.StateOnboarded, OnboardedAt: at}
	if b, _ := json.Marshal(once.ProviderView()); strings.Contains(string(b), "subscribed_at") {
		t.Errorf("the provider's view of a record never run again %s shows subscribed_at", b)
	}
}
