package callbacks_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/logging"
)

// awsCallback is a Plivo callback as API Gateway hands it over
// (testdata/apigw-v2-plivo-post.json, in the shape of aws-lambda-go's
// apigw-v2-request-*.json): a form body API Gateway base64-encoded, on a
// custom domain whose API mapping puts "/prod" in rawPath, so the event's
// host and path are not the URL Plivo signed; publicURL is.
func awsCallback(t *testing.T, body string, headers map[string]string) apigw.Request {
	t.Helper()
	raw, err := os.ReadFile("testdata/apigw-v2-plivo-post.json")
	if err != nil {
		t.Fatal(err)
	}
	var req apigw.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	req.Body = base64.StdEncoding.EncodeToString([]byte(body))
	for k, v := range headers {
		req.Headers[k] = v
	}
	return req
}

// TestCallbackEventShapes runs Plivo's callbacks through the receiver as
// API Gateway shapes them: the signature over the decoded form still
// verifies, a changed byte still fails, header names in any case are
// read, and a header that arrived twice, which payload format 2.0 joins
// with a comma, is read as the one value it repeats.
func TestCallbackEventShapes(t *testing.T) {
	t.Parallel()
	body := inbound("wamid.shape-1", "+15550100001", "Hello, café")
	fields, _ := url.ParseQuery(body)
	sig := callbacks.SignatureV3("t1", http.MethodPost, publicURL, fields, "4711")
	tampered := strings.Replace(body, "caf", "cab", 1)
	cases := []struct {
		name    string
		body    string
		headers map[string]string
		want    int
	}{
		{"as Plivo signs it", body, map[string]string{"x-plivo-signature-v3": sig, "x-plivo-signature-v3-nonce": "4711"}, http.StatusOK},
		{"tampered after signing", tampered, map[string]string{"x-plivo-signature-v3": sig, "x-plivo-signature-v3-nonce": "4711"}, http.StatusForbidden},
		{"header names not lower-cased", body, map[string]string{"X-Plivo-Signature-V3": sig, "X-Plivo-Signature-V3-Nonce": "4711"}, http.StatusOK},
		{"headers repeated, joined by API Gateway", body,
			map[string]string{"x-plivo-signature-v3": sig + "," + sig, "x-plivo-signature-v3-nonce": "4711,4711"}, http.StatusOK},
		{"two nonces that differ", body,
			map[string]string{"x-plivo-signature-v3": sig, "x-plivo-signature-v3-nonce": "4711,4712"}, http.StatusForbidden},
		{"signed for the event's own host and path", body,
			map[string]string{"x-plivo-signature-v3": callbacks.SignatureV3("t1", http.MethodPost, "https://hooks.example.com/prod/webhooks/plivo/whatsapp/x", fields, "4711"),
				"x-plivo-signature-v3-nonce": "4711"}, http.StatusForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(onboardedRec)
			r := &apigw.PlivoCallbacks{Service: f.svc, URL: publicURL, Token: (&tokens{cached: "t1", fresh: "t1"}).get,
				Logger: logging.New(io.Discard, "DEBUG"), Metrics: f.met, Nonces: &nonces{used: map[string]string{}}}
			resp, err := r.Handle(context.Background(), awsCallback(t, c.body, c.headers))
			if err != nil || resp.StatusCode != c.want {
				t.Fatalf("Handle = %d %s, %v; want %d", resp.StatusCode, resp.Body, err, c.want)
			}
			published := len(f.pub.published())
			if (c.want == http.StatusOK) != (published == 1) {
				t.Errorf("%d events published for a %d", published, c.want)
			}
		})
	}
}
