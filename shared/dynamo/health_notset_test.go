package dynamo_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamotypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestNotSetNeverReplacesThePortfoliosLimit: Meta sets messaging limits per
// business portfolio, shared by all its numbers (the "Messaging limits"
// page), and its phone_number_quality_update reference gives TIER_NOT_SET
// for a number that has not sent a message yet. That is a word about the
// number, not a limit of the portfolio: reported for the record's own
// number, it fills a record that knows no limit, and never replaces nor
// outranks one the portfolio was given, whenever Meta sent either.
func TestNotSetNeverReplacesThePortfoliosLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	notSet := `{"display_phone_number":"15550100","event":"ONBOARDING","max_daily_conversations_per_business":"TIER_NOT_SET"}`
	capability := func(limit int) string { return fmt.Sprintf(`{"max_daily_conversations_per_business":%d}`, limit) }
	type step struct {
		name         string
		sent         int
		field, value string
		want         onboarding.Health // UpdatedAt not compared
	}
	cases := []struct {
		name, waba string
		steps      []step
	}{
		{"a known limit stays", "109876543219011", []step{
			{"the portfolio's limit", 10, metawebhooks.FieldCapabilityUpdate, capability(10000),
				onboarding.Health{MessagingLimit: "TIER_10K"}},
			{"the record's number has not sent yet", 20, metawebhooks.FieldQualityUpdate, notSet,
				onboarding.Health{QualityEvent: "ONBOARDING", MessagingLimit: "TIER_10K"}},
		}},
		{"an empty limit is filled, and the portfolio's replaces it", "109876543219012", []step{
			{"the record's number has not sent yet", 20, metawebhooks.FieldQualityUpdate, notSet,
				onboarding.Health{QualityEvent: "ONBOARDING", MessagingLimit: "TIER_NOT_SET"}},
			{"the portfolio's limit, sent before it and delivered late", 10, metawebhooks.FieldCapabilityUpdate, capability(2000),
				onboarding.Health{QualityEvent: "ONBOARDING", MessagingLimit: "TIER_2K"}},
			{"the number's word again changes no limit", 30, metawebhooks.FieldQualityUpdate, notSet,
				onboarding.Health{QualityEvent: "ONBOARDING", MessagingLimit: "TIER_2K"}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			store := storeWithOnboarded(t, c.waba)
			clock := t0
			svc := &metawebhooks.Service{Records: store, Ledger: newCallbackLedger(t),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock }}
			for _, st := range c.steps {
				body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":%q,"time":%d,"changes":[{"field":%q,"value":%s}]}]}`,
					c.waba, metaSent(st.sent).Unix(), st.field, st.value)
				n, err := metawebhooks.ParseNotification([]byte(body))
				if err != nil {
					t.Fatal(err)
				}
				clock = clock.Add(time.Minute)
				if _, err := svc.Handle(ctx, n, fmt.Sprintf("delivery-%d", clock.Unix())); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				got := healthOf(t, store, c.waba)
				if got != st.want {
					t.Fatalf("%s: health %+v, want %+v", st.name, got, st.want)
				}
			}
		})
	}
}

// TestNotSetStoredWithItsTimeOrdersNothing: a record written before
// TIER_NOT_SET stopped carrying Meta's time holds it with a limit_sent_at.
// That time must not make the portfolio's real limit, sent before it and
// delivered late, look outdated: the record would keep TIER_NOT_SET until
// Meta next changed the limit. It must not either when the late change
// also carries a quality event Meta has changed since, and only the fields
// Meta has not changed since are written.
func TestNotSetStoredWithItsTimeOrdersNothing(t *testing.T) {
	t.Parallel()
	sentAt := func(sec int) dynamotypes.AttributeValue {
		return &dynamotypes.AttributeValueMemberN{Value: fmt.Sprint(metaSent(sec).Unix())}
	}
	notSet := &dynamotypes.AttributeValueMemberS{Value: onboarding.LimitNotSet}
	cases := []struct {
		name, waba string
		stored     map[string]dynamotypes.AttributeValue
		change     onboarding.Health
		want       onboarding.Health
	}{
		{"the limit alone", "109876543219013",
			map[string]dynamotypes.AttributeValue{"messaging_limit": notSet, "limit_sent_at": sentAt(20)},
			onboarding.Health{MessagingLimit: "TIER_2K"},
			onboarding.Health{MessagingLimit: "TIER_2K"}},
		{"the limit beside a quality event Meta changed since", "109876543219014",
			map[string]dynamotypes.AttributeValue{"messaging_limit": notSet, "limit_sent_at": sentAt(20),
				"quality_event": &dynamotypes.AttributeValueMemberS{Value: "FLAGGED"}, "quality_sent_at": sentAt(30)},
			onboarding.Health{QualityEvent: "UPGRADE", MessagingLimit: "TIER_2K"},
			onboarding.Health{QualityEvent: "FLAGGED", MessagingLimit: "TIER_2K"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			store := storeWithOnboarded(t, c.waba)
			setAttributes(t, store, c.waba, c.stored)
			change := c.change
			change.UpdatedAt = t0
			changed, err := store.SetHealth(t.Context(), c.waba, "", change, metaSent(10))
			if err != nil || !changed {
				t.Fatalf("changed %v, error %v; want the limit written", changed, err)
			}
			got := healthOf(t, store, c.waba)
			if got != c.want {
				t.Fatalf("health %+v, want %+v", got, c.want)
			}
		})
	}
}

// setAttributes writes attrs onto waba's record as it is, the way a record
// written by an earlier version of the store would hold them.
func setAttributes(t *testing.T, store *dynamo.Store, waba string, attrs map[string]dynamotypes.AttributeValue) {
	t.Helper()
	var sets []string
	values := map[string]dynamotypes.AttributeValue{}
	for name, v := range attrs {
		sets = append(sets, name+" = :"+name)
		values[":"+name] = v
	}
	_, err := store.Client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(store.Table),
		Key:                       map[string]dynamotypes.AttributeValue{"waba_id": &dynamotypes.AttributeValueMemberS{Value: waba}},
		UpdateExpression:          aws.String("SET " + strings.Join(sets, ", ")),
		ExpressionAttributeValues: values,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// healthOf is what waba's record says of its health, without the time of
// our last write, which no story of Meta's orders.
func healthOf(t *testing.T, store *dynamo.Store, waba string) onboarding.Health {
	t.Helper()
	rec, err := store.Get(t.Context(), waba)
	if err != nil {
		t.Fatal(err)
	}
	h := rec.Health
	h.UpdatedAt = time.Time{}
	return h
}
