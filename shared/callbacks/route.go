package callbacks

import (
	"context"
	"errors"
	"slices"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Reasons a callback is stored unrouted, reported as the Reason dimension
// of MetricUnrouted.
const (
	// ReasonUnknownNumber: no onboarding has the business number.
	ReasonUnknownNumber = "unknown_number"
	// ReasonNotOnboarded: the number's only signups failed or are still
	// being verified, so no customer owns it at Plivo yet.
	ReasonNotOnboarded = "not_onboarded"
	// ReasonAmbiguous: several onboardings claim the number; the callback
	// is kept rather than given to the wrong customer.
	ReasonAmbiguous = "ambiguous"
	// ReasonUnrecognized: a signed callback without a MessageUUID.
	ReasonUnrecognized = "unrecognized"
	// ReasonOversize: the event would exceed EventBridge's entry size.
	ReasonOversize = "oversize"
)

// Route is the onboarding a callback belongs to.
type Route struct {
	WABAID        string
	PhoneNumberID string
	BusinessID    string
	ClientRef     string
}

// routable reports whether Plivo may be delivering for the record: it
// onboarded it (restricted records too: Meta's restrictions block one
// capability, such as business-initiated messages or adding numbers, and
// the customer's replies and their statuses still flow), or may have
// (verified: a lost Plivo answer leaves the record there until the resume
// function reconciles it).
func routable(r *onboarding.Record) bool {
	return slices.Contains(onboarded, r.State) || r.State == onboarding.StateVerified
}

// onboarded are the states in which Plivo has the number for certain.
var onboarded = []onboarding.State{onboarding.StateOnboarded, onboarding.StateRestricted}

func routeOf(r *onboarding.Record) Route {
	return Route{WABAID: r.WABAID, PhoneNumberID: r.PhoneNumberID, BusinessID: r.BusinessID, ClientRef: r.ClientRef}
}

// resolve finds the onboarding cb belongs to: the WABA it names, if any,
// then its business number. It returns a Reason instead of a Route when
// there is no single owner, and an error only when the directory failed.
func resolve(ctx context.Context, dir Directory, cb *Callback) (Route, string, error) {
	if !cb.Recognized() {
		return Route{}, ReasonUnrecognized, nil
	}
	if waba := cb.WABAID(); waba != "" {
		rec, err := dir.Get(ctx, waba)
		switch {
		case err == nil && routable(rec):
			return routeOf(rec), "", nil
		case err != nil && !errors.Is(err, onboarding.ErrNotFound):
			return Route{}, "", err
		}
	}
	digits := cb.BusinessNumber()
	if digits == "" {
		return Route{}, ReasonUnknownNumber, nil
	}
	recs, err := dir.ByPhone(ctx, digits)
	if err != nil {
		return Route{}, "", err
	}
	// Onboarded records win over verified ones: Plivo has the number for
	// them for certain.
	for _, states := range [][]onboarding.State{onboarded, {onboarding.StateVerified}} {
		var found []*onboarding.Record
		for i := range recs {
			if slices.Contains(states, recs[i].State) {
				found = append(found, &recs[i])
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return routeOf(found[0]), "", nil
		default:
			return Route{}, ReasonAmbiguous, nil
		}
	}
	if len(recs) > 0 {
		return Route{}, ReasonNotOnboarded, nil
	}
	return Route{}, ReasonUnknownNumber, nil
}
