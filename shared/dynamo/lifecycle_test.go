package dynamo_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamotypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/metrics"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

func onboardedRecord(waba string) *onboarding.Record {
	return &onboarding.Record{WABAID: waba, State: onboarding.StateOnboarded, PhoneNumberID: "112233445566778", BusinessID: "198765432109876",
		ClientRef: "customer-7", DisplayPhoneNumber: "+1 555 0100", CreatedAt: t0, UpdatedAt: t0, PlivoAPIID: "api"}
}

// TestWebhookChanges runs every webhook-driven change against DynamoDB
// Local: each is one conditional write that reports false, and writes
// nothing, when it is not needed, which is what makes a replay harmless.
func TestWebhookChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.Acquire(ctx, onboardedRecord("1"), t0); err != nil {
		t.Fatal(err)
	}
	step := func(name string, want bool, got bool, err error) {
		t.Helper()
		if err != nil || got != want {
			t.Fatalf("%s: changed %t, err %v; want %t", name, got, err, want)
		}
	}
	until := t0.Add(48 * time.Hour)
	ok, err := s.Restrict(ctx, "1", "account_restriction:RESTRICTED_ADD_PHONE_NUMBER_ACTION", until, t0.Add(time.Minute), time.Time{})
	step("restrict", true, ok, err)
	ok, err = s.Restrict(ctx, "1", "account_restriction:RESTRICTED_ADD_PHONE_NUMBER_ACTION", until, t0.Add(2*time.Minute), time.Time{})
	step("restrict again", false, ok, err)
	ok, err = s.Reinstate(ctx, "1", "account_reconnected", "account_offboarded", t0.Add(3*time.Minute), time.Time{})
	step("the end of an offboarding does not lift a restriction", false, ok, err)
	ok, err = s.Reinstate(ctx, "1", "reinstated", "", t0.Add(3*time.Minute), time.Time{})
	step("reinstate", true, ok, err)
	ok, err = s.Restrict(ctx, "1", "account_offboarded", time.Time{}, t0.Add(3*time.Minute), time.Time{})
	step("offboarded", true, ok, err)
	ok, err = s.Reinstate(ctx, "1", "account_reconnected", "account_offboarded", t0.Add(3*time.Minute), time.Time{})
	step("reconnected", true, ok, err)
	ok, err = s.SetHealth(ctx, "1", "15550100", onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_1K", UpdatedAt: t0.Add(4 * time.Minute)}, time.Time{})
	step("health", true, ok, err)
	ok, err = s.SetHealth(ctx, "1", "19990000", onboarding.Health{QualityEvent: "UPGRADE", UpdatedAt: t0.Add(4 * time.Minute)}, time.Time{})
	step("health of another number", false, ok, err)
	ok, err = s.SetHealth(ctx, "1", "", onboarding.Health{MessagingLimit: "TIER_1K", UpdatedAt: t0.Add(4 * time.Minute)}, time.Time{})
	step("the portfolio's limit, for any number", true, ok, err)
	ok, err = s.SetHealth(ctx, "1", "", onboarding.Health{ReviewDecision: "APPROVED", UpdatedAt: t0.Add(4 * time.Minute)}, time.Time{})
	step("the WABA's review", true, ok, err)
	ok, err = s.SetHealth(ctx, "unknown", "", onboarding.Health{MessagingLimit: "2000", UpdatedAt: t0}, time.Time{})
	step("the portfolio's limit of an unknown WABA", false, ok, err)
	ok, err = s.Disconnect(ctx, "1", "partner_app_uninstalled", t0.Add(5*time.Minute), time.Time{})
	step("disconnect", true, ok, err)
	ok, err = s.Disconnect(ctx, "1", "partner_app_uninstalled", t0.Add(6*time.Minute), time.Time{})
	step("disconnect again", false, ok, err)
	ok, err = s.Disconnect(ctx, "unknown", "partner_removed", t0, time.Time{})
	step("disconnect unknown", false, ok, err)
	ok, err = s.PutUnclaimed(ctx, "1", "198765432109876", "partner_app_installed", t0, time.Time{})
	step("unclaimed over a record", false, ok, err)
	ok, err = s.PutUnclaimed(ctx, "2", "198765432109876", "partner_app_installed", t0, time.Time{})
	step("unclaimed", true, ok, err)

	rec, err := s.Get(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != onboarding.StateDisconnected || rec.PreviousState != onboarding.StateOnboarded || rec.StateReason != "partner_app_uninstalled" ||
		rec.Health.QualityEvent != "FLAGGED" || rec.Health.MessagingLimit != "TIER_1K" || rec.Health.ReviewDecision != "APPROVED" ||
		!rec.RestrictedUntil.IsZero() {
		t.Errorf("record %+v", rec)
	}
	// Both times are the disconnect's, not an earlier write's: the stream
	// publisher reads state_changed_at.
	if disconnected := t0.Add(5 * time.Minute); !rec.StateChangedAt.Equal(disconnected) || !rec.UpdatedAt.Equal(disconnected) {
		t.Errorf("disconnected record changed at %v, updated at %v; want both %v", rec.StateChangedAt, rec.UpdatedAt, disconnected)
	}

	// A plain signup does not take a disconnected record; a reconnect does.
	again := verifying("1", "b", t0.Add(time.Hour))
	again.ClientRef = "customer-7"
	if _, err := s.Acquire(ctx, again, t0.Add(7*time.Minute)); err == nil {
		t.Fatal("a plain signup took over a disconnected record")
	}
	again.Reconnect = true
	if _, err := s.Acquire(ctx, again, t0.Add(7*time.Minute)); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	// So does any signup of an unclaimed WABA.
	if _, err := s.Acquire(ctx, verifying("2", "c", t0.Add(time.Hour)), t0); err != nil {
		t.Fatalf("claim an unclaimed record: %v", err)
	}
	// A restriction of a WABA whose signup has not ended waits for it: it
	// is neither applied nor reported as no change.
	if ok, err := s.Restrict(ctx, "2", "account_violation:SCAM", time.Time{}, t0.Add(time.Minute), time.Time{}); ok || !errors.Is(err, onboarding.ErrSignupUnderway) {
		t.Errorf("restrict during a signup: changed %t, err %v; want ErrSignupUnderway", ok, err)
	}
	if ok, err := s.Reinstate(ctx, "2", "reinstated", "", t0.Add(time.Minute), time.Time{}); ok || !errors.Is(err, onboarding.ErrSignupUnderway) {
		t.Errorf("reinstate during a signup: changed %t, err %v; want ErrSignupUnderway", ok, err)
	}
	if ok, err := s.Restrict(ctx, "2", "account_violation:SCAM", time.Time{}, t0.Add(2*time.Hour), time.Time{}); ok || err != nil {
		t.Errorf("restrict once the signup's lock is abandoned: changed %t, err %v; want no change, not a wait for ever", ok, err)
	}
	if ok, err := s.Restrict(ctx, "unknown", "account_violation:SCAM", time.Time{}, t0, time.Time{}); ok || err != nil {
		t.Errorf("restrict an unknown WABA: changed %t, err %v; want no change", ok, err)
	}

	recs, err := s.ByClientRef(ctx, "customer-7")
	if err != nil || len(recs) != 1 || recs[0].WABAID != "1" || !recs[0].Reconnect {
		t.Errorf("ByClientRef: %d records %+v, err %v", len(recs), recs, err)
	}
}

// TestLockKeepsWhatMetaSaidOfTheWABA: Meta reviews a WABA and sets its
// portfolio's messaging limit around its creation, often before the
// signup's lock. Taking the lock over the record keeps those, and drops
// what was said of a number, which the signup may change.
func TestLockKeepsWhatMetaSaidOfTheWABA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, lock := range map[string]func(s *dynamo.Store, rec *onboarding.Record) error{
		"acquire": func(s *dynamo.Store, rec *onboarding.Record) error { _, err := s.Acquire(ctx, rec, t0); return err },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			if ok, err := s.PutUnclaimed(ctx, "1", "198765432109876", "partner_app_installed", t0, time.Time{}); !ok || err != nil {
				t.Fatalf("unclaimed: %t, %v", ok, err)
			}
			for _, h := range []onboarding.Health{{ReviewDecision: "APPROVED", UpdatedAt: t0}, {MessagingLimit: "TIER_2K", UpdatedAt: t0},
				{QualityEvent: "FLAGGED", NameStatus: "APPROVED", UpdatedAt: t0}} {
				if ok, err := s.SetHealth(ctx, "1", "", h, time.Time{}); !ok || err != nil {
					t.Fatalf("health: %t, %v", ok, err)
				}
			}
			if err := lock(s, verifying("1", owner("signup"), t0.Add(time.Minute))); err != nil {
				t.Fatalf("lock: %v", err)
			}
			rec, err := s.Get(ctx, "1")
			if err != nil || rec.State != onboarding.StateVerifying {
				t.Fatalf("record %+v, %v", rec, err)
			}
			if h := rec.Health; h.ReviewDecision != "APPROVED" || h.MessagingLimit != "TIER_2K" || h.QualityEvent != "" || h.NameStatus != "" {
				t.Errorf("health after the lock %+v: want the WABA's review and limit, and nothing of a number", h)
			}
		})
	}
}

