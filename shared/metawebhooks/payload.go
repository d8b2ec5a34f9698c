package metawebhooks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/techprovider/wa-onboarding/shared/upstream"
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

// ParseNotification decodes a webhook body. An entry's ID and time, and a
// change's field, are read as a string or a number: Meta documents a
// string ID and field and an integer time, but one of them in the other
// form must not refuse the whole delivery, every other WABA's changes with
// it. A field of another type names none this package knows, so its
// change is stored as unknown; a time that is no integer reads as 0, as it
// only keys the changes. The body is decoded in one pass, by the wire
// shape below, rather than by UnmarshalJSON methods on Entry and Change,
// which would each scan a value of up to MaxBodyBytes again.
func ParseNotification(body []byte) (*Notification, error) {
	var wire struct {
		Object upstream.String `json:"object"`
		Entry  []struct {
			ID      upstream.String `json:"id"`
			Time    upstream.String `json:"time"`
			Changes []struct {
				Field upstream.String `json:"field"`
				Value json.RawMessage `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &wire); err != nil {
		return nil, errors.New("metawebhooks: the body is not a JSON notification")
	}
	n := &Notification{Object: string(wire.Object)}
	for _, we := range wire.Entry {
		secs, _ := strconv.ParseInt(string(we.Time), 10, 64)
		e := Entry{ID: string(we.ID), Time: secs}
		for _, wc := range we.Changes {
			e.Changes = append(e.Changes, Change{Field: string(wc.Field), Value: wc.Value})
		}
		n.Entry = append(n.Entry, e)
	}
	return n, nil
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

// The values of the changes this package acts on. Only the keys it reads
// are typed, and only the event (or decision) strictly: it decides the
// change, and one of another type leaves the change unknown. Every other
// key is read in any shape, as upstream's String, List and Object read
// it, because a key Meta sends in another form than its reference gives
// must not lose the change: the delivery is acknowledged either way, and
// Meta never sends it again. The keys not read are kept by the ledger.

// AccountUpdate is the value of an account_update change.
type AccountUpdate struct {
	Event    string                    `json:"event"`
	WABAInfo upstream.Object[WABAInfo] `json:"waba_info"`
	// RestrictionInfo is documented as a list; a single restriction is
	// read as a list of one.
	RestrictionInfo upstream.List[Restriction] `json:"restriction_info"`
	ViolationInfo   upstream.Object[Violation] `json:"violation_info"`
	BanInfo         upstream.Object[BanInfo]   `json:"ban_info"`
}

// WABAInfo names the WABA of a partner event and the business owning it.
type WABAInfo struct {
	WABAID          upstream.String `json:"waba_id"`
	OwnerBusinessID upstream.String `json:"owner_business_id"`
	// PartnerAppID is the app a PARTNER_APP_INSTALLED or
	// PARTNER_APP_UNINSTALLED is about: a WABA is shared with several
	// partners' apps, and each event names one.
	PartnerAppID upstream.String `json:"partner_app_id"`
}

// Restriction is one of an ACCOUNT_RESTRICTION's restrictions.
type Restriction struct {
	RestrictionType upstream.String `json:"restriction_type"`
	// Expiration is documented as an integer Unix timestamp; parseTime
	// reads the text forms seen too.
	Expiration upstream.String `json:"expiration"`
}

// Violation is an ACCOUNT_VIOLATION's policy violation.
type Violation struct {
	ViolationType upstream.String `json:"violation_type"`
}

// BanInfo is a DISABLED_UPDATE's ban.
type BanInfo struct {
	// WABABanState is a string in some deliveries and a list in others.
	WABABanState upstream.List[upstream.String] `json:"waba_ban_state"`
	WABABanDate  upstream.String                `json:"waba_ban_date"`
}

// QualityUpdate is the value of a phone_number_quality_update change.
type QualityUpdate struct {
	DisplayPhoneNumber upstream.String `json:"display_phone_number"`
	Event              string          `json:"event"`
	CurrentLimit       upstream.String `json:"current_limit"`
	MaxDaily           upstream.String `json:"max_daily_conversations_per_business"`
}

// CapabilityUpdate is the value of a business_capability_update change.
// Meta's reference lists the portfolio's limit in tier names (TIER_2K)
// while its example sends an integer (2000), and gave the retired key as
// an integer with -1 for unlimited: messagingLimit reads every form.
type CapabilityUpdate struct {
	MaxDaily upstream.String `json:"max_daily_conversations_per_business"`
	// MaxDailyPerPhone is the retired name of the same limit.
	MaxDailyPerPhone upstream.String `json:"max_daily_conversation_per_phone"`
}

// NameUpdate is the value of a phone_number_name_update change.
type NameUpdate struct {
	DisplayPhoneNumber    upstream.String `json:"display_phone_number"`
	Decision              string          `json:"decision"`
	RequestedVerifiedName upstream.String `json:"requested_verified_name"`
}

// ReviewUpdate is the value of an account_review_update change.
type ReviewUpdate struct {
	Decision string `json:"decision"`
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
