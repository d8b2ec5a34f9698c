// Command echo is a tiny Lambda function for testenv's own tests: it answers
// with its payload and a few environment values, or fails on request.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	Say  string `json:"say"`
	Fail bool   `json:"fail"`
}

type response struct {
	Said         string `json:"said"`
	FunctionName string `json:"function_name"`
	Endpoint     string `json:"endpoint"`
	Extra        string `json:"extra"`
	Home         string `json:"home"`
}

func handle(ctx context.Context, in json.RawMessage) (response, error) {
	var req request
	if err := json.Unmarshal(in, &req); err != nil {
		return response{}, err
	}
	if req.Fail {
		return response{}, errors.New("asked to fail")
	}
	return response{
		Said:         req.Say,
		FunctionName: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
		Endpoint:     os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"),
		Extra:        os.Getenv("TESTENV_EXTRA"),
		Home:         os.Getenv("HOME"),
	}, nil
}

func main() { lambda.Start(handle) }
