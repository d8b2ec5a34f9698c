package callbacks_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// signedGet is a callback Plivo makes with GET to signURL: the fields in
// the query, signed over the URL it called.
func signedGet(token, signURL, query string) apigw.Request {
	req := getEvent(query)
	req.Headers["x-plivo-signature-v3-nonce"] = "43"
	req.Headers["x-plivo-signature-v3"] = callbacks.SignatureV3(token, "GET", signURL+"?"+query, nil, "43")
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
		{"GET, signed as Plivo's SDKs check it", signedGet("t1", publicURL, body), &tokens{cached: "t1"}, 200, "published", 0},
		{"GET, the query changed", func() apigw.Request {
			r := signedGet("t1", publicURL, body)
			r.RawQueryString += "&Status=read"
			return r
		}(),
			&tokens{cached: "t1", fresh: "t1"}, 403, "signature_invalid", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(onboardedRec)
			r := &apigw.PlivoCallbacks{Service: f.svc, URL: publicURL, Token: tt.tok.get, Logger: logging.New(io.Discard, "DEBUG"), Metrics: f.met}
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
				if f.led.Len() != 0 || len(f.pub.published()) != 0 || f.met.get(callbacks.MetricSignatureInvalid) != 1 {
					t.Errorf("a refused callback was stored (%d) or published (%d); metrics %v", f.led.Len(), len(f.pub.published()), f.met.counts)
				}
			}
		})
	}
}

// nonces is an in-memory callbacks.NonceLedger with the DynamoDB one's
// condition; shared/dynamo tests the real one against DynamoDB Local.
type nonces struct {
	mu   sync.Mutex
	used map[string]string
	err  error
}

func (n *nonces) Spend(_ context.Context, scheme callbacks.Scheme, nonce, bodyHash string, _, _ time.Time) error {
	nonce = string(scheme) + ":" + nonce
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.err != nil {
		return n.err
	}
	if h, ok := n.used[nonce]; ok && h != bodyHash {
		return callbacks.ErrNonceReused
	}
	n.used[nonce] = bodyHash
	return nil
}

func v2Event(token, body, nonce string) apigw.Request {
	req := callbackEvent("POST", form, body, false)
	sig := callbacks.SignatureV2(token, publicURL, nonce)
	req.Headers["x-plivo-signature-v2-nonce"] = nonce
	req.Headers["x-plivo-signature-v2"] = sig
	req.Headers["x-plivo-signature-ma-v2"] = sig
	return req
}

