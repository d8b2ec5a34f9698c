package stack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestPlivoCallbacksReachTheBus follows callbacks end to end, over HTTP
// against the local stack: the sandbox Plivo signs and delivers callbacks
// to the callback route (base64-encoded by the API Gateway stand-in, as
// form posts are), which routes them through the by-phone index and
// publishes them to the EventBridge simulator, once.
func TestPlivoCallbacksReachTheBus(t *testing.T) {
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{Getenv: env(nil), Log: quiet, ResumeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if st.Events == nil {
		t.Fatal("no event bus")
	}

	// A customer whose signup finished, as the signup function records it.
	now := time.Now().UTC()
	rec := &onboarding.Record{WABAID: "109876543217777", State: onboarding.StateOnboarded, PhoneNumberID: "112233445567777",
		BusinessID: "198765432107777", ClientRef: "customer-7777", DisplayPhoneNumber: "+1 555-010-7777",
		CreatedAt: now, UpdatedAt: now, OnboardedAt: now}
	if _, err := (&dynamo.Store{Client: st.DynamoDB(), Table: st.TableName}).Acquire(ctx, rec, now); err != nil {
		t.Fatal(err)
	}
	hook := st.URL + "/webhooks/plivo/whatsapp"
	status := func(uuid, s string) map[string]string {
		return map[string]string{"MessageUUID": uuid, "Status": s, "From": "+15550107777", "To": "+14155550123", "ErrorCode": ""}
	}
	// trigger plays Plivo through the sandbox's own control route.
	trigger := func(t *testing.T, params map[string]string, scheme string) int {
		t.Helper()
		body, _ := json.Marshal(plivosim.CallbackTrigger{URL: hook, Scheme: scheme, Params: params})
		a := call(t, "POST", st.URL+"/_sim/plivo/callback", "application/json", string(body))
		var out struct{ Status int }
		if a.status != 200 {
			t.Fatalf("POST /_sim/plivo/callback = %d %s", a.status, a.body)
		}
		decode(t, a, &out)
		return out.Status
	}
	eventsFor := func(key string) []callbacks.Detail {
		var out []callbacks.Detail
		for _, ev := range st.Events.Events() {
			var d callbacks.Detail
			if json.Unmarshal(ev.Detail, &d) == nil && d.DedupeKey == key {
				if want := map[callbacks.Kind]string{callbacks.KindStatus: callbacks.DetailTypeStatus, callbacks.KindInbound: callbacks.DetailTypeInbound}[d.Kind]; ev.DetailType != want || ev.Source != callbacks.EventSource {
					t.Errorf("event %s from %s, want %s from %s", ev.DetailType, ev.Source, want, callbacks.EventSource)
				}
				out = append(out, d)
			}
		}
		return out
	}
	entry := func(key string) map[string]types.AttributeValue {
		out, err := st.DynamoDB().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.Tables["DedupTable"]),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	stateOf := func(key string) string {
		if s, ok := entry(key)["state"].(*types.AttributeValueMemberS); ok {
			return s.Value
		}
		return ""
	}

	t.Run("a signed callback reaches the bus under one dedupe_key", func(t *testing.T) {
		const key = "callback#e2e-1#delivered"
		for i := range 3 {
			// The first delivery, then Plivo's retries.
			if got := trigger(t, status("e2e-1", "delivered"), plivosim.SchemeV3); got != 200 {
				t.Fatalf("delivery %d answered %d", i, got)
			}
		}
		// Without the dedupe write (the default), each delivery is
		// published; consumers dedupe on dedupe_key, as they must for the
		// bus's own at-least-once delivery.
		evs := eventsFor(key)
		if len(evs) != 3 {
			t.Fatalf("%d events for %s, want 3 (one per delivery)", len(evs), key)
		}
		for _, d := range evs {
			if d.ClientRef != rec.ClientRef || d.WABAID != rec.WABAID || d.PhoneNumberID != rec.PhoneNumberID ||
				d.Status != "delivered" || d.Callback["From"] != "+15550107777" {
				t.Errorf("detail %+v", d)
			}
		}
		if s := stateOf(key); s != "" {
			t.Errorf("dedup entry %q for a routed callback, want none", s)
		}
	})

	t.Run("V2 signatures refused, inbound messages published", func(t *testing.T) {
		// V2 signs no body: refused unless CALLBACK_SIGNATURE_V2=accept.
		if got := trigger(t, status("e2e-1", "read"), plivosim.SchemeV2); got != 403 {
			t.Fatalf("V2 callback answered %d, want 403", got)
		}
		in := map[string]string{"MessageUUID": "e2e-in-1", "From": "+14155550123", "To": "+15550107777", "Type": "whatsapp",
			"ContentType": "text", "Body": "Olá & <bem-vindo>", "SomethingNew": "kept"}
		if got := trigger(t, in, plivosim.SchemeV3); got != 200 {
			t.Fatalf("inbound answered %d", got)
		}
		if n := len(eventsFor("callback#e2e-1#read")); n != 0 {
			t.Errorf("%d read events from a V2 callback, want 0", n)
		}
		evs := eventsFor("callback#e2e-in-1#received")
		if len(evs) != 1 || evs[0].Callback["Body"] != "Olá & <bem-vindo>" || evs[0].Callback["SomethingNew"] != "kept" || evs[0].ClientRef != rec.ClientRef {
			t.Errorf("inbound events %+v", evs)
		}
	})

	t.Run("an unknown number is stored, answered 200, not published", func(t *testing.T) {
		in := map[string]string{"MessageUUID": "e2e-in-2", "From": "+14155550123", "To": "+15550109999", "Body": "hello?"}
		if got := trigger(t, in, plivosim.SchemeV3); got != 200 {
			t.Fatalf("answered %d", got)
		}
		const key = "callback#e2e-in-2#received"
		item := entry(key)
		fields, _ := item["fields"].(*types.AttributeValueMemberM)
		reason, _ := item["reason"].(*types.AttributeValueMemberS)
		if stateOf(key) != "unrouted" || fields == nil || reason == nil || reason.Value != callbacks.ReasonUnknownNumber {
			t.Errorf("entry %v", item)
		}
		if n := len(eventsFor(key)); n != 0 {
			t.Errorf("%d events published for an unknown number", n)
		}
	})

	// Rotating the token at Plivo and in Secrets Manager: the function's
	// cached token fails the first signature, and one refresh fixes it.
	const token = "e2e-rotated-token"
	st.Plivo.RotateToken(token)
	creds, _ := json.Marshal(map[string]string{"auth_id": stack.SandboxPlivoAuthID, "auth_token": token})
	st.Secrets.Put(stack.PlivoSecretID, string(creds))

	t.Run("a rotated token is picked up", func(t *testing.T) {
		got, err := st.Plivo.SendCallback(ctx, "", hook, url.Values{"MessageUUID": {"e2e-2"}, "Status": {"sent"}, "From": {"15550107777"}}, plivosim.SchemeV3)
		if err != nil || got != 200 || len(eventsFor("callback#e2e-2#sent")) != 1 {
			t.Fatalf("after rotation: %d, %v", got, err)
		}
	})

	t.Run("a callback sent with GET reaches the bus", func(t *testing.T) {
		got, err := st.Plivo.SendCallback(ctx, http.MethodGet, hook, url.Values{"MessageUUID": {"e2e-get"}, "Status": {"read"}, "From": {"15550107777"}}, plivosim.SchemeV3)
		if err != nil || got != 200 {
			t.Fatalf("GET callback: %d, %v", got, err)
		}
		if evs := eventsFor("callback#e2e-get#read"); len(evs) != 1 || evs[0].ClientRef != rec.ClientRef {
			t.Errorf("events %+v, want one for %s", evs, rec.ClientRef)
		}
	})

	t.Run("tampered and unsigned callbacks are refused and leave nothing", func(t *testing.T) {
		signed := url.Values{"MessageUUID": {"e2e-3"}, "Status": {"delivered"}, "From": {"15550107777"}}
		tampered := url.Values{"MessageUUID": {"e2e-3"}, "Status": {"failed"}, "From": {"15550107777"}}
		before := len(st.Events.Events())
		for name, h := range map[string]http.Header{
			"tampered": {plivosim.HeaderNonceV3: {"123"}, plivosim.HeaderSignatureV3: {plivosim.SignV3(token, "POST", hook, signed, "123")}},
			// A valid V2 signature beside a failing V3 does not let it in.
			"v3 fails, v2 fine": {plivosim.HeaderNonceV3: {"123"}, plivosim.HeaderSignatureV3: {plivosim.SignV3(token, "POST", hook, signed, "123")},
				plivosim.HeaderNonceV2: {"9"}, plivosim.HeaderSignatureV2: {plivosim.SignV2(token, hook, "9")}},
			"unsigned": {},
		} {
			req, _ := http.NewRequest("POST", hook, strings.NewReader(tampered.Encode()))
			req.Header = h
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", name, resp.StatusCode)
			}
		}
		if stateOf("callback#e2e-3#failed") != "" || stateOf("callback#e2e-3#delivered") != "" || len(st.Events.Events()) != before {
			t.Error("a refused callback left an entry or an event")
		}
	})
}
