package callbacks

import (
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

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

// DefaultBudget is how long the receiver works on one callback before it
// gives up: Plivo waits 8 s for an answer, and API Gateway and the network
// take their share.
const DefaultBudget = 6 * time.Second

// NonceRetention is how long a spent nonce is remembered. Once it is
// forgotten, a captured callback can be cut into another body again (V3
// carries no time to refuse an old one by), so it is kept for more than a
// year: one small item per message, a few cents a month per million.
const NonceRetention = 400 * 24 * time.Hour

// MetricNonceReused counts callbacks refused because their signature's
// nonce came with another body before (dimension Scheme).
const MetricNonceReused = "CallbackNonceReused"
