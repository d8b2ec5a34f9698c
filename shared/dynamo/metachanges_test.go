package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// Reasons of Meta's restrictions, as metawebhooks names them.
const (
	disableReason   = "disabled_update:DISABLE"
	violationReason = "account_violation:SCAM"
	blockReason     = "account_restriction:RESTRICTED_BIZ_INITIATED_MESSAGING"
	addNumberReason = "account_restriction:RESTRICTED_ADD_PHONE_NUMBER_ACTION"
)

// metaStory builds the steps of a story of Meta's webhooks on one store,
// each change handled at at and sent by Meta sec seconds after t0.
type metaStory struct {
	s  *dynamo.Store
	at time.Time
}

func (m metaStory) restrict(reason string, until time.Time, sec int) func(string) (bool, error) {
	return func(w string) (bool, error) {
		return m.s.Restrict(context.Background(), w, reason, until, m.at, metaSent(sec))
	}
}

func (m metaStory) reinstate(sec int) func(string) (bool, error) {
	return func(w string) (bool, error) {
		return m.s.Reinstate(context.Background(), w, "reinstated", "", m.at, metaSent(sec))
	}
}

func (m metaStory) removal(sec int) func(string) (bool, error) {
	return func(w string) (bool, error) {
		return m.s.Disconnect(context.Background(), w, "partner_removed", m.at, metaSent(sec))
	}
}

func (m metaStory) share(sec int) func(string) (bool, error) {
	return func(w string) (bool, error) {
		return m.s.PutUnclaimed(context.Background(), w, "198765432109876", "partner_added", m.at, metaSent(sec))
	}
}

// signupAgain is a plain signup that takes the record's lock and onboards
// the WABA.
func (m metaStory) signupAgain(w string) (bool, error) {
	ctx := context.Background()
	rec := verifying(w, owner("again"), m.at.Add(time.Minute))
	if _, err := m.s.Acquire(ctx, rec, m.at); err != nil {
		return false, err
	}
	rec.State, rec.OnboardedAt, rec.PlivoAPIID, rec.LockExpiresAt = onboarding.StateOnboarded, m.at, "api", time.Time{}
	_, err := m.s.Save(ctx, rec)
	return err == nil, err
}

// seedSignup writes waba's record as a signup leaves it in state: locked,
// then saved.
func seedSignup(t *testing.T, s *dynamo.Store, waba string, state onboarding.State) {
	t.Helper()
	ctx := context.Background()
	rec := verifying(waba, owner("signup"), t0.Add(time.Minute))
	if _, err := s.Acquire(ctx, rec, t0); err != nil {
		t.Fatal(err)
	}
	rec.State, rec.VerifiedAt = state, t0
	switch state {
	case onboarding.StateVerified:
		rec.NextRetryAt = t0.Add(time.Minute)
	case onboarding.StateFailed:
		rec.FailureReason, rec.LockExpiresAt = "plivo_rejected", time.Time{}
	}
	if _, err := s.Save(ctx, rec); err != nil {
		t.Fatal(err)
	}
}

