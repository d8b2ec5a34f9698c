// Package streampoll reads a DynamoDB Stream (DynamoDB Local implements
// the dynamodbstreams API) the way Lambda's event source mapping does and
// hands each batch, as the JSON event Lambda sends, to a function: the
// real built binary under the runtime emulator in tests and the local
// stack. It follows the mapping's documented rules: records in shard
// order, batches of at most BatchSize, ReportBatchItemFailures (retry from
// the first reported record), bisect on a function error, a bounded number
// of retries, then the batch to OnFailure (the SQS destination's part).
package streampoll

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// API is the part of the dynamodbstreams client the poller uses.
type API interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// Invoke runs the function with a Lambda event and returns its answer; an
// error is a function error (crash, timeout, error response).
type Invoke func(ctx context.Context, event []byte) ([]byte, error)

// Poller polls one stream for one function.
type Poller struct {
	Streams   API
	StreamARN string
	Invoke    Invoke
	// BatchSize defaults to 25, MaxRetries to 20, Interval to 100 ms.
	BatchSize  int
	MaxRetries int
	Interval   time.Duration
	// OnFailure receives a batch given up on.
	OnFailure func(records []json.RawMessage)

	// last is the sequence number of the last record delivered, per shard.
	last map[string]string
}

// Run polls until ctx ends, from the trim horizon of every shard.
func (p *Poller) Run(ctx context.Context) error {
	iters := map[string]*string{}
	p.last = map[string]string{}
	for ctx.Err() == nil {
		if err := p.discover(ctx, iters); err != nil && ctx.Err() == nil {
			return err
		}
		for shard, it := range iters {
			if it == nil {
				continue
			}
			out, err := p.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(int32(p.batchSize()))})
			var trimmed *types.TrimmedDataAccessException
			var expired *types.ExpiredIteratorException
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.As(err, &trimmed) || errors.As(err, &expired):
				// DynamoDB Local answers TrimmedDataAccess for a trim
				// horizon iterator of a shard with nothing yet; like the
				// mapping, start again after the last record delivered.
				delete(iters, shard)
				continue
			case err != nil:
				return fmt.Errorf("streampoll: GetRecords: %w", err)
			}
			iters[shard] = out.NextShardIterator
			if len(out.Records) > 0 {
				p.deliver(ctx, out.Records)
				p.last[shard] = aws.ToString(out.Records[len(out.Records)-1].Dynamodb.SequenceNumber)
			}
		}
		simkit.Sleep(ctx, p.interval())
	}
	return nil
}

func (p *Poller) discover(ctx context.Context, iters map[string]*string) error {
	d, err := p.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(p.StreamARN)})
	if err != nil {
		return fmt.Errorf("streampoll: DescribeStream: %w", err)
	}
	for _, sh := range d.StreamDescription.Shards {
		id := aws.ToString(sh.ShardId)
		if _, known := iters[id]; known {
			continue
		}
		in := &dynamodbstreams.GetShardIteratorInput{
			StreamArn: aws.String(p.StreamARN), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
		if seq := p.last[id]; seq != "" {
			in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
		}
		it, err := p.Streams.GetShardIterator(ctx, in)
		if err != nil {
			return fmt.Errorf("streampoll: GetShardIterator: %w", err)
		}
		iters[id] = it.ShardIterator
	}
	return nil
}

func (p *Poller) batchSize() int { return cmp.Or(p.BatchSize, 25) }

func (p *Poller) interval() time.Duration { return cmp.Or(p.Interval, 100*time.Millisecond) }

// deliver invokes the function with recs until every record is handled or
// given up on.
func (p *Poller) deliver(ctx context.Context, recs []types.Record) {
	events := make([]json.RawMessage, len(recs))
	seqs := make([]string, len(recs))
	for i, r := range recs {
		events[i] = lambdaRecord(r, p.StreamARN)
		seqs[i] = aws.ToString(r.Dynamodb.SequenceNumber)
	}
	p.deliverBatch(ctx, events, seqs, 0)
}

