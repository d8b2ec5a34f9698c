package dynamo_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// ttlSafe is the tests' clock for spent tokens: a day ahead of the real
// one, because DynamoDB Local deletes items whose TTL attribute is past
// (promptly, unlike DynamoDB), and a token item deleted under a test would
// let a second signup spend it. A use "expired" an hour before ttlSafe is
// still in the real future.
var ttlSafe = time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)

func newLedger(t *testing.T) (*dynamo.SessionLedger, *dynamodb.Client) {
	t.Helper()
	client := testenv.DynamoClient("")
	return &dynamo.SessionLedger{Client: client, Table: testenv.MustCreateTable(t, client, "DedupTable")}, client
}

func TestSessionLedgerSpend(t *testing.T) {
	t.Parallel()
	first := onboarding.SessionUse{ID: "AAAAAAAAAAAAAAAAAAAAAA", ClientRef: "customer-1", WABAID: "104000000000001",
		UsedAt: t0, ExpiresAt: ttlSafe.Add(15*time.Minute + 500*time.Millisecond), CodeHash: onboarding.CodeHash("code-1")}
	tests := []struct {
		name     string
		seed     *onboarding.SessionUse
		use      onboarding.SessionUse
		wantErr  error
		wantPrev *onboarding.SessionUse
	}{
		{name: "first use", use: first},
		{name: "second use returns the first", seed: &first, use: onboarding.SessionUse{ID: first.ID, ClientRef: "customer-1", WABAID: "104000000000002", UsedAt: t0.Add(time.Minute), ExpiresAt: first.ExpiresAt},
			wantErr: onboarding.ErrSessionUsed, wantPrev: &onboarding.SessionUse{ID: first.ID, ClientRef: "customer-1", WABAID: "104000000000001", UsedAt: t0, ExpiresAt: ttlSafe.Add(15*time.Minute + time.Second),
				CodeHash: onboarding.CodeHash("code-1")}},
		{name: "another token is independent", seed: &first, use: onboarding.SessionUse{ID: "BBBBBBBBBBBBBBBBBBBBBB", ClientRef: "customer-1", ExpiresAt: first.ExpiresAt}},
		{name: "no WABA stored as none", seed: &onboarding.SessionUse{ID: first.ID, ClientRef: "c", ExpiresAt: first.ExpiresAt, UsedAt: t0}, use: first,
			wantErr: onboarding.ErrSessionUsed, wantPrev: &onboarding.SessionUse{ID: first.ID, ClientRef: "c", UsedAt: t0, ExpiresAt: ttlSafe.Add(15*time.Minute + time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, _ := newLedger(t)
			ctx := context.Background()
			if tt.seed != nil {
				if _, err := l.Spend(ctx, *tt.seed); err != nil {
					t.Fatalf("seed: %v", err)
				}
			}
			prev, err := l.Spend(ctx, tt.use)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Spend err = %v, want %v", err, tt.wantErr)
			}
			switch {
			case tt.wantPrev == nil && prev != nil:
				t.Fatalf("prev = %+v, want none", prev)
			case tt.wantPrev != nil && (prev == nil || *prev != *tt.wantPrev):
				t.Fatalf("prev = %+v, want %+v", prev, tt.wantPrev)
			}
		})
	}
}

// TestSessionLedgerItem pins the stored item: key session#<id>, TTL in
// epoch seconds rounded up, and nothing but the token's ID from the token.
func TestSessionLedgerItem(t *testing.T) {
	t.Parallel()
	l, client := newLedger(t)
	u := onboarding.SessionUse{ID: "CCCCCCCCCCCCCCCCCCCCCC", ClientRef: "customer-9", WABAID: "104000000000009", UsedAt: t0, ExpiresAt: ttlSafe.Add(time.Hour + time.Millisecond)}
	if _, err := l.Spend(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(l.Table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "session#" + u.ID}}})
	if err != nil || out.Item == nil {
		t.Fatalf("GetItem: %v, %v", out, err)
	}
	exp, _ := out.Item["expires_at"].(*types.AttributeValueMemberN)
	if want := strconv.FormatInt(ttlSafe.Add(time.Hour).Unix()+1, 10); exp == nil || exp.Value != want {
		t.Fatalf("expires_at %#v, want epoch seconds %s (rounded up)", out.Item["expires_at"], want)
	}
	var names []string
	for k := range out.Item {
		names = append(names, k)
	}
	slices.Sort(names)
	if got := strings.Join(names, ","); got != "client_ref,expires_at,pk,used_at,waba_id" {
		t.Fatalf("attributes %s", got)
	}
}

// TestSessionLedgerConcurrent: of concurrent first uses of one token,
// DynamoDB lets exactly one write.
func TestSessionLedgerConcurrent(t *testing.T) {
	t.Parallel()
	l, _ := newLedger(t)
	var wins, used atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			_, err := l.Spend(context.Background(), onboarding.SessionUse{ID: "DDDDDDDDDDDDDDDDDDDDDD", ClientRef: "c", ExpiresAt: ttlSafe.Add(time.Hour)})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, onboarding.ErrSessionUsed):
				used.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || used.Load() != 15 {
		t.Fatalf("wins %d, used %d", wins.Load(), used.Load())
	}
}

func TestSessionLedgerStoreDown(t *testing.T) {
	t.Parallel()
	l := &dynamo.SessionLedger{Client: testenv.DynamoClient(""), Table: "no-such-table"}
	_, err := l.Spend(context.Background(), onboarding.SessionUse{ID: "EEEEEEEEEEEEEEEEEEEEEE", ExpiresAt: t0})
	if err == nil || errors.Is(err, onboarding.ErrSessionUsed) {
		t.Fatalf("err = %v, want a store error", err)
	}
}
