// Package demo runs the two flows Meta's App Review asks a Tech Provider to
// record (Plivo guide 3.4): sending a WhatsApp message through Plivo's
// Message API on behalf of an onboarded WABA, and creating a message
// template through Plivo's Template API.
//
// Only WABAs this system onboarded can be used: the signup record must
// exist and be onboarded, and the message's sender is the display number
// Meta reported for the record's phone number. Everything else is a 404 or
// a 409, decided before Plivo is called.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/techprovider/wa-onboarding/shared/ascii"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/plivo"
)

// Routes of the demo function, as template.yaml declares them (IAM
// authorized) and API Gateway names them in RouteKey.
const (
	PathMessages  = "/api/demo/messages"
	PathTemplates = "/api/demo/templates"

	RouteSendMessage    = "POST " + PathMessages
	RouteCreateTemplate = "POST " + PathTemplates
	RouteListTemplates  = "GET " + PathTemplates + "/{waba_id}"
)

// Limits of the demo inputs, from Meta's and Plivo's documentation.
const (
	// MaxTextLength is the longest WhatsApp text message, in characters.
	MaxTextLength = 4096
	// MaxBodyTextLength is the longest template BODY text.
	MaxBodyTextLength = 1024
	// MaxComponents bounds a template's components (header, body, footer,
	// buttons: four kinds, a few of each at most).
	MaxComponents = 10
	// MaxURLLength bounds the status callback URL.
	MaxURLLength = 2048
	// DefaultRetryAfter is the Retry-After of a Plivo 429, whose answer
	// carries no delay of its own through the client.
	DefaultRetryAfter = 5 * time.Second
)

// Template categories Plivo and Meta accept.
const (
	CategoryMarketing      = "MARKETING"
	CategoryUtility        = "UTILITY"
	CategoryAuthentication = "AUTHENTICATION"
)

// StatusPending is the status of every newly submitted template until
// Meta reviews it.
const StatusPending = "PENDING"

// isTemplateName accepts Meta's template names: lower-case letters, digits
// and underscores, at most 512. These checks are plain functions rather
// than regular expressions, whose compilation at package init cost the
// function 1.8 ms of every cold start.
func isTemplateName(s string) bool {
	if len(s) < 1 || len(s) > 512 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLower(s[i]) && !isDigit(s[i]) && s[i] != '_' {
			return false
		}
	}
	return true
}

// isLanguage accepts Meta's template language codes: "en", "en_US",
// "es_MX", "zh_CN", "fil"... (2-3 lower-case letters, then optionally "_"
// and 2-4 letters or digits).
func isLanguage(s string) bool {
	lang, region, hasRegion := strings.Cut(s, "_")
	if len(lang) < 2 || len(lang) > 3 {
		return false
	}
	for i := 0; i < len(lang); i++ {
		if !isLower(lang[i]) {
			return false
		}
	}
	if !hasRegion {
		return true
	}
	return ascii.IsToken(region, 2, 4, "")
}

// isE164 accepts a "+", a country code that does not start with 0, and 7
// to 15 digits in all.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Records reads signup records; *dynamo.Store implements it.
type Records interface {
	Get(ctx context.Context, wabaID string) (*onboarding.Record, error)
}

// Plivo is the part of the Plivo API the demos call; *plivo.Client
// implements it.
type Plivo interface {
	SendMessage(ctx context.Context, m plivo.Message) (plivo.MessageResult, error)
	CreateTemplate(ctx context.Context, wabaID string, t plivo.Template) (plivo.TemplateResult, error)
	ListTemplates(ctx context.Context, wabaID string) ([]plivo.Template, error)
}

var _ Plivo = (*plivo.Client)(nil)

// Service runs the demo flows.
type Service struct {
	Records Records
	Plivo   Plivo
	Logger  *slog.Logger
	// RetryAfter is told to callers Plivo throttled; DefaultRetryAfter when
	// zero.
	RetryAfter time.Duration
	// AllowedWABAs, when not empty, are the only WABAs the demos may use,
	// so a leaked demo credential cannot message from every customer's
	// number.
	AllowedWABAs []string
}