func (p *Poller) deliverBatch(ctx context.Context, events []json.RawMessage, seqs []string, attempt int) {
	maxRetries := cmp.Or(p.MaxRetries, 20)
	for len(events) > 0 && ctx.Err() == nil {
		body, _ := json.Marshal(map[string]any{"Records": events})
		out, err := p.Invoke(ctx, body)
		from := -1
		if err == nil {
			from, err = firstFailure(out, seqs)
		}
		if err == nil && from < 0 {
			return
		}
		attempt++
		if attempt > maxRetries {
			if p.OnFailure != nil {
				p.OnFailure(events)
			}
			return
		}
		if err != nil && len(events) > 1 {
			// BisectBatchOnFunctionError: each half is retried on its own.
			half := len(events) / 2
			p.deliverBatch(ctx, events[:half], seqs[:half], attempt)
			p.deliverBatch(ctx, events[half:], seqs[half:], attempt)
			return
		}
		if from > 0 {
			events, seqs = events[from:], seqs[from:]
		}
		simkit.Sleep(ctx, p.interval())
	}
}

// firstFailure reads a ReportBatchItemFailures answer: the index of the
// first reported record, -1 for none. A function error (Lambda's error
// JSON) or an unknown identifier is an error, as Lambda treats it.
func firstFailure(out []byte, seqs []string) (int, error) {
	var resp struct {
		ErrorType         string `json:"errorType"`
		ErrorMessage      string `json:"errorMessage"`
		BatchItemFailures []struct {
			ItemIdentifier string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, fmt.Errorf("streampoll: the function answered %.100s", out)
	}
	if resp.ErrorType != "" {
		return 0, errors.New("streampoll: function error " + resp.ErrorType + ": " + resp.ErrorMessage)
	}
	first := -1
	for _, f := range resp.BatchItemFailures {
		i := slices.Index(seqs, f.ItemIdentifier)
		if i < 0 {
			return 0, fmt.Errorf("streampoll: unknown itemIdentifier %q", f.ItemIdentifier)
		}
		if first < 0 || i < first {
			first = i
		}
	}
	return first, nil
}

// lambdaRecord is r in the JSON shape of a record of Lambda's DynamoDB
// event (events.DynamoDBEventRecord).
func lambdaRecord(r types.Record, streamARN string) json.RawMessage {
	d := r.Dynamodb
	change := map[string]any{
		"Keys": image(d.Keys), "SequenceNumber": aws.ToString(d.SequenceNumber),
		"SizeBytes": aws.ToInt64(d.SizeBytes), "StreamViewType": string(d.StreamViewType),
	}
	if d.ApproximateCreationDateTime != nil {
		change["ApproximateCreationDateTime"] = d.ApproximateCreationDateTime.Unix()
	}
	if d.NewImage != nil {
		change["NewImage"] = image(d.NewImage)
	}
	if d.OldImage != nil {
		change["OldImage"] = image(d.OldImage)
	}
	b, _ := json.Marshal(map[string]any{
		"eventID": aws.ToString(r.EventID), "eventName": string(r.EventName), "eventVersion": aws.ToString(r.EventVersion),
		"eventSource": "aws:dynamodb", "awsRegion": aws.ToString(r.AwsRegion), "dynamodb": change, "eventSourceARN": streamARN,
	})
	return b
}

func image(m map[string]types.AttributeValue) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = value(v)
	}
	return out
}

// value is an attribute in DynamoDB's JSON wire form ({"S": "..."}).
func value(v types.AttributeValue) map[string]any {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": x.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": x.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": x.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": x.Value}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": base64.StdEncoding.EncodeToString(x.Value)}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": x.Value}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": x.Value}
	case *types.AttributeValueMemberL:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = value(e)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		return map[string]any{"M": image(x.Value)}
	}
	return map[string]any{"NULL": true}
}
