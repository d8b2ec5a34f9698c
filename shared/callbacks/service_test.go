package callbacks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/callbacks/callbackstest"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

var (
	onboardedRec = onboarding.Record{WABAID: "109876543210987", State: onboarding.StateOnboarded, PhoneNumberID: "112233445566778",
		BusinessID: "198765432109876", ClientRef: "customer-1", DisplayPhoneNumber: "+1 555-010-0001"}
	verifiedRec = onboarding.Record{WABAID: "109876543210988", State: onboarding.StateVerified, PhoneNumberID: "112233445566779",
		ClientRef: "customer-2", DisplayPhoneNumber: "+1 555-010-0002"}
	failedRec = onboarding.Record{WABAID: "109876543210989", State: onboarding.StateFailed, ClientRef: "customer-3",
		DisplayPhoneNumber: "+1 555-010-0003"}
)

type fixture struct {
	svc *callbacks.Service
	dir *directory
	led *callbackstest.Ledger
	pub *publisher
	met *metrics
	now time.Time
}

func newFixture(recs ...onboarding.Record) *fixture {
	f := &fixture{dir: &directory{recs: recs}, led: callbackstest.NewLedger(), pub: &publisher{}, met: newMetrics(),
		now: time.Date(2025, 11, 26, 10, 0, 0, 0, time.UTC)}
	f.svc = &callbacks.Service{Directory: f.dir, Ledger: f.led, Publisher: f.pub, Metrics: f.met,
		Logger: logging.New(io.Discard, "DEBUG"), Now: func() time.Time { return f.now }}
	return f
}

func parse(t *testing.T, body string) *callbacks.Callback {
	t.Helper()
	v, err := url.ParseQuery(body)
	if err != nil {
		t.Fatal(err)
	}
	return &callbacks.Callback{Fields: v}
}

func status(uuid, st, from string) string {
	return url.Values{"MessageUUID": {uuid}, "Status": {st}, "From": {from}, "To": {"+14155550123"}, "ErrorCode": {""}}.Encode()
}

func inbound(uuid, to, text string) string {
	return url.Values{"MessageUUID": {uuid}, "From": {"+14155550123"}, "To": {to}, "Type": {"whatsapp"},
		"ContentType": {"text"}, "Body": {text}}.Encode()
}

func TestHandlePublishesOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(onboardedRec, verifiedRec)
	ctx := context.Background()
	cb := parse(t, status("m-1", "delivered", "+15550100001"))

	res, err := f.svc.Handle(ctx, cb, "req-1")
	if err != nil || res.Outcome != callbacks.OutcomePublished || res.EventID != "evt-1" || res.Route.ClientRef != "customer-1" {
		t.Fatalf("first delivery: %+v, %v", res, err)
	}
	for i, rid := range []string{"req-2", "req-3"} {
		again, err := f.svc.Handle(ctx, parse(t, status("m-1", "delivered", "+15550100001")), rid)
		if err != nil || again.Outcome != callbacks.OutcomeDuplicate || again.EventID != "evt-1" {
			t.Fatalf("redelivery %d: %+v, %v", i, again, err)
		}
	}
	evs := f.pub.published()
	if len(evs) != 1 {
		t.Fatalf("%d events published, want 1", len(evs))
	}
	if evs[0].DetailType != callbacks.DetailTypeStatus || !evs[0].Time.Equal(f.now) {
		t.Errorf("event %s at %v", evs[0].DetailType, evs[0].Time)
	}
	var d callbacks.Detail
	if err := json.Unmarshal(evs[0].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if d.ClientRef != "customer-1" || d.WABAID != onboardedRec.WABAID || d.PhoneNumberID != onboardedRec.PhoneNumberID ||
		d.Kind != callbacks.KindStatus || d.MessageUUID != "m-1" || d.Status != "delivered" ||
		d.DedupeKey != "callback#m-1#delivered" || d.Callback["ErrorCode"] != "" || d.Callback["From"] != "+15550100001" {
		t.Errorf("detail %+v", d)
	}
	e, _ := f.led.Get("callback#m-1#delivered")
	if e.State != callbacks.EntryPublished || e.EventID != "evt-1" || e.Fields != nil || e.Route.ClientRef != "customer-1" {
		t.Errorf("entry %+v", e)
	}
	if f.met.get(callbacks.MetricPublished) != 1 || f.met.get(callbacks.MetricDuplicate) != 2 {
		t.Errorf("metrics %v", f.met.counts)
	}

	// Another status of the same message is another callback.
	if res, err := f.svc.Handle(ctx, parse(t, status("m-1", "read", "+15550100001")), "req-4"); err != nil || res.Outcome != callbacks.OutcomePublished {
		t.Fatalf("read status: %+v, %v", res, err)
	}
	if n := len(f.pub.published()); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
}

