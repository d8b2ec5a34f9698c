package metawebhooks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
)

// ObjectWABA is the object of WhatsApp Business Account notifications.
const ObjectWABA = "whatsapp_business_account"

// Fields of the notifications this package acts on.
const (
	FieldAccountUpdate = "account_update"
	FieldQualityUpdate = "phone_number_quality_update"
	FieldNameUpdate    = "phone_number_name_update"
	// FieldCapabilityUpdate carries the business portfolio's messaging
	// limit, which every number of its WABAs shares.
	FieldCapabilityUpdate = "business_capability_update"
	// FieldReviewUpdate is Meta's review decision on the WABA.
	FieldReviewUpdate = "account_review_update"
)

// Notification is one webhook body, as Meta documents it:
// {"object", "entry": [{"id", "time", "changes": [{"field", "value"}]}]}.
type Notification struct {
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

// Entry is the part of a notification about one object; for
// whatsapp_business_account its ID is the WABA's.
type Entry struct {
	ID      string   `json:"id"`
	Time    int64    `json:"time"`
	Changes []Change `json:"changes"`
}

// Change is one changed field with its value, kept raw so that every key
// Meta sent can be stored and unknown ones noticed.
type Change struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

// ParseNotification decodes a webhook body.
func ParseNotification(body []byte) (*Notification, error) {
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, errors.New("metawebhooks: the body is not a JSON notification")
	}
	return &n, nil
}

// Key is the dedupe key of a change: Meta redelivers the same body, so the
// same WABA, time, field and value are the same change.
func Key(e Entry, c Change) string {
	h := sha256.New()
	for _, part := range []string{e.ID, strconv.FormatInt(e.Time, 10), c.Field, string(c.Value)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "meta#" + hex.EncodeToString(h.Sum(nil))[:40]
}

// AccountUpdate is the value of an account_update change. Only the keys
// this package reads are typed; the rest are kept by the ledger.
type AccountUpdate struct {
	Event    string `json:"event"`
	WABAInfo *struct {
		WABAID          string `json:"waba_id"`
		OwnerBusinessID string `json:"owner_business_id"`
		PartnerAppID    string `json:"partner_app_id"`
	} `json:"waba_info"`
	RestrictionInfo []struct {
		RestrictionType string `json:"restriction_type"`
		// Expiration is kept raw: Meta documents an integer Unix
		// timestamp, and a string must not make the whole value unreadable.
		Expiration json.RawMessage `json:"expiration"`
	} `json:"restriction_info"`
	ViolationInfo *struct {
		ViolationType string `json:"violation_type"`
	} `json:"violation_info"`
	BanInfo *struct {
		// WABABanState is a string in some deliveries and a list in
		// others; banStates reads both.
		WABABanState json.RawMessage `json:"waba_ban_state"`
		WABABanDate  string          `json:"waba_ban_date"`
	} `json:"ban_info"`
}

// QualityUpdate is the value of a phone_number_quality_update change.
type QualityUpdate struct {
	DisplayPhoneNumber string          `json:"display_phone_number"`
	Event              string          `json:"event"`
	CurrentLimit       string          `json:"current_limit"`
	OldLimit           string          `json:"old_limit"`
	MaxDaily           json.RawMessage `json:"max_daily_conversations_per_business"`
}

// CapabilityUpdate is the value of a business_capability_update change:
// Meta's reference types the limits as integers, -1 meaning unlimited.
type CapabilityUpdate struct {
	MaxDaily json.RawMessage `json:"max_daily_conversations_per_business"`
	// MaxDailyPerPhone is the retired name of the same limit.
	MaxDailyPerPhone json.RawMessage `json:"max_daily_conversation_per_phone"`
}

// NameUpdate is the value of a phone_number_name_update change.
type NameUpdate struct {
	DisplayPhoneNumber    string `json:"display_phone_number"`
	Decision              string `json:"decision"`
	RequestedVerifiedName string `json:"requested_verified_name"`
	RejectionReason       string `json:"rejection_reason"`
}

// knownKeys are the value keys Meta documents for each field; any other is
// stored and counted as unknown.
var knownKeys = map[string]map[string]bool{
	FieldAccountUpdate: set("event", "waba_info", "restriction_info", "violation_info", "ban_info",
		"phone_number", "lock_status", "country", "business_verification_status", "rejection_reasons",
		"auth_international_rate_eligibility", "disconnection_info", "partner_client_certification_info",
		"volume_tier_info", "ad_account_linking_info"),
	FieldQualityUpdate: set("display_phone_number", "event", "current_limit", "old_limit", "max_daily_conversations_per_business"),
	FieldNameUpdate:    set("display_phone_number", "decision", "requested_verified_name", "rejection_reason"),
	FieldReviewUpdate:  set("decision"),
	FieldCapabilityUpdate: set("max_daily_conversation_per_phone", "max_daily_conversations_per_business",
		"max_phone_numbers_per_business", "max_phone_numbers_per_waba"),
}

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// unknownKeys lists the keys of a change's value its field does not
// document, or all of them for a field this package does not know.
func unknownKeys(c Change) []string {
	var value map[string]json.RawMessage
	if json.Unmarshal(c.Value, &value) != nil {
		return []string{"value"}
	}
	known := knownKeys[c.Field]
	var out []string
	for k := range value {
		if !known[k] {
			out = append(out, k)
		}
	}
	return out
}

// banStates reads waba_ban_state, a string or a list of strings.
func banStates(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}
