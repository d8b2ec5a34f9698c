package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/lifecycle"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestSandboxDisconnect is the sandbox's disconnect control: the Meta
// simulator sends a signed account_update to the stack's /webhooks/meta,
// the record becomes disconnected, and the stream poller puts both the
// onboarding and the disconnect on the local bus. Another app's uninstall
// before it changes nothing and puts nothing on the bus.
func TestSandboxDisconnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{Getenv: env(nil), Log: quiet, ResumeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const waba = "102000000000777"
	store := &dynamo.Store{Client: st.DynamoDB(), Table: st.TableName}
	now := time.Now().UTC()
	rec := &onboarding.Record{WABAID: waba, State: onboarding.StateOnboarded, PhoneNumberID: "103000000000777", BusinessID: "101000000000001",
		ClientRef: "sandbox-customer", CreatedAt: now, UpdatedAt: now}
	if _, err := store.Acquire(ctx, rec, now); err != nil {
		t.Fatal(err)
	}
	// Another partner's app uninstalled from the WABA: the function the
	// stack runs knows our app's ID, and leaves the record onboarded.
	other := st.Meta.AccountUpdate(waba, "PARTNER_APP_UNINSTALLED", map[string]any{"waba_info": map[string]any{"partner_app_id": "987654321098765"}}, now)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.URL+"/webhooks/meta", bytes.NewReader(other.Body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(metasim.WebhookSignatureHeader, other.Signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got, err := store.Get(ctx, waba); resp.StatusCode != http.StatusOK || err != nil || got.State != onboarding.StateOnboarded {
		t.Fatalf("another app's uninstall: status %d, record %v (%v); want 200 and onboarded", resp.StatusCode, stateOf(got), err)
	}
	a := call(t, http.MethodPost, st.URL+"/_sim/local/meta/disconnect", "application/json", `{"waba_id":"`+waba+`"}`)
	if a.status != http.StatusOK || !strings.Contains(string(a.body), `"webhook_status":200`) {
		t.Fatalf("disconnect control answered %d %s", a.status, a.body)
	}
	if got, err := store.Get(ctx, waba); err != nil || got.State != onboarding.StateDisconnected {
		t.Fatalf("record after the webhook: %+v, %v", got, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var names []string
		for _, e := range st.Events.Events() {
			var d lifecycle.Detail
			if e.Source == lifecycle.Source && json.Unmarshal(e.Detail, &d) == nil && d.WABAID == waba {
				names = append(names, strings.TrimPrefix(e.DetailType, lifecycle.DetailTypePrefix))
			}
		}
		if strings.Join(names, ",") == "onboarded,disconnected" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lifecycle events on the local bus: %v, want onboarded, disconnected", names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stateOf(r *onboarding.Record) onboarding.State {
	if r == nil {
		return ""
	}
	return r.State
}
