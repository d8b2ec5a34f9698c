package callbacks_test

import (
	"encoding/base64"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

const route = "POST /webhooks/plivo/whatsapp"

func callbackEvent(method, contentType, body string, b64 bool) apigw.Request {
	req := apigw.Request{Version: "2.0", RouteKey: route, RawPath: "/webhooks/plivo/whatsapp",
		Headers: map[string]string{}, Body: body, IsBase64Encoded: b64}
	if contentType != "" {
		req.Headers["content-type"] = contentType
	}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.RequestID = "rid-cb"
	return req
}

// getEvent is a callback Plivo makes with GET: the fields in the query.
func getEvent(query string) apigw.Request {
	req := callbackEvent("GET", "", "", false)
	req.RawQueryString = query
	return req
}

const (
	form     = "application/x-www-form-urlencoded"
	statusCB = "MessageUUID=0936ec98-7c4c-11f0-b2b4-0242ac110002&Status=delivered&From=%2B15550100001&To=%2B14155550123" +
		"&ErrorCode=&ConversationID=c0ffee&ConversationOrigin=utility&ConversationExpirationTimestamp=2025-11-26+19%3A03%3A58"
	inboundCB = "MessageUUID=wamid.HBgL&From=14155550123&To=15550100001&Type=whatsapp&ContentType=text" +
		"&Body=Hello+%3Cthere%3E+%26+%C3%A9&Text=Hello&MimeType=&Brand%20New=x"
)

func TestParseCallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  apigw.Request
		code onboarding.Code
		kind callbacks.Kind
		key  string
		num  string
	}{
		{"status", callbackEvent("POST", form, statusCB, false), "", callbacks.KindStatus,
			"callback#0936ec98-7c4c-11f0-b2b4-0242ac110002#delivered", "15550100001"},
		{"status base64, charset", callbackEvent("POST", form+"; charset=utf-8", base64.StdEncoding.EncodeToString([]byte(statusCB)), true), "",
			callbacks.KindStatus, "callback#0936ec98-7c4c-11f0-b2b4-0242ac110002#delivered", "15550100001"},
		{"inbound", callbackEvent("POST", form, inboundCB, false), "", callbacks.KindInbound, "callback#wamid.HBgL#received", "15550100001"},
		{"no content type", callbackEvent("POST", "", inboundCB, false), "", callbacks.KindInbound, "callback#wamid.HBgL#received", "15550100001"},
		{"status in upper case", callbackEvent("POST", form, "MessageUUID=m1&Status=READ&From=1", false), "", callbacks.KindStatus, "callback#m1#read", "1"},
		{"inbound with status received", callbackEvent("POST", form, "MessageUUID=m2&Status=received&From=1&To=2", false), "", callbacks.KindInbound, "callback#m2#received", "2"},
		// Plivo's message records give an inbound message the states
		// received, delivered and undelivered, and its inbound callback an
		// ErrorCode for a failure: a message (ContentType and Body are
		// inbound-only attributes) stays a message whatever Status it
		// carries, is routed by its recipient, our number, and keyed as
		// the message it is.
		{"inbound with status undelivered", callbackEvent("POST", form,
			"MessageUUID=m3&Status=undelivered&ErrorCode=1000&From=14155550123&To=15550100001&Type=whatsapp&ContentType=text&Body=hi", false),
			"", callbacks.KindInbound, "callback#m3#received", "15550100001"},
		{"inbound media with status delivered", callbackEvent("POST", form,
			"MessageUUID=m4&Status=delivered&From=14155550123&To=15550100001&Type=whatsapp&ContentType=media&MimeType=image%2Fjpeg", false),
			"", callbacks.KindInbound, "callback#m4#received", "15550100001"},
		{"empty body", callbackEvent("POST", form, "", false), "", callbacks.KindInbound, "", ""},
		{"json", callbackEvent("POST", "application/json", `{"MessageUUID":"m"}`, false), onboarding.CodeUnsupportedMedia, "", "", ""},
		{"bad content type", callbackEvent("POST", "form;;=", statusCB, false), onboarding.CodeUnsupportedMedia, "", "", ""},
		// Payload format 2.0 joins a repeated header with commas.
		{"content type repeated", callbackEvent("POST", form+","+form+"; charset=utf-8", statusCB, false), "", callbacks.KindStatus,
			"callback#0936ec98-7c4c-11f0-b2b4-0242ac110002#delivered", "15550100001"},
		{"content types that disagree", callbackEvent("POST", form+",application/json", statusCB, false), onboarding.CodeUnsupportedMedia, "", "", ""},
		{"content types that disagree, the form last", callbackEvent("POST", "application/json,"+form, statusCB, false), onboarding.CodeUnsupportedMedia, "", "", ""},
		// Plivo passes the fields as query parameters when the callback's
		// method is GET.
		{"status by GET", getEvent(statusCB), "", callbacks.KindStatus, "callback#0936ec98-7c4c-11f0-b2b4-0242ac110002#delivered", "15550100001"},
		{"GET with a bad escape", getEvent("MessageUUID=%zz"), onboarding.CodeInvalidRequest, "", "", ""},
		// The signed URL ends at "#"; what follows would be read unsigned.
		{"GET with a raw #", getEvent(statusCB + "&ErrorCode=#&ErrorCode=131026"), onboarding.CodeInvalidRequest, "", "", ""},
		{"GET too large", getEvent("Body=" + strings.Repeat("a", callbacks.MaxBodyBytes)), onboarding.CodePayloadTooLarge, "", "", ""},
		{"PUT", callbackEvent("PUT", form, statusCB, false), onboarding.CodeMethodNotAllowed, "", "", ""},
		{"bad base64", callbackEvent("POST", form, "!!", true), onboarding.CodeInvalidRequest, "", "", ""},
		{"bad escape", callbackEvent("POST", form, "MessageUUID=%zz", false), onboarding.CodeInvalidRequest, "", "", ""},
		{"too large", callbackEvent("POST", form, "Body="+strings.Repeat("a", callbacks.MaxBodyBytes), false), onboarding.CodePayloadTooLarge, "", "", ""},
		{"too large base64", callbackEvent("POST", form, base64.StdEncoding.EncodeToString(make([]byte, callbacks.MaxBodyBytes+10)), true), onboarding.CodePayloadTooLarge, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cb, err := apigw.ParseCallback(tt.req)
			if got := codeOf(err); got != tt.code {
				t.Fatalf("code %q (%v), want %q", got, err, tt.code)
			}
			if err != nil {
				return
			}
			if cb.Kind() != tt.kind || cb.BusinessNumber() != tt.num {
				t.Errorf("kind %s number %q, want %s %q", cb.Kind(), cb.BusinessNumber(), tt.kind, tt.num)
			}
			if tt.key != "" && cb.Key() != tt.key {
				t.Errorf("key %q, want %q", cb.Key(), tt.key)
			}
		})
	}
}