// TestHandleInboundOnceWhateverStatus is the double publication of one
// inbound message: Plivo's "Handling incoming" page sends a message with no
// Status, and a callback of the same message that carries one (its message
// record's received, delivered or undelivered) is still that message. Each
// must reach the bus under one dedupe_key, published once with the dedupe
// write and deduped by consumers without it; a key per Status would hand
// consumers the same customer's message twice as two messages.
func TestHandleInboundOnceWhateverStatus(t *testing.T) {
	t.Parallel()
	withStatus := func(body, st string) string {
		v, _ := url.ParseQuery(body)
		v.Set("Status", st)
		if st == "undelivered" {
			v.Set("ErrorCode", "1000")
		}
		return v.Encode()
	}
	for _, st := range []string{"received", "delivered", "undelivered", "Delivered"} {
		for _, noWrite := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, no dedupe write %v", st, noWrite), func(t *testing.T) {
				t.Parallel()
				f := newFixture(onboardedRec)
				f.svc.NoDedupeWrite = noWrite
				ctx := context.Background()
				first := inbound("w-9", "15550100001", "hi")
				for i, body := range []string{first, withStatus(first, st)} {
					if _, err := f.svc.Handle(ctx, parse(t, body), fmt.Sprintf("req-%d", i)); err != nil {
						t.Fatalf("callback %d: %v", i, err)
					}
				}
				keys := map[string]bool{}
				for _, ev := range f.pub.published() {
					var d callbacks.Detail
					if err := json.Unmarshal(ev.Detail, &d); err != nil {
						t.Fatal(err)
					}
					if ev.DetailType != callbacks.DetailTypeInbound {
						t.Errorf("published as %s, want %s", ev.DetailType, callbacks.DetailTypeInbound)
					}
					keys[d.DedupeKey] = true
				}
				if len(keys) != 1 || !keys["callback#w-9#received"] {
					t.Errorf("one inbound message reached the bus under dedupe keys %v, want only callback#w-9#received", keys)
				}
				if n := len(f.pub.published()); !noWrite && n != 1 {
					t.Errorf("%d events with the dedupe write, want 1", n)
				}
			})
		}
	}
}

