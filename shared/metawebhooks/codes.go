package metawebhooks

import (
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Error codes of Meta's webhook receiver.
var (
	// CodeWebhookSignatureInvalid: a Meta webhook whose X-Hub-Signature-256
	// is missing or is not the app secret's HMAC of the body. Nothing was
	// stored or changed; Meta retries what it is refused.
	CodeWebhookSignatureInvalid = onboarding.NewCode("webhook_signature_invalid", onboarding.EUnauthorized)
	// CodeWebhookVerifyRefused: Meta's verification handshake named
	// another verify token, or no subscribe mode.
	CodeWebhookVerifyRefused = onboarding.NewCode("webhook_verify_refused", onboarding.EForbidden)
)

// MaxBodyBytes refuses larger bodies before their signature is computed.
// Meta documents webhook payloads of up to 3 MB, and whatever it is refused
// it retries for a week and then drops: the cap is Meta's, not the few
// hundred bytes an account notification usually takes. It stays well
// under Lambda's 6 MB request limit.
const MaxBodyBytes = 3 << 20

// DefaultBudget is how long the receiver works on one delivery: Meta
// expects an answer within seconds, and each change is two or three writes.
const DefaultBudget = 4 * time.Second
