package callbacks

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Directory finds the onboarding a callback belongs to. *dynamo.Store is
// one: ByPhone queries the table's by-phone index.
type Directory interface {
	// ByPhone lists the signup records whose display number has these
	// digits, with at least their IDs, state and client_ref.
	ByPhone(ctx context.Context, digits string) ([]onboarding.Record, error)
	// Get reads one signup record; onboarding.ErrNotFound when none.
	Get(ctx context.Context, wabaID string) (*onboarding.Record, error)
}

// EntryState is where the handling of one callback key stands.
type EntryState string

// The states of a dedupe entry. claimed is held by one invocation until its
// deadline; published and unrouted are final, and a redelivery of either is
// answered 200 without doing anything again.
const (
	EntryClaimed   EntryState = "claimed"
	EntryPublished EntryState = "published"
	EntryUnrouted  EntryState = "unrouted"
)

// Entry is the dedupe record of one callback key (the DedupTable item).
type Entry struct {
	Key   string
	State EntryState
	// Owner is the request ID of the invocation holding a claim.
	Owner string
	// ClaimExpiresAt ends a claim: past it, a redelivery takes over, which
	// is how a crash between claim and publish is recovered.
	ClaimExpiresAt time.Time
	// ExpiresAt is when the entry stops counting; DynamoDB's TTL deletes
	// it some time later.
	ExpiresAt   time.Time
	PayloadHash string
	Kind        Kind
	MessageUUID string
	Status      string
	Route       Route
	// Reason says why an unrouted entry could not be routed.
	Reason string
	// Fields are the callback's fields, kept on unrouted entries only, for
	// the operator: routed ones are on the bus.
	Fields      url.Values
	EventID     string
	RequestID   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	PublishedAt time.Time
}

// Ledger keeps one Entry per callback key with conditional writes.
type Ledger interface {
	// Claim writes e (claimed or unrouted) when the key has no entry, its
	// entry expired, or it is a claim whose deadline passed. On a lost
	// condition it returns the entry that won and
	// onboarding.ErrConditionFailed.
	Claim(ctx context.Context, e *Entry, now time.Time) (*Entry, error)
	// MarkPublished moves owner's claim of key to published.
	MarkPublished(ctx context.Context, key, owner, eventID string, at time.Time) error
	// Release ends owner's claim of key at once, so that Plivo's retry
	// takes it over without waiting for the claim's deadline.
	Release(ctx context.Context, key, owner string, at time.Time) error
}

// Event is what one callback is published as.
type Event struct {
	DetailType string
	Detail     []byte
	Time       time.Time
}

// Publisher puts events on the Tech Provider's bus.
type Publisher interface {
	// Publish puts ev on the bus and returns the ID the bus gave it.
	Publish(ctx context.Context, ev Event) (eventID string, err error)
}

// ErrNonceReused is NonceLedger.Spend's answer for a nonce already used
// with another body: a captured signature carrying a body of someone
// else's choosing.
var ErrNonceReused = errors.New("callbacks: signature nonce already used with another body")

// NonceLedger records signature nonces, each bound to the first body seen
// with it. V2 signs only the URL and the nonce; V3 signs the fields as
// key and value with nothing between them, so the same signed characters
// can be cut into other fields (see CarriesMessageV3). Either
// way the nonce is what ties a signature to one body.
type NonceLedger interface {
	// Spend records the scheme's nonce as used by the body whose hash is
	// bodyHash, until expires. The same nonce with the same body (Plivo's
	// retry) passes again; with another body it returns ErrNonceReused.
	Spend(ctx context.Context, scheme Scheme, nonce, bodyHash string, expires, now time.Time) error
}