func TestHandleRoutes(t *testing.T) {
	t.Parallel()
	dup := onboardedRec
	dup.WABAID = "109876543210999"
	restricted := onboardedRec
	restricted.State, restricted.StateReason = onboarding.StateRestricted, "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING"
	disconnected := onboardedRec
	disconnected.State = onboarding.StateDisconnected
	tests := []struct {
		name    string
		recs    []onboarding.Record
		body    string
		outcome callbacks.Outcome
		ref     string
		reason  string
	}{
		{"inbound by To", []onboarding.Record{onboardedRec}, inbound("w-1", "15550100001", "hi"), callbacks.OutcomePublished, "customer-1", ""},
		{"status by From", []onboarding.Record{onboardedRec}, status("s-1", "sent", "+1 (555) 010-0001"), callbacks.OutcomePublished, "customer-1", ""},
		{"verified: Plivo may have it", []onboarding.Record{verifiedRec}, inbound("w-2", "15550100002", "hi"), callbacks.OutcomePublished, "customer-2", ""},
		{"onboarded wins over verified", []onboarding.Record{{WABAID: "1", State: onboarding.StateVerified, DisplayPhoneNumber: "15550100001", ClientRef: "old"}, onboardedRec},
			inbound("w-3", "15550100001", "hi"), callbacks.OutcomePublished, "customer-1", ""},
		{"restricted: replies still flow", []onboarding.Record{restricted}, inbound("w-11", "15550100001", "hi"), callbacks.OutcomePublished, "customer-1", ""},
		{"restricted wins over verified", []onboarding.Record{{WABAID: "1", State: onboarding.StateVerified, DisplayPhoneNumber: "15550100001", ClientRef: "old"}, restricted},
			status("s-12", "delivered", "15550100001"), callbacks.OutcomePublished, "customer-1", ""},
		{"restricted by WABA field", []onboarding.Record{restricted}, inbound("w-13", "15550100001", "hi") + "&WabaId=" + restricted.WABAID,
			callbacks.OutcomePublished, "customer-1", ""},
		{"disconnected", []onboarding.Record{disconnected}, inbound("w-14", "15550100001", "hi"), callbacks.OutcomeUnrouted, "", callbacks.ReasonNotOnboarded},
		{"unknown number", []onboarding.Record{onboardedRec}, inbound("w-4", "15550109999", "hi"), callbacks.OutcomeUnrouted, "", callbacks.ReasonUnknownNumber},
		{"no number", []onboarding.Record{onboardedRec}, "MessageUUID=w-5&ContentType=text&Body=hi", callbacks.OutcomeUnrouted, "", callbacks.ReasonUnknownNumber},
		{"failed signup", []onboarding.Record{failedRec}, inbound("w-6", "15550100003", "hi"), callbacks.OutcomeUnrouted, "", callbacks.ReasonNotOnboarded},
		{"two owners", []onboarding.Record{onboardedRec, dup}, inbound("w-7", "15550100001", "hi"), callbacks.OutcomeUnrouted, "", callbacks.ReasonAmbiguous},
		{"no MessageUUID", []onboarding.Record{onboardedRec}, "To=15550100001&Event=template_update", callbacks.OutcomeUnrouted, "", callbacks.ReasonUnrecognized},
		{"WABA field wins", []onboarding.Record{onboardedRec, verifiedRec}, inbound("w-8", "15550100001", "hi") + "&WabaId=" + verifiedRec.WABAID,
			callbacks.OutcomePublished, "customer-2", ""},
		{"unknown WABA falls back to the number", []onboarding.Record{onboardedRec}, inbound("w-9", "15550100001", "hi") + "&WabaId=100000000000001",
			callbacks.OutcomePublished, "customer-1", ""},
		{"WABA of a failed signup falls back to the number", []onboarding.Record{onboardedRec, failedRec}, inbound("w-15", "15550100001", "hi") + "&WabaId=" + failedRec.WABAID,
			callbacks.OutcomePublished, "customer-1", ""},
		{"oversize event", []onboarding.Record{onboardedRec}, inbound("w-10", "15550100001", strings.Repeat("\x01", callbacks.MaxBodyBytes-200)),
			callbacks.OutcomeUnrouted, "", callbacks.ReasonOversize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(tt.recs...)
			cb := parse(t, tt.body)
			res, err := f.svc.Handle(context.Background(), cb, "req-1")
			if err != nil || res.Outcome != tt.outcome || res.Route.ClientRef != tt.ref || res.Reason != tt.reason {
				t.Fatalf("Handle = %+v, %v; want %s %q %q", res, err, tt.outcome, tt.ref, tt.reason)
			}
			e, ok := f.led.Get(cb.Key())
			if !ok {
				t.Fatal("nothing stored")
			}
			if tt.outcome == callbacks.OutcomeUnrouted {
				if e.State != callbacks.EntryUnrouted || e.Reason != tt.reason || e.Fields.Encode() != cb.Fields.Encode() ||
					!e.ExpiresAt.Equal(f.now.Add(callbacks.DefaultUnroutedTTL)) {
					t.Errorf("unrouted entry %+v", e)
				}
				if len(f.pub.published()) != 0 || f.met.get(callbacks.MetricUnrouted+"/Reason="+tt.reason) != 1 {
					t.Errorf("published %d, metrics %v", len(f.pub.published()), f.met.counts)
				}
				// Redelivered: answered, not stored or counted again.
				again, err := f.svc.Handle(context.Background(), parse(t, tt.body), "req-2")
				if err != nil || again.Outcome != callbacks.OutcomeDuplicate || again.Reason != tt.reason || f.met.get(callbacks.MetricUnrouted) != 1 {
					t.Errorf("redelivery %+v, %v, metrics %v", again, err, f.met.counts)
				}
			}
		})
	}
}

func TestHandleFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	body := status("m-9", "failed", "15550100001")

	t.Run("directory down: 503, nothing stored", func(t *testing.T) {
		t.Parallel()
		f := newFixture(onboardedRec)
		f.dir.err = errors.New("dynamodb: ProvisionedThroughputExceededException")
		_, err := f.svc.Handle(ctx, parse(t, body), "r")
		if onboarding.ErrorCode(err) != onboarding.CodeUpstreamUnavailable || f.led.Len() != 0 || len(f.pub.published()) != 0 {
			t.Fatalf("err %v, %d stored", err, f.led.Len())
		}
	})
	t.Run("ledger down: 503, nothing published", func(t *testing.T) {
		t.Parallel()
		f := newFixture(onboardedRec)
		f.led.FailNextClaim(errors.New("dynamodb: InternalServerError"))
		_, err := f.svc.Handle(ctx, parse(t, body), "r")
		if onboarding.ErrorCode(err) != onboarding.CodeUpstreamUnavailable || len(f.pub.published()) != 0 {
			t.Fatalf("err %v, %d published", err, len(f.pub.published()))
		}
	})
	t.Run("bus down: 503, claim released, retry publishes", func(t *testing.T) {
		t.Parallel()
		f := newFixture(onboardedRec)
		f.pub.fail = 1
		_, err := f.svc.Handle(ctx, parse(t, body), "r1")
		if onboarding.ErrorCode(err) != onboarding.CodeUpstreamUnavailable || f.led.Releases() != 1 || f.met.get(callbacks.MetricPublishFailed) != 1 {
			t.Fatalf("err %v, releases %d", err, f.led.Releases())
		}
		// Plivo's retry comes 60 s later; released, the claim is free at once.
		res, err := f.svc.Handle(ctx, parse(t, body), "r2")
		if err != nil || res.Outcome != callbacks.OutcomePublished || len(f.pub.published()) != 1 {
			t.Fatalf("retry %+v, %v", res, err)
		}
	})
	t.Run("crash after claim: the retry after the deadline publishes", func(t *testing.T) {
		t.Parallel()
		f := newFixture(onboardedRec)
		cb := parse(t, body)
		// What a crashed invocation leaves: a claim, no event.
		if _, err := f.led.Claim(ctx, &callbacks.Entry{Key: cb.Key(), State: callbacks.EntryClaimed, Owner: "crashed",
			ClaimExpiresAt: f.now.Add(5 * time.Second), ExpiresAt: f.now.Add(time.Hour)}, f.now); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.Handle(ctx, cb, "early")
		var de *onboarding.Error
		if !errors.As(err, &de) || de.Code != callbacks.CodeCallbackInProgress || de.RetryAfter != 5*time.Second {
			t.Fatalf("while claimed: %v", err)
		}
		f.now = f.now.Add(60 * time.Second)
		res, err := f.svc.Handle(ctx, parse(t, body), "retry")
		if err != nil || res.Outcome != callbacks.OutcomePublished || len(f.pub.published()) != 1 {
			t.Fatalf("retry %+v, %v", res, err)
		}
		if e, _ := f.led.Get(cb.Key()); e.State != callbacks.EntryPublished || e.Owner != "retry" {
			t.Errorf("entry %+v", e)
		}
	})
	t.Run("mark fails after publish: still 200", func(t *testing.T) {
		t.Parallel()
		f := newFixture(onboardedRec)
		f.led.FailNextMark(errors.New("dynamodb: timeout"))
		res, err := f.svc.Handle(ctx, parse(t, body), "r")
		if err != nil || res.Outcome != callbacks.OutcomePublished || f.met.get(callbacks.MetricLedgerError) != 1 {
			t.Fatalf("%+v, %v, %v", res, err, f.met.counts)
		}
	})
	t.Run("claim ends with the invocation's deadline", func(t *testing.T) {
		t.Parallel()
		f := newFixture(onboardedRec)
		dl := time.Now().Add(3 * time.Second)
		dctx, cancel := context.WithDeadline(ctx, dl)
		defer cancel()
		cb := parse(t, body)
		if _, err := f.svc.Handle(dctx, cb, "r"); err != nil {
			t.Fatal(err)
		}
		if e, _ := f.led.Get(cb.Key()); !e.ClaimExpiresAt.Equal(dl) {
			t.Errorf("claim expires at %v, want the deadline %v", e.ClaimExpiresAt, dl)
		}
	})
	t.Run("expired entry counts as absent", func(t *testing.T) {
		t.Parallel()
		f := newFixture(onboardedRec)
		cb := parse(t, body)
		if _, err := f.svc.Handle(ctx, cb, "r1"); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(callbacks.DefaultTTL + time.Second)
		res, err := f.svc.Handle(ctx, parse(t, body), "r2")
		if err != nil || res.Outcome != callbacks.OutcomePublished {
			t.Fatalf("after TTL: %+v, %v", res, err)
		}
	})
}

