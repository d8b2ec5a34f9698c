package stack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/lifecycle"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestSandboxDisconnect is the sandbox's disconnect control: the Meta
// simulator sends a signed account_update to the stack's /webhooks/meta,
// the record becomes disconnected, and the stream poller puts both the
// onboarding and the disconnect on the local bus.
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