// TestReceiverV2 replays a genuine V2 signature pair with another body: by
// default V2 is refused outright; accepted, the nonce belongs to the first
// body it came with, so Plivo's own retry passes and the forgery does not.
func TestReceiverV2(t *testing.T) {
	t.Parallel()
	genuine := status("v2-1", "delivered", "+15550100001")
	forged := status("v2-2", "read", "+15550100001")
	type step struct {
		body   string
		code   int
		answer string
	}
	tests := []struct {
		name     string
		acceptV2 bool
		ledger   *nonces
		steps    []step
		reused   int
	}{
		{name: "refused by default", steps: []step{{genuine, 403, "signature_invalid"}, {forged, 403, "signature_invalid"}}},
		{name: "accepted: the nonce is the first body's", acceptV2: true, ledger: &nonces{used: map[string]string{}},
			steps: []step{{genuine, 200, "published"}, {genuine, 200, "duplicate"}, {forged, 403, "signature_invalid"}}, reused: 1},
		{name: "accepted: forgery first, Plivo's own refused", acceptV2: true, ledger: &nonces{used: map[string]string{}},
			steps: []step{{forged, 200, "published"}, {genuine, 403, "signature_invalid"}}, reused: 1},
		{name: "accepted: ledger down", acceptV2: true, ledger: &nonces{err: errors.New("dynamodb: throttled")},
			steps: []step{{genuine, 503, "upstream_unavailable"}}},
		{name: "accepted without a ledger", acceptV2: true, steps: []step{{genuine, 500, "internal_error"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(onboardedRec)
			r := &apigw.PlivoCallbacks{Service: f.svc, URL: publicURL, Token: (&tokens{cached: "t1", fresh: "t1"}).get,
				Logger: logging.New(io.Discard, "DEBUG"), Metrics: f.met, AcceptV2: tt.acceptV2}
			if tt.ledger != nil {
				r.Nonces = tt.ledger
			}
			for i, st := range tt.steps {
				resp, _ := r.Handle(context.Background(), v2Event("t1", st.body, "31337"))
				var out struct {
					Status string
					Error  struct{ Code string }
				}
				_ = json.Unmarshal([]byte(resp.Body), &out)
				if resp.StatusCode != st.code || out.Status+out.Error.Code != st.answer {
					t.Errorf("step %d: %d %s, want %d %s", i, resp.StatusCode, resp.Body, st.code, st.answer)
				}
			}
			if n := f.met.get(callbacks.MetricNonceReused); n != tt.reused {
				t.Errorf("%s = %d, want %d", callbacks.MetricNonceReused, n, tt.reused)
			}
		})
	}
}

// TestRefusedGETCallbackKeepsTheMessageOutOfLogs: a GET callback carries
// the customer's message in its query; refused, the log line names the URL
// checked, never that query.
func TestRefusedGETCallbackKeepsTheMessageOutOfLogs(t *testing.T) {
	t.Parallel()
	const canary = "canary-private-message-4711"
	var logs strings.Builder
	f := newFixture(onboardedRec)
	r := &apigw.PlivoCallbacks{Service: f.svc, URL: publicURL, Token: (&tokens{cached: "t1", fresh: "t1"}).get, Logger: logging.New(&logs, "DEBUG"), Metrics: f.met}
	req := signedGet("wrong-token", publicURL, "MessageUUID=m-1&From=14155550123&To=15550100001&Body="+canary)
	resp, err := r.Handle(context.Background(), req)
	if err != nil || resp.StatusCode != 403 {
		t.Fatalf("Handle = %d, %v; want 403", resp.StatusCode, err)
	}
	if !strings.Contains(logs.String(), "callback signature refused") || strings.Contains(logs.String(), canary) {
		t.Errorf("logs %s: want the refusal, without the message", logs.String())
	}
}

// TestGETCallbackSignsTheQueryItArrivedWith: with a configured URL that has
// its own query, Plivo appends the fields to it and signs the URL it
// called. Every value that becomes a field must be under that signature,
// the configured query's keys included.
func TestGETCallbackSignsTheQueryItArrivedWith(t *testing.T) {
	t.Parallel()
	cfg := publicURL + "?tenant=42"
	fields := "MessageUUID=cfg-1&Status=delivered&From=%2B15550100001&To=%2B14155550123"
	genuine := func() apigw.Request {
		req := getEvent("tenant=42&" + fields)
		req.Headers["x-plivo-signature-v3-nonce"] = "44"
		req.Headers["x-plivo-signature-v3"] = callbacks.SignatureV3("t1", "GET", cfg+"&"+fields, nil, "44")
		return req
	}
	tampered := genuine()
	tampered.RawQueryString = "tenant=99&" + fields
	for _, tt := range []struct {
		name string
		req  apigw.Request
		code int
	}{{"genuine", genuine(), 200}, {"configured key changed", tampered, 403}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(onboardedRec)
			r := &apigw.PlivoCallbacks{Service: f.svc, URL: cfg, Token: (&tokens{cached: "t1", fresh: "t1"}).get, Logger: logging.New(io.Discard, "DEBUG"), Metrics: f.met}
			if resp, err := r.Handle(context.Background(), tt.req); err != nil || resp.StatusCode != tt.code {
				t.Fatalf("Handle = %d %s, %v; want %d", resp.StatusCode, resp.Body, err, tt.code)
			}
		})
	}
}

