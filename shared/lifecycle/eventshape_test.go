package lifecycle_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/techprovider/wa-onboarding/shared/lifecycle"
)

// streamBatch reads testdata/stream-batch.json: one record's life as the
// signup table's stream delivers it, in the shape of aws-lambda-go's
// dynamodb-event.json: numbers as strings ("N": "0"), the lock, the
// verification, a retry that changes only numbers, the onboarding, a
// REMOVE with DynamoDB's own userIdentity, and a record with only keys.
func streamBatch(t *testing.T) events.DynamoDBEvent {
	t.Helper()
	raw, err := os.ReadFile("testdata/stream-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestStreamBatchAsAWSSendsIt(t *testing.T) {
	t.Parallel()
	b := &bus{}
	p := &lifecycle.Publisher{Bus: b, BusName: "bus", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	resp, err := p.Handle(context.Background(), streamBatch(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range b.entries {
		got = append(got, aws.ToString(e.DetailType))
	}
	if want := "whatsapp.onboarding.verified whatsapp.onboarding.onboarded"; strings.Join(got, " ") != want {
		t.Errorf("published %v, want %s", got, want)
	}
	// Lambda reads the answer's JSON: an empty list, never null or absent,
	// reports the whole batch done.
	out, _ := json.Marshal(resp)
	if string(out) != `{"batchItemFailures":[]}` {
		t.Errorf("answer %s", out)
	}
}

// TestStreamBatchFailureNamesTheSequenceNumber: with
// ReportBatchItemFailures, Lambda retries from the itemIdentifier, which
// for a DynamoDB stream is the record's SequenceNumber.
func TestStreamBatchFailureNamesTheSequenceNumber(t *testing.T) {
	t.Parallel()
	b := &bus{failOnce: map[string]bool{"102000000000041/onboarded": true}}
	p := &lifecycle.Publisher{Bus: b, BusName: "bus", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	resp, err := p.Handle(context.Background(), streamBatch(t))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(resp)
	if string(out) != `{"batchItemFailures":[{"itemIdentifier":"100000000000000000004"}]}` {
		t.Errorf("answer %s", out)
	}
}

// TestLargeStreamBatch: a batch as large as the event source mapping may
// send (BatchSize 25 in the template; 100 here) is published in calls of
// at most ten entries, every record once.
func TestLargeStreamBatch(t *testing.T) {
	t.Parallel()
	var ev events.DynamoDBEvent
	for i := range 100 {
		waba := strconv.Itoa(102000000000100 + i)
		r := rec(strconv.Itoa(200+i), img("waba_id", waba, "state", "verified", "updated_at", "2026-12-07T18:00:00Z"),
			img("waba_id", waba, "state", "onboarded", "updated_at", "2026-12-07T18:01:00Z"))
		r.Change.Keys = map[string]events.DynamoDBAttributeValue{"waba_id": events.NewStringAttribute(waba)}
		ev.Records = append(ev.Records, r)
	}
	b := &bus{}
	p := &lifecycle.Publisher{Bus: b, BusName: "bus", Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	resp, err := p.Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v", resp, err)
	}
	if len(b.entries) != 100 || b.calls != 10 {
		t.Errorf("%d entries in %d calls, want 100 in 10", len(b.entries), b.calls)
	}
}