// TestRestrictionEnds follows a restriction with an end through the retry
// index: listed once its end has come, lifted once, and gone from the index
// when a restriction without an end or a reinstatement replaces it first.
func TestRestrictionEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	for _, waba := range []string{"1", "2", "3", "4"} {
		rec := onboardedRecord(waba)
		rec.Reconnect = waba == "4" // onboarded by a reconnect signup
		if _, err := s.Acquire(ctx, rec, t0); err != nil {
			t.Fatal(err)
		}
	}
	end := t0.Add(24 * time.Hour)
	for waba, until := range map[string]time.Time{"1": end, "2": end.Add(time.Hour), "3": end, "4": end} {
		if ok, err := s.Restrict(ctx, waba, "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING", until, t0, time.Time{}); !ok || err != nil {
			t.Fatalf("restrict %s: %t, %v", waba, ok, err)
		}
	}
	// Meta extends 2's restriction: same types, a later end.
	if ok, err := s.Restrict(ctx, "2", "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING", end.Add(2*time.Hour), t0.Add(time.Minute), time.Time{}); !ok || err != nil {
		t.Fatalf("extend: %t, %v", ok, err)
	}
	if ok, err := s.Restrict(ctx, "2", "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING", end.Add(2*time.Hour), t0.Add(2*time.Minute), time.Time{}); ok || err != nil {
		t.Fatalf("the extension redelivered: %t, %v; want no change", ok, err)
	}
	// An ACCOUNT_RESTRICTION without an end is restated by Meta's next one,
	// with an end: that one replaces it.
	if _, err := s.Acquire(ctx, onboardedRecord("6"), t0); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Restrict(ctx, "6", "account_restriction:A,C", time.Time{}, t0, time.Time{}); !ok || err != nil {
		t.Fatalf("restrict 6 without an end: %t, %v", ok, err)
	}
	if ok, err := s.Restrict(ctx, "6", "account_restriction:A,C", end.Add(3*time.Hour), t0.Add(time.Minute), time.Time{}); !ok || err != nil {
		t.Fatalf("restrict 6 again, with an end: %t, %v; want it replaced", ok, err)
	}
	// The original, redelivered late, would bring the lift forward.
	if ok, err := s.Restrict(ctx, "2", "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING", end.Add(time.Hour), t0.Add(3*time.Minute), time.Time{}); ok || err != nil {
		t.Fatalf("an earlier end after the extension: %t, %v; want no change", ok, err)
	}
	// 3 is disabled for good before its restriction ends; a restriction
	// with an end does not replace that one. 4 is reinstated.
	if ok, err := s.Restrict(ctx, "3", "disabled_update:DISABLE", time.Time{}, t0.Add(time.Hour), time.Time{}); !ok || err != nil {
		t.Fatalf("disable: %t, %v", ok, err)
	}
	if ok, err := s.Restrict(ctx, "3", "account_restriction:RESTRICTED_ADD_PHONE_NUMBER_ACTION", end, t0.Add(2*time.Hour), time.Time{}); ok || err != nil {
		t.Fatalf("a restriction with an end over a disabled account: %t, %v; want no change", ok, err)
	}
	if ok, err := s.Reinstate(ctx, "4", "reinstated", "", t0.Add(time.Hour), time.Time{}); !ok || err != nil {
		t.Fatalf("reinstate: %t, %v", ok, err)
	}
	if rec, err := s.Get(ctx, "4"); err != nil || rec.Reconnect {
		t.Errorf("reinstated record %+v, %v: still marked reconnected, and would be published so", rec, err)
	}
	if rec, err := s.Get(ctx, "1"); err != nil || !rec.RestrictedUntil.Equal(end) || !rec.NextRetryAt.IsZero() {
		t.Fatalf("restricted record reads %+v, %v: want its end, and no Plivo retry", rec, err)
	}
	expired := func(at time.Time) []string {
		t.Helper()
		recs, err := s.ExpiredRestrictions(ctx, at, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.WABAID)
			if r.State != onboarding.StateRestricted || r.RestrictedUntil.IsZero() {
				t.Errorf("listed %+v: want restricted, with its end", r)
			}
		}
		return ids
	}
	if got := expired(end.Add(-time.Second)); len(got) != 0 {
		t.Errorf("before any end: %v listed", got)
	}
	if due, err := s.Due(ctx, end.Add(2*time.Hour), 10); err != nil || len(due) != 0 {
		t.Errorf("restrictions listed as Plivo retries: %v, %v", due, err)
	}
	if got := expired(end); len(got) != 1 || got[0] != "1" {
		t.Fatalf("at the first end: %v listed, want [1]", got)
	}
	if _, err := s.LiftRestriction(ctx, "2", end); !errors.Is(err, onboarding.ErrConditionFailed) {
		t.Errorf("lift before its end: %v, want a lost condition", err)
	}
	rec, err := s.LiftRestriction(ctx, "1", end)
	if err != nil || rec.State != onboarding.StateOnboarded || rec.PreviousState != onboarding.StateRestricted ||
		rec.StateReason != onboarding.ReasonRestrictionExpired || !rec.RestrictedUntil.IsZero() {
		t.Fatalf("lift: %+v, %v", rec, err)
	}
	if _, err := s.LiftRestriction(ctx, "1", end); !errors.Is(err, onboarding.ErrConditionFailed) {
		t.Errorf("lift again: %v, want a lost condition", err)
	}
	if got := expired(end.Add(time.Hour)); len(got) != 0 {
		t.Errorf("at 2's first end, after Meta extended it: %v listed", got)
	}
	if got := expired(end.Add(2 * time.Hour)); len(got) != 1 || got[0] != "2" {
		t.Errorf("at 2's extended end: %v listed, want [2]", got)
	}

	// A record restricted before ends were indexed has an end and no
	// shard: the next restriction with an end puts it in.
	if _, err := s.Acquire(ctx, onboardedRecord("5"), t0); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Restrict(ctx, "5", "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING", end, t0, time.Time{}); !ok || err != nil {
		t.Fatalf("restrict 5: %t, %v", ok, err)
	}
	if _, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.Table),
		Key:              map[string]dynamotypes.AttributeValue{"waba_id": &dynamotypes.AttributeValueMemberS{Value: "5"}},
		UpdateExpression: aws.String("REMOVE retry_shard, next_retry_at")}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Restrict(ctx, "5", "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING", end, t0.Add(time.Hour), time.Time{}); !ok || err != nil {
		t.Fatalf("the same restriction redelivered to a record from before: %t, %v; want it indexed", ok, err)
	}
	if got := expired(end.Add(3 * time.Hour)); len(got) != 3 || got[0] != "5" || got[2] != "6" {
		t.Errorf("after indexing 5: %v listed, want [5 2 6]", got)
	}
}

