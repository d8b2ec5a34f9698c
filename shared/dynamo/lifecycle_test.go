package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/techprovider/wa-onboarding/infra/testenv"
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
	ok, err := s.Restrict(ctx, "1", "account_restriction:RESTRICTED_ADD_PHONE_NUMBER_ACTION", until, t0.Add(time.Minute))
	step("restrict", true, ok, err)
	ok, err = s.Restrict(ctx, "1", "account_restriction:RESTRICTED_ADD_PHONE_NUMBER_ACTION", until, t0.Add(2*time.Minute))
	step("restrict again", false, ok, err)
	ok, err = s.Reinstate(ctx, "1", "account_reconnected", "account_offboarded", t0.Add(3*time.Minute))
	step("the end of an offboarding does not lift a restriction", false, ok, err)
	ok, err = s.Reinstate(ctx, "1", "reinstated", "", t0.Add(3*time.Minute))
	step("reinstate", true, ok, err)
	ok, err = s.Restrict(ctx, "1", "account_offboarded", time.Time{}, t0.Add(3*time.Minute))
	step("offboarded", true, ok, err)
	ok, err = s.Reinstate(ctx, "1", "account_reconnected", "account_offboarded", t0.Add(3*time.Minute))
	step("reconnected", true, ok, err)
	ok, err = s.SetHealth(ctx, "1", "15550100", onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_1K", UpdatedAt: t0.Add(4 * time.Minute)})
	step("health", true, ok, err)
	ok, err = s.SetHealth(ctx, "1", "19990000", onboarding.Health{QualityEvent: "UPGRADE", UpdatedAt: t0.Add(4 * time.Minute)})
	step("health of another number", false, ok, err)
	ok, err = s.Disconnect(ctx, "1", "partner_app_uninstalled", t0.Add(5*time.Minute))
	step("disconnect", true, ok, err)
	ok, err = s.Disconnect(ctx, "1", "partner_app_uninstalled", t0.Add(6*time.Minute))
	step("disconnect again", false, ok, err)
	ok, err = s.Disconnect(ctx, "unknown", "partner_removed", t0)
	step("disconnect unknown", false, ok, err)
	ok, err = s.PutUnclaimed(ctx, "1", "198765432109876", "partner_app_installed", t0)
	step("unclaimed over a record", false, ok, err)
	ok, err = s.PutUnclaimed(ctx, "2", "198765432109876", "partner_app_installed", t0)
	step("unclaimed", true, ok, err)

	rec, err := s.Get(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != onboarding.StateDisconnected || rec.PreviousState != onboarding.StateOnboarded || rec.StateReason != "partner_app_uninstalled" ||
		rec.Health.QualityEvent != "FLAGGED" || rec.Health.MessagingLimit != "TIER_1K" || !rec.RestrictedUntil.IsZero() {
		t.Errorf("record %+v", rec)
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

	recs, err := s.ByClientRef(ctx, "customer-7")
	if err != nil || len(recs) != 1 || recs[0].WABAID != "1" || !recs[0].Reconnect {
		t.Errorf("ByClientRef: %d records %+v, err %v", len(recs), recs, err)
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
	if ok, err := s.Disconnect(ctx, "5", "partner_removed", t0.Add(time.Minute)); !ok || err != nil {
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
