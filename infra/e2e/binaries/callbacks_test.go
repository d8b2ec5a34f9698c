package binaries

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Dedupe keys of the callback events in events/ (callback-*.json). They are
// signed with PlivoAuthToken for the template's default CallbackPublicUrl,
// which is what the function runs with here; the seeded onboarded record
// owns +1 555-010-0002.
const (
	deliveredKey = "callback#0936ec98-7c4c-11f0-b2b4-0242ac110002#delivered"
	readKey      = "callback#0936ec98-7c4c-11f0-b2b4-0242ac110002#read"
	sentKey      = "callback#1b7e6f10-7c4d-11f0-b2b4-0242ac110002#sent"
	getReadKey   = "callback#3d9a1e40-7c4d-11f0-b2b4-0242ac110002#read"
	inboundKey   = "callback#wamid.HBgLMTQxNTU1NTAxMjMVAgASGBQzQUI5RDM3MkI2QzFFMjdGNUUwOAA=#received"
	unknownKey   = "callback#wamid.HBgLMTQxNTU1NTAxMjMVAgASGBQ3RkQ4QTk5MjE0QkMzRTg1NkYyMQA=#received"
	tamperedID   = "2c8f7a20-7c4d-11f0-b2b4-0242ac110002"
)

func init() {
	// A routed callback is published without a dedupe write (the
	// function's default): one event per delivery, no ledger entry.
	publishedN := func(key, detailType string, n int) func(*testing.T) {
		return func(t *testing.T) {
			busEvents(t, key, detailType, n)
			dedupState(t, key, "")
		}
	}
	published := func(key, detailType string) func(*testing.T) { return publishedN(key, detailType, 1) }
	// A refused callback leaves nothing: no entry under either status, no
	// event.
	refused := func(t *testing.T) {
		for _, status := range []string{"delivered", "failed"} {
			dedupState(t, "callback#"+tamperedID+"#"+status, "")
			busEvents(t, "callback#"+tamperedID+"#"+status, "", 0)
		}
	}
	answer := func(status string) map[string]any { return map[string]any{"status": status} }
	denied := map[string]any{"error.code": "signature_invalid"}
	for name, e := range map[string]expectation{
		"callback-status-delivered.json": {status: 200, contentType: jsonType, fields: answer("published"),
			after: published(deliveredKey, "whatsapp.message.status")},
		// Plivo's retry of the same callback (the events run in name
		// order, after the first delivery): published again under the same
		// dedupe_key, which consumers dedupe on.
		"callback-status-redelivered.json": {status: 200, contentType: jsonType, fields: answer("published"),
			after: publishedN(deliveredKey, "whatsapp.message.status", 2)},
		// V2 signs no body: refused by default (CALLBACK_SIGNATURE_V2).
		"callback-status-read-v2.json": {status: 403, contentType: jsonType, fields: denied,
			after: func(t *testing.T) { dedupState(t, readKey, ""); busEvents(t, readKey, "", 0) }},
		"callback-status-plain-body.json": {status: 200, contentType: jsonType, fields: answer("published"),
			after: published(sentKey, "whatsapp.message.status")},
		// Plivo's GET callback: the fields in the query.
		"callback-status-get.json": {status: 200, contentType: jsonType, fields: answer("published"),
			after: published(getReadKey, "whatsapp.message.status")},
		"callback-inbound.json": {status: 200, contentType: jsonType, fields: answer("published"),
			after: published(inboundKey, "whatsapp.message.received")},
		"callback-tampered.json": {status: 403, contentType: jsonType, fields: denied, after: refused},
		"callback-unsigned.json": {status: 403, contentType: jsonType, fields: denied},
		"callback-unknown-number.json": {status: 200, contentType: jsonType, fields: answer("unrouted"),
			after: func(t *testing.T) {
				busEvents(t, unknownKey, "", 0)
				dedupState(t, unknownKey, "unrouted")
			}},
	} {
		expectations[name] = e
	}
}

// busEvents checks that the bus got n events for key, each of detailType
// and for the seeded onboarded customer.
func busEvents(t *testing.T, key, detailType string, n int) {
	t.Helper()
	got := 0
	for _, ev := range stack.Events.Events() {
		var d struct {
			DedupeKey string `json:"dedupe_key"`
			ClientRef string `json:"client_ref"`
			WABAID    string `json:"waba_id"`
		}
		if err := json.Unmarshal(ev.Detail, &d); err != nil || d.DedupeKey != key {
			continue
		}
		got++
		if ev.DetailType != detailType || d.ClientRef != OnboardedClientRef || d.WABAID != OnboardedWABA {
			t.Errorf("event %s %s: client_ref %q waba %q, want %s %s %s", ev.DetailType, key, d.ClientRef, d.WABAID, detailType, OnboardedClientRef, OnboardedWABA)
		}
	}
	if got != n {
		t.Errorf("%d events on the bus for %s, want %d", got, key, n)
	}
}

// dedupState checks the dedup table's entry for key: its state, or that
// there is none when state is "".
func dedupState(t *testing.T, key, state string) {
	t.Helper()
	out, err := stack.Dynamo.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(stack.Tables["DedupTable"]),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	if s, ok := out.Item["state"].(*types.AttributeValueMemberS); ok {
		got = s.Value
	}
	if got != state {
		t.Errorf("dedup entry %s is %q, want %q", key, got, state)
	}
}