func TestHandleEdges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// A callback naming no number of ours is unrouted without a read: the
	// directory's phone index refuses an empty key, and a 503 would have
	// Plivo retry it for nothing.
	t.Run("no business number: unrouted, directory not read", func(t *testing.T) {
		t.Parallel()
		f := newFixture(onboardedRec)
		f.dir.err = errors.New("dynamodb: ValidationException: empty key")
		res, err := f.svc.Handle(ctx, parse(t, "MessageUUID=m-1&Status=delivered"), "r")
		if err != nil || res.Outcome != callbacks.OutcomeUnrouted || res.Reason != callbacks.ReasonUnknownNumber {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	// The ledger's condition failed but it cannot say who won: answer
	// in-progress with the shortest retry rather than fail.
	t.Run("claim lost to an unnamed entry: retry after a second", func(t *testing.T) {
		t.Parallel()
		f := newFixture(onboardedRec)
		f.led.FailNextClaim(onboarding.ErrConditionFailed)
		_, err := f.svc.Handle(ctx, parse(t, status("m-2", "sent", "15550100001")), "r")
		var de *onboarding.Error
		if !errors.As(err, &de) || de.Code != callbacks.CodeCallbackInProgress || de.RetryAfter != time.Second {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("configured TTL and publish timeout are used", func(t *testing.T) {
		t.Parallel()
		f := newFixture(onboardedRec)
		f.svc.TTL, f.svc.PublishTimeout = time.Hour, 1500*time.Millisecond
		dctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cb := parse(t, status("m-3", "sent", "15550100001"))
		start := time.Now()
		if _, err := f.svc.Handle(dctx, cb, "r"); err != nil {
			t.Fatal(err)
		}
		end := time.Now()
		if e, _ := f.led.Get(cb.Key()); !e.ExpiresAt.Equal(f.now.Add(time.Hour)) {
			t.Errorf("entry expires at %v, want now + TTL", e.ExpiresAt)
		}
		if want := 1500 * time.Millisecond; f.pub.deadline.Before(start.Add(want)) || f.pub.deadline.After(end.Add(want)) {
			t.Errorf("publish deadline %v after the start, want PublishTimeout (%v)", f.pub.deadline.Sub(start), want)
		}
	})
	// Releasing or marking the claim needs up to finishTimeout (1s) after
	// the publish; the publish stops half of it before the deadline.
	t.Run("publish budget is cut by the invocation's deadline", func(t *testing.T) {
		t.Parallel()
		f := newFixture(onboardedRec)
		dl := time.Now().Add(1200 * time.Millisecond)
		dctx, cancel := context.WithDeadline(ctx, dl)
		defer cancel()
		start := time.Now()
		if _, err := f.svc.Handle(dctx, parse(t, status("m-4", "sent", "15550100001")), "r"); err != nil {
			t.Fatal(err)
		}
		// Up to the time Handle took is lost between reading the clock and
		// setting the publish deadline.
		elapsed := time.Since(start)
		if got := dl.Sub(f.pub.deadline); got > 500*time.Millisecond || got < 500*time.Millisecond-elapsed {
			t.Errorf("publish deadline %v before the invocation's, want 500ms", got)
		}
	})
}