// TestViolationIsTheWeakestRestriction: Meta's ACCOUNT_VIOLATION is a
// warning with no end, and the blocks that follow repeated violations come
// as ACCOUNT_RESTRICTION with an end, after which Meta sends nothing. The
// block's end must be able to lift the record, whichever came first, and a
// violation must not take the place of a disabled account.
func TestViolationIsTheWeakestRestriction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	for _, waba := range []string{"v1", "v2", "v3", "v4"} {
		if _, err := s.Acquire(ctx, onboardedRecord(waba), t0); err != nil {
			t.Fatal(err)
		}
	}
	end := t0.Add(72 * time.Hour)
	const violation, block, disable = "account_violation:ADULT", "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING", "disabled_update:DISABLE"
	steps := []struct {
		waba, reason string
		until        time.Time
		want         bool
	}{
		{"v1", violation, time.Time{}, true},
		{"v1", block, end, true}, // the block replaces the warning
		{"v2", block, end, true},
		{"v2", violation, time.Time{}, false}, // the warning does not outlast the block
		{"v3", disable, time.Time{}, true},
		{"v3", violation, time.Time{}, false}, // nor take the place of a disable
		{"v3", block, end, false},
		// Meta's later warning names the account's current violation.
		{"v4", violation, time.Time{}, true},
		{"v4", "account_violation:SCAM", time.Time{}, true},
		{"v4", "account_violation:SCAM", time.Time{}, false}, // in force already
	}
	for i, st := range steps {
		if ok, err := s.Restrict(ctx, st.waba, st.reason, st.until, t0.Add(time.Duration(i+1)*time.Minute), time.Time{}); ok != st.want || err != nil {
			t.Fatalf("step %d: restrict %s with %s: %t, %v; want %t", i, st.waba, st.reason, ok, err, st.want)
		}
	}
	recs, err := s.ExpiredRestrictions(ctx, end, 10)
	if err != nil || len(recs) != 2 || recs[0].WABAID != "v1" || recs[1].WABAID != "v2" {
		t.Fatalf("due at the block's end: %+v, %v; want v1 and v2", recs, err)
	}
	for waba, want := range map[string]string{"v1": block, "v2": block, "v3": disable, "v4": "account_violation:SCAM"} {
		if rec, err := s.Get(ctx, waba); err != nil || rec.StateReason != want {
			t.Errorf("%s reads %+v, %v; want restricted for %s", waba, rec, err, want)
		}
	}
}

