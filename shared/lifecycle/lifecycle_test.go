package lifecycle_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/techprovider/wa-onboarding/shared/lifecycle"
)

func img(kv ...string) map[string]events.DynamoDBAttributeValue {
	m := map[string]events.DynamoDBAttributeValue{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "reconnect" {
			m[kv[i]] = events.NewBooleanAttribute(kv[i+1] == "true")
			continue
		}
		m[kv[i]] = events.NewStringAttribute(kv[i+1])
	}
	return m
}

func rec(seq string, old, new map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	name := "MODIFY"
	if old == nil {
		name = "INSERT"
	}
	return events.DynamoDBEventRecord{EventName: name, Change: events.DynamoDBStreamRecord{SequenceNumber: seq, OldImage: old, NewImage: new}}
}

// keyed gives r the keys AWS sends with every stream record.
func keyed(r events.DynamoDBEventRecord, keys map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	r.Change.Keys = keys
	return r
}

func TestFromRecord(t *testing.T) {
	t.Parallel()
	base := []string{"waba_id", "1", "client_ref", "c-1", "phone_number_id", "2", "business_id", "3"}
	with := func(kv ...string) map[string]events.DynamoDBAttributeValue {
		return img(append(append([]string{}, base...), kv...)...)
	}
	cases := []struct {
		name              string
		r                 events.DynamoDBEventRecord
		want, prev, cause string
	}{
		{"lock is not published", rec("1", nil, with("state", "verifying", "updated_at", "t1")), "", "", ""},
		{"verified", rec("2", with("state", "verifying"), with("state", "verified", "updated_at", "t2")), "verified", "verifying", ""},
		{"onboarded", rec("3", with("state", "verified"), with("state", "onboarded", "updated_at", "t3")), "onboarded", "verified", ""},
		{"failed", rec("4", with("state", "verified"), with("state", "failed", "failure_reason", "gave_up", "updated_at", "t4")), "failed", "verified", "gave_up"},
		{"disconnected", rec("5", with("state", "onboarded"), with("state", "disconnected", "state_reason", "partner_removed", "state_changed_at", "t5", "updated_at", "t5")),
			"disconnected", "onboarded", "partner_removed"},
		{"reconnected", rec("6", with("state", "verified", "reconnect", "true"), with("state", "onboarded", "reconnect", "true", "previous_state", "disconnected", "updated_at", "t6")),
			"reconnected", "disconnected", ""},
		{"a state added later", rec("7", with("state", "verified"), with("state", "waiting_for_number", "updated_at", "t7")), "waiting_for_number", "verified", ""},
		{"health", rec("8", with("state", "onboarded", "quality_event", "UPGRADE"), with("state", "onboarded", "quality_event", "FLAGGED", "updated_at", "t8")),
			"health_changed", "onboarded", ""},
		{"restriction extended", rec("13", with("state", "restricted", "state_reason", "account_restriction:A", "restricted_until", "d1", "state_changed_at", "t1"),
			with("state", "restricted", "state_reason", "account_restriction:A", "restricted_until", "d2", "state_changed_at", "t13", "updated_at", "t13")),
			"restricted", "restricted", "account_restriction:A"},
		{"health of a restricted record keeps its cause", rec("14",
			with("state", "restricted", "previous_state", "onboarded", "state_reason", "disabled_update:DISABLE", "state_changed_at", "t1"),
			with("state", "restricted", "previous_state", "onboarded", "state_reason", "disabled_update:DISABLE", "state_changed_at", "t1", "quality_event", "FLAGGED", "updated_at", "t14")),
			"health_changed", "onboarded", "disabled_update:DISABLE"},
		{"review decision", rec("12", with("state", "onboarded"), with("state", "onboarded", "review_decision", "REJECTED", "updated_at", "t12")),
			"health_changed", "onboarded", ""},
		{"no change", rec("9", with("state", "onboarded", "updated_at", "t8"), with("state", "onboarded", "updated_at", "t9")), "", "", ""},
		{"removal", events.DynamoDBEventRecord{EventName: "REMOVE", Change: events.DynamoDBStreamRecord{OldImage: with("state", "onboarded")}}, "", "", ""},
		{"keyed by the WABA", keyed(rec("10", with("state", "verified"), with("state", "onboarded", "updated_at", "t10")), img("waba_id", "1")),
			"onboarded", "verified", ""},
		{"another table's item", keyed(rec("11", with("state", "verified"), with("state", "onboarded", "updated_at", "t11")), img("pk", "meta#0123")),
			"", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ev, ok := lifecycle.FromRecord(c.r)
			if !ok {
				if c.want != "" {
					t.Fatalf("no event, want %s", c.want)
				}
				return
			}
			if c.want == "" {
				t.Fatalf("event %s, want none", ev.Name)
			}
			d := ev.Detail
			if ev.DetailType() != "whatsapp.onboarding."+c.want || d.PreviousState != c.prev || d.Reason != c.cause {
				t.Errorf("%s prev %q reason %q, want %s %q %q", ev.DetailType(), d.PreviousState, d.Reason, c.want, c.prev, c.cause)
			}
			if d.ClientRef != "c-1" || d.WABAID != "1" || d.PhoneNumberID != "2" || d.BusinessID != "3" || d.DedupeKey == "" || d.OccurredAt == "" {
				t.Errorf("detail %+v lacks IDs, dedupe key or time", d)
			}
			if c.name == "review decision" && (d.Health == nil || d.Health.ReviewDecision != "REJECTED") {
				t.Errorf("health %+v, want the review decision", d.Health)
			}
			again, _ := lifecycle.FromRecord(c.r)
			if again.Detail.DedupeKey != d.DedupeKey {
				t.Error("a redelivered stream record gets another dedupe_key")
			}
		})
	}
}

