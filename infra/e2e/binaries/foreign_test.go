package binaries

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/lifecycle"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// awsTestdata is aws-lambda-go's own sample events, read from the module
// cache at test time: they are what AWS's library is tested against, not
// what our generator makes, and the repository does not copy them.
func awsTestdata(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("go list aws-lambda-go: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "events", "testdata")
}

// awsSample reads one of aws-lambda-go's testdata files as a generic map.
func awsSample(t *testing.T, file string) map[string]any {
	t.Helper()
	return readEvent(t, filepath.Join(awsTestdata(t), file))
}

// leaks are what an answer to a caller must never show: a Go panic or
// runtime error, an AWS resource or endpoint, or an SDK error's name.
var leaks = []string{"panic", "goroutine", "runtime error", "arn:aws", "127.0.0.1", "localhost", "Exception", "dynamodb", "secretsmanager"}

// TestAWSSamplesOnEveryRoute sends aws-lambda-go's four payload format 2.0
// samples (no authorizer, IAM, JWT, Lambda authorizer) to every route of
// the template, changed only where they must be to reach it: the method,
// the path and its parameters, and the request ID. Each is sent twice:
// with the route's key, as a route integration receives it, and with the
// sample's own routeKey $default and no path parameters, as a catch-all
// integration does. The samples carry cookies, headers in mixed case, a
// query string with a repeated parameter, stage variables and an mTLS
// block; none is a request of ours. With the route key they are also
// sent bare (no headers, query, cookies or body) and as a base64 form
// post. Every answer must be an HTTP answer
// below 500 that names the request and shows nothing internal, and none
// may be a success the request did not earn: an AWS_IAM route refuses
// every sample but the IAM one, through a catch-all too, a signed
// delivery refuses every unsigned one, and the anonymous status shows no
// customer.
func TestAWSSamplesOnEveryRoute(t *testing.T) {
	freshStack(t)
	ctx := context.Background()
	running := map[string]*Function{}
	t.Cleanup(func() {
		for _, f := range running {
			f.Stop()
		}
	})
	params := map[string]string{"waba_id": OnboardedWABA, "client_ref": OnboardedClientRef}
	samples := []string{"apigw-v2-request-no-authorizer.json", "apigw-v2-request-iam.json",
		"apigw-v2-request-jwt-authorizer.json", "apigw-v2-request-lambda-authorizer.json"}
	for _, route := range stack.Template.Routes() {
		for _, file := range samples {
			for _, v := range []struct {
				catchAll bool
				shape    string
			}{{false, ""}, {true, ""}, {false, "bare"}, {false, "form"}} {
				catchAll := v.catchAll
				name := route.Key() + " " + strings.TrimSuffix(file, ".json")
				if catchAll {
					name += " $default"
				}
				if v.shape != "" {
					name += " " + v.shape
				}
				t.Run(name, func(t *testing.T) {
					f := running[route.Function]
					if f == nil {
						var err error
						if f, err = stack.StartFunction(ctx, route.Function); err != nil {
							t.Fatal(err)
						}
						running[route.Function] = f
					}
					ev := awsSample(t, file)
					rid := "aws-sample-" + randomHex(6)
					path, pp := concretePath(route, params, ev)
					rc := ev["requestContext"].(map[string]any)
					h := rc["http"].(map[string]any)
					h["method"], h["path"], ev["rawPath"] = route.Method, path, path
					rc["requestId"] = rid
					if catchAll {
						delete(ev, "pathParameters")
					} else {
						ev["routeKey"], rc["routeKey"], ev["pathParameters"] = route.Key(), route.Key(), pp
					}
					switch v.shape {
					case "bare":
						// Payload format 2.0 leaves out what the request
						// did not have: headers, query, cookies, body.
						for _, k := range []string{"headers", "body", "rawQueryString", "queryStringParameters", "cookies", "stageVariables"} {
							delete(ev, k)
						}
					case "form":
						// An HTML form's POST, which API Gateway
						// base64-encodes.
						ev["headers"] = map[string]any{"content-type": "application/x-www-form-urlencoded", "content-length": "7"}
						ev["body"], ev["isBase64Encoded"] = "YT0xJmI9Mg==", true
					}
					resp := httpAnswer(t, f, ev)
					checkForeignAnswer(t, route, file, rid, resp)
					if t.Failed() {
						t.Logf("%s log: %s", route.Function, f.LogPath)
					}
				})
			}
		}
	}
}

// concretePath is route's path with its parameters filled from params,
// and a greedy parameter ({proxy+}) from the sample's own pathParameters,
// with the path parameters API Gateway would give.
func concretePath(route sam.Route, params map[string]string, ev map[string]any) (string, map[string]any) {
	pp := map[string]any{}
	segs := strings.Split(route.Path, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			continue
		}
		name := strings.Trim(s, "{}+")
		v := params[name]
		if v == "" {
			if sp, ok := ev["pathParameters"].(map[string]any); ok {
				v, _ = sp[name].(string)
			}
		}
		segs[i], pp[name] = v, v
	}
	return strings.Join(segs, "/"), pp
}

