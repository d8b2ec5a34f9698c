package plivosim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// Message is one WhatsApp message the simulated Message API queued, one per
// destination.
type Message struct {
	UUID     string          `json:"message_uuid"`
	Type     string          `json:"type"`
	Src      string          `json:"src"`
	Dst      string          `json:"dst"`
	Text     string          `json:"text,omitempty"`
	Template json.RawMessage `json:"template,omitempty"`
	// MediaURL is the message's one media_urls entry, if any.
	MediaURL string `json:"media_url,omitempty"`
	URL      string `json:"url,omitempty"`
	Method   string `json:"method,omitempty"`
	// CreatedAt is when the API accepted the message.
	CreatedAt time.Time `json:"created_at"`
}

// RegisterNumber makes display (in any format: "+1 555-010-0000") a
// WhatsApp sender of the account, as a completed onboarding would.
func (s *Server) RegisterNumber(display string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.numbers[sanitizeNumber(display)] = true
}

// ConfigureNumber sets the Webhook URL of display, a WhatsApp number of
// the account, as the Plivo console's Configure Number panel does: the URL
// that "receives inbound message events (text, media, replies, status
// updates)" of the number. Plivo's console takes HTTPS URLs only; the
// simulator takes http too, for the local stack.
func (s *Server) ConfigureNumber(display, webhookURL string) error {
	n := sanitizeNumber(display)
	if !isHTTPURL(webhookURL) {
		return fmt.Errorf("plivosim: webhook URL %q is not an http(s) URL", webhookURL)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.numbers[n] {
		return fmt.Errorf("plivosim: %q is not a WhatsApp number of the account", display)
	}
	s.webhooks[n] = webhookURL
	return nil
}

// Numbers returns the account's WhatsApp sender numbers, sanitized to
// digits, sorted.
func (s *Server) Numbers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.AppendSeq(make([]string, 0, len(s.numbers)), maps.Keys(s.numbers))
	slices.Sort(out)
	return out
}

// Messages returns a copy of the queued messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.Template = slices.Clone(m.Template)
		out[i] = m
	}
	return out
}

// sanitizeNumber strips what Plivo strips from src and dst: everything but
// letters and digits.
func sanitizeNumber(n string) string {
	var b strings.Builder
	for _, c := range n {
		if ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// sendMessage serves POST /Message/ for type "whatsapp". Plivo's texts for
// these 400s are not in the guide; the simulator's say what is wrong.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeObject(w, r)
	if !ok {
		return
	}
	typ := str(body, "type")
	src := sanitizeNumber(str(body, "src"))
	dst := str(body, "dst")
	text := str(body, "text")
	rawTemplate, hasTemplate := body["template"]
	callbackURL := str(body, "url")
	method := strings.ToUpper(str(body, "method"))
	mediaURLs, _ := body["media_urls"].([]any)

	var tmpl map[string]any
	if hasTemplate && rawTemplate != nil {
		var isObject bool
		tmpl, isObject = rawTemplate.(map[string]any)
		if !isObject {
			writeError(w, http.StatusBadRequest, "template must be a JSON object.")
			return
		}
	} else {
		hasTemplate = false
	}

	switch {
	case typ != "whatsapp":
		// Plivo defaults type to "sms"; the simulator models WhatsApp only.
		writeError(w, http.StatusBadRequest, `type must be "whatsapp" (the simulator models WhatsApp messages only).`)
		return
	case src == "":
		writeError(w, http.StatusBadRequest, "src is required.")
		return
	case strings.Trim(dst, "<") == "":
		writeError(w, http.StatusBadRequest, "dst is required.")
		return
	case text != "" && hasTemplate:
		writeError(w, http.StatusBadRequest, "Specify either text or template, not both.")
		return
	case len(mediaURLs) > 1:
		// "For WhatsApp: single media URL."
		writeError(w, http.StatusBadRequest, "A WhatsApp message takes a single media URL.")
		return
	case text == "" && !hasTemplate && len(mediaURLs) == 0:
		writeError(w, http.StatusBadRequest, "Either text or template is required for a WhatsApp message.")
		return
	case hasTemplate && str(tmpl, "name") == "":
		writeError(w, http.StatusBadRequest, "template.name is required.")
		return
	case hasTemplate && str(tmpl, "language") == "":
		writeError(w, http.StatusBadRequest, "template.language is required.")
		return
	case method != "" && method != http.MethodGet && method != http.MethodPost:
		writeError(w, http.StatusBadRequest, "method must be GET or POST.")
		return
	case callbackURL != "" && !isHTTPURL(callbackURL):
		writeError(w, http.StatusBadRequest, "url is not a valid URL.")
		return
	}
	if method == "" && callbackURL != "" {
		method = http.MethodPost
	}
	var tmplJSON json.RawMessage
	if hasTemplate {
		tmplJSON, _ = json.Marshal(tmpl)
	}

	// Plivo's bulk messaging guide: each destination is sanitized and
	// checked, duplicates are dropped, valid ones are queued and the others
	// returned in invalid_number, all under the same 202.
	var dsts, invalid []string
	for d := range strings.SplitSeq(dst, "<") {
		switch n, ok := sanitizeDestination(d); {
		case strings.TrimSpace(d) == "":
		case !ok:
			invalid = append(invalid, d)
		case !slices.Contains(dsts, n):
			dsts = append(dsts, n)
		}
	}

	s.mu.Lock()
	if !s.numbers[src] {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "src is not a WhatsApp-enabled number on this account.")
		return
	}
	uuids := make([]string, 0, len(dsts))
	now := s.cfg.Now()
	var media string
	if len(mediaURLs) == 1 {
		media, _ = mediaURLs[0].(string)
	}
	for _, d := range dsts {
		m := Message{
			UUID: simkit.NewUUID(), Type: typ, Src: src, Dst: d, Text: text,
			Template: tmplJSON, MediaURL: media, URL: callbackURL, Method: method, CreatedAt: now,
		}
		s.messages = append(s.messages, m)
		uuids = append(uuids, m.UUID)
	}
	s.mu.Unlock()
	simkit.WriteJSON(w, http.StatusAccepted, struct {
		APIID         string   `json:"api_id"`
		Message       string   `json:"message"`
		MessageUUID   []string `json:"message_uuid"`
		InvalidNumber []string `json:"invalid_number,omitempty"`
	}{APIID: simkit.NewUUID(), Message: MsgMessageQueued, MessageUUID: uuids, InvalidNumber: invalid})
}

// maxDestinationLen is the longest sanitized destination Plivo's Message
// API takes: "should be <= 14 characters in length".
const maxDestinationLen = 14

// sanitizeDestination strips what Plivo strips from dst ("/, -, ., +, (, ),
// and white spaces") and reports whether what is left is a phone number:
// digits only, at most maxDestinationLen.
func sanitizeDestination(d string) (string, bool) {
	n := strings.Map(func(c rune) rune {
		if strings.ContainsRune("/-.+() \t\n\r", c) {
			return -1
		}
		return c
	}, d)
	if n == "" || len(n) > maxDestinationLen {
		return n, false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return n, false
		}
	}
	return n, true
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