// TestReceiverV3CutsOfAMessage is the attack on V3's signing of the fields
// as name and value with nothing between them. Someone who messages
// customer 1's number and gets hold of Plivo's signed callback for it (a
// proxy log, a request dump) cuts the same signed characters into a
// callback for customer 2, "from" a number of their choice, under a
// message ID of their choice. The signature stays valid; the nonce, which
// the original spent, refuses every cut, wherever the cut puts the field
// names: inside values, inside keys, across the two.
func TestReceiverV3CutsOfAMessage(t *testing.T) {
	t.Parallel()
	const (
		phish    = "Your account is suspended, pay at https://pay.example"
		attacker = "+14155550199"
		spoofed  = "+14155550100"
		victimTo = "+15550100002"
		nonce    = "5318008"
	)
	msg := func(body string, more url.Values) url.Values {
		v := url.Values{"Body": {body}, "ContentType": {"text"}, "From": {attacker}, "MessageUUID": {"genuine-uuid"},
			"To": {"+15550100001"}, "Type": {"whatsapp"}}
		for k, vs := range more {
			v[k] = vs
		}
		return v
	}
	forgedHead := url.Values{"Body": {phish}, "ContentType": {"text"}, "From": {spoofed}, "MessageUUID": {"forged-uuid"}, "To": {victimTo}}
	forged := func(more url.Values) url.Values {
		v := url.Values{}
		for k, vs := range forgedHead {
			v[k] = vs
		}
		for k, vs := range more {
			v[k] = vs
		}
		return v
	}
	tail := "ContentTypetextFrom" + attacker + "MessageUUIDgenuine-uuidTo+15550100001Type"
	tests := []struct {
		name, method     string
		genuine, forgery url.Values
	}{
		{"the original's fields inside a value", "POST",
			msg(phish+"ContentTypetextFrom"+spoofed+"MessageUUIDforged-uuidTo"+victimTo+"Typewhatsapp", nil),
			forged(url.Values{"Type": {"whatsapp" + tail + "whatsapp"}})},
		{"the original's fields inside a key", "POST",
			msg(phish+"ContentTypetextFrom"+spoofed+"MessageUUIDforged-uuidTo"+victimTo+"Typewhatsapp", nil),
			forged(url.Values{"Typewhatsapp" + tail: {"whatsapp"}})},
		{"the names across keys and values", "POST",
			msg(phish+"ContentTypetextFrom"+spoofed+"MessageUUIDforged-uuidTo"+victimTo+"Tz", nil),
			forged(url.Values{"TzContentTypetextFr": {"om" + attacker + "MessageU"}, "UIDgenuine-uuidT": {"o+15550100001Typewhatsapp"}})},
		{"GET: the original's fields inside a key", "GET",
			msg(phish+"&ContentType=text&From="+spoofed+"&MessageUUID=forged-uuid&To="+victimTo+"&zz", nil),
			forged(url.Values{"zz&ContentType=text&From=" + attacker + "&MessageUUID=genuine-uuid&To=+15550100001&Type": {"whatsapp"}})},
		{"a message cut into a status update of customer 2's", "POST",
			msg("okContentTypetextFrom"+victimTo+"MessageUUIDforged-uuidStatusreadTz", nil),
			url.Values{"Body": {"ok"}, "ContentType": {"text"}, "From": {victimTo}, "MessageUUID": {"forged-uuid"}, "Status": {"read"},
				"TzContentTypetextFr": {"om" + attacker + "MessageU"}, "UIDgenuine-uuidT": {"o+15550100001Typewhatsapp"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sign := func(fields url.Values) string {
				if tt.method == "GET" {
					return callbacks.SignatureV3("t1", "GET", publicURL+"?"+fields.Encode(), nil, nonce)
				}
				return callbacks.SignatureV3("t1", "POST", publicURL, fields, nonce)
			}
			sig := sign(tt.genuine)
			if sign(tt.forgery) != sig {
				t.Fatal("the cut does not sign alike: the attack is not set up")
			}
			f, r := twoCustomers()
			for i, fields := range []url.Values{tt.genuine, tt.forgery} {
				req := callbackEvent("POST", form, fields.Encode(), false)
				if tt.method == "GET" {
					req = getEvent(fields.Encode())
				}
				req.Headers["x-plivo-signature-v3-nonce"] = nonce
				req.Headers["x-plivo-signature-v3"] = sig
				resp, _ := r.Handle(context.Background(), req)
				if want := []int{200, 403}[i]; resp.StatusCode != want {
					t.Errorf("callback %d: %d %s, want %d", i, resp.StatusCode, resp.Body, want)
				}
			}
			for _, ev := range f.pub.published() {
				if strings.Contains(string(ev.Detail), "customer-2") {
					t.Errorf("customer 2 got the cut: %s", ev.Detail)
				}
			}
			if n := f.met.get(callbacks.MetricNonceReused); n != 1 {
				t.Errorf("%s = %d, want 1", callbacks.MetricNonceReused, n)
			}
		})
	}
}

// TestReceiverV3SpendsNoncesOnMessages: a message someone wrote spends its
// nonce; a status update costs no write.
func TestReceiverV3SpendsNoncesOnMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		body  string
		spent bool
	}{
		{"status", status("s-1", "delivered", "+15550100001"), false},
		{"plain text", inbound("i-1", "+15550100001", "see you at 5, ok?"), true},
		{"text naming To", inbound("i-2", "+15550100001", "Today: To the station"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(onboardedRec)
			ledger := &nonces{used: map[string]string{}}
			r := &apigw.PlivoCallbacks{Service: f.svc, URL: publicURL, Token: (&tokens{cached: "t1", fresh: "t1"}).get,
				Logger: logging.New(io.Discard, "DEBUG"), Metrics: f.met, Nonces: ledger}
			resp, _ := r.Handle(context.Background(), signedEvent("t1", publicURL, tt.body, "", false))
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, resp.Body)
			}
			if spent := len(ledger.used) > 0; spent != tt.spent {
				t.Errorf("nonce spent %v, want %v", spent, tt.spent)
			}
		})
	}
}

