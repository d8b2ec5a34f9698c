package dynamo_test

import (
	"context"
	"errors"
	"io"
	"net/url"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

func newCallbackLedger(t *testing.T) *dynamo.CallbackLedger {
	t.Helper()
	client := testenv.DynamoClient("")
	return &dynamo.CallbackLedger{Client: client, Table: testenv.MustCreateTable(t, client, "DedupTable")}
}

func record(waba string, state onboarding.State, phone, ref string) *onboarding.Record {
	return &onboarding.Record{WABAID: waba, State: state, PhoneNumberID: "1" + waba[1:], BusinessID: "198765432109876",
		ClientRef: ref, DisplayPhoneNumber: phone, CreatedAt: t0, UpdatedAt: t0}
}

func TestByPhone(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	ctx := context.Background()
	for _, r := range []*onboarding.Record{
		record("109876543210001", onboarding.StateOnboarded, "+1 555-010-0001", "customer-1"),
		record("109876543210002", onboarding.StateFailed, "+1 (555) 010-0002", "customer-2"),
		record("109876543210003", onboarding.StateVerified, "15550100002", "customer-3"),
		record("109876543210004", onboarding.StateVerifying, "", "customer-4"),
	} {
		if _, err := store.Acquire(ctx, r, t0); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		digits string
		want   []string // WABA/state/client_ref/phone number ID
	}{
		{"15550100001", []string{"109876543210001/onboarded/customer-1/109876543210001"}},
		{"15550100002", []string{"109876543210002/failed/customer-2/109876543210002", "109876543210003/verified/customer-3/109876543210003"}},
		{"15550109999", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.digits, func(t *testing.T) {
			t.Parallel()
			recs, err := store.ByPhone(ctx, tt.digits)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, r.WABAID+"/"+string(r.State)+"/"+r.ClientRef+"/"+r.PhoneNumberID)
				if r.BusinessID != "198765432109876" {
					t.Errorf("%s: business_id %q not projected", r.WABAID, r.BusinessID)
				}
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ByPhone(%s) = %v, want %v", tt.digits, got, tt.want)
			}
		})
	}
}

func entry(key string, state callbacks.EntryState, owner string, claimUntil, expires time.Time) *callbacks.Entry {
	return &callbacks.Entry{Key: key, State: state, Owner: owner, ClaimExpiresAt: claimUntil, ExpiresAt: expires,
		PayloadHash: "h", Kind: callbacks.KindStatus, MessageUUID: "m", Status: "read", RequestID: owner,
		Route: callbacks.Route{WABAID: "109876543210001", ClientRef: "customer-1"}, CreatedAt: t0, UpdatedAt: t0}
}

