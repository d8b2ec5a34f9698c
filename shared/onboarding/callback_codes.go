package onboarding

// Error codes of the Plivo callback receiver. Their HTTP status is decided,
// like every other code's, in apigw.StatusOf.
const (
	// CodeSignatureInvalid: the callback's Plivo signature is missing or
	// does not verify. Nothing was stored or routed.
	CodeSignatureInvalid Code = "signature_invalid"
	// CodeCallbackInProgress: another invocation holds this callback's
	// claim right now; Plivo's retry finds it published or takes it over.
	CodeCallbackInProgress Code = "callback_in_progress"
)
