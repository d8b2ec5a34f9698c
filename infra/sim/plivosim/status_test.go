package plivosim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// timeFormat is the status page's "YYYY-mm-dd HH:MM:SS.SSSSSS".
var timeFormat = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$`)

// TestSendStatus: Plivo calls the url a message was sent with, by its
// method, "with the latest message details as and when the message status
// changes", with the attributes of its status callbacks page.
func TestSendStatus(t *testing.T) {
	t.Parallel()
	type got struct {
		method string
		fields url.Values
		sigOK  bool
	}
	tests := []struct {
		name   string
		method string // the message's callback method
		steps  []StatusUpdate
		want   []map[string]string // per step, fields that must be there ("" = absent)
	}{
		{
			name: "sent, read, then a late delivered, by POST", method: "POST",
			steps: []StatusUpdate{{Status: "sent"}, {Status: "read"}, {Status: "delivered"}},
			want: []map[string]string{
				{"Status": "sent", "Sequence": "1", "ErrorCode": ""},
				{"Status": "read", "Sequence": "2", "ErrorCode": ""},
				{"Status": "delivered", "Sequence": "3", "ErrorCode": ""},
			},
		},
		{
			name: "failed carries an ErrorCode, by GET", method: "GET",
			steps: []StatusUpdate{{Status: "queued"}, {Status: "failed", ErrorCode: "30"}},
			want: []map[string]string{
				{"Status": "queued", "Sequence": "1", "ErrorCode": ""},
				{"Status": "failed", "Sequence": "2", "ErrorCode": "30"},
			},
		},
		{
			name: "undelivered without a code gets one", method: "POST",
			steps: []StatusUpdate{{Status: "undelivered"}},
			want:  []map[string]string{{"Status": "undelivered", "Sequence": "1", "ErrorCode": defaultStatusErrorCode}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var seen []got
			var rcvURL string
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(body))
				called, signed := rcvURL+"/status", form
				if r.Method == http.MethodGet {
					form, called, signed = r.URL.Query(), rcvURL+r.URL.RequestURI(), nil
				}
				ok := r.Header.Get(HeaderSignatureV3) == SignV3(testAuthToken, r.Method, called, signed, r.Header.Get(HeaderNonceV3))
				mu.Lock()
				seen = append(seen, got{r.Method, form, ok})
				mu.Unlock()
			}))
			defer rcv.Close()
			rcvURL = rcv.URL

			e := newEnv(t)
			e.sim.RegisterNumber(testDisplay)
			r := e.call(t, http.MethodPost, "Message/", map[string]any{"type": "whatsapp", "src": "15550100000",
				"dst": "+1 415 555 0100", "text": "hi", "url": rcv.URL + "/status", "method": tt.method})
			if r.status != http.StatusAccepted {
				t.Fatalf("send: %d %s", r.status, r.body)
			}
			uuid := e.sim.Messages()[0].UUID
			for _, st := range tt.steps {
				st.MessageUUID = uuid
				if code, err := e.sim.SendStatus(context.Background(), st); err != nil || code != http.StatusOK {
					t.Fatalf("SendStatus(%s) = %d, %v", st.Status, code, err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != len(tt.want) {
				t.Fatalf("%d callbacks, want %d", len(seen), len(tt.want))
			}
			for i, w := range tt.want {
				g := seen[i]
				if g.method != tt.method || !g.sigOK {
					t.Errorf("callback %d: method %s, signature ok %v", i, g.method, g.sigOK)
				}
				f := g.fields
				if f.Get("MessageUUID") != uuid || f.Get("From") != "15550100000" || f.Get("To") != "14155550100" ||
					f.Get("Type") != "whatsapp" || f.Get("ConversationOrigin") != "service" || !timeFormat.MatchString(f.Get("MessageTime")) {
					t.Errorf("callback %d: fields %v", i, f)
				}
				for k, v := range w {
					if f.Get(k) != v || (v == "" && f.Has(k)) {
						t.Errorf("callback %d: %s = %q (present %v), want %q", i, k, f.Get(k), f.Has(k), v)
					}
				}
			}
		})
	}
}

func TestSendStatusErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sim.RegisterNumber(testDisplay)
	e.call(t, http.MethodPost, "Message/", map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "text": "hi"})
	noURL := e.sim.Messages()[0].UUID
	for _, st := range []StatusUpdate{
		{MessageUUID: "no-such-message", Status: "sent"},
		{MessageUUID: noURL, Status: "sent"},
		{MessageUUID: noURL, Status: "seen"},
	} {
		if _, err := e.sim.SendStatus(context.Background(), st); err == nil {
			t.Errorf("SendStatus(%+v) accepted", st)
		}
	}
}

// TestStatusTrigger: the local stack plays Plivo's side through the
// control route.
func TestStatusTrigger(t *testing.T) {
	t.Parallel()
	var gotStatus string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		gotStatus = r.PostForm.Get("Status")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer rcv.Close()
	e := newEnv(t)
	e.sim.RegisterNumber(testDisplay)
	e.call(t, http.MethodPost, "Message/", map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "text": "hi", "url": rcv.URL})
	uuid := e.sim.Messages()[0].UUID
	tests := []struct {
		body string
		code int
		want string
	}{
		{`{"message_uuid":"` + uuid + `","status":"READ"}`, http.StatusOK, `{"status":202}`},
		{`{"message_uuid":"` + uuid + `","status":"seen"}`, http.StatusBadGateway, ""},
		{`{"status":"read"}`, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		resp, err := http.Post(e.srv.URL+"/_sim/plivo/message-status", "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || (tt.want != "" && strings.TrimSpace(string(b)) != tt.want) {
			t.Errorf("%s: %d %s, want %d %s", tt.body, resp.StatusCode, b, tt.code, tt.want)
		}
	}
	if gotStatus != "read" {
		t.Errorf("receiver got Status %q, want read", gotStatus)
	}
}

// TestSendStatusToNumberWebhook: Plivo's Configure Number page gives each
// WhatsApp number a Webhook URL that "receives inbound message events
// (text, media, replies, status updates)", so a message sent without a url
// still has its status updates delivered, to its sender number's Webhook
// URL. A url named in the send is still called for that message, as the
// status callbacks page says.
func TestSendStatusToNumberWebhook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		webhook bool   // the sender number has a Webhook URL
		sendURL string // path of the url the message was sent with, "" for none
		want    string // path the status callback reaches, "" for none
	}{
		{name: "no url: the number's Webhook URL", webhook: true, want: "/number-webhook"},
		{name: "the send's url wins for its message", webhook: true, sendURL: "/send-url", want: "/send-url"},
		{name: "no url and no Webhook URL: nothing is sent", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var paths []string
			var rcvURL string
			sigOK := true
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(body))
				mu.Lock()
				defer mu.Unlock()
				paths = append(paths, r.Method+" "+r.URL.Path)
				if r.Header.Get(HeaderSignatureV3) != SignV3(testAuthToken, r.Method, rcvURL+r.URL.Path, form, r.Header.Get(HeaderNonceV3)) ||
					form.Get("Status") != "delivered" || form.Get("From") != "15550100000" {
					sigOK = false
				}
			}))
			defer rcv.Close()
			rcvURL = rcv.URL

			e := newEnv(t)
			e.sim.RegisterNumber(testDisplay)
			if tt.webhook {
				if err := e.sim.ConfigureNumber(testDisplay, rcv.URL+"/number-webhook"); err != nil {
					t.Fatalf("ConfigureNumber: %v", err)
				}
			}
			send := map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "text": "hi"}
			if tt.sendURL != "" {
				send["url"] = rcv.URL + tt.sendURL
			}
			if r := e.call(t, http.MethodPost, "Message/", send); r.status != http.StatusAccepted {
				t.Fatalf("send: %d %s", r.status, r.body)
			}
			code, err := e.sim.SendStatus(context.Background(), StatusUpdate{MessageUUID: e.sim.Messages()[0].UUID, Status: "delivered"})
			if tt.want == "" {
				if err == nil {
					t.Fatalf("SendStatus = %d, want an error: nowhere to send it", code)
				}
				return
			}
			if err != nil || code != http.StatusOK {
				t.Fatalf("SendStatus = %d, %v", code, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(paths) != 1 || paths[0] != "POST "+tt.want || !sigOK {
				t.Errorf("callbacks %v (signed and complete: %v), want one POST %s", paths, sigOK, tt.want)
			}
		})
	}
}

// TestConfigureNumber: only a WhatsApp number of the account takes a
// Webhook URL, and only a URL.
func TestConfigureNumber(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sim.RegisterNumber(testDisplay)
	tests := []struct {
		number, url string
		ok          bool
	}{
		{testDisplay, "https://hooks.example.com/webhooks/plivo/whatsapp", true},
		{"15550100000", "http://127.0.0.1:3000/webhooks/plivo/whatsapp", true},
		{"+1 555-010-9999", "https://hooks.example.com/", false},
		{testDisplay, "not a url", false},
		{testDisplay, "", false},
	}
	for _, tt := range tests {
		if err := e.sim.ConfigureNumber(tt.number, tt.url); (err == nil) != tt.ok {
			t.Errorf("ConfigureNumber(%q, %q) = %v, want ok %v", tt.number, tt.url, err, tt.ok)
		}
	}
}