// TestChangesReachTheStream reads DynamoDB Local's stream of the table the
// way Lambda's event source mapping does, and finds every committed change
// with both images: the outbox the lifecycle publisher reads.
func TestChangesReachTheStream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.Acquire(ctx, onboardedRecord("5"), t0); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Disconnect(ctx, "5", "partner_removed", t0.Add(time.Minute), time.Time{}); !ok || err != nil {
		t.Fatalf("disconnect: %t %v", ok, err)
	}
	desc, err := s.Client.(*dynamodb.Client).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Table)})
	if err != nil || desc.Table.LatestStreamArn == nil {
		t.Fatalf("the table has no stream: %v", err)
	}
	streams := dynamodbstreams.New(dynamodbstreams.Options{
		Region:       testenv.Region,
		BaseEndpoint: aws.String(testenv.SharedDynamoDB().Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(testenv.DummyAccessKeyID, testenv.DummySecretAccessKey, ""),
	})
	sd, err := streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: desc.Table.LatestStreamArn})
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, sh := range sd.StreamDescription.Shards {
		it, err := streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn: desc.Table.LatestStreamArn, ShardId: sh.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		out, err := streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Records {
			if st, ok := r.Dynamodb.NewImage["state"].(*streamtypes.AttributeValueMemberS); ok {
				old := ""
				if o, ok := r.Dynamodb.OldImage["state"].(*streamtypes.AttributeValueMemberS); ok {
					old = o.Value
				}
				states = append(states, old+">"+st.Value)
			}
		}
	}
	if len(states) != 2 || states[0] != ">onboarded" || states[1] != "onboarded>disconnected" {
		t.Errorf("stream records %v, want >onboarded, onboarded>disconnected", states)
	}
}

// TestByClientRefListsAtMostItsCap: the per-customer view is bounded by
// records, not by DynamoDB's 1 MB page, which holds far more.
func TestByClientRefListsAtMostItsCap(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	// listCap is the view's documented cap (docs/lifecycle.md).
	const stored, listCap = 230, 200
	for i := range stored {
		if _, err := s.Acquire(ctx, verifying(strconv.Itoa(100000+i), "o", t0.Add(time.Hour)), t0); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := s.ByClientRef(ctx, "customer-1")
	if err != nil || len(recs) != listCap {
		t.Errorf("ByClientRef: %d records (err %v) of %d stored, want %d", len(recs), err, stored, listCap)
	}
}

// TestMetaChangesApplyInMetaOrder: Meta's deliveries arrive out of order
// (one deferred during a signup comes back minutes later, two run at once);
// the record keeps the state Meta's latest change gave it.
func TestMetaChangesApplyInMetaOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storeWithOnboarded(t, "7")
	at := t0.Add(time.Hour)
	runMetaSteps(t, s, "7", []metaStep{
		{"a restriction applies", func(w string) (bool, error) {
			return s.Restrict(ctx, w, "disabled_update:DISABLE", time.Time{}, at, metaSent(10))
		}, true, onboarding.StateRestricted},
		{"a reinstatement Meta sent before it does not", func(w string) (bool, error) {
			return s.Reinstate(ctx, w, "reinstated", "", at, metaSent(5))
		}, false, onboarding.StateRestricted},
		{"nor a disconnect sent before it", func(w string) (bool, error) {
			return s.Disconnect(ctx, w, "partner_removed", at, metaSent(3))
		}, false, onboarding.StateRestricted},
		{"a later reinstatement applies", func(w string) (bool, error) {
			return s.Reinstate(ctx, w, "reinstated", "", at, metaSent(30))
		}, true, onboarding.StateOnboarded},
		{"one of the same second applies in arrival order", func(w string) (bool, error) {
			return s.Restrict(ctx, w, "disabled_update:DISABLE", time.Time{}, at, metaSent(30))
		}, true, onboarding.StateRestricted},
		{"a later reinstatement again", func(w string) (bool, error) {
			return s.Reinstate(ctx, w, "reinstated", "", at, metaSent(40))
		}, true, onboarding.StateOnboarded},
		// Nothing to reinstate, but Meta's latest word is "reinstated":
		// an earlier restriction delivered after it must not apply.
		{"a reinstatement of an onboarded record changes nothing", func(w string) (bool, error) {
			return s.Reinstate(ctx, w, "reinstated", "", at, metaSent(60))
		}, false, onboarding.StateOnboarded},
		{"so a restriction sent before it does not apply", func(w string) (bool, error) {
			return s.Restrict(ctx, w, "disabled_update:DISABLE", time.Time{}, at, metaSent(50))
		}, false, onboarding.StateOnboarded},
		{"a change without Meta's time is not ordered", func(w string) (bool, error) {
			return s.Restrict(ctx, w, "account_violation:SCAM", time.Time{}, at, time.Time{})
		}, true, onboarding.StateRestricted},
	})
}

// TestChangeInForceDoesNotMoveTheMarkBack: a change Meta sent before the
// latest one, that finds the record as it would leave it, is in force and
// records nothing: moving Meta's time back to its own would let a change
// sent between the two, delivered after both, undo Meta's latest word.
func TestChangeInForceDoesNotMoveTheMarkBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storeWithOnboarded(t, "12")
	at := t0.Add(time.Hour)
	restrict := func(sec int) func(string) (bool, error) {
		return func(w string) (bool, error) {
			return s.Restrict(ctx, w, "disabled_update:DISABLE", time.Time{}, at, metaSent(sec))
		}
	}
	runMetaSteps(t, s, "12", []metaStep{
		{"Meta's latest restriction applies", restrict(30), true, onboarding.StateRestricted},
		{"the same restriction sent earlier is in force", restrict(10), false, onboarding.StateRestricted},
		{"a reinstatement sent between the two does not apply", func(w string) (bool, error) {
			return s.Reinstate(ctx, w, "reinstated", "", at, metaSent(20))
		}, false, onboarding.StateRestricted},
	})
}

// storeWithOnboarded is a store of its own holding waba's onboarded
// record, for a story of Meta's changes.
func storeWithOnboarded(t *testing.T, waba string) *dynamo.Store {
	t.Helper()
	s := newStore(t)
	if _, err := s.Acquire(t.Context(), onboardedRecord(waba), t0); err != nil {
		t.Fatal(err)
	}
	return s
}

