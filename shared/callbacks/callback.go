// Package callbacks handles Plivo's WhatsApp callbacks (inbound messages
// and message status updates): Plivo's signatures, the onboarding that
// owns the number, and each callback handed to the Tech Provider's event
// bus exactly once per (MessageUUID, Status), whatever Plivo's retries do.
//
// The HTTP side of /webhooks/plivo/whatsapp is apigw.PlivoCallbacks; the
// DynamoDB and EventBridge adapters live in shared/dynamo and
// shared/eventbridge; this package holds the rules and the ports they fill.
package callbacks

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/techprovider/wa-onboarding/shared/ascii"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// MaxBodyBytes bounds a callback body. A WhatsApp text is at most 4096
// characters, a few KiB form-encoded; the bound keeps the event under
// EventBridge's 256 KiB entry limit and the stored item under DynamoDB's.
const MaxBodyBytes = 64 << 10

// Kind tells an inbound message from a status update of a sent one.
type Kind string

// Kinds of callback, and the EventBridge detail-type each is published as.
const (
	KindInbound Kind = "inbound"
	KindStatus  Kind = "status"

	DetailTypeInbound = "whatsapp.message.received"
	DetailTypeStatus  = "whatsapp.message.status"
)

// Field names Plivo uses; every other field is kept and passed on as is.
const (
	FieldMessageUUID = "MessageUUID"
	FieldStatus      = "Status"
	FieldFrom        = "From"
	FieldTo          = "To"
	// FieldContentType and FieldBody are on every WhatsApp message Plivo
	// forwards (Body empty for media), never on a status update.
	FieldContentType = "ContentType"
	FieldBody        = "Body"
	// fieldProfileName is the WhatsApp profile name of a message's sender,
	// text they chose.
	fieldProfileName = "ProfileName"
)

// statusReceived stands in the dedupe key of every inbound message, with
// or without a Status: each inbound message is delivered once.
const statusReceived = "received"

// isMessageUUID accepts the IDs the dedupe key is built from: Plivo's UUIDs and
// WhatsApp's base64 wamids, never the key's "#" separator. Anything else
// (or nothing) is keyed by the payload's hash instead.
func isMessageUUID(s string) bool { return ascii.IsToken(s, 1, 256, "._:=+/-") }

// Callback is one Plivo callback, with every field it carried.
type Callback struct {
	Fields url.Values
}

// MessageUUID is Plivo's ID of the message the callback is about.
func (c *Callback) MessageUUID() string { return c.Fields.Get(FieldMessageUUID) }

// Status is the delivery status of a status callback (queued, sent,
// failed, delivered, undelivered, read, or one Plivo adds later), lower
// case; empty for an inbound message that carries none.
func (c *Callback) Status() string {
	return strings.ToLower(strings.TrimSpace(c.Fields.Get(FieldStatus)))
}

// Kind reports whether the callback is an inbound message or a status. An
// inbound message carries ContentType or Body, attributes of inbound
// messages only (Plivo's "Handling incoming" page), whatever Status it may
// also carry: Plivo's message records give an inbound message the states
// received, delivered and undelivered, and its callback an ErrorCode for a
// failure. Without those, it is a message when it has no Status or the
// status "received". Under V3 a callback whose signed text holds those
// names spends its nonce (CarriesMessageV3), and one whose text does not
// cannot be cut into fields with them, so no cut turns one kind into the
// other.
func (c *Callback) Kind() Kind {
	if c.Fields.Has(FieldContentType) || c.Fields.Has(FieldBody) {
		return KindInbound
	}
	if st := c.Status(); st != "" && st != statusReceived {
		return KindStatus
	}
	return KindInbound
}

// DetailType is the EventBridge detail-type the callback is published as.
func (c *Callback) DetailType() string {
	if c.Kind() == KindStatus {
		return DetailTypeStatus
	}
	return DetailTypeInbound
}

