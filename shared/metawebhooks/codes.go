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

// MaxBodyBytes refuses bodies over 256 KiB before their signature is
// computed: Meta's account and phone-number notifications are a few hundred
// bytes, and a batch of them a few KiB.
const MaxBodyBytes = 256 << 10

// DefaultBudget is how long the receiver works on one delivery: Meta
// expects an answer within seconds, and each change is two or three writes.
const DefaultBudget = 4 * time.Second
