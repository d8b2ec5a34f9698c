package plivo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

// Message is a WhatsApp message to send: exactly one of Text and Template.
type Message struct {
	Src      string // the WABA's sender number, E.164
	Dst      string // the recipient, E.164
	Text     string // free-form text, allowed inside the 24-hour window
	Template *MessageTemplate
	URL      string // status callback URL, optional
	Method   string // status callback method, optional (POST by default at Plivo)
}

// MessageTemplate names an approved template and fills its variables.
type MessageTemplate struct {
	Name       string      `json:"name"`
	Language   string      `json:"language"`
	Components []Component `json:"components,omitempty"`
}

// Component fills one part of a template: "header", "body" or "button".
type Component struct {
	Type       string      `json:"type"`
	SubType    string      `json:"sub_type,omitempty"` // buttons: "url", "quick_reply"...
	Index      string      `json:"index,omitempty"`    // buttons: position, "0"-based
	Parameters []Parameter `json:"parameters,omitempty"`
}

// Parameter is one template variable: "text", "media", "payload"...
type Parameter struct {
	Type    string `json:"type"`
	Text    string `json:"text,omitempty"`
	Media   string `json:"media,omitempty"`
	Payload string `json:"payload,omitempty"`
}

// MessageResult is Plivo's acknowledgement of a queued message: one
// message_uuid per destination it accepted, and in invalid_number the
// destinations it refused, which its 202 does not otherwise tell apart.
type MessageResult struct {
	APIID          string   `json:"api_id"`
	Message        string   `json:"message"`
	MessageUUIDs   []string `json:"message_uuid"`
	InvalidNumbers []string `json:"invalid_number,omitempty"`
}

// wireMessage is the JSON body of the Message API.
type wireMessage struct {
	Type     string           `json:"type"`
	Src      string           `json:"src"`
	Dst      string           `json:"dst"`
	Text     string           `json:"text,omitempty"`
	Template *MessageTemplate `json:"template,omitempty"`
	URL      string           `json:"url,omitempty"`
	Method   string           `json:"method,omitempty"`
}

// SendMessage queues a WhatsApp message.
func (c *Client) SendMessage(ctx context.Context, m Message) (MessageResult, error) {
	switch {
	case m.Src == "" || m.Dst == "":
		return MessageResult{}, errors.New("plivo: message needs src and dst")
	case (m.Text == "") == (m.Template == nil):
		return MessageResult{}, errors.New("plivo: message needs exactly one of text and template")
	}
	body := wireMessage{Type: "whatsapp", Src: m.Src, Dst: m.Dst, Text: m.Text, Template: m.Template, URL: m.URL, Method: m.Method}
	var out MessageResult
	if err := c.do(ctx, call{op: OpSendMessage, method: http.MethodPost, path: "Message/", body: body}, &out); err != nil {
		return MessageResult{}, err
	}
	if len(out.MessageUUIDs) == 0 && len(out.InvalidNumbers) > 0 {
		// Plivo's bulk messaging guide: valid destinations are accepted and
		// invalid ones returned in invalid_number, under its usual 202. With
		// none accepted nothing was queued: that is a refusal of the
		// request, whatever the status says. The numbers stay out of the
		// message, which is logged.
		return MessageResult{}, &onboarding.UpstreamError{
			Service: onboarding.ServicePlivo, Op: OpSendMessage, Status: http.StatusAccepted, Kind: onboarding.KindRejected, APIID: out.APIID,
			Message: "Plivo queued no message: it listed the destination in invalid_number (the number is not a valid destination once sanitized)",
		}
	}
	return out, nil
}

// Template is a WhatsApp message template as submitted to and listed by
// Plivo. Components are Meta's template component objects (HEADER, BODY,
// FOOTER, BUTTONS with their examples), passed through unchanged: their
// schema is Meta's and grows with every Graph version.
type Template struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name"`
	Language string `json:"language"`
	Category string `json:"category"`
	Status   string `json:"status,omitempty"`
	// QualityScore and RejectedReason are Meta's review outcome, read from
	// a listing and never sent: quality_score is null or absent while the
	// template is PENDING, rejected_reason "NONE" unless it was REJECTED.
	QualityScore   *QualityScore     `json:"quality_score,omitempty"`
	RejectedReason string            `json:"rejected_reason,omitempty"`
	Components     []json.RawMessage `json:"components"`
}

// QualityScore is Meta's quality rating of a template: GREEN, YELLOW, RED or
// UNKNOWN.
type QualityScore struct {
	Score string `json:"score"`
}

