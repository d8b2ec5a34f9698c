package binaries

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// TestRerunSubscribesAgainThroughBinaries: a WABA onboarded yesterday, and
// since removed by Meta in a removal we never received, is shared again by
// its customer running Embedded Signup again. The built signup function
// spends the new code and subscribes our app to the WABA again (a second
// POST /<WABA_ID>/subscribed_apps reaches Meta's simulator), stamps the
// record, and answers 200 from the record without calling Plivo. The page
// posting that run's code twice gets the same answer and subscribes
// nothing more. The share Meta sent for that run, delivered before the
// run's post, is deferred; delivered again after it, it does not page the
// operator (WebhookSubscribeFailed): our app was subscribed after it.
func TestRerunSubscribesAgainThroughBinaries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := privateStack(ctx, t)
	signup, hooks, ev, waba := signupAndHooks(ctx, t, s, 8300)
	subscriptions := func() int {
		n := 0
		for _, r := range s.Meta.Requests() {
			if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/"+waba+"/subscribed_apps") && r.Status == http.StatusOK {
				n++
			}
		}
		return n
	}
	post := func(payload []byte) (int, string) {
		t.Helper()
		out, err := signup.Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			StatusCode int
			Body       string
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("answer %s: %v", out, err)
		}
		return resp.StatusCode, resp.Body
	}
	prepared := func() []byte {
		t.Helper()
		payload, err := s.PrepareEvent(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		return payload
	}

	if st, b := post(prepared()); st != http.StatusOK {
		t.Fatalf("first signup answered %d %s; log %s", st, b, signup.LogPath)
	}
	if got := subscriptions(); got != 1 {
		t.Fatalf("the first signup subscribed our app %d times, want 1", got)
	}
	// The onboarding stands for one a day old: a share now comes well
	// after it.
	yesterday := time.Now().Add(-24 * time.Hour).UTC()
	if _, err := s.Dynamo.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       map[string]types.AttributeValue{dynamo.KeyAttribute: &types.AttributeValueMemberS{Value: waba}},
		UpdateExpression:          aws.String("SET onboarded_at = :at"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": &types.AttributeValueMemberS{Value: yesterday.Format(time.RFC3339Nano)}},
	}); err != nil {
		t.Fatal(err)
	}
	plivoCalls := s.Plivo.SignupCalls()

	// Meta stamps the share of the run as the customer finishes it, before
	// the page posts its code, and may deliver it before the post: it is
	// deferred (503) until the run has had time to subscribe our app.
	sharedAt := time.Now().Truncate(time.Second)
	share := s.Meta.AccountUpdate(waba, "PARTNER_APP_INSTALLED", nil, sharedAt)
	if st := invokeStatus(ctx, t, hooks, webhookEvent(t, share, "rerun-share-1")); st != http.StatusServiceUnavailable {
		t.Fatalf("the share delivered before the run's signup answered %d, want 503 for Meta to deliver it again; log %s", st, hooks.LogPath)
	}
	rerun := prepared()
	st, b := post(rerun)
	if st != http.StatusOK || !strings.Contains(b, `"replayed":true`) {
		t.Fatalf("the re-run answered %d %s, want 200 replayed; log %s", st, b, signup.LogPath)
	}
	if got := subscriptions(); got != 2 {
		t.Fatalf("Meta's simulator saw %d subscribed_apps POSTs for %s, want 2: the re-run did not subscribe our app again; log %s", got, waba, signup.LogPath)
	}
	item := rawItem(ctx, t, s, waba)
	stamp, _ := item["subscribed_at"].(*types.AttributeValueMemberS)
	if stamp == nil {
		t.Fatalf("no subscribed_at on the record after the re-run: %v", item)
	}
	if at, err := time.Parse(time.RFC3339Nano, stamp.Value); err != nil || at.Before(sharedAt) {
		t.Errorf("subscribed_at %q (%v), want after %v", stamp.Value, err, sharedAt)
	}
	if state, _ := item["state"].(*types.AttributeValueMemberS); state == nil || state.Value != string(onboarding.StateOnboarded) {
		t.Errorf("record state %v after the re-run, want onboarded", item["state"])
	}

	// The page posts the same code again (its answer was lost).
	if st, b := post(rerun); st != http.StatusOK || !strings.Contains(b, `"replayed":true`) {
		t.Errorf("the double POST answered %d %s, want 200 replayed", st, b)
	}
	if got := subscriptions(); got != 2 {
		t.Errorf("the double POST subscribed our app again (%d POSTs)", got)
	}
	if got := s.Plivo.SignupCalls(); got != plivoCalls {
		t.Errorf("the re-run called Plivo %d times, want 0", got-plivoCalls)
	}

	// Meta delivers the share again, after the run.
	if st := invokeStatus(ctx, t, hooks, webhookEvent(t, share, "rerun-share-2")); st != http.StatusOK {
		t.Fatalf("share webhook answered %d; log %s", st, hooks.LogPath)
	}
	log, err := os.ReadFile(hooks.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), onboarding.MetricWebhookSubscribeFailed) || strings.Contains(string(log), "Meta shared it again after its onboarding") {
		t.Errorf("the re-run's own share paged the operator; log %s", hooks.LogPath)
	}
}

// rawItem reads waba's item from DynamoDB Local as stored.
func rawItem(ctx context.Context, t *testing.T, s *Stack, waba string) map[string]types.AttributeValue {
	t.Helper()
	out, err := s.Dynamo.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            map[string]types.AttributeValue{dynamo.KeyAttribute: &types.AttributeValueMemberS{Value: waba}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil || len(out.Item) == 0 {
		t.Fatalf("no record for %s: %v", waba, err)
	}
	return out.Item
}
