package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/streampoll"
)

// startStreams polls the signup table's stream on DynamoDB Local for each
// function with a DynamoDB stream event, run as a built bootstrap, as Lambda's event source mapping
// does, so the local bus gets the lifecycle events.
func (s *Stack) startStreams(ctx context.Context) {
	table := s.TableName
	desc, err := s.DynamoDB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil || desc.Table.LatestStreamArn == nil {
		s.log.Warn("signup table has no stream; lifecycle events are not published locally", "table", table, "error", err)
		return
	}
	for _, name := range streamFunctions(s.Template) {
		fn, err := s.functions.start(ctx, s.Template, name, s.fnEnv)
		if err != nil {
			s.log.Warn("stream function not available locally", "function", name, "error", err)
			continue
		}
		poller := &streampoll.Poller{
			// DynamoDB Local serves the streams API on its own endpoint.
			Streams: dynamodbstreams.NewFromConfig(s.aws, func(o *dynamodbstreams.Options) {
				if s.db != nil {
					o.BaseEndpoint = aws.String(s.db.Endpoint)
				}
			}),
			StreamARN: *desc.Table.LatestStreamArn,
			// The function's answer (batch item failures) goes back to
			// the poller as Lambda's event source mapping reads it.
			Invoke: func(ctx context.Context, event []byte) ([]byte, error) {
				return invoke(ctx, fn, name, event)
			},
			OnFailure: func(recs []json.RawMessage) {
				s.log.Error("stream records given up on", "function", name, "records", len(recs))
			},
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := poller.Run(ctx); err != nil {
				s.log.Warn("stream poller stopped", "function", name, "error", err)
			}
		}()
	}
}

// sendMetaWebhook has the Meta simulator deliver a signed account_update
// of event for waba to this stack's /webhooks/meta, as Meta would, and
// returns the receiver's status.
func (s *Stack) sendMetaWebhook(ctx context.Context, waba, event string) (int, error) {
	w := s.Meta.AccountUpdate(waba, event, nil, time.Now())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/webhooks/meta", bytes.NewReader(w.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(metasim.WebhookSignatureHeader, w.Signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("stack: deliver the webhook: %w", err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
