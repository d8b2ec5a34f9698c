package apigw

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestLinkCheckHandlerAnswers: a used link's answer names its signup's
// WABA and when the link was spent (to the second, in RFC 3339) beside the
// session code, so the page can follow that signup; every other answer
// keeps the plain shape.
func TestLinkCheckHandlerAnswers(t *testing.T) {
	t.Parallel()
	used := onboarding.SessionFailure(onboarding.CodeSessionUsed, errors.New("spent"))
	tests := []struct {
		name       string
		waba       string
		usedAt     time.Time
		err        error
		status     int
		code, want string
		wantUsed   string // used_at, "" for none
	}{
		{name: "usable", status: http.StatusOK},
		{name: "used, with a WABA", waba: "102290129340398", usedAt: time.Date(2025, 5, 1, 9, 30, 12, 345e6, time.FixedZone("", 2*3600)),
			err: used, status: http.StatusUnauthorized, code: "session_used", want: "102290129340398", wantUsed: "2025-05-01T07:30:12Z"},
		{name: "used, with a WABA, no time recorded", waba: "102290129340398", err: used, status: http.StatusUnauthorized, code: "session_used", want: "102290129340398"},
		{name: "used, without a WABA", err: used, status: http.StatusUnauthorized, code: "session_used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var spent *onboarding.SessionUse
			if tt.waba != "" {
				spent = &onboarding.SessionUse{WABAID: tt.waba, UsedAt: tt.usedAt}
			}
			h := LinkCheckHandler(func(context.Context, string) (*onboarding.SessionUse, error) { return spent, tt.err },
				slog.New(slog.NewTextHandler(io.Discard, nil)))
			resp, _ := h(context.Background(), Request{RouteKey: LinkCheckRoute})
			var body struct {
				Error  *ErrorDetail `json:"error"`
				WABAID *string      `json:"waba_id"`
				UsedAt *string      `json:"used_at"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || (body.Error == nil) != (tt.code == "") || (body.Error != nil && string(body.Error.Code) != tt.code) {
				t.Fatalf("answer %d %s, want %d %s", resp.StatusCode, resp.Body, tt.status, tt.code)
			}
			if got := ""; body.WABAID != nil {
				if got = *body.WABAID; got != tt.want || got == "" {
					t.Errorf("waba_id %q, want %q", got, tt.want)
				}
			} else if tt.want != "" {
				t.Errorf("answer %s names no WABA, want %s", resp.Body, tt.want)
			}
			if got := ""; body.UsedAt != nil || tt.wantUsed != "" {
				if body.UsedAt != nil {
					got = *body.UsedAt
				}
				if got != tt.wantUsed || got == "" {
					t.Errorf("used_at %q in %s, want %q", got, resp.Body, tt.wantUsed)
				}
			}
		})
	}
}
