// Package apigw adapts API Gateway HTTP API (payload format 2.0) events to
// the onboarding service: parsing requests and shaping every answer.
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

// StatusOf maps a domain error code to its HTTP status. It is the only place
// where that mapping is decided.
func StatusOf(code onboarding.Code) int {
	switch code {
	case onboarding.CodeInvalidRequest:
		return http.StatusBadRequest
	case onboarding.CodeUnauthorized, onboarding.CodeSessionMissing, onboarding.CodeSessionInvalid,
		onboarding.CodeSessionExpired, onboarding.CodeSessionUsed:
		return http.StatusUnauthorized
	case onboarding.CodeWebhookSignatureInvalid:
		// Meta's webhook signature; Meta retries what it is refused.
		return http.StatusUnauthorized
	case onboarding.CodeWebhookVerifyRefused:
		return http.StatusForbidden
	case onboarding.CodeClientRefMismatch:
		// The token is genuine: the caller is known but asks for a
		// customer the token does not cover. A new token would not help.
		return http.StatusForbidden
	case onboarding.CodeSignatureInvalid:
		// A callback that Plivo did not sign: refused, nothing stored.
		return http.StatusForbidden
	case onboarding.CodeNotFound:
		return http.StatusNotFound
	case onboarding.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case onboarding.CodeInProgress, onboarding.CodeConflict, onboarding.CodeAlreadyRegistered, onboarding.CodePhoneNumberTaken,
		onboarding.CodeNotOnboarded, onboarding.CodeSenderUnknown, onboarding.CodeCallbackInProgress, onboarding.CodeSecondNumber:
		return http.StatusConflict
	case onboarding.CodePayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case onboarding.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case onboarding.CodeMetaRejected, onboarding.CodePlivoRejected, onboarding.CodePhoneUnverified, onboarding.CodeNumberMissing,
		onboarding.CodeBusinessMismatch:
		return http.StatusUnprocessableEntity
	case onboarding.CodeTooManyRequests:
		return http.StatusTooManyRequests
	case onboarding.CodeUpstreamFailed, onboarding.CodePlivoCredentials:
		return http.StatusBadGateway
	case onboarding.CodeUpstreamUnavailable, onboarding.CodeProviderConfig, onboarding.CodeMetaUnavailable:
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
	code := onboarding.ErrorCode(err)
	status := StatusOf(code)
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
	resp := JSON(status, ErrorBody{Error: detail, RequestID: requestID})
	if de != nil && de.RetryAfter > 0 {
		resp.Headers["Retry-After"] = strconv.Itoa(int((de.RetryAfter + time.Second - 1) / time.Second))
	}
	return resp
}