// TestReceiverV3RegroupsWithoutANameInAValue: the cuts of a status
// update's signed characters that need no field name inside a value. The
// original spends no nonce, so each forgery is refused by its shape: it
// must reach no one's bus.
func TestReceiverV3RegroupsWithoutANameInAValue(t *testing.T) {
	t.Parallel()
	// Customer 1 messaged customer 2's business number; this is the
	// status update of that message.
	genuine := url.Values{"MessageUUID": {"3e82fb36"}, "From": {"+15550100001"}, "To": {"+15550100002"}, "Sequence": {"1"},
		"Status": {"delivered"}, "TotalAmount": {"0.005"}, "Type": {"whatsapp"}}
	cut := func(edit func(url.Values)) url.Values {
		f := url.Values{}
		for k, vs := range genuine {
			f[k] = slices.Clone(vs)
		}
		edit(f)
		return f
	}
	tests := []struct {
		name   string
		forged url.Values
	}{
		{"Status swallowed by Sequence: a 'message' to customer 2", cut(func(f url.Values) {
			f.Del("Status")
			f.Set("Sequence", "1Statusdelivered")
		})},
		{"a second To cut from TotalAmount", cut(func(f url.Values) {
			f.Del("TotalAmount")
			f["To"] = []string{"talAmount0.005", "+15550100002"}
		})},
		{"Status swallowing the To after it", cut(func(f url.Values) {
			f.Del("To")
			f.Set("Status", "deliveredTo+15550100002")
		})},
	}
	const nonce = "8675309"
	sig := callbacks.SignatureV3("t1", "POST", publicURL, genuine, nonce)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if callbacks.SignatureV3("t1", "POST", publicURL, tt.forged, nonce) != sig {
				t.Fatal("the cut does not sign alike: the attack is not set up")
			}
			f, r := twoCustomers()
			for _, fields := range []url.Values{genuine, tt.forged} {
				req := callbackEvent("POST", form, fields.Encode(), false)
				req.Headers["x-plivo-signature-v3-nonce"] = nonce
				req.Headers["x-plivo-signature-v3"] = sig
				if resp, _ := r.Handle(context.Background(), req); resp.StatusCode != 200 {
					t.Fatalf("%d %s", resp.StatusCode, resp.Body)
				}
			}
			events := f.pub.published()
			if len(events) != 1 {
				t.Errorf("%d events published, want the original's alone", len(events))
			}
			for _, ev := range events {
				if strings.Contains(string(ev.Detail), "customer-2") || !strings.Contains(string(ev.Detail), `"kind":"status"`) {
					t.Errorf("published %s", ev.Detail)
				}
			}
		})
	}
}

