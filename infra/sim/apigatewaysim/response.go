package apigatewaysim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// DecodeResponse reads a function's output as API Gateway reads it with
// payload format 2.0 ("Create AWS Lambda proxy integrations for HTTP
// APIs", Lambda function response for format 2.0): a JSON object with a
// statusCode is the answer; any other valid JSON, without a statusCode,
// is taken as the body of a 200 answer with content-type
// application/json, a bare string as its text. Output that is not JSON is
// an error, which API Gateway answers 500.
func DecodeResponse(out []byte) (events.APIGatewayV2HTTPResponse, error) {
	var resp events.APIGatewayV2HTTPResponse
	if !json.Valid(out) {
		return resp, errors.New("apigatewaysim: function output is not JSON")
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(out, &probe) == nil {
		if _, ok := probe["statusCode"]; ok {
			if err := json.Unmarshal(out, &resp); err != nil {
				return resp, fmt.Errorf("apigatewaysim: function answer: %w", err)
			}
			return resp, nil
		}
	}
	body := string(bytes.TrimSpace(out))
	var s string
	if json.Unmarshal(out, &s) == nil {
		body = s
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       body,
	}, nil
}
