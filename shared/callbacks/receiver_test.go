package callbacks_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/logging"
)

const publicURL = "https://hooks.example.com/prod/webhooks/plivo/whatsapp"

// tokens is a fake token source: cached until refreshed, then fresh.
type tokens struct {
	cached, fresh string
	err           error
	refreshes     atomic.Int32
}

func (s *tokens) get(_ context.Context, refresh bool) (string, error) {
	if s.err != nil {
		return "", s.err
	}
	if refresh {
		s.refreshes.Add(1)
		return s.fresh, nil
	}
	return s.cached, nil
}

func signedEvent(token, signURL, body, query string, b64 bool) apigw.Request {
	fields, _ := url.ParseQuery(body)
	req := callbackEvent("POST", form, body, false)
	if b64 {
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
	}
	req.RawQueryString = query
	if token != "" {
		req.Headers["x-plivo-signature-v3-nonce"] = "42"
		req.Headers["x-plivo-signature-v3"] = callbacks.SignatureV3(token, "POST", signURL, fields, "42")
	}
	return req
}

func TestReceiver(t *testing.T) {
	t.Parallel()
	body := status("r-1", "delivered", "+15550100001")
	tests := []struct {
		name      string
		req       apigw.Request
		tok       *tokens
		code      int
		answer    string
		refreshes int32
	}{
		{"signed, base64", signedEvent("t1", publicURL, body, "", true), &tokens{cached: "t1"}, 200, "published", 0},
		{"signed with the query Plivo called", signedEvent("t1", publicURL+"?tenant=a", body, "tenant=a", false), &tokens{cached: "t1"}, 200, "published", 0},
		{"query not signed", signedEvent("t1", publicURL, body, "tenant=a", false), &tokens{cached: "t1", fresh: "t1"}, 403, "signature_invalid", 1},
		{"rotated token", signedEvent("t2", publicURL, body, "", false), &tokens{cached: "t1", fresh: "t2"}, 200, "published", 1},
		{"wrong token", signedEvent("t3", publicURL, body, "", false), &tokens{cached: "t1", fresh: "t2"}, 403, "signature_invalid", 1},
		{"unsigned: no refresh", signedEvent("", publicURL, body, "", false), &tokens{cached: "t1"}, 403, "signature_invalid", 0},
		{"secret unavailable", signedEvent("t1", publicURL, body, "", false), &tokens{err: errors.New("secretsmanager: throttled")}, 503, "upstream_unavailable", 0},
		{"not a form", callbackEvent("POST", "application/json", "{}", false), &tokens{cached: "t1"}, 415, "unsupported_media_type", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(onboardedRec)
			r := &callbacks.Receiver{Service: f.svc, URL: publicURL, Token: tt.tok.get, Logger: logging.New(io.Discard, "DEBUG"), Metrics: f.met}
			resp, err := r.Handle(context.Background(), tt.req)
			if err != nil || resp.StatusCode != tt.code {
				t.Fatalf("Handle = %d %s, %v; want %d", resp.StatusCode, resp.Body, err, tt.code)
			}
			var out struct {
				Status    string                `json:"status"`
				RequestID string                `json:"request_id"`
				Error     struct{ Code string } `json:"error"`
			}
			_ = json.Unmarshal([]byte(resp.Body), &out)
			if got := out.Status + out.Error.Code; got != tt.answer || out.RequestID != "rid-cb" {
				t.Errorf("answer %s", resp.Body)
			}
			if n := tt.tok.refreshes.Load(); n != tt.refreshes {
				t.Errorf("%d token refreshes, want %d", n, tt.refreshes)
			}
			if tt.code == 403 {
				if f.led.len() != 0 || len(f.pub.published()) != 0 || f.met.get(callbacks.MetricSignatureInvalid) != 1 {
					t.Errorf("a refused callback was stored (%d) or published (%d); metrics %v", f.led.len(), len(f.pub.published()), f.met.counts)
				}
			}
		})
	}
}
