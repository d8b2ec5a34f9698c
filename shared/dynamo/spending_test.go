package dynamo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/onboarding/onboardingtest"
)

// countingAPI is the DynamoDB client with a count of the calls made, by
// operation.
type countingAPI struct {
	*dynamodb.Client
	puts, updates, transacts atomic.Int32
}

func (c *countingAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.puts.Add(1)
	return c.Client.PutItem(ctx, in, opts...)
}

func (c *countingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.updates.Add(1)
	return c.Client.UpdateItem(ctx, in, opts...)
}

func (c *countingAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.transacts.Add(1)
	return c.Client.TransactWriteItems(ctx, in, opts...)
}

// writes reports the write calls made: PutItem, UpdateItem and
// TransactWriteItems.
func (c *countingAPI) writes() (puts, updates, transacts int) {
	return int(c.puts.Load()), int(c.updates.Load()), int(c.transacts.Load())
}

// sessionTables returns a store on fresh signup and dedup tables, the
// ledger on the same dedup table, and the counting client behind both.
func sessionTables(t *testing.T) (*dynamo.Store, *dynamo.SessionLedger, *countingAPI) {
	t.Helper()
	client := testenv.DynamoClient("")
	api := &countingAPI{Client: client}
	dedup := testenv.MustCreateTable(t, client, "DedupTable")
	store := &dynamo.Store{Client: api, Table: testenv.MustCreateTable(t, client, "SignupTable"), SessionTable: dedup}
	return store, &dynamo.SessionLedger{Client: api, Table: dedup}, api
}

func sessionUse(id, waba string, expires time.Time) onboarding.SessionUse {
	return onboarding.SessionUse{ID: id, ClientRef: "customer-1", WABAID: waba, UsedAt: ttlSafe, ExpiresAt: expires}
}