type bus struct {
	failOnce map[string]bool // "<waba_id>/<state>" entries refused once
	calls    int
	entries  []types.PutEventsRequestEntry
}

func (b *bus) PutEvents(_ context.Context, in *awseb.PutEventsInput, _ ...func(*awseb.Options)) (*awseb.PutEventsOutput, error) {
	b.calls++
	out := &awseb.PutEventsOutput{}
	for _, e := range in.Entries {
		var d lifecycle.Detail
		if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
			return nil, err
		}
		if key := d.WABAID + "/" + d.State; b.failOnce[key] {
			delete(b.failOnce, key)
			out.FailedEntryCount++
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure")})
			continue
		}
		b.entries = append(b.entries, e)
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("id")})
	}
	return out, nil
}

// TestPublisherKeepsEachWABAsOrder: PutEvents fails entries one by one, so
// an entry accepted after a refused one of the same WABA would reach the
// bus ahead of it, and a consumer keeping the latest change would end on
// the wrong state.
func TestPublisherKeepsEachWABAsOrder(t *testing.T) {
	t.Parallel()
	var ev events.DynamoDBEvent
	final := map[string]string{}
	for i, change := range []struct{ waba, state string }{
		{"1", "verified"}, {"2", "verified"}, {"1", "onboarded"}, {"2", "onboarded"}, {"1", "disconnected"},
	} {
		seq := string(rune('a' + i))
		ev.Records = append(ev.Records, rec(seq, img("waba_id", change.waba, "state", "x"),
			img("waba_id", change.waba, "state", change.state, "updated_at", "2026-12-05T10:00:0"+strconv.Itoa(i)+"Z")))
		final[change.waba] = change.state
	}
	b := &bus{failOnce: map[string]bool{"1/onboarded": true}}
	p := &lifecycle.Publisher{Bus: b, BusName: "bus", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	resp, err := p.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "c" {
		t.Fatalf("failures %+v, want the refused record (c)", resp.BatchItemFailures)
	}
	// The event source mapping retries from the reported record on.
	ev.Records = ev.Records[2:]
	if resp, _ = p.Handle(context.Background(), ev); len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures %+v after the bus recovered", resp.BatchItemFailures)
	}
	// A consumer deduping on dedupe_key sees each change once, and each
	// WABA's in the order they happened.
	seen := map[string]bool{}
	latest := map[string]string{}
	for _, e := range b.entries {
		var d lifecycle.Detail
		if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
			t.Fatal(err)
		}
		if !seen[d.DedupeKey] {
			seen[d.DedupeKey] = true
			latest[d.WABAID] = d.State
		}
	}
	if len(seen) != 5 {
		t.Errorf("%d distinct changes published, want 5", len(seen))
	}
	for waba, want := range final {
		if latest[waba] != want {
			t.Errorf("WABA %s: a consumer keeping the latest change ends on %q, want %q", waba, latest[waba], want)
		}
	}
	// Different WABAs still share a call: 1v+2v, 1o (refused), then the
	// retry's 1o+2o, 1d.
	if b.calls != 4 {
		t.Errorf("%d PutEvents calls, want 4", b.calls)
	}
}

// TestOccurredAtFollowsTheChangeBefore: a writer stamps its change before
// it commits, so a change can commit after one stamped later; its event
// must still come after that one for a consumer ordering by occurred_at.
func TestOccurredAtFollowsTheChangeBefore(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, before, after, want string
	}{
		{"stamped in commit order", "2026-12-05T10:00:00.1Z", "2026-12-05T10:00:00.2Z", "2026-12-05T10:00:00.2Z"},
		{"stamped before the change it follows", "2026-12-05T10:00:00.2Z", "2026-12-05T10:00:00.1Z", "2026-12-05T10:00:00.200000001Z"},
		{"stamped alike", "2026-12-05T10:00:00.2Z", "2026-12-05T10:00:00.2Z", "2026-12-05T10:00:00.200000001Z"},
		{"the first change", "", "2026-12-05T10:00:00.1Z", "2026-12-05T10:00:00.1Z"},
	} {
		old := img("waba_id", "1", "state", "verified", "quality_event", "FLAGGED", "updated_at", c.before)
		e, ok := lifecycle.FromRecord(rec("a", old, img("waba_id", "1", "state", "onboarded", "quality_event", "FLAGGED", "updated_at", c.after)))
		if !ok {
			t.Fatalf("%s: no event", c.name)
		}
		if e.Detail.OccurredAt != c.want || !e.Time.Equal(mustTime(t, c.want)) {
			t.Errorf("%s: occurred_at %s (time %v), want %s", c.name, e.Detail.OccurredAt, e.Time, c.want)
		}
		if e.Detail.DedupeKey != "1/onboarded/"+c.after {
			t.Errorf("%s: dedupe_key %s, want the committed change's", c.name, e.Detail.DedupeKey)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
