package demo_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/demo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/plivo"
)

func fields(err error) string {
	var de *onboarding.Error
	if !errors.As(err, &de) {
		return ""
	}
	var out []string
	for _, f := range de.Fields {
		out = append(out, f.Field)
	}
	return strings.Join(out, ",")
}

func TestValidateMessage(t *testing.T) {
	t.Parallel()
	ok := func() demo.MessageRequest { return demo.MessageRequest{WABAID: waba, Dst: dst, Text: "hi"} }
	tests := []struct {
		name   string
		edit   func(m *demo.MessageRequest)
		fields string
	}{
		{"ok", func(*demo.MessageRequest) {}, ""},
		{"ok with callback", func(m *demo.MessageRequest) { m.URL, m.Method = "https://x.example/cb", "get" }, ""},
		{"ok template", func(m *demo.MessageRequest) {
			m.Text, m.Template = "", &plivo.MessageTemplate{Name: "hello_world", Language: "en_US"}
		}, ""},
		{"dst without plus", func(m *demo.MessageRequest) { m.Dst = "14155550100" }, "dst"},
		{"dst with spaces", func(m *demo.MessageRequest) { m.Dst = "+1 415 555 0100" }, "dst"},
		{"dst too long", func(m *demo.MessageRequest) { m.Dst = "+1234567890123456" }, "dst"},
		{"waba leading zero", func(m *demo.MessageRequest) { m.WABAID = "0123" }, "waba_id"},
		{"blank text", func(m *demo.MessageRequest) { m.Text = "   " }, "text"},
		{"text exactly 4096", func(m *demo.MessageRequest) { m.Text = strings.Repeat("a", 4096) }, ""},
		{"method without url", func(m *demo.MessageRequest) { m.Method = "POST" }, "method"},
		{"bad method", func(m *demo.MessageRequest) { m.URL, m.Method = "https://x.example", "PUT" }, "method"},
		{"relative url", func(m *demo.MessageRequest) { m.URL = "/status" }, "url"},
		{"template language", func(m *demo.MessageRequest) {
			m.Text, m.Template = "", &plivo.MessageTemplate{Name: "a", Language: "English"}
		}, "template.language"},
		{"everything wrong", func(m *demo.MessageRequest) { *m = demo.MessageRequest{} }, "waba_id,dst,text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := ok()
			tt.edit(&m)
			if got := fields(demo.ValidateMessage(&m)); got != tt.fields {
				t.Fatalf("fields = %q, want %q", got, tt.fields)
			}
		})
	}
}

func TestValidateTemplate(t *testing.T) {
	t.Parallel()
	comps := func(raw ...string) []json.RawMessage {
		out := make([]json.RawMessage, len(raw))
		for i, r := range raw {
			out[i] = json.RawMessage(r)
		}
		return out
	}
	ok := func() demo.TemplateRequest {
		return demo.TemplateRequest{WABAID: waba, Name: "order_update", Language: "en_US", Category: "UTILITY", Components: comps(`{"type":"BODY","text":"Hi"}`)}
	}
	tests := []struct {
		name   string
		edit   func(r *demo.TemplateRequest)
		fields string
	}{
		{"ok", func(*demo.TemplateRequest) {}, ""},
		{"name 512", func(r *demo.TemplateRequest) { r.Name = strings.Repeat("a", 512) }, ""},
		{"name 513", func(r *demo.TemplateRequest) { r.Name = strings.Repeat("a", 513) }, "name"},
		{"name upper case", func(r *demo.TemplateRequest) { r.Name = "Order" }, "name"},
		{"name with dash", func(r *demo.TemplateRequest) { r.Name = "order-update" }, "name"},
		{"authentication body without text", func(r *demo.TemplateRequest) {
			r.Category, r.Components = "AUTHENTICATION", comps(`{"type":"BODY","add_security_recommendation":true}`)
		}, ""},
		{"utility body without text", func(r *demo.TemplateRequest) { r.Components = comps(`{"type":"BODY"}`) }, "components[0].text"},
		{"body too long", func(r *demo.TemplateRequest) {
			r.Components = comps(`{"type":"BODY","text":"` + strings.Repeat("x", 1025) + `"}`)
		}, "components[0].text"},
		{"component not an object", func(r *demo.TemplateRequest) { r.Components = comps(`"BODY"`) }, "components[0],components"},
		{"two bodies", func(r *demo.TemplateRequest) {
			r.Components = comps(`{"type":"BODY","text":"a"}`, `{"type":"body","text":"b"}`)
		}, "components"},
		{"too many components", func(r *demo.TemplateRequest) {
			for range 10 {
				r.Components = append(r.Components, json.RawMessage(`{"type":"BUTTONS"}`))
			}
		}, "components"},
		{"category", func(r *demo.TemplateRequest) { r.Category = "TRANSACTIONAL" }, "category"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := ok()
			tt.edit(&r)
			if got := fields(demo.ValidateTemplate(&r)); got != tt.fields {
				t.Fatalf("fields = %q, want %q", got, tt.fields)
			}
		})
	}
}