// MessageRequest is a WhatsApp message to send from an onboarded WABA:
// exactly one of Text and Template.
type MessageRequest struct {
	WABAID   string                 `json:"waba_id"`
	Dst      string                 `json:"dst"`
	Text     string                 `json:"text,omitempty"`
	Template *plivo.MessageTemplate `json:"template,omitempty"`
	// URL and Method are Plivo's optional status callback.
	URL    string `json:"url,omitempty"`
	Method string `json:"method,omitempty"`
}

// MessageResult is a queued message: the sender used and Plivo's answer.
type MessageResult struct {
	WABAID string
	Src    string
	Dst    string
	Plivo  plivo.MessageResult
}

// TemplateRequest is a template to submit for review on an onboarded WABA.
// Components are Meta's template components, passed to Plivo unchanged.
type TemplateRequest struct {
	WABAID     string            `json:"waba_id"`
	Name       string            `json:"name"`
	Language   string            `json:"language"`
	Category   string            `json:"category"`
	Components []json.RawMessage `json:"components"`
}

// TemplateResult is a submitted template and Plivo's answer.
type TemplateResult struct {
	WABAID   string
	Template plivo.Template
	Plivo    plivo.TemplateResult
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// SendMessage sends req from the WABA's onboarded number.
func (s *Service) SendMessage(ctx context.Context, req MessageRequest) (MessageResult, error) {
	if err := ValidateMessage(&req); err != nil {
		return MessageResult{}, err
	}
	rec, err := s.onboarded(ctx, req.WABAID)
	if err != nil {
		return MessageResult{}, err
	}
	digits := onboarding.PhoneDigits(rec.DisplayPhoneNumber)
	if digits == "" {
		return MessageResult{}, onboarding.Errorf(CodeSenderUnknown,
			"WhatsApp Business Account %s is onboarded but its record has no display phone number to send from.", rec.WABAID)
	}
	src := "+" + digits
	start := time.Now()
	out, err := s.Plivo.SendMessage(ctx, plivo.Message{
		Src: src, Dst: req.Dst, Text: req.Text, Template: req.Template, URL: req.URL, Method: req.Method,
	})
	s.logCall(ctx, plivo.OpSendMessage, rec.WABAID, start, err)
	if err != nil {
		return MessageResult{}, s.plivoFailure(err)
	}
	return MessageResult{WABAID: rec.WABAID, Src: src, Dst: req.Dst, Plivo: out}, nil
}

// CreateTemplate submits req for Meta's review through Plivo.
func (s *Service) CreateTemplate(ctx context.Context, req TemplateRequest) (TemplateResult, error) {
	if err := ValidateTemplate(&req); err != nil {
		return TemplateResult{}, err
	}
	rec, err := s.onboarded(ctx, req.WABAID)
	if err != nil {
		return TemplateResult{}, err
	}
	t := plivo.Template{Name: req.Name, Language: req.Language, Category: req.Category, Components: req.Components}
	start := time.Now()
	out, err := s.Plivo.CreateTemplate(ctx, rec.WABAID, t)
	s.logCall(ctx, plivo.OpCreateTemplate, rec.WABAID, start, err)
	if err != nil {
		return TemplateResult{}, s.plivoFailure(err)
	}
	t.ID, t.Status = out.TemplateID, out.Status
	if t.Status == "" {
		// Every new template starts PENDING; Plivo's answer may not say so.
		t.Status = StatusPending
	}
	return TemplateResult{WABAID: rec.WABAID, Template: t, Plivo: out}, nil
}

// ListTemplates returns the WABA's templates as Plivo lists them.
func (s *Service) ListTemplates(ctx context.Context, wabaID string) ([]plivo.Template, error) {
	if !onboarding.ValidWABAID(wabaID) {
		return nil, invalid(onboarding.FieldError{Field: "waba_id", Message: "waba_id must be a Meta object ID (digits only, no leading zero, at most 20)."})
	}
	rec, err := s.onboarded(ctx, wabaID)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	out, err := s.Plivo.ListTemplates(ctx, rec.WABAID)
	s.logCall(ctx, plivo.OpListTemplates, rec.WABAID, start, err)
	if err != nil {
		return nil, s.plivoFailure(err)
	}
	if out == nil {
		out = []plivo.Template{}
	}
	return out, nil
}

// onboarded returns the record of a WABA this system onboarded, or the
// 404/409 that says why it cannot be used.
func (s *Service) onboarded(ctx context.Context, wabaID string) (*onboarding.Record, error) {
	if len(s.AllowedWABAs) > 0 && !slices.Contains(s.AllowedWABAs, wabaID) {
		return nil, onboarding.Errorf(CodeWABANotAllowed,
			"WhatsApp Business Account %s is not one of the WABAs this deployment allows the demos to use.", wabaID)
	}
	rec, err := s.Records.Get(ctx, wabaID)
	switch {
	case errors.Is(err, onboarding.ErrNotFound):
		return nil, onboarding.Errorf(onboarding.CodeNotFound, "No WhatsApp Business Account %s was onboarded by this system.", wabaID)
	case err != nil:
		return nil, onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "The signup records cannot be read right now. Please try again.")
	case rec.State != onboarding.StateOnboarded:
		return nil, onboarding.Errorf(CodeNotOnboarded,
			"WhatsApp Business Account %s is %s, not onboarded: Plivo cannot use it until its signup completes.", wabaID, rec.State)
	}
	return rec, nil
}

