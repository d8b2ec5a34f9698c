package metawebhooks

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/upstream"
)

// Op is what a change does to a record.
type Op string

// Ops of Decide. OpNone is a known event that changes no record (business
// verification, pricing tiers...); OpUnknown is a field or event this
// package does not know.
const (
	OpDisconnect Op = "disconnect"
	OpRestrict   Op = "restrict"
	OpReinstate  Op = "reinstate"
	OpUnclaimed  Op = "unclaimed"
	OpHealth     Op = "health"
	OpNone       Op = "none"
	OpUnknown    Op = "unknown"
	// OpOtherApp is never decided: the Service gives it to a partner
	// event about another partner's app, which changes nothing of ours.
	OpOtherApp Op = "other_app"
)

// Action is the record change one webhook change asks for.
type Action struct {
	Op         Op
	WABAID     string
	BusinessID string
	// Event is Meta's event (or decision) name, for logs and the ledger.
	Event string
	// Reason is stored as the record's state_reason.
	Reason string
	// Until is the end of a restriction, when Meta gives one.
	Until time.Time
	// LiftsOnly, on a reinstate, names the only restriction it lifts
	// (ACCOUNT_RECONNECTED ends an offboarding, not a policy restriction);
	// empty lifts any.
	LiftsOnly string
	// PhoneDigits and Health are a health change's number and values.
	PhoneDigits string
	Health      onboarding.Health
	// PortfolioLimit is the business portfolio's messaging limit a
	// number's change carries (max_daily_conversations_per_business).
	// Every number of the portfolio shares it, so it reaches the record
	// even when the change is about another number of the WABA.
	PortfolioLimit string
	// Sent is Meta's time of the change (its entry's), which orders state
	// changes that arrive out of order; zero when the entry has none.
	Sent time.Time
	// PartnerAppID is the app a partner event names (waba_info's
	// partner_app_id, a string or a number), empty when it names none.
	// The Service applies an event naming another app than ours to no
	// record (OpOtherApp).
	PartnerAppID string
}

// Meta redelivers a webhook for up to 7 days; an entry time outside
// [now-sentWindow, now+sentSkew] is no live delivery's (a captured or
// sample body, a broken clock) and orders nothing. Ordered, a time far in
// the future would refuse every real change until it passed.
const (
	sentWindow = 8 * 24 * time.Hour
	sentSkew   = time.Hour
)

// sentAt is Meta's time of e's changes when it can order them, else zero.
func sentAt(e Entry, now time.Time) time.Time {
	t, ok := unixTime(e.Time)
	if !ok || t.Before(now.Add(-sentWindow)) || t.After(now.Add(sentSkew)) {
		return time.Time{}
	}
	return t
}

// millisFrom is the smallest integer unixTime reads as milliseconds: as
// seconds it would be the year 5138, as milliseconds it is 1973.
const millisFrom = 100_000_000_000

