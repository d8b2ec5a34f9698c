package metawebhooks_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks/callbackstest"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// awsEvent reads a payload format 2.0 event in the shape API Gateway sends
// it (testdata/, after aws-lambda-go's apigw-v2-request-*.json and AWS's
// "Lambda proxy integrations for HTTP APIs"), not one our emulator made.
func awsEvent(t *testing.T, file string) apigw.Request {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var req apigw.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestWebhookEventShapes sends Meta's deliveries as API Gateway hands them
// over: a body it may base64-encode, header names it lower-cases (or, in
// hand-made events, does not), and a header Meta's delivery repeats joined
// with a comma, as payload format 2.0 joins every repeated header.
func TestWebhookEventShapes(t *testing.T) {
	t.Parallel()
	const waba = "102000000000031"
	body := accountUpdate(waba, `{"event":"PARTNER_APP_UNINSTALLED"}`)
	// Meta's JSON may carry text as UTF-8: the signature is over the bytes.
	utf8Body := accountUpdate(waba, `{"event":"PARTNER_APP_UNINSTALLED","note":"Café Ünïcode ✓"}`)
	sig := metawebhooks.Sign(appSecret, []byte(body))
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name    string
		body    string
		base64  bool
		headers map[string]string
		want    int
	}{
		{"text body", body, false, map[string]string{"x-hub-signature-256": sig}, http.StatusOK},
		{"base64 body, signed over the decoded bytes", b64(body), true, map[string]string{"x-hub-signature-256": sig}, http.StatusOK},
		{"base64 UTF-8 body", b64(utf8Body), true, map[string]string{"x-hub-signature-256": metawebhooks.Sign(appSecret, []byte(utf8Body))}, http.StatusOK},
		{"base64 body tampered", b64(strings.Replace(body, "UNINSTALLED", "INSTALLED__", 1)), true,
			map[string]string{"x-hub-signature-256": sig}, http.StatusUnauthorized},
		{"base64 body signed as its base64 text", b64(body), true,
			map[string]string{"x-hub-signature-256": metawebhooks.Sign(appSecret, []byte(b64(body)))}, http.StatusUnauthorized},
		{"header name not lower-cased", body, false, map[string]string{"X-Hub-Signature-256": sig}, http.StatusOK},
		{"signature repeated, joined by API Gateway", body, false, map[string]string{"x-hub-signature-256": sig + "," + sig}, http.StatusOK},
		{"signature repeated with a space", body, false, map[string]string{"x-hub-signature-256": sig + ", " + sig}, http.StatusOK},
		{"a forged signature beside the genuine one", body, false,
			map[string]string{"x-hub-signature-256": metawebhooks.Sign("not-the-secret", []byte(body)) + "," + sig}, http.StatusOK},
		{"only forged signatures, joined", body, false,
			map[string]string{"x-hub-signature-256": metawebhooks.Sign("a", []byte(body)) + "," + metawebhooks.Sign("b", []byte(body))}, http.StatusUnauthorized},
		{"an empty candidate is no signature", body, false, map[string]string{"x-hub-signature-256": ","}, http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			recs := newRecords()
			recs.state[waba] = onboarding.StateOnboarded
			req := awsEvent(t, "apigw-v2-meta-post.json")
			req.Body, req.IsBase64Encoded = c.body, c.base64
			for k, v := range c.headers {
				req.Headers[k] = v
			}
			resp, err := newReceiver(recs, callbackstest.NewLedger()).Handle(context.Background(), req)
			if err != nil || resp.StatusCode != c.want {
				t.Fatalf("Handle = %d %s, %v; want %d", resp.StatusCode, resp.Body, err, c.want)
			}
			want := onboarding.StateOnboarded
			if c.want == http.StatusOK {
				want = onboarding.StateDisconnected
			}
			if recs.state[waba] != want {
				t.Errorf("record %s, want %s", recs.state[waba], want)
			}
			if !strings.Contains(resp.Body, `"evt-meta-post"`) {
				t.Errorf("answer does not echo the request ID: %s", resp.Body)
			}
		})
	}
}

// TestVerifyEventShapes answers Meta's verification GET as API Gateway
// hands it over: queryStringParameters decoded, rawQueryString as sent.
func TestVerifyEventShapes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mutate func(*apigw.Request)
		want   int
		body   string
	}{
		{"as AWS sends it", func(*apigw.Request) {}, http.StatusOK, "1158201444"},
		{"another token", func(r *apigw.Request) {
			r.QueryStringParameters["hub.verify_token"] = "not-ours"
			r.RawQueryString = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=not-ours"
		}, http.StatusForbidden, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req := awsEvent(t, "apigw-v2-meta-verify.json")
			c.mutate(&req)
			resp, err := newReceiver(newRecords(), callbackstest.NewLedger()).Handle(context.Background(), req)
			if err != nil || resp.StatusCode != c.want {
				t.Fatalf("Handle = %d %s, %v; want %d", resp.StatusCode, resp.Body, err, c.want)
			}
			if c.body != "" && resp.Body != c.body {
				t.Errorf("body %q, want the challenge %q", resp.Body, c.body)
			}
		})
	}
}