// plivoFailure turns a failed Plivo call into the caller's answer.
func (s *Service) plivoFailure(err error) error {
	ue, ok := onboarding.AsUpstream(err)
	if !ok {
		// Credentials could not be loaded, or the client is misconfigured.
		return onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "Plivo cannot be called right now. Please try again.")
	}
	ref := ""
	if ue.APIID != "" {
		ref = fmt.Sprintf(" (Plivo api_id %s)", ue.APIID)
	}
	switch ue.Kind {
	case onboarding.KindUnauthorized:
		return onboarding.Wrap(CodePlivoCredentials, err,
			"Plivo credentials rejected: Plivo refused the auth ID and token of the Plivo secret. Run `make doctor`.")
	case onboarding.KindThrottled:
		e := onboarding.Wrap(onboarding.CodeTooManyRequests, err, "Plivo is rate-limiting this account. Please try again shortly.")
		e.RetryAfter = s.RetryAfter
		if e.RetryAfter <= 0 {
			e.RetryAfter = DefaultRetryAfter
		}
		return e
	case onboarding.KindTransient:
		if ue.Status == 0 {
			e := onboarding.Wrap(onboarding.CodeUpstreamUnavailable, err, "Plivo did not answer in time. Please try again.")
			e.RetryAfter = time.Second
			return e
		}
		return onboarding.Wrap(onboarding.CodeUpstreamFailed, err, fmt.Sprintf("Plivo failed with HTTP %d%s. Please try again shortly.", ue.Status, ref))
	case onboarding.KindForbidden, onboarding.KindSolutionInactive:
		return onboarding.Wrap(onboarding.CodeUpstreamFailed, err, fmt.Sprintf("Plivo refused this account: %s%s", plivoText(ue), ref))
	}
	return onboarding.Wrap(CodePlivoRejected, err, fmt.Sprintf("Plivo rejected the request: %s%s", plivoText(ue), ref))
}

func plivoText(ue *onboarding.UpstreamError) string {
	if ue.Message == "" {
		return fmt.Sprintf("HTTP %d without a message", ue.Status)
	}
	return ue.Message
}

// logCall writes one line per Plivo call. Message texts and phone numbers
// are the customer's data and stay out of the logs.
func (s *Service) logCall(ctx context.Context, op, wabaID string, start time.Time, err error) {
	attrs := []any{"op", op, "waba_id", wabaID, "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		if ue, ok := onboarding.AsUpstream(err); ok {
			attrs = append(attrs, "status", ue.Status, "kind", ue.Kind, "plivo_api_id", ue.APIID)
		}
		s.log().WarnContext(ctx, "plivo demo call failed", append(attrs, "error", err)...)
		return
	}
	s.log().InfoContext(ctx, "plivo demo call", attrs...)
}

func invalid(fields ...onboarding.FieldError) error {
	return &onboarding.Error{Code: onboarding.CodeInvalidRequest, Message: "The request is invalid.", Fields: fields}
}