func codeOf(err error) onboarding.Code {
	if err == nil {
		return ""
	}
	return onboarding.ErrorCode(err)
}

func TestCallbackKeepsEveryField(t *testing.T) {
	t.Parallel()
	cb, err := apigw.ParseCallback(callbackEvent("POST", form, inboundCB+"&Repeated=1&Repeated=2", false))
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"MessageUUID": {"wamid.HBgL"}, "From": {"14155550123"}, "To": {"15550100001"}, "Type": {"whatsapp"},
		"ContentType": {"text"}, "Body": {"Hello <there> & é"}, "Text": {"Hello"}, "MimeType": {""},
		"Brand New": {"x"}, "Repeated": {"1", "2"},
	}
	if !reflect.DeepEqual(cb.Fields, want) {
		t.Errorf("fields\n got %v\nwant %v", cb.Fields, want)
	}
}

func TestCallbackKeyAndWABA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, key, waba string
		recognized            bool
	}{
		{"no uuid: keyed by hash", "From=1&To=2", "callback#sha256:", "", false},
		{"odd uuid: keyed by hash", "MessageUUID=a%23b&To=2", "callback#sha256:", "", false},
		{"status", "MessageUUID=m&Status=delivered&From=%2B14155550100", "callback#m#delivered", "", true},
		{"odd status", "MessageUUID=m&Status=a%23b", "callback#m#sha256:", "", false},
		{"wamid", "MessageUUID=wamid.HBgL%2Bx%2FAA%3D&ContentType=text", "callback#wamid.HBgL+x/AA=#received", "", true},
		{"media message without text", "MessageUUID=m&ContentType=media&Body=", "callback#m#received", "", true},
		{"waba field", "MessageUUID=m&WabaId=109876543210987&ContentType=text", "callback#m#received", "109876543210987", true},
		{"waba_id field", "MessageUUID=m&waba_id=109876543210987&Body=hi", "callback#m#received", "109876543210987", true},
		{"not a waba id", "MessageUUID=m&WABAID=abc&Body=hi", "callback#m#received", "", true},
		// The marks a regrouping of Plivo's signed characters leaves.
		{"neither a status nor a message", "MessageUUID=m&Sequence=1Statusdelivered&To=14155550100", "callback#m#received", "", false},
		{"a read field twice", "MessageUUID=m&Status=delivered&To=14155550100&To=talAmount0.005", "callback#m#delivered", "", false},
		{"a WABA field twice", "MessageUUID=m&Body=hi&WabaId=109876543210987&WabaId=109876543210988", "callback#m#received", "109876543210987", false},
		{"a number with letters", "MessageUUID=m&Status=sent&From=14155550100MCC310", "callback#m#sent", "", false},
		{"a status that swallowed a number", "MessageUUID=m&Status=deliveredTo%2B14155550100", "callback#m#", "", false},
		{"a status without a MessageUUID", "Status=delivered&From=14155550100", "callback#sha256:", "", false},
		// The dedupe key holds a MessageUUID of up to 256 characters.
		{"a MessageUUID of 256 characters", "MessageUUID=" + strings.Repeat("u", 256) + "&Status=sent", "callback#uuu", "", true},
		{"a MessageUUID of 257 characters", "MessageUUID=" + strings.Repeat("u", 257) + "&Status=sent", "callback#sha256:", "", false},
		{"a status of 32 letters", "MessageUUID=m&Status=" + strings.Repeat("d", 32), "callback#m#ddd", "", true},
		{"a status of 33 letters", "MessageUUID=m&Status=" + strings.Repeat("d", 33), "callback#m#ddd", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _ := callbacks.ParseForm([]byte(tt.body))
			cb := &callbacks.Callback{Fields: f}
			if !strings.HasPrefix(cb.Key(), tt.key) || cb.WABAID() != tt.waba || cb.Recognized() != tt.recognized {
				t.Errorf("Key %q WABAID %q Recognized %v; want prefix %q, %q, %v", cb.Key(), cb.WABAID(), cb.Recognized(), tt.key, tt.waba, tt.recognized)
			}
		})
	}
	a, _ := callbacks.ParseForm([]byte("MessageUUID=m&Status=read"))
	b, _ := callbacks.ParseForm([]byte("Status=read&MessageUUID=m"))
	if (&callbacks.Callback{Fields: a}).Hash() != (&callbacks.Callback{Fields: b}).Hash() {
		t.Error("the hash depends on the order of the fields")
	}
}

