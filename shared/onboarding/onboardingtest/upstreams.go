// Package onboardingtest has upstreams for tests and benchmarks of the
// onboarding service: a Graph API and a Plivo that succeed at once, at no
// cost beyond building their answers.
package onboardingtest

import (
	"context"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// The IDs the healthy upstreams answer with.
const (
	PhoneNumberID      = "112233445566778"
	DisplayPhoneNumber = "+1 555-010-0100"
	BusinessID         = "198765432109876"
)

// Meta is a healthy Graph API for the app AppID: every code exchanges for
// a valid token, the WABA has one number (PhoneNumberID), owned by
// BusinessID. When WABAID is set the token's granular scopes name it, as
// for a signup whose page did not send the WABA ID.
type Meta struct{ AppID, WABAID string }

var _ onboarding.Meta = Meta{}

// ExchangeCode implements onboarding.Meta.
func (Meta) ExchangeCode(_ context.Context, code string) (string, error) {
	return "token-" + code, nil
}

// DebugToken implements onboarding.Meta.
func (m Meta) DebugToken(context.Context, string) (onboarding.TokenInfo, error) {
	info := onboarding.TokenInfo{AppID: m.AppID, Valid: true}
	if m.WABAID != "" {
		info.Scopes = map[string][]string{"whatsapp_business_management": {m.WABAID}}
	}
	return info, nil
}

// PhoneNumbers implements onboarding.Meta.
func (Meta) PhoneNumbers(context.Context, string, string) ([]onboarding.PhoneNumber, error) {
	return []onboarding.PhoneNumber{{CodeVerificationStatus: "VERIFIED", ID: PhoneNumberID, DisplayPhoneNumber: DisplayPhoneNumber, VerifiedName: "Test"}}, nil
}

// OwnerBusinessID implements onboarding.Meta.
func (Meta) OwnerBusinessID(context.Context, string, string) (string, error) {
	return BusinessID, nil
}

// Plivo onboards every WABA at once.
type Plivo struct{}

var _ onboarding.Plivo = Plivo{}

// EmbeddedSignup implements onboarding.Plivo.
func (Plivo) EmbeddedSignup(context.Context, onboarding.PlivoSignup) (onboarding.PlivoResult, error) {
	return onboarding.PlivoResult{APIID: "api-id", Message: "Embedded signup completed successfully."}, nil
}
