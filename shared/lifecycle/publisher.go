package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// maxEntries is PutEvents' limit of entries per call.
const maxEntries = 10

// Metric names of the publisher. Dimension: Name (the event's).
const (
	MetricPublished     = "LifecyclePublished"
	MetricPublishFailed = "LifecyclePublishFailed"
)

// Bus is the one EventBridge call the publisher makes.
type Bus interface {
	PutEvents(ctx context.Context, in *awseb.PutEventsInput, opts ...func(*awseb.Options)) (*awseb.PutEventsOutput, error)
}

// Response is the answer of a stream batch with ReportBatchItemFailures:
// Lambda's event source mapping retries from the first failed record.
type Response struct {
	BatchItemFailures []events.DynamoDBBatchItemFailure `json:"batchItemFailures"`
}

// Publisher is the stream handler.
type Publisher struct {
	Bus     Bus
	BusName string
	Logger  *slog.Logger
	Metrics onboarding.Metrics
}

func (p *Publisher) metrics() onboarding.Metrics { return onboarding.MetricsOrNop(p.Metrics) }

// Handle publishes the lifecycle events of a batch, in stream order, up to
// ten per PutEvents. At the first failure it stops and reports that record:
// the event source mapping then retries it and every record after it.
// PutEvents refuses entries one by one, so a call never holds two changes
// of one WABA (callSize): a later change accepted beside a refused earlier
// one would reach the bus first, and a consumer keeping each WABA's latest
// change would keep the earlier one. Events of other WABAs published after
// the failed one in the same call are published again by the retry; their
// dedupe_key is the same.
func (p *Publisher) Handle(ctx context.Context, ev events.DynamoDBEvent) (Response, error) {
	var pending []Event
	for _, r := range ev.Records {
		if e, ok := FromRecord(r); ok {
			pending = append(pending, e)
		}
	}
	for len(pending) > 0 {
		n := callSize(pending)
		failed, err := p.put(ctx, pending[:n])
		if err != nil {
			p.metrics().Count(MetricPublishFailed, onboarding.Dims{"Name": pending[failed].Name})
			p.Logger.ErrorContext(ctx, "lifecycle event not published; the batch is retried from it",
				"waba_id", pending[failed].Detail.WABAID, "name", pending[failed].Name,
				"sequence_number", pending[failed].SequenceNumber, "error", err)
			return Response{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: pending[failed].SequenceNumber}}}, nil
		}
		pending = pending[n:]
	}
	return Response{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}, nil
}

// callSize is how many of evs, from the first, one PutEvents call takes:
// at most maxEntries, and no two of one WABA.
func callSize(evs []Event) int {
	seen := map[string]bool{}
	for i, e := range evs {
		if i == maxEntries || seen[e.Detail.WABAID] {
			return i
		}
		seen[e.Detail.WABAID] = true
	}
	return len(evs)
}

// put publishes evs in one call; on failure it returns the index of the
// first event not published.
func (p *Publisher) put(ctx context.Context, evs []Event) (int, error) {
	entries := make([]types.PutEventsRequestEntry, len(evs))
	for i, e := range evs {
		detail, err := json.Marshal(e.Detail)
		if err != nil {
			return i, err
		}
		entries[i] = types.PutEventsRequestEntry{
			EventBusName: aws.String(p.BusName),
			Source:       aws.String(Source),
			DetailType:   aws.String(e.DetailType()),
			Detail:       aws.String(string(detail)),
			Resources:    []string{},
		}
		if !e.Time.IsZero() {
			entries[i].Time = aws.Time(e.Time)
		}
	}
	out, err := p.Bus.PutEvents(ctx, &awseb.PutEventsInput{Entries: entries})
	if err != nil {
		return 0, fmt.Errorf("lifecycle: PutEvents: %w", err)
	}
	if len(out.Entries) != len(evs) {
		return 0, fmt.Errorf("lifecycle: PutEvents answered %d entries for %d", len(out.Entries), len(evs))
	}
	for i, r := range out.Entries {
		if r.ErrorCode != nil || r.EventId == nil {
			return i, fmt.Errorf("lifecycle: PutEvents failed the entry: %s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
		}
		p.metrics().Count(MetricPublished, onboarding.Dims{"Name": evs[i].Name})
		p.Logger.InfoContext(ctx, "lifecycle event published", "waba_id", evs[i].Detail.WABAID, "client_ref", evs[i].Detail.ClientRef,
			"name", evs[i].Name, "dedupe_key", evs[i].Detail.DedupeKey, "event_id", aws.ToString(r.EventId))
	}
	return 0, nil
}