// TestAcquireSpending runs every combination of the token's and the lock's
// conditions through one TransactWriteItems on DynamoDB Local.
func TestAcquireSpending(t *testing.T) {
	t.Parallel()
	const tok, waba, other = "TTTTTTTTTTTTTTTTTTTTTT", "104000000000001", "104000000000002"
	later := ttlSafe.Add(15*time.Minute + 500*time.Millisecond)
	tests := []struct {
		name       string
		spent      *onboarding.SessionUse
		existing   *onboarding.Record
		wantUsed   bool
		wantLocked bool
		// wantPrev is the earlier use's WABA; wantOwner the existing
		// record's lock owner.
		wantPrev, wantOwner string
	}{
		{name: "fresh token, fresh WABA: both written"},
		{name: "token spent on this WABA", spent: ptr(sessionUse(tok, waba, later)), wantUsed: true, wantPrev: waba},
		{name: "token spent on another WABA: lock untouched", spent: ptr(sessionUse(tok, other, later)), wantUsed: true, wantPrev: other},
		{name: "token spent, its record expired", spent: ptr(sessionUse(tok, waba, ttlSafe.Add(-time.Hour))), wantUsed: true, wantPrev: waba},
		{name: "WABA locked by someone else: token not spent", existing: verifying(waba, "a", t0.Add(time.Minute)), wantLocked: true, wantOwner: "a"},
		{name: "WABA onboarded: token not spent", existing: &onboarding.Record{WABAID: waba, State: onboarding.StateOnboarded, LockOwner: "a", CreatedAt: t0}, wantLocked: true, wantOwner: "a"},
		{name: "both fail", spent: ptr(sessionUse(tok, other, later)), existing: verifying(waba, "a", t0.Add(time.Minute)),
			wantUsed: true, wantLocked: true, wantPrev: other, wantOwner: "a"},
		{name: "expired lock taken over", existing: verifying(waba, "a", t0.Add(-time.Second))},
		{name: "failed record taken over", existing: &onboarding.Record{WABAID: waba, State: onboarding.StateFailed, LockOwner: "a", CreatedAt: t0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, ledger, api := sessionTables(t)
			ctx := context.Background()
			if tt.spent != nil {
				if _, err := ledger.Spend(ctx, *tt.spent); err != nil {
					t.Fatalf("seed use: %v", err)
				}
			}
			if tt.existing != nil {
				if _, err := store.Acquire(ctx, tt.existing, t0.Add(-time.Hour)); err != nil {
					t.Fatalf("seed record: %v", err)
				}
			}
			puts0, updates0, _ := api.writes()
			use := sessionUse(tok, waba, later)
			mine := owner("b")
			existing, prev, err := store.AcquireSpending(ctx, verifying(waba, mine, t0.Add(30*time.Second)), use, t0)
			if puts, updates, transacts := api.writes(); puts != puts0 || updates != updates0 || transacts != 1 {
				t.Fatalf("%d PutItem, %d UpdateItem, %d TransactWriteItems calls; want one transaction and nothing else",
					puts-puts0, updates-updates0, transacts)
			}
			if used, locked := errors.Is(err, onboarding.ErrSessionUsed), errors.Is(err, onboarding.ErrConditionFailed); used != tt.wantUsed || locked != tt.wantLocked {
				t.Fatalf("err = %v: used %t, locked %t; want %t, %t", err, used, locked, tt.wantUsed, tt.wantLocked)
			}
			if !tt.wantUsed && !tt.wantLocked && err != nil {
				t.Fatal(err)
			}
			// The old items come back from the cancellation, index by index.
			if tt.wantUsed && (prev == nil || prev.WABAID != tt.wantPrev || prev.ClientRef != "customer-1" || !prev.ExpiresAt.Equal(ceilSecond(tt.spent.ExpiresAt))) {
				t.Fatalf("prev = %+v, want the use for %s", prev, tt.wantPrev)
			}
			if !tt.wantUsed && prev != nil {
				t.Fatalf("prev = %+v without a lost spend", prev)
			}
			if tt.wantLocked && (existing == nil || existing.LockOwner != tt.wantOwner || existing.State != tt.existing.State) {
				t.Fatalf("existing = %+v, want the record of %s", existing, tt.wantOwner)
			}
			if !tt.wantLocked && existing != nil {
				t.Fatalf("existing = %+v without a lost lock", existing)
			}

			// What the tables hold: both items or neither changed.
			rec, gerr := store.Get(ctx, waba)
			stored := usedFor(t, ledger, tok)
			switch {
			case err == nil:
				if gerr != nil || rec.LockOwner != mine || rec.State != onboarding.StateVerifying {
					t.Fatalf("lock not taken: %+v %v", rec, gerr)
				}
				if stored == nil || stored.WABAID != waba || !stored.UsedAt.Equal(ttlSafe) {
					t.Fatalf("token not spent: %+v", stored)
				}
			default:
				if tt.existing == nil && !errors.Is(gerr, onboarding.ErrNotFound) {
					t.Fatalf("a cancelled transaction wrote the lock: %+v", rec)
				}
				if tt.existing != nil && (gerr != nil || rec.LockOwner != "a") {
					t.Fatalf("a cancelled transaction touched the record: %+v %v", rec, gerr)
				}
				if tt.spent == nil && stored != nil {
					t.Fatalf("a cancelled transaction spent the token: %+v", stored)
				}
				if tt.spent != nil && (stored == nil || stored.WABAID != tt.spent.WABAID) {
					t.Fatalf("the earlier use was overwritten: %+v", stored)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// owner returns a lock owner unique to this run, as the service's are:
// the transaction's idempotency token derives from it, and DynamoDB keeps
// tokens across tables for ten minutes.
func owner(name string) string { return name + "/" + hex.EncodeToString(randomBytes(8)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// ceilSecond is t rounded up to the second, as the dedup table stores
// expiries.
func ceilSecond(t time.Time) time.Time {
	if c := t.Truncate(time.Second); !c.Equal(t) {
		return c.Add(time.Second)
	}
	return t
}

// usedFor reads the recorded use of token id from the dedup table, or nil.
func usedFor(t *testing.T, l *dynamo.SessionLedger, id string) *onboarding.SessionUse {
	t.Helper()
	out, err := l.Client.(*countingAPI).Client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(l.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{dynamo.DedupKeyAttribute: &types.AttributeValueMemberS{Value: dynamo.SessionKeyPrefix + id}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Item) == 0 {
		return nil
	}
	var u struct {
		WABAID string `dynamodbav:"waba_id"`
		UsedAt string `dynamodbav:"used_at"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &u); err != nil {
		t.Fatal(err)
	}
	used, _ := time.Parse(time.RFC3339Nano, u.UsedAt)
	return &onboarding.SessionUse{ID: id, WABAID: u.WABAID, UsedAt: used}
}

// TestAcquireSpendingRetriedCallIsIdempotent: the SDK's retry of a
// transaction whose answer was lost finds it done, instead of failing on
// the lock and the use it wrote itself.
func TestAcquireSpendingRetriedCallIsIdempotent(t *testing.T) {
	t.Parallel()
	store, _, _ := sessionTables(t)
	ctx := context.Background()
	rec := verifying("104000000000003", owner("req-1"), t0.Add(30*time.Second))
	use := sessionUse("IIIIIIIIIIIIIIIIIIIIII", rec.WABAID, ttlSafe.Add(time.Hour))
	for i := range 2 {
		if _, _, err := store.AcquireSpending(ctx, rec, use, t0); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	// Another attempt (another owner) is refused on both counts.
	other := *rec
	other.LockOwner = owner("req-2")
	if _, _, err := store.AcquireSpending(ctx, &other, use, t0); !errors.Is(err, onboarding.ErrSessionUsed) || !errors.Is(err, onboarding.ErrConditionFailed) {
		t.Fatalf("another attempt: %v", err)
	}
}

// TestAcquireSpendingConcurrent: of concurrent signups spending one token
// on different WABAs, exactly one takes its lock; none of the others is
// told its condition failed unless it did.
func TestAcquireSpendingConcurrent(t *testing.T) {
	t.Parallel()
	store, ledger, _ := sessionTables(t)
	var wins, used, other atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			waba := strconv.Itoa(104000000000100 + i)
			_, _, err := store.AcquireSpending(context.Background(), verifying(waba, owner(waba), t0.Add(time.Minute)), sessionUse("CCCCCCCCCCCCCCCCCCCCCC", waba, ttlSafe.Add(time.Hour)), t0)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, onboarding.ErrSessionUsed) && !errors.Is(err, onboarding.ErrConditionFailed):
				used.Add(1)
			case errors.Is(err, onboarding.ErrConditionFailed):
				t.Errorf("lock reported held on a fresh WABA: %v", err)
			default:
				other.Add(1) // a conflicting transaction in flight: a store error
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || wins.Load()+used.Load()+other.Load() != 16 {
		t.Fatalf("wins %d, used %d, store errors %d", wins.Load(), used.Load(), other.Load())
	}
	if u := usedFor(t, ledger, "CCCCCCCCCCCCCCCCCCCCCC"); u == nil {
		t.Fatal("token not spent")
	}
}

// cancelAPI answers every transaction with a cancellation for reasons.
type cancelAPI struct {
	dynamo.API
	reasons []types.CancellationReason
	err     error
}

func (c *cancelAPI) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if c.err != nil {
		return nil, c.err
	}
	return nil, &types.TransactionCanceledException{Message: aws.String("Transaction cancelled"), CancellationReasons: c.reasons}
}

func reason(code string) types.CancellationReason {
	return types.CancellationReason{Code: aws.String(code)}
}

// TestAcquireSpendingTransientCancellations: a transaction cancelled for
// anything but its conditions (a conflicting transaction, throttling) is
// a store error, never a lost condition.
func TestAcquireSpendingTransientCancellations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		reasons []types.CancellationReason
		err     error
	}{
		{name: "conflict on the token", reasons: []types.CancellationReason{reason("TransactionConflict"), reason("None")}},
		{name: "conflict on the lock", reasons: []types.CancellationReason{reason("None"), reason("TransactionConflict")}},
		{name: "token used, conflict on the lock", reasons: []types.CancellationReason{reason("ConditionalCheckFailed"), reason("TransactionConflict")}},
		{name: "lock held, throttled on the token", reasons: []types.CancellationReason{reason("ThrottlingError"), reason("ConditionalCheckFailed")}},
		{name: "capacity", reasons: []types.CancellationReason{reason("ProvisionedThroughputExceeded"), reason("None")}},
		{name: "no reasons", reasons: nil},
		{name: "no failed item", reasons: []types.CancellationReason{reason("None"), reason("None")}},
		{name: "transaction in progress", err: &types.TransactionInProgressException{Message: aws.String("in progress")}},
		{name: "network", err: errors.New("connection reset")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &dynamo.Store{Client: &cancelAPI{reasons: tt.reasons, err: tt.err}, Table: "signups", SessionTable: "dedup"}
			_, _, err := store.AcquireSpending(context.Background(), verifying("1", "b", t0.Add(time.Minute)), sessionUse("XXXXXXXXXXXXXXXXXXXXXX", "1", t0.Add(time.Hour)), t0)
			if err == nil || errors.Is(err, onboarding.ErrSessionUsed) || errors.Is(err, onboarding.ErrConditionFailed) {
				t.Fatalf("err = %v, want a store error", err)
			}
		})
	}
}

func TestAcquireSpendingNeedsSessionTable(t *testing.T) {
	t.Parallel()
	store, _, api := sessionTables(t)
	store.SessionTable = ""
	if _, _, err := store.AcquireSpending(context.Background(), verifying("1", "b", t0), sessionUse("ZZZZZZZZZZZZZZZZZZZZZZ", "1", t0), t0); err == nil ||
		errors.Is(err, onboarding.ErrSessionUsed) || errors.Is(err, onboarding.ErrConditionFailed) {
		t.Fatalf("err = %v, want a configuration error", err)
	}
	if _, _, transacts := api.writes(); transacts != 0 {
		t.Fatal("a transaction was sent without a session table")
	}
}

// TestSignupSessionsOnDynamoDB runs signups bound to a session through
// the service on DynamoDB Local and counts the write calls: a fresh
// signup with a WABA ID spends its token before the code exchange and
// takes its lock after Meta's proof, four write calls in all; a retry of
// a spent token is counted with one UpdateItem.
func TestSignupSessionsOnDynamoDB(t *testing.T) {
	t.Parallel()
	const waba, other = "104000000000011", "104000000000012"
	now := ttlSafe
	tokenFor := func(wabaID string, expires time.Time) *onboarding.SessionUse {
		return &onboarding.SessionUse{ClientRef: "customer-1", WABAID: wabaID, UsedAt: now.Add(-time.Minute), ExpiresAt: expires}
	}
	record := func(state onboarding.State, lockUntil time.Time) *onboarding.Record {
		return &onboarding.Record{WABAID: waba, State: state, LockOwner: owner("earlier"), LockExpiresAt: lockUntil, ClientRef: "customer-1",
			PhoneNumberID: "112233445566778", BusinessID: "198765432109876", CreatedAt: now.Add(-time.Hour)}
	}
	tests := []struct {
		name     string
		spent    *onboarding.SessionUse
		existing *onboarding.Record
		noWABA   bool
		want     onboarding.Code
		outcome  onboarding.Outcome
		// Write calls the signup makes: puts for the token, lock and saves,
		// updates for a spent token's retry count.
		puts, updates, transacts int
		// tokenWABA is the WABA the token is recorded for afterwards; "-"
		// when it must not be spent.
		tokenWABA string
	}{
		{name: "fresh token and WABA", outcome: onboarding.OutcomeOnboarded, puts: 4, tokenWABA: waba},
		{name: "retry after a failure: token spent on this WABA", spent: tokenFor(waba, now.Add(time.Hour)), existing: record(onboarding.StateFailed, time.Time{}),
			outcome: onboarding.OutcomeOnboarded, puts: 4, updates: 1, tokenWABA: waba},
		{name: "token spent on another WABA", spent: tokenFor(other, now.Add(time.Hour)),
			want: onboarding.CodeSessionUsed, puts: 1, tokenWABA: other},
		{name: "token's record expired", spent: tokenFor(waba, now.Add(-time.Hour)),
			want: onboarding.CodeSessionExpired, puts: 1, tokenWABA: waba},
		{name: "WABA locked by someone else: token spent all the same", existing: record(onboarding.StateVerifying, now.Add(time.Minute)),
			want: onboarding.CodeInProgress, puts: 1, tokenWABA: waba},
		{name: "WABA onboarded by this customer: replay, token spent all the same", existing: record(onboarding.StateOnboarded, time.Time{}),
			outcome: onboarding.OutcomeReplayed, puts: 1, tokenWABA: waba},
		{name: "both fail, token spent on another WABA", spent: tokenFor(other, now.Add(time.Hour)), existing: record(onboarding.StateOnboarded, time.Time{}),
			want: onboarding.CodeSessionUsed, puts: 1, tokenWABA: other},
		{name: "both fail, retry of the same signup", spent: tokenFor(waba, now.Add(time.Hour)), existing: record(onboarding.StateOnboarded, time.Time{}),
			outcome: onboarding.OutcomeReplayed, puts: 1, updates: 1, tokenWABA: waba},
		{name: "no WABA: the token is spent on its own", noWABA: true, outcome: onboarding.OutcomeOnboarded, puts: 4, tokenWABA: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, ledger, api := sessionTables(t)
			ctx := context.Background()
			tok := strings.ToUpper(hex.EncodeToString(randomBytes(11)))
			if tt.spent != nil {
				u := *tt.spent
				u.ID = tok
				if _, err := ledger.Spend(ctx, u); err != nil {
					t.Fatal(err)
				}
			}
			if tt.existing != nil {
				if _, err := store.Acquire(ctx, tt.existing, now.Add(-48*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			svc := &onboarding.Service{Store: store, Sessions: ledger, Meta: &onboardingtest.Meta{AppID: "app", WABAID: waba}, Plivo: &onboardingtest.Plivo{},
				AppID:  func(context.Context) (string, error) { return "app", nil },
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
			req := onboarding.SignupRequest{Code: "code", RequestID: "rid", Identity: onboarding.Identity{WABAID: waba},
				Session: &onboarding.SessionUse{ID: tok, ClientRef: "customer-1", UsedAt: now, ExpiresAt: now.Add(15 * time.Minute)}}
			if tt.noWABA {
				req.Identity.WABAID = ""
			}
			puts0, updates0, transacts0 := api.writes()
			res, err := svc.Signup(ctx, req)
			if onboarding.ErrorCode(err) != tt.want && !(err == nil && tt.want == "") || res.Outcome != tt.outcome {
				t.Fatalf("Signup = %s, %v; want %s, code %q", res.Outcome, err, tt.outcome, tt.want)
			}
			// The lock and a record's saves are UpdateItem calls (they leave
			// the WABA's health alone), the token a PutItem, a spent token's
			// retry an UpdateItem: each is one item write, counted together.
			puts, updates, transacts := api.writes()
			if items := puts - puts0 + updates - updates0; items != tt.puts+tt.updates || transacts-transacts0 != tt.transacts {
				t.Fatalf("%d PutItem/UpdateItem and %d TransactWriteItems calls, want %d and %d", items, transacts-transacts0, tt.puts+tt.updates, tt.transacts)
			}
			u := usedFor(t, ledger, tok)
			switch {
			case tt.tokenWABA == "-" && u != nil:
				t.Fatalf("token spent: %+v", u)
			case tt.tokenWABA != "-" && (u == nil || u.WABAID != tt.tokenWABA):
				t.Fatalf("token recorded as %+v, want for %q", u, tt.tokenWABA)
			}
			rec, gerr := store.Get(ctx, waba)
			switch {
			case tt.outcome == onboarding.OutcomeOnboarded && (gerr != nil || rec.State != onboarding.StateOnboarded || rec.ClientRef != "customer-1"):
				t.Fatalf("record %+v, %v", rec, gerr)
			case tt.want != "" && tt.existing == nil && !errors.Is(gerr, onboarding.ErrNotFound):
				t.Fatalf("a refused signup wrote a record: %+v", rec)
			case tt.want != "" && tt.existing != nil && (gerr != nil || rec.LockOwner != tt.existing.LockOwner):
				t.Fatalf("a refused signup touched the record: %+v", rec)
			}
		})
	}
}