// checkForeignAnswer holds an answer to one of AWS's samples against
// what the route may answer a request that is not ours.
func checkForeignAnswer(t *testing.T, route sam.Route, file, rid string, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if resp.StatusCode < 200 || resp.StatusCode >= 500 {
		t.Errorf("status %d: %s", resp.StatusCode, resp.Body)
	}
	body := resp.Body
	for _, leak := range leaks {
		if strings.Contains(strings.ToLower(body), strings.ToLower(leak)) {
			t.Errorf("the answer shows %q: %s", leak, body)
		}
	}
	ct := ""
	for k, v := range resp.Headers {
		if strings.EqualFold(k, "content-type") {
			ct = v
		}
	}
	if strings.HasPrefix(ct, "application/json") && !strings.Contains(body, rid) {
		t.Errorf("a JSON answer that does not name the request %s: %s", rid, body)
	}
	iam := file == "apigw-v2-request-iam.json"
	switch {
	case route.Auth == "AWS_IAM" && !iam:
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("an AWS_IAM route answered %d to a request without IAM: %s", resp.StatusCode, body)
		}
	case route.Function == "MetawebhooksFunction" || route.Function == "CallbacksFunction":
		// Unsigned, or (the handshake) without our verify token.
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("an unsigned delivery answered %d: %s", resp.StatusCode, body)
		}
	case route.Key() == "POST /api/whatsapp/embedded-signup" || route.Key() == "GET /api/onboarding-sessions/check":
		if resp.StatusCode < 400 {
			t.Errorf("a signup or link check without a session answered %d: %s", resp.StatusCode, body)
		}
	case route.Key() == "GET /api/whatsapp/embedded-signup/{waba_id}" && !iam:
		// API Gateway adds the IAM block only after SigV4, which the
		// provider's backend may use on this route too.
		if resp.StatusCode != http.StatusOK || strings.Contains(body, OnboardedClientRef) {
			t.Errorf("the anonymous status answered %d: %s; want 200 without the customer", resp.StatusCode, body)
		}
	case route.Key() == "GET /":
		if resp.StatusCode != http.StatusOK {
			t.Errorf("the page answered %d", resp.StatusCode)
		}
	}
}

