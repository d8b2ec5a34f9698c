package binaries

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	infrastack "github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// httpAnswer invokes f with the API Gateway event ev and returns the HTTP
// answer, failing the test when the function does not give one.
func httpAnswer(t *testing.T, f *Function, ev map[string]any) events.APIGatewayV2HTTPResponse {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return invokeHTTP(t, f, payload)
}

// eventTemplate reads an events/ file as a generic map, for a test to
// change its body and headers.
func eventTemplate(t *testing.T, name string) map[string]any {
	t.Helper()
	return readEvent(t, filepath.Join(stack.Root, "events", name))
}

// readEvent is the JSON event in the file at path.
func readEvent(t *testing.T, path string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// callbackEvent is a Plivo callback event with form body and the given
// signature headers (lower case, as API Gateway passes them).
func callbackEvent(t *testing.T, form url.Values, sigHeaders map[string]string) map[string]any {
	t.Helper()
	ev := eventTemplate(t, "callback-status-read-v2.json")
	h := ev["headers"].(map[string]any)
	for k := range h {
		if len(k) > 15 && k[:15] == "x-plivo-signatu" {
			delete(h, k)
		}
	}
	for k, v := range sigHeaders {
		h[k] = v
	}
	body := form.Encode()
	h["content-length"] = strconv.Itoa(len(body))
	ev["body"] = base64.StdEncoding.EncodeToString([]byte(body))
	ev["requestContext"].(map[string]any)["requestId"] = "attack-" + randomHex(4)
	return ev
}

func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// TestForgedCallbackFromCapturedV2Pair replays a V2 signature pair that
// Plivo genuinely sent, with a body of the attacker's choosing: another
// message, another status, and a WabaId that routes it to another
// customer's bus rule. V2 signs only the URL and the nonce, so the pair
// verifies for any body. It must be refused by the real callbacks binary,
// both by default (V2 not accepted at all) and with V2 accepted (the nonce
// was spent by the genuine callback).
func TestForgedCallbackFromCapturedV2Pair(t *testing.T) {
	publicURL, _ := stack.Template.Parameter("CallbackPublicUrl")
	genuineUUID, forgedUUID := uuid(), uuid()
	genuine := url.Values{"MessageUUID": {genuineUUID}, "Status": {"read"}, "From": {"+15550100002"},
		"To": {"+14155550123"}, "MessageType": {"whatsapp"}}
	forged := url.Values{"MessageUUID": {forgedUUID}, "Status": {"delivered"}, "From": {"+15550100002"},
		"To": {"+14155550999"}, "MessageType": {"whatsapp"}, "WabaId": {ConflictWABA}}
	nonce := strconv.FormatInt(time.Now().UnixNano(), 10)
	forgedKey := "callback#" + forgedUUID + "#delivered"

	for _, mode := range []struct {
		name      string
		overrides []string
		// genuine is the answer to Plivo's own V2 callback in this mode.
		genuine int
	}{
		{name: "V2 refused (default)", genuine: 403},
		{name: "V2 accepted", overrides: []string{"CALLBACK_SIGNATURE_V2=accept"}, genuine: 200},
	} {
		t.Run(mode.name, func(t *testing.T) {
			f, err := stack.StartFunction(context.Background(), "CallbacksFunction", mode.overrides...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(f.Stop)
			// A fresh nonce per mode: each is a separate capture.
			n := nonce + strconv.Itoa(len(mode.overrides))
			s := callbacks.SignatureV2(PlivoAuthToken, publicURL, n)
			pair := map[string]string{"x-plivo-signature-v2": s, "x-plivo-signature-ma-v2": s, "x-plivo-signature-v2-nonce": n}
			if got := httpAnswer(t, f, callbackEvent(t, genuine, pair)).StatusCode; got != mode.genuine {
				t.Errorf("Plivo's own V2 callback answered %d, want %d", got, mode.genuine)
			}
			resp := httpAnswer(t, f, callbackEvent(t, forged, pair))
			if resp.StatusCode != 403 {
				t.Errorf("forged body with the captured V2 pair answered %d %s, want 403", resp.StatusCode, resp.Body)
			}
			for _, ev := range stack.Events.Events() {
				var d struct {
					DedupeKey string `json:"dedupe_key"`
				}
				if json.Unmarshal(ev.Detail, &d) == nil && d.DedupeKey == forgedKey {
					t.Errorf("the forged callback reached the bus: %s", ev.Detail)
				}
			}
			dedupState(t, forgedKey, "")
		})
		forgedUUID = uuid()
		forged.Set("MessageUUID", forgedUUID)
		forgedKey = "callback#" + forgedUUID + "#delivered"
	}
}

// TestRegroupedV3Callback regroups the signed characters of a V3 callback
// Plivo genuinely sent. V3 signs the fields as name and value with nothing
// between them; the attacker wrote the text of a message to customer 2's
// number so that it cuts into a message "from" a number of their choice,
// to customer 3, under a message ID of their choice. The signature stays
// valid. The real callbacks binary must refuse it (the original spent its
// nonce) and publish nothing for customer 3.
func TestRegroupedV3Callback(t *testing.T) {
	publicURL, _ := stack.Template.Parameter("CallbackPublicUrl")
	f, err := stack.StartFunction(context.Background(), "CallbacksFunction")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	genuineUUID, forgedUUID := uuid(), uuid()
	const attacker, spoofed, victim = "+15557770001", "+15559990000", "+15550100003" // victim: ConflictWABA's number
	const phish = "Your account is suspended, pay at https://pay.example"
	genuine := url.Values{"Body": {phish + "ContentTypetextFrom" + spoofed + "MessageUUID" + forgedUUID + "To" + victim + "Typewhatsapp"},
		"ContentType": {"text"}, "From": {attacker}, "MessageUUID": {genuineUUID}, "To": {"+15550100002"}, "Type": {"whatsapp"}}
	forged := url.Values{"Body": {phish}, "ContentType": {"text"}, "From": {spoofed}, "MessageUUID": {forgedUUID}, "To": {victim},
		"Type": {"whatsapp" + "ContentTypetextFrom" + attacker + "MessageUUID" + genuineUUID + "To+15550100002Typewhatsapp"}}
	nonce := strconv.FormatInt(time.Now().UnixNano(), 10)
	sig := callbacks.SignatureV3(PlivoAuthToken, "POST", publicURL, genuine, nonce)
	if callbacks.SignatureV3(PlivoAuthToken, "POST", publicURL, forged, nonce) != sig {
		t.Fatal("the regrouped fields do not sign alike: the attack is not set up")
	}
	headers := map[string]string{"x-plivo-signature-v3": sig, "x-plivo-signature-v3-nonce": nonce}
	if resp := httpAnswer(t, f, callbackEvent(t, genuine, headers)); resp.StatusCode != 200 {
		t.Fatalf("Plivo's own callback answered %d %s", resp.StatusCode, resp.Body)
	}
	if resp := httpAnswer(t, f, callbackEvent(t, forged, headers)); resp.StatusCode != 403 {
		t.Errorf("the regrouped callback answered %d %s, want 403", resp.StatusCode, resp.Body)
	}
	forgedKey := "callback#" + forgedUUID + "#received"
	for _, ev := range stack.Events.Events() {
		var d struct {
			DedupeKey string `json:"dedupe_key"`
		}
		if json.Unmarshal(ev.Detail, &d) == nil && d.DedupeKey == forgedKey {
			t.Errorf("the regrouped callback reached the bus: %s", ev.Detail)
		}
	}
}

// signupEvent is signup-ok.json with body as its body, placeholders
// (SIM_CODE, SIM_SESSION) filled in by PrepareEvent.
func signupEvent(t *testing.T, body map[string]string) []byte {
	t.Helper()
	ev := eventTemplate(t, "signup-ok.json")
	b, _ := json.Marshal(body)
	ev["body"] = string(b)
	if h, ok := ev["headers"].(map[string]any); ok {
		h["content-length"] = strconv.Itoa(len(b))
	}
	ev["requestContext"].(map[string]any)["requestId"] = "attack-" + randomHex(4)
	raw, _ := json.Marshal(ev)
	out, err := stack.PrepareEvent(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSignupWithoutSessionsOutsideSandbox deploys the real signup binary
// without SESSION_SECRET_ID, as a template edit or a console change
// could: an attacker then attaches a WABA to any client_ref of their
// choosing. The function must refuse to start, naming the variable;
// running without sessions takes an explicit SESSIONS=off, which
// STAGE=prod refuses too.
func TestSignupWithoutSessionsOutsideSandbox(t *testing.T) {
	tests := []struct {
		name      string
		overrides []string
		// refusal is what the init error names; empty: the function
		// starts and serves the signup.
		refusal string
	}{
		{name: "secret unset", overrides: []string{"SESSION_SECRET_ID="}, refusal: "SESSION_SECRET_ID"},
		{name: "sessions off in prod", overrides: []string{"SESSION_SECRET_ID=", "SESSIONS=off", "STAGE=prod"}, refusal: "SESSIONS=off"},
		{name: "sessions off, explicitly, in dev", overrides: []string{"SESSION_SECRET_ID=", "SESSIONS=off", "STAGE=dev"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f, err := stack.StartFunction(ctx, "SignupFunction", tt.overrides...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(f.Stop)
			waba := "10200000000090" + strconv.Itoa(i)
			payload := signupEvent(t, map[string]string{"code": CodePlaceholder, "waba_id": waba,
				"phone_number_id": "10300000000090" + strconv.Itoa(i), "business_id": BusinessID, "client_ref": "victim@example.com"})
			ictx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			out, _ := f.Invoke(ictx, payload)
			var resp events.APIGatewayV2HTTPResponse
			answered := json.Unmarshal(out, &resp) == nil && resp.StatusCode != 0
			if tt.refusal == "" {
				if !answered || resp.StatusCode != 200 {
					t.Fatalf("with SESSIONS=off the signup answered %s", out)
				}
				return
			}
			if answered {
				t.Errorf("signup without sessions answered %d %s; want an init error naming %s", resp.StatusCode, resp.Body, tt.refusal)
			}
			logText, _ := os.ReadFile(f.LogPath)
			if !strings.Contains(string(logText), tt.refusal) {
				t.Errorf("the init error does not name %s; log:\n%s", tt.refusal, logText)
			}
			if _, ok := stack.Plivo.Onboarded(waba); ok {
				t.Errorf("the WABA was onboarded at Plivo for a client_ref nobody bound")
			}
		})
	}
}

// signupFunction starts one signup function for the calling test, with its
// template environment.
func signupFunction(t *testing.T, overrides ...string) *Function {
	t.Helper()
	f, err := stack.StartFunction(context.Background(), "SignupFunction", overrides...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	return f
}

// invokeHTTP sends a prepared event and returns the HTTP answer.
func invokeHTTP(t *testing.T, f *Function, payload []byte) events.APIGatewayV2HTTPResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := f.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
		t.Fatalf("not an HTTP answer (%v): %s", err, out)
	}
	return resp
}

// TestBusinessIDTheCustomerDoesNotOwn completes a genuine Embedded Signup
// for a WABA owned by one business, and sends another business's ID in
// the body. The browser's business_id was never checked: it went to Plivo
// and into every callback event. Now Meta is asked which business owns
// the WABA, with the customer's token: a mismatch answers 422
// business_mismatch, and nothing reaches Plivo.
func TestBusinessIDTheCustomerDoesNotOwn(t *testing.T) {
	f := signupFunction(t)
	const waba, phone, notTheirs = "102000000000911", "103000000000911", "101999999999911"
	code := stack.Meta.IssueCode(metasim.Grant{WABAID: waba, BusinessID: BusinessID,
		PhoneNumbers: []metasim.PhoneNumber{{ID: phone, DisplayPhoneNumber: "+1 555-010-0911", VerifiedName: "Customer 911"}}})
	resp := invokeHTTP(t, f, signupEvent(t, map[string]string{"code": code, "waba_id": waba, "phone_number_id": phone,
		"business_id": notTheirs, "client_ref": "customer-911", "session": SessionPlaceholder}))
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &body)
	if resp.StatusCode != 422 || body.Error.Code != "business_mismatch" {
		t.Errorf("signup with a business_id the customer does not own answered %d %s; want 422 business_mismatch", resp.StatusCode, resp.Body)
	}
	if su, ok := stack.Plivo.Onboarded(waba); ok {
		t.Errorf("Plivo got the signup with business %s", su.BusinessID)
	}
}

// TestAnonymousStatusRead reads the onboarded customer's record through
// the real status binary knowing only its WABA ID, which is no secret: it
// used to answer client_ref (possibly an e-mail address), the number, the
// business and Plivo's IDs. Only the state may show, also to another
// customer's genuine session; the customer's own session sees its record.
func TestAnonymousStatusRead(t *testing.T) {
	f, err := stack.StartFunction(context.Background(), "StatusFunction")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	keys, err := session.ParseKeyset(stack.SecretValues[infrastack.SessionKeysSecretID])
	if err != nil {
		t.Fatal(err)
	}
	m := &session.Minter{Keys: session.StaticKeys(keys)}
	token := func(ref string) string {
		iss, err := m.Mint(context.Background(), ref, 0)
		if err != nil {
			t.Fatal(err)
		}
		return iss.Token
	}
	for _, tt := range []struct {
		name, session string
		full          bool
	}{
		{name: "anonymous"},
		{name: "another customer's session", session: token("customer-attacker")},
		{name: "a forged session", session: "v1.k1.eyJjIjoiY3VzdG9tZXItMiJ9.AAAA"},
		{name: "the customer's own session", session: token(OnboardedClientRef), full: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := eventTemplate(t, "status-found.json")
			if tt.session != "" {
				ev["headers"].(map[string]any)["x-onboarding-session"] = tt.session
			}
			resp := httpAnswer(t, f, ev)
			if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"state":"onboarded"`) {
				t.Fatalf("status = %d %s", resp.StatusCode, resp.Body)
			}
			disclosed := strings.Contains(resp.Body, OnboardedClientRef) || strings.Contains(resp.Body, OnboardedPhone) ||
				strings.Contains(resp.Body, BusinessID) || strings.Contains(resp.Body, "seed-"+OnboardedWABA)
			if disclosed != tt.full {
				t.Errorf("record disclosed: %v, want %v: %s", disclosed, tt.full, resp.Body)
			}
		})
	}
}
