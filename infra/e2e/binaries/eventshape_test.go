package binaries

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
)

// TestDeliveriesAsAPIGatewayShapesThem sends Meta's and Plivo's deliveries
// to the built binaries the way API Gateway's payload format 2.0 hands
// them over, where it differs from the plain events of events/: a body it
// base64-encoded, and a header that came twice, which it joins with a
// comma. The signatures still verify on the decoded bytes and on the
// repeated header; a changed byte is still refused.
func TestDeliveriesAsAPIGatewayShapesThem(t *testing.T) {
	freshStack(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	meta, err := stack.StartFunction(ctx, "MetawebhooksFunction")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(meta.Stop)
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102000000000099","time":1739321024,` +
		`"changes":[{"field":"account_update","value":{"event":"PARTNER_APP_UNINSTALLED"}}]}]}`)
	sig := metawebhooks.Sign(MetaAppSecret, body)
	tampered := []byte(strings.Replace(string(body), "102000000000099", "102000000000098", 1))
	for _, c := range []struct {
		name   string
		mutate func(*events.APIGatewayV2HTTPRequest)
		status int
	}{
		{"base64 body", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}, http.StatusOK},
		{"signature header repeated", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Headers["x-hub-signature-256"] = sig + "," + sig
		}, http.StatusOK},
		{"base64 body changed after signing", func(ev *events.APIGatewayV2HTTPRequest) {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(tampered), true
		}, http.StatusUnauthorized},
	} {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(webhookEvent(t, metasim.Webhook{Body: body, Signature: sig}, "shape-meta"), &ev); err != nil {
			t.Fatal(err)
		}
		c.mutate(&ev)
		payload, _ := json.Marshal(ev)
		if got := invokeStatus(ctx, t, meta, payload); got != c.status {
			t.Errorf("Meta webhook, %s: status %d, want %d", c.name, got, c.status)
		}
	}

	cb, err := stack.StartFunction(ctx, "CallbacksFunction")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cb.Stop)
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "events", "callback-status-delivered.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"x-plivo-signature-v3", "x-plivo-signature-ma-v3", "x-plivo-signature-v3-nonce", "content-type"} {
		ev.Headers[h] += "," + ev.Headers[h]
	}
	payload, _ := json.Marshal(ev)
	if got := invokeStatus(ctx, t, cb, payload); got != http.StatusOK {
		t.Errorf("Plivo callback with every header repeated: status %d, want 200", got)
	}
}