// metaSent is a webhook entry's time, sec seconds after t0.
func metaSent(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// metaStep is one change in a story of Meta's webhooks: whether it should
// change the record, and the state it should leave it in.
type metaStep struct {
	name  string
	apply func(waba string) (bool, error)
	want  bool
	state onboarding.State
}

// runMetaSteps applies steps to the record of waba in turn, and stops at
// the first that reports or leaves the wrong thing.
func runMetaSteps(t *testing.T, s *dynamo.Store, waba string, steps []metaStep) {
	t.Helper()
	for _, c := range steps {
		ok, err := c.apply(waba)
		if err != nil || ok != c.want {
			t.Fatalf("%s: changed %t, err %v; want %t", c.name, ok, err, c.want)
		}
		if rec, err := s.Get(t.Context(), waba); err != nil || rec.State != c.state {
			t.Fatalf("%s: record %v (err %v), want %s", c.name, rec.State, err, c.state)
		}
	}
}

// TestLateRemovalDoesNotUndoAShareAgain: Meta redelivers a removal we
// failed to take for days; by then the customer may have shared the WABA
// again and reconnected. A removal Meta sent before the share must not
// disconnect the record a reconnect took over after it, while a
// restriction sent before it still applies (sharing lifts none) and a
// removal sent after it still disconnects.
func TestLateRemovalDoesNotUndoAShareAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storeWithOnboarded(t, "9")
	at := t0.Add(time.Hour)
	share := func(event string, sec int) func(string) (bool, error) {
		return func(w string) (bool, error) {
			return s.PutUnclaimed(ctx, w, "198765432109876", event, at, metaSent(sec))
		}
	}
	removal := func(event string, sec int) func(string) (bool, error) {
		return func(w string) (bool, error) { return s.Disconnect(ctx, w, event, at, metaSent(sec)) }
	}
	reconnect := func(w string) (bool, error) {
		rec := onboardedRecord(w)
		rec.Reconnect, rec.LockOwner = true, "reconnect"
		_, err := s.Acquire(ctx, rec, at)
		return err == nil, err
	}
	runMetaSteps(t, s, "9", []metaStep{
		{"Meta removes our app", removal("partner_app_uninstalled", 10), true, onboarding.StateDisconnected},
		{"the customer shares the WABA again", share("partner_added", 20), false, onboarding.StateDisconnected},
		{"and reconnects", reconnect, true, onboarding.StateOnboarded},
		{"a removal of the same second, delivered late, does not disconnect it", removal("partner_removed", 10), false, onboarding.StateOnboarded},
		{"an older share leaves the mark where it is", share("partner_added", 5), false, onboarding.StateOnboarded},
		{"nor does an earlier removal after the older share", removal("partner_removed", 8), false, onboarding.StateOnboarded},
		{"a restriction sent before the share still applies", func(w string) (bool, error) {
			return s.Restrict(ctx, w, "disabled_update:DISABLE", time.Time{}, at, metaSent(15))
		}, true, onboarding.StateRestricted},
		{"a removal sent after the share disconnects", removal("partner_removed", 30), true, onboarding.StateDisconnected},
	})
	runMetaSteps(t, s, "10", []metaStep{
		{"a WABA no signup named keeps its share's time", share("partner_app_installed", 20), true, onboarding.StateUnclaimed},
		{"which an older share, redelivered, does not move back", share("partner_added", 5), false, onboarding.StateUnclaimed},
		{"so a removal sent before it is over too", removal("partner_removed", 10), false, onboarding.StateUnclaimed},
	})
}

// TestShareDoesNotLiftARemovalItsRecordMissed: a removal we failed to take
// leaves the record onboarded. When the customer shares the WABA again, the
// signup that follows finds it onboarded and answers it as a replay,
// without subscribing our app to the WABA again or asking Plivo: the
// removal Meta redelivers must still disconnect it, or the record stays
// onboarded for good while Meta sends us nothing more about the WABA.
func TestShareDoesNotLiftARemovalItsRecordMissed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storeWithOnboarded(t, "11")
	at := t0.Add(time.Hour)
	runMetaSteps(t, s, "11", []metaStep{
		{"the customer shares the WABA again", func(w string) (bool, error) {
			return s.PutUnclaimed(ctx, w, "198765432109876", "partner_added", at, metaSent(20))
		}, false, onboarding.StateOnboarded},
		{"the removal we missed, delivered late, disconnects it", func(w string) (bool, error) {
			return s.Disconnect(ctx, w, "partner_removed", at, metaSent(10))
		}, true, onboarding.StateDisconnected},
	})
}

