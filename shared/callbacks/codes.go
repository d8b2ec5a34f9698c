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

// NonceRetention is how long a spent nonce is remembered: as long as an
// unrouted callback is kept, far past Plivo's retries. A pair captured
// and replayed after that still carries only the body it was first seen
// with, unless the attacker also waited out every record of it.
const NonceRetention = DefaultUnroutedTTL

// MetricNonceReused counts callbacks refused because their signature's
// nonce came with another body before (dimension Scheme).
const MetricNonceReused = "CallbackNonceReused"
