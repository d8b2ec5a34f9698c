package apigw_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/demo"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestStatusOf pins every code's wire string and HTTP status, whichever
// feature declares it: callers and docs rely on both.
func TestStatusOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code   onboarding.Code
		wire   string
		status int
	}{
		{onboarding.CodeInvalidRequest, "invalid_request", 400},
		{onboarding.CodeUnauthorized, "unauthorized", 401},
		{onboarding.CodeSessionMissing, "session_missing", 401},
		{onboarding.CodeSessionInvalid, "session_invalid", 401},
		{onboarding.CodeSessionExpired, "session_expired", 401},
		{onboarding.CodeSessionUsed, "session_used", 401},
		{metawebhooks.CodeWebhookSignatureInvalid, "webhook_signature_invalid", 401},
		{metawebhooks.CodeWebhookVerifyRefused, "webhook_verify_refused", 403},
		{onboarding.CodeClientRefMismatch, "client_ref_mismatch", 403},
		{callbacks.CodeSignatureInvalid, "signature_invalid", 403},
		{onboarding.CodeNotFound, "not_found", 404},
		{onboarding.CodeMethodNotAllowed, "method_not_allowed", 405},
		{onboarding.CodeInProgress, "signup_in_progress", 409},
		{onboarding.CodeConflict, "conflict", 409},
		{onboarding.CodeAlreadyRegistered, "waba_already_registered", 409},
		{onboarding.CodePhoneNumberTaken, "phone_number_registered_elsewhere", 409},
		{demo.CodeNotOnboarded, "waba_not_onboarded", 409},
		{demo.CodeSenderUnknown, "sender_number_unknown", 409},
		{callbacks.CodeCallbackInProgress, "callback_in_progress", 409},
		{onboarding.CodeSecondNumber, "second_number_not_supported", 409},
		{onboarding.CodeAccessRemoved, "access_removed", 409},
		{onboarding.CodePayloadTooLarge, "payload_too_large", 413},
		{onboarding.CodeUnsupportedMedia, "unsupported_media_type", 415},
		{onboarding.CodeMetaRejected, "meta_rejected", 422},
		{demo.CodePlivoRejected, "plivo_rejected", 422},
		{onboarding.CodePhoneUnverified, "phone_unverified", 422},
		{onboarding.CodeNumberMissing, "phone_number_missing", 422},
		{onboarding.CodeBusinessMismatch, "business_mismatch", 422},
		{onboarding.CodeTooManyRequests, "too_many_requests", 429},
		{onboarding.CodeInternal, "internal_error", 500},
		{onboarding.CodeUpstreamFailed, "upstream_error", 502},
		{demo.CodePlivoCredentials, "plivo_credentials_rejected", 502},
		{onboarding.CodeUpstreamUnavailable, "upstream_unavailable", 503},
		{onboarding.CodeProviderConfig, "provider_config", 503},
		{onboarding.CodeMetaUnavailable, "meta_unavailable", 503},
		{onboarding.CodeNotRecorded, "signup_not_recorded", 503},
		// A code nobody declared is an internal error, never a 2xx.
		{onboarding.Code("undeclared"), "undeclared", 500},
	}
	for _, tt := range tests {
		if string(tt.code) != tt.wire {
			t.Errorf("code %q, want %q on the wire", tt.code, tt.wire)
		}
		if got := apigw.StatusOf(tt.code.Kind()); got != tt.status {
			t.Errorf("StatusOf(%s's kind) = %d, want %d", tt.code, got, tt.status)
		}
	}
}

// TestErrorRetryAfter: Retry-After is whole seconds, rounded up, so that a
// retry never comes before the wait is over; no wait, no header.
func TestErrorRetryAfter(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		wait time.Duration
		want string
	}{
		{0, ""},
		{time.Nanosecond, "1"},
		{time.Second, "1"},
		{time.Second + time.Nanosecond, "2"},
		{time.Minute, "60"},
	}
	for _, tt := range tests {
		e := onboarding.Errorf(onboarding.CodeInProgress, "In progress.")
		e.RetryAfter = tt.wait
		resp := apigw.Error(context.Background(), log, "rid", e)
		if got, ok := resp.Headers["Retry-After"]; got != tt.want || ok != (tt.want != "") {
			t.Errorf("RetryAfter %v: header %q (set %v), want %q", tt.wait, got, ok, tt.want)
		}
	}
	// An error that is not a domain error carries no wait: a 500, no header.
	resp := apigw.Error(context.Background(), log, "rid", errors.New("boom"))
	if _, ok := resp.Headers["Retry-After"]; ok || resp.StatusCode != 500 {
		t.Errorf("plain error: status %d, headers %v", resp.StatusCode, resp.Headers)
	}
}
