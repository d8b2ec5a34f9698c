// Command hello is the baseline of the cold-start measurement: the smallest
// HTTP API function, built exactly like the real ones, that decodes a
// payload v2 event and answers without touching AWS.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{
			StatusCode: 200,
			Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
			Body:       "hello from " + req.RawPath,
		}, nil
	})
}
