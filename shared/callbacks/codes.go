package callbacks

import "github.com/techprovider/wa-onboarding/shared/onboarding"

// Error codes of the Plivo callback receiver; shared/metawebhooks answers
// with CodeCallbackInProgress too, as it claims webhooks the same way.
var (
	// CodeSignatureInvalid: the callback's Plivo signature is missing or
	// does not verify. Nothing was stored or routed.
	CodeSignatureInvalid = onboarding.NewCode("signature_invalid", onboarding.EForbidden)
	// CodeCallbackInProgress: another invocation holds this callback's
	// claim right now; Plivo's retry finds it published or takes it over.
	CodeCallbackInProgress = onboarding.NewCode("callback_in_progress", onboarding.EConflict)
)
