package dynamo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"strings"
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
	puts, updates atomic.Int32
}

func (c *countingAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.puts.Add(1)
	return c.Client.PutItem(ctx, in, opts...)
}

func (c *countingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.updates.Add(1)
	return c.Client.UpdateItem(ctx, in, opts...)
}

// writes reports the write calls made: PutItem and UpdateItem.
func (c *countingAPI) writes() (puts, updates int) {
	return int(c.puts.Load()), int(c.updates.Load())
}

// sessionTables returns a store on fresh signup and dedup tables, the
// ledger on the same dedup table, and the counting client behind both.
func sessionTables(t *testing.T) (*dynamo.Store, *dynamo.SessionLedger, *countingAPI) {
	t.Helper()
	client := testenv.DynamoClient("")
	api := &countingAPI{Client: client}
	dedup := testenv.MustCreateTable(t, client, "DedupTable")
	store := &dynamo.Store{Client: api, Table: testenv.MustCreateTable(t, client, "SignupTable")}
	return store, &dynamo.SessionLedger{Client: api, Table: dedup}, api
}

func sessionUse(id, waba string, expires time.Time) onboarding.SessionUse {
	return onboarding.SessionUse{ID: id, ClientRef: "customer-1", WABAID: waba, UsedAt: ttlSafe, ExpiresAt: expires}
}

// owner returns a lock owner unique to this run, as the service's are.
func owner(name string) string { return name + "/" + hex.EncodeToString(randomBytes(8)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
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

// TestSignupSessionsOnDynamoDB runs signups bound to a session through
// the service on DynamoDB Local and counts the write calls: a fresh
// signup with a WABA ID spends its token before the code exchange and
// takes its lock after Meta's proof, four write calls in all; a retry of
// a spent token is counted with one UpdateItem, and a re-run of an
// onboarded signup stamps its subscription with one more.
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
		puts, updates int
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
		// A re-run of an onboarded signup subscribes our app again and
		// stamps the record: one UpdateItem of subscribed_at.
		{name: "WABA onboarded by this customer: replay, token spent all the same", existing: record(onboarding.StateOnboarded, time.Time{}),
			outcome: onboarding.OutcomeReplayed, puts: 1, updates: 1, tokenWABA: waba},
		{name: "both fail, token spent on another WABA", spent: tokenFor(other, now.Add(time.Hour)), existing: record(onboarding.StateOnboarded, time.Time{}),
			want: onboarding.CodeSessionUsed, puts: 1, tokenWABA: other},
		{name: "both fail, retry of the same signup", spent: tokenFor(waba, now.Add(time.Hour)), existing: record(onboarding.StateOnboarded, time.Time{}),
			outcome: onboarding.OutcomeReplayed, puts: 1, updates: 2, tokenWABA: waba},
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
			puts0, updates0 := api.writes()
			res, err := svc.Signup(ctx, req)
			if onboarding.ErrorCode(err) != tt.want && !(err == nil && tt.want == "") || res.Outcome != tt.outcome {
				t.Fatalf("Signup = %s, %v; want %s, code %q", res.Outcome, err, tt.outcome, tt.want)
			}
			// The lock and a record's saves are UpdateItem calls (they leave
			// the WABA's health alone), the token a PutItem, a spent token's
			// retry an UpdateItem: each is one item write, counted together.
			puts, updates := api.writes()
			if items := puts - puts0 + updates - updates0; items != tt.puts+tt.updates {
				t.Fatalf("%d PutItem/UpdateItem calls, want %d", items, tt.puts+tt.updates)
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
