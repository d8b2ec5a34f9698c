package plivosim

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

func TestSendMessage(t *testing.T) {
	t.Parallel()
	tmpl := map[string]any{"name": "order_update", "language": "en_US", "components": []any{map[string]any{"type": "body"}}}
	tests := []struct {
		name     string
		register bool // RegisterNumber(testDisplay) first
		body     any
		status   int
		msg      string
		uuids    int
		invalid  []string // the answer's invalid_number
	}{
		{name: "text", register: true, body: map[string]any{"type": "whatsapp", "src": "+1 (555) 010-0000", "dst": "14155550100", "text": "hello"}, status: 202, uuids: 1},
		{name: "template", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "template": tmpl, "url": "https://app.example/status", "method": "POST"}, status: 202, uuids: 1},
		{name: "several destinations", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100<14155550101", "text": "hi"}, status: 202, uuids: 2},
		// Plivo's bulk messaging guide: valid destinations are queued, the
		// others listed in invalid_number; a sanitized number is digits
		// only and at most 14 long.
		{name: "an invalid destination among valid ones", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100<jsgf3dsjh28372", "text": "hi"}, status: 202, uuids: 1, invalid: []string{"jsgf3dsjh28372"}},
		{name: "no valid destination", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "+1 415 555 0100 1234", "text": "hi"}, status: 202, uuids: 0, invalid: []string{"+1 415 555 0100 1234"}},
		{name: "duplicate destinations", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100<+1 (415) 555-0100", "text": "hi"}, status: 202, uuids: 1},
		// "For WhatsApp: single media URL."
		{name: "media only", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "media_urls": []any{"https://img.example/a.png"}}, status: 202, uuids: 1},
		{name: "two media URLs", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "media_urls": []any{"https://img.example/a.png", "https://img.example/b.png"}}, status: 400, msg: "A WhatsApp message takes a single media URL."},
		{name: "missing type", register: true, body: map[string]any{"src": "15550100000", "dst": "14155550100", "text": "hi"}, status: 400, msg: `type must be "whatsapp" (the simulator models WhatsApp messages only).`},
		{name: "missing src", register: true, body: map[string]any{"type": "whatsapp", "dst": "14155550100", "text": "hi"}, status: 400, msg: "src is required."},
		{name: "missing dst", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "text": "hi"}, status: 400, msg: "dst is required."},
		{name: "neither text nor template", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100"}, status: 400, msg: "Either text or template is required for a WhatsApp message."},
		{name: "both text and template", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "text": "hi", "template": tmpl}, status: 400, msg: "Specify either text or template, not both."},
		{name: "template without name", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "template": map[string]any{"language": "en"}}, status: 400, msg: "template.name is required."},
		{name: "template without language", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "template": map[string]any{"name": "x"}}, status: 400, msg: "template.language is required."},
		{name: "template not an object", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "template": "order_update"}, status: 400, msg: "template must be a JSON object."},
		{name: "bad method", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "text": "hi", "method": "PUT"}, status: 400, msg: "method must be GET or POST."},
		{name: "bad url", register: true, body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "text": "hi", "url": "not a url"}, status: 400, msg: "url is not a valid URL."},
		{name: "src not onboarded", body: map[string]any{"type": "whatsapp", "src": "15550100000", "dst": "14155550100", "text": "hi"}, status: 400, msg: "src is not a WhatsApp-enabled number on this account."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.register {
				e.sim.RegisterNumber(testDisplay)
			}
			r := e.call(t, http.MethodPost, "Message/", tt.body)
			if tt.status != 202 {
				wantError(t, r, tt.status, tt.msg)
				if len(e.sim.Messages()) != 0 {
					t.Error("a rejected message was recorded")
				}
				return
			}
			if r.status != 202 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var body struct {
				APIID         string   `json:"api_id"`
				Message       string   `json:"message"`
				MessageUUID   []string `json:"message_uuid"`
				InvalidNumber []string `json:"invalid_number"`
			}
			decode(t, r.body, &body)
			if body.Message != "message(s) queued" || len(body.APIID) != 36 || len(body.MessageUUID) != tt.uuids || !slices.Equal(body.InvalidNumber, tt.invalid) {
				t.Fatalf("body %s", r.body)
			}
			msgs := e.sim.Messages()
			if tt.uuids == 0 {
				if len(msgs) != 0 {
					t.Errorf("Messages() = %+v, want none", msgs)
				}
				return
			}
			if len(msgs) != tt.uuids || msgs[0].UUID != body.MessageUUID[0] || msgs[0].Src != "15550100000" || msgs[0].Type != "whatsapp" {
				t.Errorf("Messages() = %+v", msgs)
			}
			if tt.name == "template" {
				var got map[string]any
				if err := json.Unmarshal(msgs[0].Template, &got); err != nil || got["name"] != "order_update" {
					t.Errorf("template kept as %s", msgs[0].Template)
				}
				if msgs[0].URL != "https://app.example/status" || msgs[0].Method != "POST" {
					t.Errorf("callback fields %+v", msgs[0])
				}
			}
		})
	}
}

func TestSignupRegistersSender(t *testing.T) {
	t.Parallel()
	lookups := 0
	e := newEnv(t, func(c *Config) {
		c.PhoneNumbers = nil
		c.LookupNumber = func(id string) (string, bool) {
			lookups++
			return "+44 7700 900123", id == testPhoneID
		}
	})
	msg := map[string]any{"type": "whatsapp", "src": "447700900123", "dst": "14155550100", "text": "hi"}
	wantError(t, e.call(t, http.MethodPost, "Message/", msg), 400, "src is not a WhatsApp-enabled number on this account.")
	if r := e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", signupBody()); r.status != 200 {
		t.Fatalf("signup %d", r.status)
	}
	if r := e.call(t, http.MethodPost, "Message/", msg); r.status != 202 {
		t.Fatalf("message after onboarding: %d %s", r.status, r.body)
	}
	if lookups != 1 {
		t.Errorf("lookups %d", lookups)
	}
}