// partnerEvent is Meta's account_update partner event (PARTNER_ADDED,
// PARTNER_REMOVED, ...) for waba, sent at sent, as Meta delivers it: under
// the Tech Provider's business, the customer's WABA in waba_info.
func partnerEvent(t *testing.T, waba, event string, sent time.Time) *metawebhooks.Notification {
	t.Helper()
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"198765432100000","time":%d,"changes":[`+
		`{"field":"account_update","value":{"event":%q,"waba_info":{"waba_id":%q,"owner_business_id":"198765432109876"}}}]}]}`,
		sent.Unix(), event, waba)
	n, err := metawebhooks.ParseNotification([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLateRemovalDeliveredAfterReconnect runs the same story through the
// webhook service, with Meta's partner events as Meta delivers them: under
// the Tech Provider's business, the customer's WABA in waba_info.
func TestLateRemovalDeliveredAfterReconnect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newStore(t)
	clock := t0.Add(time.Hour)
	svc := &metawebhooks.Service{Records: store, Ledger: newCallbackLedger(t),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock }}
	const waba = "109876543219002"
	if _, err := store.Acquire(ctx, onboardedRecord(waba), t0); err != nil {
		t.Fatal(err)
	}
	deliver := func(sent time.Time, event, delivery string) {
		t.Helper()
		if _, err := svc.Handle(ctx, partnerEvent(t, waba, event, sent), delivery); err != nil {
			t.Fatalf("%s: %v", event, err)
		}
	}
	state := func() onboarding.State {
		t.Helper()
		rec, err := store.Get(ctx, waba)
		if err != nil {
			t.Fatal(err)
		}
		return rec.State
	}
	// Meta removed our app and the partner at t0+10s; the first removal
	// landed, the second failed to. The customer reconnected, and the
	// share's webhook (t0+20s) came after the reconnect's signup had
	// ended; the second removal's redelivery comes after both.
	deliver(t0.Add(10*time.Second), "PARTNER_APP_UNINSTALLED", "delivery-1")
	if got := state(); got != onboarding.StateDisconnected {
		t.Fatalf("the removal left the record %s, want disconnected", got)
	}
	rec := onboardedRecord(waba)
	rec.Reconnect, rec.LockOwner = true, "reconnect"
	if _, err := store.Acquire(ctx, rec, clock); err != nil {
		t.Fatal(err)
	}
	deliver(t0.Add(20*time.Second), "PARTNER_APP_INSTALLED", "delivery-2")
	deliver(t0.Add(10*time.Second), "PARTNER_REMOVED", "delivery-3")
	if got := state(); got != onboarding.StateOnboarded {
		t.Fatalf("a removal Meta sent before the WABA was shared again left the record %s, want onboarded", got)
	}
	deliver(t0.Add(30*time.Second), "PARTNER_REMOVED", "delivery-4")
	if got := state(); got != onboarding.StateDisconnected {
		t.Fatalf("a removal sent after the share left the record %s, want disconnected", got)
	}
}

// TestShareAfterOnboardingPagesTheOperator: a WABA Meta shares with our
// app again while its record says onboarded had a removal we never heard
// of before it (Meta stops redelivering after seven days), which took our
// app's webhook subscription with it, unless the share is the customer's
// run of the signup again, which subscribes our app again and stamps the
// record (subscribed_at). A share Meta sent before the latest subscription
// (the first signup's, or a re-run's, delivered after it) must not page;
// one sent well after it pages.
func TestShareAfterOnboardingPagesTheOperator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newStore(t)
	onboardedAt := t0.Add(time.Minute)
	rerunAt := onboardedAt.Add(24 * time.Hour)
	for i, c := range []struct {
		name  string
		state onboarding.State
		sent  time.Time
		page  bool
		// subscribed is when a signup run again subscribed our app again.
		subscribed time.Time
	}{
		{"the first signup's share, delivered after it ended", onboarding.StateOnboarded, t0, false, time.Time{}},
		{"a share Meta sent just after the signup ended (clocks differ)", onboarding.StateOnboarded, onboardedAt.Add(time.Minute), false, time.Time{}},
		{"a share a day after the onboarding", onboarding.StateOnboarded, onboardedAt.Add(24 * time.Hour), true, time.Time{}},
		{"a share of a restricted WABA a day after", onboarding.StateRestricted, onboardedAt.Add(24 * time.Hour), true, time.Time{}},
		{"a share after a removal we saw: the reconnect subscribes", onboarding.StateDisconnected, onboardedAt.Add(24 * time.Hour), false, time.Time{}},
		{"a re-run's share, delivered after the re-run subscribed our app again", onboarding.StateOnboarded, rerunAt.Add(-30 * time.Second), false, rerunAt},
		{"a re-run's share of a restricted WABA, after it subscribed", onboarding.StateRestricted, rerunAt.Add(-30 * time.Second), false, rerunAt},
		{"a share hours after a re-run subscribed our app again", onboarding.StateOnboarded, rerunAt.Add(20 * time.Hour), true, rerunAt},
		// Meta's clock an hour ahead of ours: no run's share still posting
		// its code, so it pages at once rather than waiting.
		{"a share stamped an hour ahead of our clock", onboarding.StateOnboarded, onboardedAt.Add(49 * time.Hour), true, time.Time{}},
		// A record kept without onboarded_at (written before the stamp
		// was) says nothing of when our app subscribed: no page.
		{"an onboarded record with no subscription time", onboarding.StateOnboarded, onboardedAt.Add(24 * time.Hour), false, time.Time{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var emitted, logged bytes.Buffer
			svc := &metawebhooks.Service{Records: store, Ledger: newCallbackLedger(t), Metrics: &metrics.EMF{W: &emitted, Namespace: "test"},
				Logger: slog.New(slog.NewJSONHandler(&logged, nil)), Now: func() time.Time { return onboardedAt.Add(48 * time.Hour) }}
			waba := strconv.Itoa(109876543219005 + i)
			rec := onboardedRecord(waba)
			rec.State, rec.OnboardedAt, rec.SubscribedAt = c.state, onboardedAt, c.subscribed
			if strings.HasSuffix(c.name, "no subscription time") {
				rec.OnboardedAt = time.Time{}
			}
			if _, err := store.Acquire(ctx, rec, t0); err != nil {
				t.Fatal(err)
			}
			n := partnerEvent(t, waba, "PARTNER_ADDED", c.sent)
			for _, delivery := range []string{"delivery-1", "delivery-2"} {
				if _, err := svc.Handle(ctx, n, delivery); err != nil {
					t.Fatal(err)
				}
			}
			paged := strings.Count(emitted.String(), `"`+onboarding.MetricWebhookSubscribeFailed+`":1`)
			switch {
			case c.page && paged != 1:
				t.Errorf("counted %s %d times over a delivery and its redelivery, want once", onboarding.MetricWebhookSubscribeFailed, paged)
			case !c.page && paged != 0:
				t.Errorf("counted %s: %s", onboarding.MetricWebhookSubscribeFailed, emitted.String())
			}
			if c.page && !strings.Contains(logged.String(), waba) {
				t.Errorf("no log line names the WABA: %s", logged.String())
			}
			if got, err := store.Get(ctx, waba); err != nil || got.State != c.state {
				t.Errorf("the share left the record %v (err %v), want %s", got, err, c.state)
			}
		})
	}
}

// TestRefusedMetaChangeOrdersNothing: a change refused for what it is
// (a violation under a block, an end-of-offboarding under a restriction)
// leaves no mark, so a change Meta sent before it, delivered after it,
// still applies.
func TestRefusedMetaChangeOrdersNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storeWithOnboarded(t, "8")
	at, end := t0.Add(time.Hour), t0.Add(48*time.Hour)
	const block = "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING"
	for _, c := range []struct {
		name  string
		apply func() (bool, error)
		want  bool
	}{
		{"a block with an end", func() (bool, error) { return s.Restrict(ctx, "8", block, end, at, metaSent(10)) }, true},
		{"a violation under it is refused", func() (bool, error) {
			return s.Restrict(ctx, "8", "account_violation:SCAM", time.Time{}, at, metaSent(30))
		}, false},
		{"the end of an offboarding lifts nothing", func() (bool, error) {
			return s.Reinstate(ctx, "8", "account_reconnected", "account_offboarded", at, metaSent(40))
		}, false},
		{"Meta's extension, sent before both, still applies", func() (bool, error) {
			return s.Restrict(ctx, "8", block, end.Add(24*time.Hour), at, metaSent(20))
		}, true},
		// The same restriction again is in force: it orders the changes
		// sent before it.
		{"the extension again", func() (bool, error) { return s.Restrict(ctx, "8", block, end.Add(24*time.Hour), at, metaSent(50)) }, false},
		{"so a reinstatement sent before it does not apply", func() (bool, error) {
			return s.Reinstate(ctx, "8", "reinstated", "", at, metaSent(45))
		}, false},
	} {
		if ok, err := c.apply(); err != nil || ok != c.want {
			t.Fatalf("%s: changed %t, err %v; want %t", c.name, ok, err, c.want)
		}
	}
	rec, err := s.Get(ctx, "8")
	if err != nil || rec.State != onboarding.StateRestricted || !rec.RestrictedUntil.Equal(end.Add(24*time.Hour)) {
		t.Errorf("record %s until %v (err %v), want restricted until the extension's end", rec.State, rec.RestrictedUntil, err)
	}
}

// TestDeferredRestrictionDoesNotOvertakeLaterReinstatement: a restriction
// deferred while the signup waits for Plivo comes back after Meta lifted
// it again; the onboarded WABA must not end restricted for good.
func TestDeferredRestrictionDoesNotOvertakeLaterReinstatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newStore(t)
	clock := t0
	svc := &metawebhooks.Service{Records: store, Ledger: newCallbackLedger(t),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock }}
	const waba = "109876543219001"
	rec := verifying(waba, "signup-a", t0.Add(time.Minute))
	if _, err := store.Acquire(ctx, rec, t0); err != nil {
		t.Fatal(err)
	}
	verified := *rec
	verified.State, verified.VerifiedAt, verified.NextRetryAt = onboarding.StateVerified, t0, t0.Add(time.Minute)
	if _, err := store.Save(ctx, &verified); err != nil {
		t.Fatal(err)
	}
	notification := func(at time.Time, value string) *metawebhooks.Notification {
		body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":%q,"time":%d,"changes":[{"field":"account_update","value":%s}]}]}`,
			waba, at.Unix(), value)
		n, err := metawebhooks.ParseNotification([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	disable := notification(t0.Add(time.Second), `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":["DISABLE"],"waba_ban_date":"2036-11-25"}}`)
	clock = t0.Add(time.Second)
	if _, err := svc.Handle(ctx, disable, "delivery-1"); !errors.Is(err, onboarding.ErrSignupUnderway) {
		t.Fatalf("restriction during the signup: %v, want it deferred", err)
	}
	onboarded := verified
	onboarded.State, onboarded.OnboardedAt, onboarded.UpdatedAt = onboarding.StateOnboarded, t0.Add(2*time.Second), t0.Add(2*time.Second)
	onboarded.NextRetryAt, onboarded.LockExpiresAt = time.Time{}, time.Time{}
	if _, err := store.Save(ctx, &onboarded); err != nil {
		t.Fatal(err)
	}
	clock = t0.Add(30 * time.Second)
	if _, err := svc.Handle(ctx, notification(clock, `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":["REINSTATE"]}}`), "delivery-2"); err != nil {
		t.Fatal(err)
	}
	clock = t0.Add(time.Minute)
	if _, err := svc.Handle(ctx, disable, "delivery-3"); err != nil {
		t.Fatal(err)
	}
	got, err := store.Get(ctx, waba)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != onboarding.StateOnboarded {
		t.Errorf("Meta's last change reinstated the WABA, but the record is %s (%s)", got.State, got.StateReason)
	}
}

// TestRemovalBeforeAResubscriptionIsOver: our endpoint refused Meta's
// removal of our app, and the customer ran the signup again meanwhile,
// which subscribed our app again (subscribed_at). Meta's redelivery of
// that removal, and of the share before it, then comes: the removal was
// sent before our app was subscribed again, so the WABA is still ours and
// the record stays onboarded. A removal sent after the subscription
// disconnects it.
func TestRemovalBeforeAResubscriptionIsOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Our clock's stamp carries nanoseconds; Meta's time is whole seconds.
	subscribed := metaSent(20).Add(400*time.Millisecond + 123)
	for i, c := range []struct {
		name       string
		shareFirst bool
		sent       time.Time
		want       onboarding.State
		// subscribed is our stamp when not the one above.
		subscribed time.Time
	}{
		{"removal sent before the subscription, its share not yet delivered", false, metaSent(10), onboarding.StateOnboarded, time.Time{}},
		{"removal sent before the subscription, delivered after its share", true, metaSent(10), onboarding.StateOnboarded, time.Time{}},
		{"removal sent after the subscription", true, metaSent(30), onboarding.StateDisconnected, time.Time{}},
		{"removal sent the second before the subscription's", true, metaSent(19), onboarding.StateOnboarded, time.Time{}},
		// The removal's second ended as our stamp's began: the
		// subscription came after it.
		{"removal sent the second before a subscription on the whole second", true, metaSent(19), onboarding.StateOnboarded, metaSent(20)},
		// Meta's second may have ended after our subscription: the removal
		// applies, as a share of the same second as a removal does not
		// undo it (sharedAgainCondition). Wrongly kept, the record would
		// say onboarded while Meta sends us nothing; wrongly applied, the
		// customer sees it disconnected and runs the signup again.
		{"removal sent in the second of the subscription", true, metaSent(20), onboarding.StateDisconnected, time.Time{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			waba := strconv.Itoa(109876543219100 + i)
			rec := onboardedRecord(waba)
			if _, err := s.Acquire(ctx, rec, t0); err != nil {
				t.Fatal(err)
			}
			if err := s.StampSubscribed(ctx, waba, cmp.Or(c.subscribed, subscribed)); err != nil {
				t.Fatal(err)
			}
			if c.shareFirst {
				if _, err := s.PutUnclaimed(ctx, waba, rec.BusinessID, "partner_added", t0.Add(time.Hour), metaSent(15)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Disconnect(ctx, waba, "partner_removed", t0.Add(time.Hour), c.sent); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, waba)
			if err != nil || got.State != c.want {
				t.Fatalf("record %+v (err %v), want %s", got, err, c.want)
			}
		})
	}
}

// TestFreshShareWaitsForItsSignup: Meta sends the share of a customer's
// run of the signup again as the customer finishes it, and may deliver it
// before the run's code reaches us and its subscription is stamped. A
// share that would page, sent moments ago, is therefore deferred (503, the
// claim released) for Meta to deliver again: by then the run has
// subscribed our app and stamped the record, and nothing pages. A share no
// signup followed pages once it is older than the wait.
func TestFreshShareWaitsForItsSignup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	onboardedAt := t0.Add(time.Minute)
	sharedAt := onboardedAt.Add(24 * time.Hour)
	for i, c := range []struct {
		name string
		// stamp: the run's subscription lands before the redelivery.
		stamp bool
		// redelivered is how long after the share Meta delivers it again.
		redelivered time.Duration
		page        bool
		// skew is Meta's clock less ours.
		skew time.Duration
		// restamped: Meta stamps each delivery's entry.time anew, when it
		// sends it (its reference does not say whether a redelivery keeps
		// the first one's).
		restamped bool
		// sightLost: the dedup table refuses the write that keeps when
		// the share was first seen.
		sightLost bool
	}{
		{name: "the run subscribed before the redelivery", stamp: true, redelivered: 30 * time.Second},
		{name: "no signup followed: the redelivery after the wait pages", redelivered: 5 * time.Minute, page: true},
		{name: "entry.time stamped anew: the run subscribed before the redelivery", stamp: true, redelivered: 30 * time.Second, restamped: true},
		{name: "entry.time stamped anew, no signup followed: the redelivery after the wait pages", redelivered: 5 * time.Minute,
			restamped: true, page: true},
		{name: "Meta's clock minutes behind ours: the share still waits for its run", stamp: true, redelivered: 30 * time.Second,
			skew: -3 * time.Minute},
		{name: "Meta's clock minutes ahead of ours: the share still waits for its run", stamp: true, redelivered: 30 * time.Second,
			skew: 3 * time.Minute},
		{name: "Meta's clock minutes behind ours, no signup followed: pages after the wait", redelivered: 5 * time.Minute,
			skew: -3 * time.Minute, page: true},
		// The dedup table cannot keep the first sight: entry.time alone
		// decides, as it did before the first sight was kept.
		{name: "first sight not kept: the run subscribed before the redelivery", stamp: true, redelivered: 30 * time.Second,
			sightLost: true},
		{name: "first sight not kept, no signup followed: the redelivery after the wait pages", redelivered: 5 * time.Minute,
			sightLost: true, page: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			store := newStore(t)
			var emitted bytes.Buffer
			clock := sharedAt.Add(3 * time.Second)
			var ledger callbacks.Ledger = newCallbackLedger(t)
			if c.sightLost {
				ledger = sightLostLedger{ledger}
			}
			svc := &metawebhooks.Service{Records: store, Ledger: ledger, Metrics: &metrics.EMF{W: &emitted, Namespace: "test"},
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock }}
			waba := strconv.Itoa(109876543219200 + i)
			rec := onboardedRecord(waba)
			rec.OnboardedAt = onboardedAt
			if _, err := store.Acquire(ctx, rec, t0); err != nil {
				t.Fatal(err)
			}
			share := partnerEvent(t, waba, "PARTNER_APP_INSTALLED", sharedAt.Add(c.skew))
			_, err := svc.Handle(ctx, share, "delivery-1")
			if code := onboarding.ErrorCode(err); code != onboarding.CodeUpstreamUnavailable {
				t.Fatalf("a fresh share that would page answered %v, want deferred (%s)", err, onboarding.CodeUpstreamUnavailable)
			}
			if strings.Contains(emitted.String(), onboarding.MetricWebhookSubscribeFailed) {
				t.Fatalf("the fresh share paged before its signup could subscribe: %s", emitted.String())
			}
			if c.stamp {
				if err := store.StampSubscribed(ctx, waba, sharedAt.Add(5*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			clock = sharedAt.Add(c.redelivered)
			if c.restamped {
				share = partnerEvent(t, waba, "PARTNER_APP_INSTALLED", clock.Add(c.skew-time.Second))
			}
			if _, err := svc.Handle(ctx, share, "delivery-2"); err != nil {
				t.Fatalf("redelivery: %v", err)
			}
			if paged := strings.Count(emitted.String(), `"`+onboarding.MetricWebhookSubscribeFailed+`":1`); paged != map[bool]int{true: 1}[c.page] {
				t.Errorf("counted %s %d times, want page %t: %s", onboarding.MetricWebhookSubscribeFailed, paged, c.page, emitted.String())
			}
		})
	}
}

// TestShareWaitIsPerSubscription: the first sight of a share that would
// page is kept per subscription of our app. After a share paged, the
// customer ran the signup again (a new subscription); a share hours later
// that would page is a new one, and waits for its own run, not paged at
// once because a share was seen before the last subscription.
func TestShareWaitIsPerSubscription(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newStore(t)
	var emitted bytes.Buffer
	onboardedAt := t0.Add(time.Minute)
	sharedAt := onboardedAt.Add(24 * time.Hour)
	clock := sharedAt.Add(3 * time.Second)
	svc := &metawebhooks.Service{Records: store, Ledger: newCallbackLedger(t), Metrics: &metrics.EMF{W: &emitted, Namespace: "test"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock }}
	const waba = "109876543219300"
	rec := onboardedRecord(waba)
	rec.OnboardedAt = onboardedAt
	if _, err := store.Acquire(ctx, rec, t0); err != nil {
		t.Fatal(err)
	}
	deferred := func(sent time.Time, delivery string) bool {
		t.Helper()
		_, err := svc.Handle(ctx, partnerEvent(t, waba, "PARTNER_APP_INSTALLED", sent), delivery)
		if err != nil && onboarding.ErrorCode(err) != onboarding.CodeUpstreamUnavailable {
			t.Fatalf("%s: %v", delivery, err)
		}
		return err != nil
	}
	if !deferred(sharedAt, "share-1") {
		t.Fatal("the first fresh share was not deferred")
	}
	clock = sharedAt.Add(5 * time.Minute)
	if deferred(sharedAt, "share-1-again") || !strings.Contains(emitted.String(), onboarding.MetricWebhookSubscribeFailed) {
		t.Fatalf("the first share, no signup followed, did not page after its wait: %s", emitted.String())
	}
	// The customer runs the signup again; hours later Meta shares again.
	if err := store.StampSubscribed(ctx, waba, sharedAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	clock = sharedAt.Add(3 * time.Hour)
	if !deferred(clock.Add(-time.Second), "share-2") {
		t.Error("a fresh share after a new subscription paged at once instead of waiting for its run")
	}
}

// sightLostLedger is a dedup table that refuses, as an unavailable
// DynamoDB would, only the write keeping when a share that would page was
// first seen (its key starts meta-share-wait#).
type sightLostLedger struct{ callbacks.Ledger }

func (l sightLostLedger) Claim(ctx context.Context, e *callbacks.Entry, now time.Time) (*callbacks.Entry, error) {
	if strings.HasPrefix(e.Key, "meta-share-wait#") {
		return nil, errors.New("dedup table unavailable")
	}
	return l.Ledger.Claim(ctx, e, now)
}
