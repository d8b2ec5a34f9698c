// Package apigw holds every API Gateway HTTP API (payload format 2.0)
// handler of the product: signup, status, sessions, link check, customers,
// the demo routes, Plivo's callbacks and Meta's webhooks. In request.go,
// readBody (or readBodyUpTo) reads every request body, with its size limit
// and base64; a JSON body is then decoded by decodeFlatObject (signup,
// sessions) or, when nested, decodeJSON (the demo routes). Answers are
// shaped by one set of writers, and StatusOf is the one place where an
// error's kind becomes an HTTP status. The features' rules live in their
// own packages; the onboarding page, which answers HTML rather than JSON,
// is shared/page.
package apigw

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Request and Response are the HTTP API payload v2 event types.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// StatusOf maps an error kind to its HTTP status. It is the only place
// where that mapping is decided; each feature declares its codes with a
// kind (onboarding.NewCode).
func StatusOf(kind onboarding.ErrorKind) int {
	switch kind {
	case onboarding.EInvalid:
		return http.StatusBadRequest
	case onboarding.EUnauthorized:
		return http.StatusUnauthorized
	case onboarding.EForbidden:
		return http.StatusForbidden
	case onboarding.ENotFound:
		return http.StatusNotFound
	case onboarding.EMethod:
		return http.StatusMethodNotAllowed
	case onboarding.EConflict:
		return http.StatusConflict
	case onboarding.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case onboarding.EMediaType:
		return http.StatusUnsupportedMediaType
	case onboarding.EUnprocessable:
		return http.StatusUnprocessableEntity
	case onboarding.ETooMany:
		return http.StatusTooManyRequests
	case onboarding.EUpstream:
		return http.StatusBadGateway
	case onboarding.EUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Error     ErrorDetail `json:"error"`
	RequestID string      `json:"request_id"`
}

// ErrorDetail is a stable machine code, a message for people, and the
// fields at fault.
type ErrorDetail struct {
	Code    onboarding.Code         `json:"code"`
	Message string                  `json:"message"`
	Fields  []onboarding.FieldError `json:"fields,omitempty"`
}

// JSON builds a JSON answer that no cache keeps.
func JSON(status int, body any) Response {
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal_error","message":"An internal error occurred."}}`)
	}
	return Response{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":           "application/json; charset=utf-8",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
		},
		Body: string(b),
	}
}

// Error answers with err's code and caller-safe message, logging the
// internal cause. Internal details never reach the body.
func Error(ctx context.Context, log *slog.Logger, requestID string, err error) Response {
	return errorAnswer(ctx, log, requestID, err, func(b ErrorBody) any { return b })
}

// errorAnswer is Error with the body shaped by body, for a route whose
// error answer says more than ErrorBody.
func errorAnswer(ctx context.Context, log *slog.Logger, requestID string, err error, body func(ErrorBody) any) Response {
	code := onboarding.ErrorCode(err)
	status := StatusOf(code.Kind())
	detail := ErrorDetail{Code: code, Message: onboarding.ErrorMessage(err)}
	var de *onboarding.Error
	if errors.As(err, &de) {
		detail.Fields = de.Fields
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	log.Log(ctx, level, "request failed", "request_id", requestID, "status", status, "error_code", code, "error", err)
	resp := JSON(status, body(ErrorBody{Error: detail, RequestID: requestID}))
	if de != nil && de.RetryAfter > 0 {
		resp.Headers["Retry-After"] = strconv.Itoa(int((de.RetryAfter + time.Second - 1) / time.Second))
	}
	return resp
}