// ValidateMessage checks a message request and normalises it (trimmed IDs,
// upper-case method). The error lists every invalid field.
func ValidateMessage(m *MessageRequest) error {
	m.WABAID, m.Dst = strings.TrimSpace(m.WABAID), strings.TrimSpace(m.Dst)
	m.Method = strings.ToUpper(strings.TrimSpace(m.Method))
	var f []onboarding.FieldError
	add := func(field, msg string) { f = append(f, onboarding.FieldError{Field: field, Message: msg}) }
	if !onboarding.ValidWABAID(m.WABAID) {
		add("waba_id", "waba_id must be a Meta object ID (digits only, no leading zero, at most 20).")
	}
	if !isE164(m.Dst) {
		add("dst", "dst must be an E.164 number: + then the country code and number, digits only, e.g. +14155550100.")
	}
	switch {
	case m.Text != "" && m.Template != nil:
		add("text", "Send either text or template, not both.")
	case m.Text == "" && m.Template == nil:
		add("text", "One of text or template is required.")
	case m.Template == nil && strings.TrimSpace(m.Text) == "":
		add("text", "text must not be blank.")
	case m.Template == nil && utf8.RuneCountInString(m.Text) > MaxTextLength:
		add("text", fmt.Sprintf("text must be at most %d characters.", MaxTextLength))
	case m.Template == nil && !utf8.ValidString(m.Text):
		add("text", "text must be valid UTF-8.")
	}
	if t := m.Template; t != nil {
		if !isTemplateName(t.Name) {
			add("template.name", "template.name must be 1 to 512 lower-case letters, digits or underscores.")
		}
		if !isLanguage(t.Language) {
			add("template.language", "template.language must be a language code such as en or en_US.")
		}
	}
	if m.URL != "" {
		u, err := url.Parse(m.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(m.URL) > MaxURLLength {
			add("url", fmt.Sprintf("url must be an absolute http(s) URL of at most %d characters.", MaxURLLength))
		}
	}
	if m.Method != "" && m.Method != "GET" && m.Method != "POST" {
		add("method", "method must be GET or POST.")
	}
	if m.Method != "" && m.URL == "" {
		add("method", "method is the status callback's method: it needs url.")
	}
	if len(f) > 0 {
		return invalid(f...)
	}
	return nil
}

// component is the part of a Meta template component the checks read.
type component struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// ValidateTemplate checks a template request and normalises it (trimmed
// name, upper-case category). The error lists every invalid field.
func ValidateTemplate(t *TemplateRequest) error {
	t.WABAID, t.Name, t.Language = strings.TrimSpace(t.WABAID), strings.TrimSpace(t.Name), strings.TrimSpace(t.Language)
	t.Category = strings.ToUpper(strings.TrimSpace(t.Category))
	var f []onboarding.FieldError
	add := func(field, msg string) { f = append(f, onboarding.FieldError{Field: field, Message: msg}) }
	if !onboarding.ValidWABAID(t.WABAID) {
		add("waba_id", "waba_id must be a Meta object ID (digits only, no leading zero, at most 20).")
	}
	if !isTemplateName(t.Name) {
		add("name", "name must be 1 to 512 lower-case letters (a-z), digits (0-9) or underscores.")
	}
	if !isLanguage(t.Language) {
		add("language", "language must be a language code such as en or en_US.")
	}
	switch t.Category {
	case CategoryMarketing, CategoryUtility, CategoryAuthentication:
	default:
		add("category", "category must be MARKETING, UTILITY or AUTHENTICATION.")
	}
	switch n := len(t.Components); {
	case n == 0:
		add("components", "components must list at least a BODY component, in Meta's template format.")
	case n > MaxComponents:
		add("components", fmt.Sprintf("components must have at most %d entries.", MaxComponents))
	default:
		bodies := 0
		for i, raw := range t.Components {
			var c component
			field := fmt.Sprintf("components[%d]", i)
			if err := json.Unmarshal(raw, &c); err != nil || !strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
				add(field, field+" must be a JSON object with a type.")
				continue
			}
			switch strings.ToUpper(c.Type) {
			case "BODY":
				bodies++
				if strings.TrimSpace(c.Text) == "" && t.Category != CategoryAuthentication {
					add(field+".text", "The BODY component needs its text.")
				}
				if utf8.RuneCountInString(c.Text) > MaxBodyTextLength {
					add(field+".text", fmt.Sprintf("The BODY text must be at most %d characters.", MaxBodyTextLength))
				}
			case "HEADER", "FOOTER", "BUTTONS":
			default:
				add(field+".type", field+".type must be HEADER, BODY, FOOTER or BUTTONS.")
			}
		}
		if bodies != 1 {
			add("components", fmt.Sprintf("components must have exactly one BODY component, not %d.", bodies))
		}
	}
	if len(f) > 0 {
		return invalid(f...)
	}
	return nil
}