// UnmarshalJSON reads a listed template. Plivo's template object names the
// Meta template ID template_id, and it may come as a number; id is read
// too, as older answers had it.
func (t *Template) UnmarshalJSON(b []byte) error {
	type fields Template
	var w struct {
		fields
		ID         upstream.String `json:"id"`
		TemplateID upstream.String `json:"template_id"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = Template(w.fields)
	t.ID = cmp.Or(string(w.TemplateID), string(w.ID))
	return nil
}

// TemplateResult is Plivo's answer to a template submission.
type TemplateResult struct {
	APIID      string
	Message    string
	TemplateID string
	Status     string
}

// CreateTemplate submits a template for Meta's review on the WABA.
func (c *Client) CreateTemplate(ctx context.Context, wabaID string, t Template) (TemplateResult, error) {
	if err := checkWABAID(wabaID); err != nil {
		return TemplateResult{}, err
	}
	if t.Name == "" || t.Language == "" || t.Category == "" {
		return TemplateResult{}, errors.New("plivo: template needs name, language and category")
	}
	t.ID, t.Status, t.QualityScore, t.RejectedReason = "", "", nil, ""
	var out struct {
		APIID      string          `json:"api_id"`
		Message    string          `json:"message"`
		ID         upstream.String `json:"id"`
		TemplateID upstream.String `json:"template_id"`
		Status     string          `json:"status"`
		// TemplateStatus is Meta's review state.
		TemplateStatus string `json:"template_status"`
	}
	if err := c.do(ctx, call{op: OpCreateTemplate, method: http.MethodPost, path: templatePath(wabaID), body: t}, &out); err != nil {
		return TemplateResult{}, err
	}
	res := TemplateResult{APIID: out.APIID, Message: out.Message, TemplateID: cmp.Or(string(out.TemplateID), string(out.ID))}
	// Plivo's create answer reports the request's outcome in status
	// ("success") beside the review state in template_status, so status
	// counts only when it is one of the template statuses Plivo documents.
	for _, s := range []string{out.TemplateStatus, out.Status} {
		if slices.Contains(TemplateStatuses, s) {
			res.Status = s
			break
		}
	}
	return res, nil
}

// TemplateStatuses are the review states of a WhatsApp template, as Plivo's
// WhatsAppTemplate object documents them.
var TemplateStatuses = []string{"PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED"}

// maxTemplatePages bounds the pages ListTemplates follows, against a
// paging loop.
const maxTemplatePages = 20

// ListTemplates returns the WABA's templates, following Plivo's meta.next
// links.
func (c *Client) ListTemplates(ctx context.Context, wabaID string) ([]Template, error) {
	if err := checkWABAID(wabaID); err != nil {
		return nil, err
	}
	path := templatePath(wabaID)
	var all []Template
	for range maxTemplatePages {
		var out struct {
			Meta struct {
				Next string `json:"next"`
			} `json:"meta"`
			Objects   []Template `json:"objects"`
			Templates []Template `json:"templates"`
		}
		if err := c.do(ctx, call{op: OpListTemplates, method: http.MethodGet, path: path}, &out); err != nil {
			return nil, err
		}
		page := append(out.Objects, out.Templates...)
		all = append(all, page...)
		if out.Meta.Next == "" || len(page) == 0 {
			return all, nil
		}
		next, ok := c.accountRelative(out.Meta.Next)
		if !ok || next == path {
			return nil, badPaging("meta.next is not another page of this account")
		}
		path = next
	}
	return nil, badPaging(fmt.Sprintf("more than %d pages of templates", maxTemplatePages))
}

// badPaging is a listing whose links cannot be followed safely. It counts as
// transient, like any answer that is not what Plivo's API documents.
func badPaging(msg string) *onboarding.UpstreamError {
	return &onboarding.UpstreamError{Service: onboarding.ServicePlivo, Op: OpListTemplates, Status: http.StatusOK, Kind: onboarding.KindTransient, Message: msg}
}

func templatePath(wabaID string) string { return "WhatsApp/Template/" + wabaID + "/" }

// accountRelative turns Plivo's meta.next ("/v1/Account/MA.../WhatsApp/
// Template/1/?limit=20&offset=20") into a path relative to the account, so
// the request is rebuilt on our base URL with the current auth ID rather
// than sent, with our credentials, wherever the link points.
func (c *Client) accountRelative(next string) (string, bool) {
	u, err := url.Parse(next)
	if err != nil || u.User != nil || (u.Host != "" && (u.Host != c.base.Host || u.Scheme != c.base.Scheme)) {
		return "", false
	}
	rest, ok := strings.CutPrefix(strings.TrimPrefix(u.Path, c.base.Path), "/v1/Account/")
	if !ok {
		return "", false
	}
	_, rest, ok = strings.Cut(rest, "/")
	if !ok || strings.Contains(rest, "..") {
		return "", false
	}
	if u.RawQuery != "" {
		rest += "?" + u.RawQuery
	}
	return rest, true
}