// TestOnlyWhatHoldsOrdersMetasChanges: a change of Meta's records Meta's
// time when it applies, or finds the record already as it would leave it,
// and a change Meta sent before that, delivered after it, is then refused.
// A change refused for anything else (a weaker or shorter restriction, a
// record in another state) must record nothing, or it would refuse an
// earlier change that still holds.
func TestOnlyWhatHoldsOrdersMetasChanges(t *testing.T) {
	t.Parallel()
	end := t0.Add(48 * time.Hour)
	tests := []struct {
		name  string
		seed  onboarding.State // "" for no record
		steps func(m metaStory) []metaStep
	}{
		{"the same restriction without an end is in force", onboarding.StateOnboarded, func(m metaStory) []metaStep {
			return []metaStep{
				{"Meta disables the account", m.restrict(disableReason, time.Time{}, 10), true, onboarding.StateRestricted},
				{"and says so again", m.restrict(disableReason, time.Time{}, 30), false, onboarding.StateRestricted},
				{"so a reinstatement sent between the two does not apply", m.reinstate(20), false, onboarding.StateRestricted},
			}
		}},
		{"a violation refused under a disable", onboarding.StateOnboarded, func(m metaStory) []metaStep {
			return []metaStep{
				{"Meta disables the account", m.restrict(disableReason, time.Time{}, 10), true, onboarding.StateRestricted},
				{"a later violation does not take its place", m.restrict(violationReason, time.Time{}, 30), false, onboarding.StateRestricted},
				{"so a reinstatement sent before the violation still applies", m.reinstate(20), true, onboarding.StateOnboarded},
			}
		}},
		{"a shorter restriction refused under a longer one", onboarding.StateOnboarded, func(m metaStory) []metaStep {
			return []metaStep{
				{"a block", m.restrict(blockReason, end.Add(24*time.Hour), 10), true, onboarding.StateRestricted},
				{"the same block ending sooner does not shorten it", m.restrict(blockReason, end, 30), false, onboarding.StateRestricted},
				{"so a reinstatement sent before it still applies", m.reinstate(20), true, onboarding.StateOnboarded},
			}
		}},
		{"another restriction with the same end refused", onboarding.StateOnboarded, func(m metaStory) []metaStep {
			return []metaStep{
				{"a block", m.restrict(blockReason, end, 10), true, onboarding.StateRestricted},
				{"another one ending with it does not replace it", m.restrict(addNumberReason, end, 30), false, onboarding.StateRestricted},
				{"so a reinstatement sent before it still applies", m.reinstate(20), true, onboarding.StateOnboarded},
			}
		}},
		{"changes refused for a failed signup", onboarding.StateFailed, func(m metaStory) []metaStep {
			return []metaStep{
				{"a removal does not disconnect a failed signup", m.removal(20), false, onboarding.StateFailed},
				{"nor does a restriction restrict it", m.restrict(disableReason, time.Time{}, 25), false, onboarding.StateFailed},
				{"the customer signs up again", m.signupAgain, true, onboarding.StateOnboarded},
				{"a restriction Meta sent before both still applies", m.restrict(disableReason, time.Time{}, 10), true, onboarding.StateRestricted},
			}
		}},
		// Changes of the same second apply in the order they arrive.
		{"a removal of the same second as the share", "", func(m metaStory) []metaStep {
			return []metaStep{
				{"Meta tells us the WABA was shared", m.share(20), true, onboarding.StateUnclaimed},
				{"and removed in the same second, after", m.removal(20), true, onboarding.StateDisconnected},
			}
		}},
		{"a removal while the signup waits for Plivo", onboarding.StateVerified, func(m metaStory) []metaStep {
			return []metaStep{
				{"a removal with Meta's time, no share since", m.removal(10), true, onboarding.StateDisconnected},
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const waba = "109876543219013"
			s := newStore(t)
			if tt.seed != "" {
				seedSignup(t, s, waba, tt.seed)
			}
			runMetaSteps(t, s, waba, tt.steps(metaStory{s: s, at: t0.Add(time.Hour)}))
		})
	}
}

// TestMetaChangesStampTheRecord: each change Meta's webhooks make records
// the state it left (previous_state) and its own time as state_changed_at
// and updated_at. The stream publisher publishes a restriction that
// replaces another only when state_changed_at moved, and names and orders
// every event by updated_at; the views show previous_state.
func TestMetaChangesStampTheRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storeWithOnboarded(t, "14")
	end := t0.Add(48 * time.Hour)
	steps := []struct {
		name            string
		reason          string
		until           time.Time
		state, previous onboarding.State
	}{
		{"a violation", violationReason, time.Time{}, onboarding.StateRestricted, onboarding.StateOnboarded},
		{"a restriction without an end replaces it", blockReason, time.Time{}, onboarding.StateRestricted, onboarding.StateRestricted},
		{"Meta restates it with an end", blockReason, end, onboarding.StateRestricted, onboarding.StateRestricted},
		{"and again without one", blockReason, time.Time{}, onboarding.StateRestricted, onboarding.StateRestricted},
		{"a disable replaces it", disableReason, time.Time{}, onboarding.StateRestricted, onboarding.StateRestricted},
		{"a reinstatement", "reinstated", time.Time{}, onboarding.StateOnboarded, onboarding.StateRestricted},
		{"restricted until a date", blockReason, end, onboarding.StateRestricted, onboarding.StateOnboarded},
		{"reinstated before that date", "reinstated", time.Time{}, onboarding.StateOnboarded, onboarding.StateRestricted},
	}
	for i, st := range steps {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		var ok bool
		var err error
		if st.state == onboarding.StateOnboarded {
			ok, err = s.Reinstate(ctx, "14", st.reason, "", at, time.Time{})
		} else {
			ok, err = s.Restrict(ctx, "14", st.reason, st.until, at, time.Time{})
		}
		if !ok || err != nil {
			t.Fatalf("%s: changed %t, err %v; want it applied", st.name, ok, err)
		}
		rec, err := s.Get(ctx, "14")
		if err != nil {
			t.Fatal(err)
		}
		if rec.State != st.state || rec.PreviousState != st.previous || rec.StateReason != st.reason || !rec.RestrictedUntil.Equal(st.until) {
			t.Errorf("%s: record %s from %q for %q until %v; want %s from %s for %q until %v", st.name, rec.State, rec.PreviousState,
				rec.StateReason, rec.RestrictedUntil, st.state, st.previous, st.reason, st.until)
		}
		if !rec.StateChangedAt.Equal(at) || !rec.UpdatedAt.Equal(at) {
			t.Errorf("%s: state changed at %v, updated at %v; want both %v", st.name, rec.StateChangedAt, rec.UpdatedAt, at)
		}
		if !rec.NextRetryAt.IsZero() {
			t.Errorf("%s: record due for a Plivo retry at %v", st.name, rec.NextRetryAt)
		}
	}
}