// TestAWSStreamSamples sends aws-lambda-go's DynamoDB stream samples to the
// real lifecycle binary: items of another table (keys "key" and "val", or
// a number "Id"), with every attribute type (binary, sets, lists, maps,
// NULL, numbers as strings), a REMOVE, and the tumbling-window fields. Then
// the time-window sample's INSERT, MODIFY and REMOVE with the signup
// table's keys and images, the REMOVE made by TTL as AWS documents it
// (userIdentity dynamodb.amazonaws.com), beside a dedup-table item that
// also carries waba_id and state. No record may fail the batch, and only
// the signup's change to verified is published.
func TestAWSStreamSamples(t *testing.T) {
	freshStack(t)
	f, err := stack.StartFunction(context.Background(), "LifecycleFunction")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	const waba = "102000000000777"
	s := func(v string) map[string]any { return map[string]any{"S": v} }
	signup := func(state, at string) map[string]any {
		return map[string]any{"waba_id": s(waba), "state": s(state), "client_ref": s("customer-777"), "updated_at": s(at),
			"plivo_attempts": map[string]any{"N": "0"}, "expires_at": map[string]any{"N": "1796000000"}}
	}
	lock, verified := signup("verifying", "2026-12-08T10:00:00Z"), signup("verified", "2026-12-08T10:00:01Z")
	adapted := awsSample(t, "dynamodb-time-window-event.json")
	recs := adapted["Records"].([]any)
	for i, r := range recs {
		d := r.(map[string]any)["dynamodb"].(map[string]any)
		d["Keys"] = map[string]any{"waba_id": s(waba)}
		switch i {
		case 0: // INSERT: the signup's lock, with no OldImage
			d["NewImage"] = lock
		case 1: // MODIFY: verified
			d["OldImage"], d["NewImage"] = lock, verified
		case 2: // REMOVE by TTL: only the OldImage
			d["OldImage"] = verified
			r.(map[string]any)["userIdentity"] = map[string]any{"type": "Service", "principalId": "dynamodb.amazonaws.com"}
		}
	}
	dedup, _ := json.Marshal(recs[1])
	var other map[string]any
	_ = json.Unmarshal(dedup, &other)
	od := other["dynamodb"].(map[string]any)
	od["Keys"] = map[string]any{"pk": s("meta#0123456789")}
	od["SequenceNumber"] = "444"
	adapted["Records"] = append(recs, other)

	for _, c := range []struct {
		name  string
		event map[string]any
		want  []string
	}{
		{"dynamodb-event", awsSample(t, "dynamodb-event.json"), nil},
		{"dynamodb-time-window-event", awsSample(t, "dynamodb-time-window-event.json"), nil},
		{"time-window event on the signup table", adapted, []string{lifecycle.DetailTypePrefix + "verified"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(stack.Events.Events())
			payload, _ := json.Marshal(c.event)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			out, err := f.Invoke(ctx, payload)
			if err != nil || string(out) != `{"batchItemFailures":[]}` {
				t.Errorf("answer %s, %v; want no failures (log %s)", out, err, f.LogPath)
			}
			var got []string
			for _, e := range stack.Events.Events()[before:] {
				got = append(got, e.DetailType)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("published %v, want %v", got, c.want)
			}
		})
	}
}

