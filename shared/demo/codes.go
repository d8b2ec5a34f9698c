package demo

import "github.com/techprovider/wa-onboarding/shared/onboarding"

// Error codes of the App Review demo flows.
var (
	// CodeNotOnboarded: the WABA is known but its signup has not reached
	// onboarded, so Plivo cannot send from it or hold its templates yet.
	CodeNotOnboarded = onboarding.NewCode("waba_not_onboarded", onboarding.EConflict)
	// CodeWABANotAllowed: the deployment restricts the demos to a list of
	// WABAs (DEMO_WABA_ALLOWLIST) and this one is not on it.
	CodeWABANotAllowed = onboarding.NewCode("waba_not_allowed", onboarding.EForbidden)
	// CodeSenderUnknown: the WABA is onboarded but its record holds no
	// display phone number to send from.
	CodeSenderUnknown = onboarding.NewCode("sender_number_unknown", onboarding.EConflict)
	// CodePlivoCredentials: Plivo refused the stored credentials, even after
	// they were fetched again.
	CodePlivoCredentials = onboarding.NewCode("plivo_credentials_rejected", onboarding.EUpstream)
	// CodePlivoRejected: Plivo refused the request itself (a 4xx); the
	// message carries Plivo's own explanation.
	CodePlivoRejected = onboarding.NewCode("plivo_rejected", onboarding.EUnprocessable)
)