// TestReceiverV3NonceCannotTakeTheSignedText: V3 signs the text, ".", then
// the nonce. A message with a "." in it lets a forger move the rest of the
// signed text into the nonce header: the signature still matches, under a
// nonce never spent, for a cut that reaches customer 2. Such a nonce is no
// nonce Plivo sends, and is refused.
func TestReceiverV3NonceCannotTakeTheSignedText(t *testing.T) {
	t.Parallel()
	const nonce = "5318008"
	cut := "ContentTypetextFrom+14155550100MessageUUIDforged-uuidTo+15550100002Typewhatsapp"
	genuine := url.Values{"Body": {"Pay now at https://pay" + cut + ".Thanks!"}, "ContentType": {"text"}, "From": {"+14155550199"},
		"MessageUUID": {"genuine-uuid"}, "To": {"+15550100001"}, "Type": {"whatsapp"}}
	forged := url.Values{"Body": {"Pay now at https://pay"}, "ContentType": {"text"}, "From": {"+14155550100"},
		"MessageUUID": {"forged-uuid"}, "To": {"+15550100002"}, "Type": {"whatsapp"}}
	forgedNonce := "Thanks!ContentTypetextFrom+14155550199MessageUUIDgenuine-uuidTo+15550100001Typewhatsapp." + nonce
	sig := callbacks.SignatureV3("t1", "POST", publicURL, genuine, nonce)
	if callbacks.SignatureV3("t1", "POST", publicURL, forged, forgedNonce) != sig {
		t.Fatal("the shifted cut does not sign alike: the attack is not set up")
	}
	f, r := twoCustomers()
	for i, c := range []struct {
		fields url.Values
		nonce  string
		want   int
	}{{genuine, nonce, 200}, {forged, forgedNonce, 403}} {
		req := callbackEvent("POST", form, c.fields.Encode(), false)
		req.Headers["x-plivo-signature-v3-nonce"] = c.nonce
		req.Headers["x-plivo-signature-v3"] = sig
		if resp, _ := r.Handle(context.Background(), req); resp.StatusCode != c.want {
			t.Errorf("callback %d: %d %s, want %d", i, resp.StatusCode, resp.Body, c.want)
		}
	}
	for _, ev := range f.pub.published() {
		if strings.Contains(string(ev.Detail), "customer-2") {
			t.Errorf("customer 2 got the cut: %s", ev.Detail)
		}
	}
}

// twoCustomers is a receiver with a nonce ledger over two onboarded
// customers: customer 1 (onboardedRec), and customer 2 on +1 555-010-0002,
// whom the cuts of customer 1's callbacks try to reach.
func twoCustomers() (*fixture, *apigw.PlivoCallbacks) {
	victim := onboardedRec
	victim.WABAID, victim.PhoneNumberID, victim.ClientRef, victim.DisplayPhoneNumber = "109876543210990", "112233445566790", "customer-2", "+1 555-010-0002"
	f := newFixture(onboardedRec, victim)
	return f, &apigw.PlivoCallbacks{Service: f.svc, URL: publicURL, Token: (&tokens{cached: "t1", fresh: "t1"}).get,
		Logger: logging.New(io.Discard, "DEBUG"), Metrics: f.met, Nonces: &nonces{used: map[string]string{}}}
}
