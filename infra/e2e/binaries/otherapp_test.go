package binaries

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestOtherAppsUninstallLeavesTheRecord: a customer's WABA is shared with
// several partners' apps, and Meta's PARTNER_APP_UNINSTALLED names the app
// it is about (waba_info.partner_app_id). Another app's, signed by Meta
// for our subscription, leaves the onboarded record onboarded and puts
// nothing on the bus; ours, naming the template's MetaAppId, disconnects
// it, and is the one event the bus gets after the onboarding.
func TestOtherAppsUninstallLeavesTheRecord(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := privateStack(ctx, t)
	startStreamPoller(ctx, t, s)
	signup, hooks, ev, waba := signupAndHooks(ctx, t, s, 8200)
	payload, err := s.PrepareEvent(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if st := invokeStatus(ctx, t, signup, payload); st != http.StatusOK {
		t.Fatalf("signup answered %d; log %s", st, signup.LogPath)
	}
	waitLifecycle(t, s, waba, []string{"verified", "onboarded"})

	const otherApp = 987654321098765 // as a number, as some deliveries carry it
	other := s.Meta.AccountUpdate(waba, "PARTNER_APP_UNINSTALLED",
		map[string]any{"waba_info": map[string]any{"owner_business_id": "2329417887457253", "partner_app_id": otherApp}}, time.Now())
	if st := invokeStatus(ctx, t, hooks, webhookEvent(t, other, "other-app-1")); st != http.StatusOK {
		t.Fatalf("another app's uninstall answered %d, want 200 (Meta redelivers anything else); log %s", st, hooks.LogPath)
	}
	if rec := readRecord(ctx, t, s, waba); rec.State != "onboarded" {
		t.Fatalf("record %s after another app's uninstall, want onboarded; log %s", rec.State, hooks.LogPath)
	}
	if log, err := os.ReadFile(hooks.LogPath); err != nil || !strings.Contains(string(log), "about another app") {
		t.Errorf("another app's uninstall was not logged (err %v); log %s", err, hooks.LogPath)
	}

	ours := s.Meta.AccountUpdate(waba, "PARTNER_APP_UNINSTALLED",
		map[string]any{"waba_info": map[string]any{"owner_business_id": "2329417887457253", "partner_app_id": MetaAppID}}, time.Now())
	if st := invokeStatus(ctx, t, hooks, webhookEvent(t, ours, "our-app-1")); st != http.StatusOK {
		t.Fatalf("our app's uninstall answered %d; log %s", st, hooks.LogPath)
	}
	// The stream keeps the table's order: an event from the other app's
	// uninstall would come before this one.
	waitLifecycle(t, s, waba, []string{"verified", "onboarded", "disconnected"})
}
