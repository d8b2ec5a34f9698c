package plivosim

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// Statuses of a sent WhatsApp message, as Plivo's status callbacks page
// lists them ("read" is WhatsApp only).
var messageStatuses = []string{"queued", "sent", "failed", "delivered", "undelivered", "read"}

// defaultStatusErrorCode is the ErrorCode of a failed or undelivered status
// whose StatusUpdate names none: 20, "Network Error" on Plivo's error codes
// page. The choice is the simulator's.
const defaultStatusErrorCode = "20"

// statusTimeFormat is the status page's "YYYY-mm-dd HH:MM:SS.SSSSSS".
const statusTimeFormat = "2006-01-02 15:04:05.000000"

// StatusUpdate is a status change of a message the simulated Message API
// queued; it is also the JSON body of POST /_sim/plivo/message-status.
type StatusUpdate struct {
	MessageUUID string `json:"message_uuid"`
	// Status is one of queued, sent, failed, delivered, undelivered, read.
	Status string `json:"status"`
	// ErrorCode is sent with failed and undelivered only, the only statuses
	// for which Plivo defines it; defaultStatusErrorCode when empty.
	ErrorCode string `json:"error_code,omitempty"`
	// Scheme is SchemeV3 (default) or SchemeV2.
	Scheme string `json:"scheme,omitempty"`
}

// SendStatus sends the status callback Plivo sends when a message's status
// changes: to the url the message was sent with, by its method (form data
// for POST, the query for GET), or, for a message sent without one, by POST
// to its sender number's Webhook URL (ConfigureNumber), with the attributes
// of Plivo's status callbacks page. Sequence counts the message's
// callbacks from 1, in the order they are sent, whatever their statuses: a
// caller plays statuses out of order (a delivered after read) by sending
// them so. It returns the receiver's HTTP status.
func (s *Server) SendStatus(ctx context.Context, u StatusUpdate) (int, error) {
	status := strings.ToLower(u.Status)
	if !slices.Contains(messageStatuses, status) {
		return 0, fmt.Errorf("plivosim: status %q is not one of %s", u.Status, strings.Join(messageStatuses, ", "))
	}
	s.mu.Lock()
	i := slices.IndexFunc(s.messages, func(m Message) bool { return m.UUID == u.MessageUUID })
	if i < 0 {
		s.mu.Unlock()
		return 0, fmt.Errorf("plivosim: no message %q", u.MessageUUID)
	}
	m := s.messages[i]
	target, method := m.URL, m.Method
	if target == "" {
		// Plivo's Configure Number page: the number's Webhook URL receives
		// its status updates too. Its panel has no method: POST.
		target, method = s.webhooks[m.Src], http.MethodPost
	}
	if target == "" {
		s.mu.Unlock()
		return 0, errors.New("plivosim: the message was sent without a url and its number has no Webhook URL: Plivo sends its status callbacks nowhere")
	}
	s.sequences[m.UUID]++
	seq := s.sequences[m.UUID]
	s.mu.Unlock()

	now := s.cfg.Now().UTC()
	origin := "service" // a free-form text answers the user, inside their window
	if len(m.Template) > 0 {
		origin = "utility"
	}
	f := url.Values{
		"MessageUUID": {m.UUID}, "ParentMessageUUID": {m.UUID}, "PartInfo": {""},
		"From": {m.Src}, "To": {m.Dst}, "Type": {"whatsapp"}, "Status": {status},
		"Sequence": {strconv.Itoa(seq)}, "Units": {"1"}, "TotalRate": {"0.00500"}, "TotalAmount": {"0.00500"},
		"MCC": {""}, "MNC": {""}, "PowerpackUUID": {""},
		"MessageTime": {m.CreatedAt.UTC().Format(statusTimeFormat)}, "QueuedTime": {m.CreatedAt.UTC().Format(statusTimeFormat)},
		"SentTime": {now.Format(statusTimeFormat)}, "DeliveryReportTime": {now.Format(statusTimeFormat)},
		"ConversationID": {conversationID(m)}, "ConversationOrigin": {origin},
		"ConversationExpirationTimestamp": {strconv.FormatInt(m.CreatedAt.Add(24*time.Hour).Unix(), 10)},
	}
	if status == "failed" || status == "undelivered" {
		f.Set("ErrorCode", cmp.Or(u.ErrorCode, defaultStatusErrorCode))
	}
	return s.SendCallback(ctx, method, target, f, u.Scheme)
}

// conversationID is one ID per sender and recipient, as a WhatsApp
// conversation between them is one.
func conversationID(m Message) string {
	sum := sha256.Sum256([]byte(m.Src + "<" + m.Dst))
	return hex.EncodeToString(sum[:16])
}

// serveStatusTrigger serves POST /_sim/plivo/message-status: it sends the
// status callback of a queued message and answers {"status": <the
// receiver's HTTP status>}.
func (s *Server) serveStatusTrigger(w http.ResponseWriter, r *http.Request) {
	var in StatusUpdate
	if !simkit.DecodePost(w, r, &in, `{"message_uuid": "...", "status": "sent"|"delivered"|"read"|..., "error_code": "...", "scheme": "v3"|"v2"}`,
		func() bool { return in.MessageUUID != "" && in.Status != "" }) {
		return
	}
	status, err := s.SendStatus(r.Context(), in)
	if err != nil {
		simkit.WriteError(w, http.StatusBadGateway, err.Error())
		return
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]int{"status": status})
}
