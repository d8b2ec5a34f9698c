// Package eventbridge publishes routed Plivo callbacks to the Tech
// Provider's EventBridge bus, where the provider's systems subscribe with
// rules on detail.client_ref.
package eventbridge

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/techprovider/wa-onboarding/shared/callbacks"
)

// API is the one EventBridge call the publisher makes.
type API interface {
	PutEvents(ctx context.Context, in *awseb.PutEventsInput, opts ...func(*awseb.Options)) (*awseb.PutEventsOutput, error)
}

var _ API = (*awseb.Client)(nil)

// Publisher puts one event per call on Bus.
type Publisher struct {
	Client API
	// Bus is the event bus name or ARN.
	Bus string
	// Source defaults to callbacks.EventSource.
	Source string
}

var _ callbacks.Publisher = (*Publisher)(nil)

// Publish implements callbacks.Publisher. PutEvents answers 200 even when
// it failed the entry, so the entry's own result decides.
func (p *Publisher) Publish(ctx context.Context, ev callbacks.Event) (string, error) {
	source := p.Source
	if source == "" {
		source = callbacks.EventSource
	}
	entry := types.PutEventsRequestEntry{
		EventBusName: aws.String(p.Bus),
		Source:       aws.String(source),
		DetailType:   aws.String(ev.DetailType),
		Detail:       aws.String(string(ev.Detail)),
	}
	if !ev.Time.IsZero() {
		entry.Time = aws.Time(ev.Time)
	}
	out, err := p.Client.PutEvents(ctx, &awseb.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry}})
	if err != nil {
		return "", fmt.Errorf("eventbridge: PutEvents: %w", err)
	}
	if len(out.Entries) != 1 {
		return "", fmt.Errorf("eventbridge: PutEvents answered %d entries for 1", len(out.Entries))
	}
	res := out.Entries[0]
	if out.FailedEntryCount > 0 || res.ErrorCode != nil || res.EventId == nil {
		return "", fmt.Errorf("eventbridge: PutEvents failed the entry: %s: %s", aws.ToString(res.ErrorCode), aws.ToString(res.ErrorMessage))
	}
	return *res.EventId, nil
}
