package apigw

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestLinkCheckHandlerAnswers: a used link's answer names its signup's
// WABA beside the session code, so the page can follow that signup; every
// other answer keeps the plain shape.
func TestLinkCheckHandlerAnswers(t *testing.T) {
	t.Parallel()
	used := onboarding.SessionFailure(onboarding.CodeSessionUsed, errors.New("spent"))
	tests := []struct {
		name       string
		waba       string
		err        error
		status     int
		code, want string
	}{
		{name: "usable", status: http.StatusOK},
		{name: "used, with a WABA", waba: "102290129340398", err: used, status: http.StatusUnauthorized, code: "session_used", want: "102290129340398"},
		{name: "used, without a WABA", err: used, status: http.StatusUnauthorized, code: "session_used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := LinkCheckHandler(func(context.Context, string) (string, error) { return tt.waba, tt.err },
				slog.New(slog.NewTextHandler(io.Discard, nil)))
			resp, _ := h(context.Background(), Request{RouteKey: LinkCheckRoute})
			var body struct {
				Error  *ErrorDetail `json:"error"`
				WABAID *string      `json:"waba_id"`
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
		})
	}
}