// TestPlivosDocumentedCallbacks sends the real callbacks binary a status
// callback with every attribute Plivo's "Message Status Callbacks" page
// lists, for each status it gives (queued, sent, delivered, read, failed
// and undelivered with an ErrorCode), the business number with and without
// its "+", and inbound messages as Plivo forwards them (text, media, a
// button reply to a template), to the seeded onboarded number, V3-signed
// for the URL Plivo calls. Each is published once, for customer 2.
func TestPlivosDocumentedCallbacks(t *testing.T) {
	freshStack(t)
	publicURL, _ := stack.Template.Parameter("CallbackPublicUrl")
	f, err := stack.StartFunction(context.Background(), "CallbacksFunction")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	status := func(id, st, from, errorCode string) url.Values {
		return url.Values{"MessageUUID": {id}, "To": {"14155550123"}, "From": {from}, "Type": {"whatsapp"}, "Status": {st},
			"Units": {"1"}, "TotalRate": {"0.0147"}, "TotalAmount": {"0.0147"}, "MCC": {"310"}, "MNC": {"260"}, "ErrorCode": {errorCode},
			"ParentMessageUUID": {id}, "PartInfo": {"1 of 1"}, "Sequence": {"2"}, "MessageTime": {"2026-12-08 10:00:00.000000"},
			"QueuedTime": {"2026-12-08 10:00:00.100000"}, "SentTime": {"2026-12-08 10:00:01.000000"},
			"DeliveryReportTime": {"2026-12-08 10:00:02.000000"}, "requester_ip": {"203.0.113.7"}, "PowerpackUUID": {""},
			"ConversationID": {"c0ffee0123456789"}, "ConversationOrigin": {"utility"}, "ConversationExpirationTimestamp": {"1796817600"}}
	}
	inbound := func(id, contentType string, extra url.Values) url.Values {
		v := url.Values{"MessageUUID": {id}, "From": {"14155550123"}, "To": {"15550100002"}, "Type": {"whatsapp"},
			"ContentType": {contentType}, "ProfileName": {"Sheena Nelson"}, "MessageTime": {"2026-12-08 10:00:00.000000"}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}
	type sample struct {
		name, detailType, key string
		form                  url.Values
	}
	var cases []sample
	for _, st := range []string{"queued", "sent", "delivered", "read", "failed", "undelivered"} {
		id, code := uuid(), ""
		if st == "failed" || st == "undelivered" {
			code = "131026"
		}
		cases = append(cases, sample{st, "whatsapp.message.status", "callback#" + id + "#" + st, status(id, st, "+15550100002", code)})
	}
	noPlus, text, media, button := uuid(), uuid(), uuid(), uuid()
	cases = append(cases,
		sample{"delivered, From without +", "whatsapp.message.status", "callback#" + noPlus + "#delivered", status(noPlus, "delivered", "15550100002", "")},
		sample{"inbound text", "whatsapp.message.received", "callback#" + text + "#received",
			inbound(text, "text", url.Values{"Body": {"Does it come in another color?"}})},
		sample{"inbound media", "whatsapp.message.received", "callback#" + media + "#received",
			inbound(media, "media", url.Values{"Body": {""}, "Media0": {"https://media.plivo.com/v1/Account/MA/Media/" + media},
				"MimeType": {"image/jpeg"}, "Caption": {"the red one"}})},
		sample{"inbound button reply", "whatsapp.message.received", "callback#" + button + "#received",
			inbound(button, "button", url.Values{"Body": {"Yes"}, "Button": {`{"payload":"yes","text":"Yes"}`},
				"Context": {`{"message_uuid":"` + uuid() + `"}`}})},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nonce := strconv.FormatInt(time.Now().UnixNano(), 10)
			headers := map[string]string{"x-plivo-signature-v3": callbacks.SignatureV3(PlivoAuthToken, "POST", publicURL, c.form, nonce),
				"x-plivo-signature-v3-nonce": nonce}
			ev := callbackEvent(t, c.form, headers)
			resp := httpAnswer(t, f, ev)
			if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"published"`) {
				t.Fatalf("answer %d %s, want 200 published (log %s)", resp.StatusCode, resp.Body, f.LogPath)
			}
			busEvents(t, c.key, c.detailType, 1)
		})
	}
}

// TestMetasMessagingWebhooksThroughTheBinary delivers Meta's messages
// example (an inbound text: no entry time, the number's metadata, the
// sender's profile) and its template approval example, signed, for the
// seeded onboarded WABA, to the real binary and DynamoDB Local: 200, and
// the record stays onboarded.
func TestMetasMessagingWebhooksThroughTheBinary(t *testing.T) {
	freshStack(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	f, err := stack.StartFunction(ctx, "MetawebhooksFunction")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	for name, body := range map[string]string{
		"messages": `{"object":"whatsapp_business_account","entry":[{"id":"` + OnboardedWABA + `","changes":[{"value":{` +
			`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550100002","phone_number_id":"` + OnboardedPhone + `"},` +
			`"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234",` +
			`"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text",` +
			`"text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}`,
		"message_template_status_update": `{"entry":[{"id":"` + OnboardedWABA + `","time":1674864290,"changes":[{"value":{` +
			`"event":"APPROVED","message_template_id":806312974732579,"message_template_name":"welcome_template",` +
			`"message_template_language":"en-US","reason":"NONE","message_template_category":"UTILITY"},` +
			`"field":"message_template_status_update"}]}],"object":"whatsapp_business_account"}`,
	} {
		t.Run(name, func(t *testing.T) {
			ev := webhookEvent(t, metasim.Webhook{Body: []byte(body), Signature: metawebhooks.Sign(MetaAppSecret, []byte(body))}, "meta-"+name)
			if got := invokeStatus(ctx, t, f, ev); got != http.StatusOK {
				t.Errorf("status %d, want 200 (log %s)", got, f.LogPath)
			}
			recordState(t, OnboardedWABA, onboarding.StateOnboarded)
		})
	}
}