// Key is the dedupe key, callback#<MessageUUID>#<Status>, and
// callback#<MessageUUID>#received for every inbound message, whatever
// Status it carries: one message is one event, and a callback of it with
// a Status (Kind) keyed apart from the one without would hand consumers,
// who dedupe on the key, the same message twice. A callback without a
// usable MessageUUID is keyed by its payload hash, so even it is handled
// once.
func (c *Callback) Key() string {
	id := c.MessageUUID()
	if !isMessageUUID(id) {
		return "callback#sha256:" + c.Hash()
	}
	status := c.Status()
	if c.Kind() == KindInbound {
		status = statusReceived
	}
	if !isMessageUUID(status) {
		status = "sha256:" + c.Hash()
	}
	return "callback#" + id + "#" + status
}

// readFields are the fields, besides the WABA ID, whose values decide where
// a callback goes and what event it becomes.
var readFields = []string{FieldTo, FieldFrom, FieldStatus, FieldMessageUUID}

// Recognized reports whether the callback has the shape of one Plivo sends:
// the MessageUUID a WhatsApp message callback always carries, each field
// this product reads at most once, a Status that is a word, numbers
// without letters, and either a Status or the fields of a message. Anything
// else is stored for an operator, never routed. V3 signs the fields as
// name and value with nothing between them, so a signed callback can be
// cut into other fields; the cuts that would change where a callback goes
// or what it says (a Status swallowed by the field before it, turning a
// status update into a "message" routed by its recipient; a second To cut
// from TotalAmount; a Status that swallowed the To after it) all leave
// one of these marks; cuts of a message's text spend the nonce instead
// (CarriesMessageV3).
func (c *Callback) Recognized() bool {
	if !isMessageUUID(c.MessageUUID()) {
		return false
	}
	for k, vs := range c.Fields {
		if len(vs) > 1 && (slices.Contains(readFields, k) || isWABAField(k)) {
			return false
		}
	}
	for _, k := range []string{FieldTo, FieldFrom} {
		if strings.ContainsFunc(c.Fields.Get(k), unicode.IsLetter) {
			return false
		}
	}
	if st := c.Fields.Get(FieldStatus); st != "" {
		return isWord(st)
	}
	return c.Fields.Has(FieldContentType) || c.Fields.Has(FieldBody)
}

// isWord accepts the Status values Plivo uses: a word of letters and
// underscores.
func isWord(s string) bool {
	return len(s) <= 32 && !strings.ContainsFunc(s, func(r rune) bool { return r != '_' && !unicode.IsLetter(r) })
}

// isWABAField reports whether k spells the WABA ID's field (WABAID,
// WabaId, waba_id, ...).
func isWABAField(k string) bool { return strings.EqualFold(strings.ReplaceAll(k, "_", ""), "wabaid") }

// Hash is a digest of every field, to tell a redelivery from a different
// callback that reuses the key.
func (c *Callback) Hash() string {
	sum := sha256.Sum256([]byte(c.Fields.Encode()))
	return hex.EncodeToString(sum[:])
}

// BusinessNumber is the digits of the WhatsApp number of ours the callback
// is about: the recipient of an inbound message, the sender of a message
// whose status changed.
func (c *Callback) BusinessNumber() string {
	if c.Kind() == KindStatus {
		return onboarding.PhoneDigits(c.Fields.Get(FieldFrom))
	}
	return onboarding.PhoneDigits(c.Fields.Get(FieldTo))
}

// WABAID returns a WhatsApp Business Account ID the callback names, in a
// field spelled WABAID, WabaId, waba_id or the like; empty when none does.
func (c *Callback) WABAID() string {
	for _, k := range slices.Sorted(maps.Keys(c.Fields)) {
		if vs := c.Fields[k]; isWABAField(k) && len(vs) > 0 && onboarding.ValidWABAID(vs[0]) {
			return vs[0]
		}
	}
	return ""
}

// ParseForm decodes an application/x-www-form-urlencoded body. Repeated
// keys keep all their values, in order.
func ParseForm(body []byte) (url.Values, error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalid("The body is not a valid form.")
	}
	return v, nil
}

func invalid(msg string) error {
	return &onboarding.Error{Code: onboarding.CodeInvalidRequest, Message: "The request is invalid.",
		Fields: []onboarding.FieldError{{Field: "body", Message: msg}}}
}
