package onboarding

// Error codes of Meta's webhooks and of the lifecycle after the signup.
// Their HTTP status is decided, like every other code's, in apigw.StatusOf.
const (
	// CodeWebhookSignatureInvalid: a Meta webhook whose X-Hub-Signature-256
	// is missing or is not the app secret's HMAC of the body. Nothing was
	// stored or changed.
	CodeWebhookSignatureInvalid Code = "webhook_signature_invalid"
	// CodeWebhookVerifyRefused: Meta's verification handshake named
	// another verify token, or no subscribe mode.
	CodeWebhookVerifyRefused Code = "webhook_verify_refused"
	// CodeSecondNumber: the WABA is already onboarded with another phone
	// number. Plivo's Embedded Signup API onboards a WABA once and
	// registers its number itself, so a second number cannot go through
	// it (docs/lifecycle.md says what to do instead).
	CodeSecondNumber Code = "second_number_not_supported"
)