func TestCallbackLedger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	day := t0.Add(24 * time.Hour)
	tests := []struct {
		name     string
		existing *callbacks.Entry
		now      time.Time
		lost     bool
	}{
		{"new key", nil, t0, false},
		{"claim held", entry("k", callbacks.EntryClaimed, "a", t0.Add(time.Second), day), t0, true},
		{"claim expired: taken over", entry("k", callbacks.EntryClaimed, "a", t0.Add(-time.Millisecond), day), t0, false},
		{"published", entry("k", callbacks.EntryPublished, "a", t0.Add(-time.Hour), day), t0, true},
		{"unrouted", entry("k", callbacks.EntryUnrouted, "", time.Time{}, day), t0, true},
		{"entry expired, TTL not run yet", entry("k", callbacks.EntryPublished, "a", t0, t0.Add(-time.Second)), t0, false},
		// The boundaries, as callbackstest.Ledger draws them: an entry
		// counts up to its expiry and a claim holds up to its deadline.
		{"claim ends exactly now: still held", entry("k", callbacks.EntryClaimed, "a", t0, day), t0, true},
		{"entry expires exactly now: still counts", entry("k", callbacks.EntryPublished, "a", t0, t0), t0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newCallbackLedger(t)
			if tt.existing != nil {
				if _, err := l.Claim(ctx, tt.existing, tt.existing.CreatedAt.Add(-48*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := l.Claim(ctx, entry("k", callbacks.EntryClaimed, "b", t0.Add(6*time.Second), day), tt.now)
			if tt.lost {
				if !errors.Is(err, onboarding.ErrConditionFailed) || got == nil || got.State != tt.existing.State || got.Owner != tt.existing.Owner ||
					got.Route != tt.existing.Route || !got.ExpiresAt.Equal(tt.existing.ExpiresAt) {
					t.Fatalf("Claim = %+v, %v; want the existing entry and ErrConditionFailed", got, err)
				}
				return
			}
			if err != nil || got != nil {
				t.Fatalf("Claim = %+v, %v", got, err)
			}
			if err := l.MarkPublished(ctx, "k", "a", "evt", t0); !errors.Is(err, onboarding.ErrConditionFailed) {
				t.Errorf("MarkPublished by a former owner: %v", err)
			}
			if err := l.MarkPublished(ctx, "k", "b", "evt-1", t0.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			again, err := l.Claim(ctx, entry("k", callbacks.EntryClaimed, "c", t0.Add(time.Minute), day), t0.Add(time.Hour))
			if !errors.Is(err, onboarding.ErrConditionFailed) || again.State != callbacks.EntryPublished || again.EventID != "evt-1" ||
				!again.PublishedAt.Equal(t0.Add(time.Second)) || !again.UpdatedAt.Equal(t0.Add(time.Second)) || again.Owner != "b" {
				t.Errorf("after publish: %+v, %v", again, err)
			}
			if err := l.Release(ctx, "k", "b", t0); !errors.Is(err, onboarding.ErrConditionFailed) {
				t.Errorf("Release of a published entry: %v", err)
			}
		})
	}
}

func TestCallbackLedgerReleaseAndUnroutedFields(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newCallbackLedger(t)
	day := t0.Add(24 * time.Hour)
	if _, err := l.Claim(ctx, entry("r", callbacks.EntryClaimed, "a", t0.Add(time.Minute), day), t0); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(ctx, "r", "a", t0); err != nil {
		t.Fatal(err)
	}
	// Released: the next attempt takes it at once, long before the minute.
	if _, err := l.Claim(ctx, entry("r", callbacks.EntryClaimed, "b", t0.Add(time.Minute), day), t0.Add(time.Second)); err != nil {
		t.Fatalf("claim after release: %v", err)
	}

	fields := url.Values{"MessageUUID": {"u"}, "To": {"+1 555"}, "Empty": {""}, "Repeated": {"1", "2"}, "Body": {"é <b>"}}
	u := entry("u", callbacks.EntryUnrouted, "", time.Time{}, day.Add(time.Hour+500*time.Millisecond))
	u.Reason, u.Fields, u.Route = callbacks.ReasonUnknownNumber, fields, callbacks.Route{}
	if _, err := l.Claim(ctx, u, t0); err != nil {
		t.Fatal(err)
	}
	got, err := l.Claim(ctx, entry("u", callbacks.EntryClaimed, "x", t0, day), t0)
	if !errors.Is(err, onboarding.ErrConditionFailed) || got.State != callbacks.EntryUnrouted || got.Reason != callbacks.ReasonUnknownNumber ||
		!reflect.DeepEqual(got.Fields, fields) || !got.ExpiresAt.Equal(day.Add(time.Hour+time.Second)) {
		t.Errorf("unrouted entry %+v, %v", got, err)
	}
}

type countingPublisher struct{ n atomic.Int32 }

func (p *countingPublisher) Publish(ctx context.Context, _ callbacks.Event) (string, error) {
	p.n.Add(1)
	time.Sleep(20 * time.Millisecond) // a slow bus widens the race
	return "evt", nil
}

// TestConcurrentRedeliveriesPublishOnce sends the same callback 20 times at
// once through the service with the DynamoDB ledger and directory: one
// publish, the others duplicates or told to retry.
func TestConcurrentRedeliveriesPublishOnce(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	ctx := context.Background()
	if _, err := store.Acquire(ctx, record("109876543210001", onboarding.StateOnboarded, "+1 555-010-0001", "customer-1"), t0); err != nil {
		t.Fatal(err)
	}
	pub := &countingPublisher{}
	svc := &callbacks.Service{Directory: store, Ledger: newCallbackLedger(t), Publisher: pub, Logger: logging.New(io.Discard, "ERROR")}
	body, _ := url.ParseQuery("MessageUUID=c-1&Status=delivered&From=15550100001&To=14155550123")
	var wg sync.WaitGroup
	var published, dup, busy atomic.Int32
	for i := range 20 {
		wg.Go(func() {
			res, err := svc.Handle(ctx, &callbacks.Callback{Fields: body}, "req-"+string(rune('a'+i)))
			switch {
			case err == nil && res.Outcome == callbacks.OutcomePublished:
				published.Add(1)
			case err == nil && res.Outcome == callbacks.OutcomeDuplicate:
				dup.Add(1)
			case onboarding.ErrorCode(err) == callbacks.CodeCallbackInProgress:
				busy.Add(1)
			default:
				t.Errorf("Handle: %+v, %v", res, err)
			}
		})
	}
	wg.Wait()
	if pub.n.Load() != 1 || published.Load() != 1 || dup.Load()+busy.Load() != 19 {
		t.Errorf("published %d times (%d answers), %d duplicates, %d in progress", pub.n.Load(), published.Load(), dup.Load(), busy.Load())
	}
}