// TestDisconnectLeavesNothingOfWhatItEnded: a disconnect ends the signup's
// Plivo retries, the restriction and the reconnect before it. Left in the
// retry index, a disconnected record would be listed by every resume run
// (Due, ExpiredRestrictions), refused there, and take a place of the run's
// limit from a record that is due; a restriction's end left on it would be
// published with the disconnect and shown in the views; a reconnect mark
// left on it would make the next reconnect take it for one that stopped
// half-way, and publish the state before the disconnect as the one it
// comes from.
func TestDisconnectLeavesNothingOfWhatItEnded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	end := t0.Add(24 * time.Hour)
	tests := []struct {
		name string
		seed func(t *testing.T, s *dynamo.Store, waba string)
	}{
		{"a verified signup waiting for Plivo", func(t *testing.T, s *dynamo.Store, waba string) {
			seedSignup(t, s, waba, onboarding.StateVerified)
		}},
		{"a restriction with an end", func(t *testing.T, s *dynamo.Store, waba string) {
			if _, err := s.Acquire(ctx, onboardedRecord(waba), t0); err != nil {
				t.Fatal(err)
			}
			if ok, err := s.Restrict(ctx, waba, blockReason, end, t0.Add(time.Minute), time.Time{}); !ok || err != nil {
				t.Fatalf("restrict: %t, %v", ok, err)
			}
		}},
		{"a reconnect's onboarding", func(t *testing.T, s *dynamo.Store, waba string) {
			rec := onboardedRecord(waba)
			rec.Reconnect, rec.PreviousState = true, onboarding.StateDisconnected
			if _, err := s.Acquire(ctx, rec, t0); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const waba = "109876543219014"
			s := newStore(t)
			tt.seed(t, s, waba)
			if ok, err := s.Disconnect(ctx, waba, "partner_removed", t0.Add(time.Hour), metaSent(30)); !ok || err != nil {
				t.Fatalf("disconnect: %t, %v", ok, err)
			}
			later := end.Add(time.Hour)
			if due, err := s.Due(ctx, later, 10); err != nil || len(due) != 0 {
				t.Errorf("due for Plivo after the disconnect: %+v, %v", due, err)
			}
			if expired, err := s.ExpiredRestrictions(ctx, later, 10); err != nil || len(expired) != 0 {
				t.Errorf("due to be lifted after the disconnect: %+v, %v", expired, err)
			}
			rec, err := s.Get(ctx, waba)
			if err != nil {
				t.Fatal(err)
			}
			if rec.State != onboarding.StateDisconnected || !rec.NextRetryAt.IsZero() || !rec.RestrictedUntil.IsZero() || rec.Reconnect || rec.LockOwner != "" {
				t.Errorf("record %s, retry at %v, restricted until %v, reconnect %t, lock %q: want disconnected with none of them",
					rec.State, rec.NextRetryAt, rec.RestrictedUntil, rec.Reconnect, rec.LockOwner)
			}
			// The index's keys too: an item keeps its place in a sparse index
			// while it holds both, and a shard alone is a half-written key.
			out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true),
				Key: map[string]types.AttributeValue{dynamo.KeyAttribute: &types.AttributeValueMemberS{Value: waba}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, attr := range []string{dynamo.RetryShardAttr, dynamo.NextRetryAttr, "restricted_until", "reconnect", "lock_owner"} {
				if v, ok := out.Item[attr]; ok {
					t.Errorf("the disconnected item keeps %s (%v)", attr, v)
				}
			}
		})
	}
}

// TestHealthChangeStampsTheRecord: a health change stamps updated_at with
// its time, as well as health_updated_at: the stream publisher keys and
// dates a health_changed event by updated_at, and a consumer deduping on
// the key would drop a second change left with the first one's stamp. A
// change for a number of a WABA we have no record of makes none.
func TestHealthChangeStampsTheRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storeWithOnboarded(t, "15")
	for i, h := range []onboarding.Health{{QualityEvent: "FLAGGED"}, {MessagingLimit: "TIER_1K"}} {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		h.UpdatedAt = at
		if ok, err := s.SetHealth(ctx, "15", "15550100", h, time.Time{}); !ok || err != nil {
			t.Fatalf("health %+v: changed %t, err %v", h, ok, err)
		}
		rec, err := s.Get(ctx, "15")
		if err != nil {
			t.Fatal(err)
		}
		if !rec.UpdatedAt.Equal(at) || !rec.Health.UpdatedAt.Equal(at) {
			t.Errorf("health change at %v: record updated at %v, health at %v; want both then", at, rec.UpdatedAt, rec.Health.UpdatedAt)
		}
	}
	if ok, err := s.SetHealth(ctx, "16", "15550100", onboarding.Health{QualityEvent: "FLAGGED", UpdatedAt: t0}, time.Time{}); ok || err != nil {
		t.Errorf("health of a number of an unknown WABA: changed %t, err %v; want no change", ok, err)
	}
	if rec, err := s.Get(ctx, "16"); !errors.Is(err, onboarding.ErrNotFound) {
		t.Errorf("health of a number of an unknown WABA left a record %+v, %v", rec, err)
	}
}
