package onboarding

// Error codes of the App Review demo flows (shared/demo). Their HTTP status
// is decided in apigw.StatusOf, like every other code's.
const (
	// CodeNotOnboarded: the WABA is known but its signup has not reached
	// onboarded, so Plivo cannot send from it or hold its templates yet.
	CodeNotOnboarded Code = "waba_not_onboarded"
	// CodeSenderUnknown: the WABA is onboarded but its record holds no
	// display phone number to send from.
	CodeSenderUnknown Code = "sender_number_unknown"
	// CodePlivoCredentials: Plivo refused the stored credentials, even after
	// they were fetched again.
	CodePlivoCredentials Code = "plivo_credentials_rejected"
	// CodePlivoRejected: Plivo refused the request itself (a 4xx); the
	// message carries Plivo's own explanation.
	CodePlivoRejected Code = "plivo_rejected"
)
