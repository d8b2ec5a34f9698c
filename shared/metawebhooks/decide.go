package metawebhooks

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
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
	// PhoneDigits and Health are a health change's number and values.
	PhoneDigits string
	Health      onboarding.Health
}

// account_update events, as Meta's reference names them.
var (
	disconnectEvents = []string{"PARTNER_APP_UNINSTALLED", "PARTNER_REMOVED", "ACCOUNT_DELETED", "ACCOUNT_OFFBOARDED"}
	sharedEvents     = []string{"PARTNER_APP_INSTALLED", "PARTNER_ADDED"}
	// knownQuiet change no record here.
	knownQuiet = []string{"ACCOUNT_RECONNECTED", "BUSINESS_VERIFICATION_STATUS_UPDATE", "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE",
		"BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE", "VOLUME_BASED_PRICING_TIER_UPDATE", "MM_LITE_TERMS_SIGNED",
		"AD_ACCOUNT_LINKED", "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE", "ACCOUNT_UPDATE"}
)

// Decide maps one change of entry e (received at now) to its Action.
func Decide(e Entry, c Change, now time.Time) Action {
	a := Action{Op: OpUnknown, WABAID: e.ID}
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
		limit := v.CurrentLimit
		if limit == "" {
			limit = v.MaxDaily
		}
		a.Op, a.Event, a.PhoneDigits = OpHealth, v.Event, onboarding.PhoneDigits(v.DisplayPhoneNumber)
		a.Health = onboarding.Health{QualityEvent: v.Event, MessagingLimit: limit, UpdatedAt: now}
	case FieldNameUpdate:
		var v NameUpdate
		if json.Unmarshal(c.Value, &v) != nil || v.DisplayPhoneNumber == "" || v.Decision == "" {
			return a
		}
		a.Op, a.Event, a.PhoneDigits = OpHealth, v.Decision, onboarding.PhoneDigits(v.DisplayPhoneNumber)
		a.Health = onboarding.Health{NameStatus: v.Decision, RequestedName: v.RequestedVerifiedName, UpdatedAt: now}
	}
	return a
}

func decideAccount(a Action, v AccountUpdate) Action {
	a.Event = v.Event
	reason := strings.ToLower(v.Event)
	switch {
	case slices.Contains(disconnectEvents, v.Event):
		a.Op, a.Reason = OpDisconnect, reason
	case slices.Contains(sharedEvents, v.Event):
		a.Op, a.Reason = OpUnclaimed, reason
		if v.WABAInfo != nil {
			if v.WABAInfo.WABAID != "" {
				a.WABAID = v.WABAInfo.WABAID
			}
			a.BusinessID = v.WABAInfo.OwnerBusinessID
		}
	case v.Event == "ACCOUNT_RESTRICTION":
		a.Op = OpRestrict
		var types []string
		for _, r := range v.RestrictionInfo {
			types = append(types, r.RestrictionType)
			if t, ok := parseTime(r.Expiration); ok && t.After(a.Until) {
				a.Until = t
			}
		}
		a.Reason = withDetail(reason, strings.Join(types, ","))
	case v.Event == "ACCOUNT_VIOLATION":
		a.Op = OpRestrict
		if v.ViolationInfo != nil {
			reason = withDetail(reason, v.ViolationInfo.ViolationType)
		}
		a.Reason = reason
	case v.Event == "DISABLED_UPDATE":
		var states []string
		var date string
		if v.BanInfo != nil {
			states, date = banStates(v.BanInfo.WABABanState), v.BanInfo.WABABanDate
		}
		if slices.Contains(states, "REINSTATE") {
			a.Op, a.Reason = OpReinstate, "reinstated"
			return a
		}
		a.Op, a.Reason = OpRestrict, withDetail(reason, strings.Join(states, ","))
		if date != "" {
			a.Reason += " (" + date + ")"
		}
	case slices.Contains(knownQuiet, v.Event):
		a.Op = OpNone
	}
	return a
}

func withDetail(reason, detail string) string {
	if detail == "" {
		return reason
	}
	return reason + ":" + detail
}

// parseTime reads a restriction's expiration: RFC 3339 (Meta's examples
// give 2022-12-12T07:09:27.000Z) or epoch seconds.
func parseTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	var secs int64
	if json.Unmarshal([]byte(s), &secs) == nil && secs > 0 {
		return time.Unix(secs, 0).UTC(), true
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