// FuzzParseCallback feeds arbitrary bodies, raw and base64-encoded, through
// the parser: it must not panic, must keep what it parsed through an
// encode/parse round trip, and must always produce a key DynamoDB accepts.
func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{statusCB, inboundCB, "", "a=1&a=2", "%", "a=%zz", "=;", "MessageUUID=" + strings.Repeat("x", 200)} {
		f.Add(s, false)
		f.Add(base64.StdEncoding.EncodeToString([]byte(s)), true)
	}
	f.Fuzz(func(t *testing.T, body string, b64 bool) {
		cb, err := apigw.ParseCallback(callbackEvent("POST", form, body, b64))
		if err != nil {
			if c := onboarding.ErrorCode(err); c != onboarding.CodeInvalidRequest && c != onboarding.CodePayloadTooLarge {
				t.Fatalf("unexpected error code %s: %v", c, err)
			}
			return
		}
		again, err := callbacks.ParseForm([]byte(cb.Fields.Encode()))
		if err != nil || !reflect.DeepEqual(again, cb.Fields) && len(cb.Fields) > 0 {
			t.Fatalf("round trip: %v, %v != %v", err, again, cb.Fields)
		}
		key := cb.Key()
		if !strings.HasPrefix(key, "callback#") || len(key) > 400 {
			t.Fatalf("key %q", key)
		}
		_ = cb.BusinessNumber()
		_ = cb.WABAID()
		_ = cb.DetailType()
	})
}