// unixTime reads an integer Unix time. Meta's WhatsApp references give
// seconds (entry.time, a restriction's expiration), but other Meta
// webhooks stamp milliseconds (Messenger's entry.time); read as seconds,
// such a time is tens of thousands of years ahead: a restriction ending
// then would never lift, and its end, past the year 9999, is no RFC 3339
// time that the record or the lifecycle event can carry. So an integer
// too large for seconds is read as milliseconds, and one still past the
// year 9999, or none above zero, is no time.
func unixTime(n int64) (time.Time, bool) {
	var t time.Time
	switch {
	case n <= 0:
		return time.Time{}, false
	case n >= millisFrom:
		t = time.UnixMilli(n).UTC()
	default:
		t = time.Unix(n, 0).UTC()
	}
	if t.Year() > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// account_update events, as Meta's reference names them.
var (
	disconnectEvents = []string{"PARTNER_APP_UNINSTALLED", "PARTNER_REMOVED", "ACCOUNT_DELETED"}
	sharedEvents     = []string{"PARTNER_APP_INSTALLED", "PARTNER_ADDED"}
	// appEvents are about one partner app's access to the WABA, which is
	// shared with several: the Tech Provider's app and, through a
	// Multi-Partner Solution, the Solution Partner's. Meta's reference
	// names the app (partner_app_id) on these two only; PARTNER_ADDED and
	// PARTNER_REMOVED are the partner business's, and an app ID on one
	// would mean nothing documented: taken as another app's, our removal
	// would be lost.
	appEvents = []string{"PARTNER_APP_INSTALLED", "PARTNER_APP_UNINSTALLED"}
	// knownQuiet change no record here.
	knownQuiet = []string{"BUSINESS_VERIFICATION_STATUS_UPDATE", "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE",
		"BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE", "VOLUME_BASED_PRICING_TIER_UPDATE", "MM_LITE_TERMS_SIGNED",
		"AD_ACCOUNT_LINKED", "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE", "ACCOUNT_UPDATE"}
)

// Decide maps one change of entry e (received at now) to its Action.
func Decide(e Entry, c Change, now time.Time) Action {
	a := Action{Op: OpUnknown, WABAID: e.ID, Sent: sentAt(e, now)}
	switch c.Field {
	case FieldAccountUpdate:
		var v AccountUpdate
		if json.Unmarshal(c.Value, &v) != nil {
			return a
		}
		return decideAccount(a, v)
	case FieldQualityUpdate:
		var v QualityUpdate
		if json.Unmarshal(c.Value, &v) != nil || v.DisplayPhoneNumber == "" {
			return a
		}
		// current_limit is the per-number tier Meta retired for the
		// portfolio-wide max_daily_conversations_per_business; a delivery
		// carrying both reports the one now enforced in the latter.
		limit := cmp.Or(messagingLimit(v.MaxDaily), messagingLimit(v.CurrentLimit))
		// TIER_NOT_SET is documented as the number's ("has not been used
		// to send a message yet"), not the portfolio's: it stays with
		// the number it names, and even there replaces no known limit.
		if l := messagingLimit(v.MaxDaily); l != onboarding.LimitNotSet {
			a.PortfolioLimit = l
		}
		a.Op, a.Event, a.PhoneDigits = OpHealth, v.Event, onboarding.PhoneDigits(string(v.DisplayPhoneNumber))
		a.Health = onboarding.Health{QualityEvent: v.Event, MessagingLimit: limit, UpdatedAt: now}
	case FieldCapabilityUpdate:
		var v CapabilityUpdate
		if json.Unmarshal(c.Value, &v) != nil {
			return a
		}
		a.Op, a.Event = OpNone, c.Field
		if limit := cmp.Or(messagingLimit(v.MaxDaily), messagingLimit(v.MaxDailyPerPhone)); limit != "" {
			// The portfolio's limit holds for every number: no number is
			// named, and the record's is updated whichever it is.
			a.Op, a.Health = OpHealth, onboarding.Health{MessagingLimit: limit, UpdatedAt: now}
		}
	case FieldReviewUpdate:
		var v ReviewUpdate
		if json.Unmarshal(c.Value, &v) != nil || v.Decision == "" {
			return a
		}
		// A decision on the whole WABA: no number is named.
		a.Op, a.Event = OpHealth, v.Decision
		a.Health = onboarding.Health{ReviewDecision: v.Decision, UpdatedAt: now}
	case FieldNameUpdate:
		var v NameUpdate
		if json.Unmarshal(c.Value, &v) != nil || v.DisplayPhoneNumber == "" || v.Decision == "" {
			return a
		}
		a.Op, a.Event, a.PhoneDigits = OpHealth, v.Decision, onboarding.PhoneDigits(string(v.DisplayPhoneNumber))
		a.Health = onboarding.Health{NameStatus: v.Decision, RequestedName: string(v.RequestedVerifiedName), UpdatedAt: now}
	}
	return a
}

func decideAccount(a Action, v AccountUpdate) Action {
	a.Event = v.Event
	reason := strings.ToLower(v.Event)
	// The partner events (PARTNER_APP_INSTALLED, PARTNER_REMOVED, ...) are
	// delivered under the partner's own business portfolio: their entry ID
	// is the Tech Provider's business, and the customer's WABA is
	// waba_info.waba_id. Whenever waba_info names a WABA, it is the one the
	// change is about.
	waba := v.WABAInfo.Value
	a.WABAID = cmp.Or(string(waba.WABAID), a.WABAID)
	// Only an ID in Meta's form (digits) can be told apart from ours: an
	// exponent or a fraction may still be our app's, and our uninstall
	// taken for another app's would be lost.
	if id := string(waba.PartnerAppID); validWABAID(id) {
		a.PartnerAppID = id
	}
	switch {
	case slices.Contains(disconnectEvents, v.Event):
		a.Op, a.Reason = OpDisconnect, reason
	case slices.Contains(sharedEvents, v.Event):
		a.Op, a.Reason, a.BusinessID = OpUnclaimed, reason, string(waba.OwnerBusinessID)
	case v.Event == "ACCOUNT_OFFBOARDED":
		// A WhatsApp Business app number re-registered on a phone: Meta
		// pauses the API side until ACCOUNT_RECONNECTED, keeping partner
		// access and subscriptions, so this is a pause, not a removal.
		a.Op, a.Reason = OpRestrict, reason
	case v.Event == "ACCOUNT_RECONNECTED":
		a.Op, a.Reason, a.LiftsOnly = OpReinstate, reason, "account_offboarded"
	case v.Event == "ACCOUNT_RESTRICTION":
		a.Op = OpRestrict
		// The record's end is the latest of the restrictions' ends; one
		// restriction without an end leaves the record without one, so
		// that the lift at the others' end does not lift it too.
		var types []upstream.String
		endless := len(v.RestrictionInfo) == 0
		for _, r := range v.RestrictionInfo {
			types = append(types, r.RestrictionType)
			t, ok := parseTime(r.Expiration)
			endless = endless || !ok
			if ok && t.After(a.Until) {
				a.Until = t
			}
		}
		if endless {
			a.Until = time.Time{}
		}
		a.Reason = withDetail(reason, join(types))
	case v.Event == "ACCOUNT_VIOLATION":
		a.Op, a.Reason = OpRestrict, withDetail(reason, string(v.ViolationInfo.Value.ViolationType))
	case v.Event == "DISABLED_UPDATE":
		ban := v.BanInfo.Value
		if slices.Contains(ban.WABABanState, "REINSTATE") {
			a.Op, a.Reason = OpReinstate, "reinstated"
			return a
		}
		a.Op, a.Reason = OpRestrict, withDetail(reason, join(ban.WABABanState))
		if ban.WABABanDate != "" {
			a.Reason += " (" + string(ban.WABABanDate) + ")"
		}
	case slices.Contains(knownQuiet, v.Event):
		a.Op = OpNone
	}
	return a
}

// tierNames are Meta's names of the messaging limits it also sends as
// numbers (business_capability_update), -1 being unlimited.
var tierNames = map[string]string{"-1": "TIER_UNLIMITED", "50": "TIER_50", "250": "TIER_250", "1000": "TIER_1K",
	"2000": "TIER_2K", "10000": "TIER_10K", "100000": "TIER_100K"}

// messagingLimit reads a messaging limit Meta sends as text ("TIER_10K")
// or as a number (10000), in one vocabulary: the webhooks that carry one
// limit change would otherwise flip the record between the two. Empty
// when there is none.
func messagingLimit(limit upstream.String) string {
	return cmp.Or(tierNames[string(limit)], string(limit))
}

// join lists texts as one detail of a reason.
func join(texts []upstream.String) string {
	parts := make([]string, len(texts))
	for i, t := range texts {
		parts[i] = string(t)
	}
	return strings.Join(parts, ",")
}

func withDetail(reason, detail string) string {
	if detail == "" {
		return reason
	}
	return reason + ":" + detail
}

// timeLayouts are the text forms of a time Meta is seen to send: RFC 3339,
// and the Graph API's own ISO 8601 with a colon-less offset ("+0000").
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700"}

// parseTime reads a restriction's expiration. Meta's reference types it as
// an integer Unix timestamp (1641330498), read by unixTime; deliveries seen
// by other providers also carried it quoted, as RFC 3339 or with a "+0000"
// offset, which are read too.
func parseTime(expiration upstream.String) (time.Time, bool) {
	s := string(expiration)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return unixTime(n)
	}
	return time.Time{}, false
}

// validWABAID accepts the digits-only IDs Meta gives objects.
func validWABAID(id string) bool {
	if id == "" || len(id) > 24 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}
