package callbacks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/logging"
	emf "github.com/techprovider/wa-onboarding/shared/metrics"
)

// An end user's data, recognisable wherever it lands: the number in both
// of Plivo's spellings, a run of its middle digits (a masked form keeps
// the last four at most), the WhatsApp profile name, the text and a media
// URL.
const (
	canaryPhone    = "+447700900461"
	canaryDigits   = "447700900461"
	canaryMiddle   = "7700900"
	canaryName     = "Zephyrine Canaryfield"
	canaryText     = "canary-words-q7 where is my order"
	canaryMediaURL = "https://media.plivo.example/canary-q7.jpg"
)

var canaries = []string{canaryDigits, canaryMiddle, canaryName, "Zephyrine", canaryText, "canary-words-q7", "canary-q7.jpg"}

// canaryInbound is an inbound message from the end user to to, with media.
func canaryInbound(uuid, to string) url.Values {
	return url.Values{"MessageUUID": {uuid}, "From": {canaryPhone}, "To": {to}, "Type": {"whatsapp"},
		"ContentType": {"image"}, "Body": {canaryText}, "ProfileName": {canaryName}, "Media0": {canaryMediaURL},
		"MediaContentType0": {"image/jpeg"}}
}

// canaryStatus is a status of a message the business sent the end user.
func canaryStatus(uuid, st, from string) url.Values {
	return url.Values{"MessageUUID": {uuid}, "Status": {st}, "From": {from}, "To": {canaryDigits}, "Type": {"whatsapp"},
		"ErrorCode": {""}, "Sequence": {"2"}}
}

// leaks lists the canaries found in s.
func leaks(s string) []string {
	var found []string
	for _, c := range canaries {
		if strings.Contains(s, c) {
			found = append(found, c)
		}
	}
	return found
}

// TestEndUsersStayOutOfLogsAndMetrics feeds callbacks carrying an end
// user's number, name, words and media through the receiver, down every
// path (published, duplicate, unrouted, refused, failed), and looks for
// them wherever the product writes. The event on the Tech Provider's bus
// carries them: delivering the message is the product's job. An unrouted
// callback keeps them in the dedup table for an operator to redrive, for
// at most DefaultUnroutedTTL. Logs, metrics, answers and every other
// dedup entry keep none.
func TestEndUsersStayOutOfLogsAndMetrics(t *testing.T) {
	t.Parallel()
	business := "+15550100001" // onboardedRec's number
	tests := []struct {
		name      string
		fields    url.Values
		get       bool
		token     string // signs with it; "t1" is the right one
		dedupe    bool
		twice     bool
		pubFail   int
		dirErr    error
		markErr   error
		code      int
		published bool // the event must carry the end user's data
		unrouted  bool // the dedup table may keep it, until the TTL
	}{
		{name: "inbound, published", fields: canaryInbound("w-1", business), token: "t1", code: 200, published: true},
		{name: "inbound, published with the dedupe write, then redelivered", fields: canaryInbound("w-2", business), token: "t1",
			dedupe: true, twice: true, code: 200, published: true},
		{name: "inbound by GET", fields: canaryInbound("w-3", business), get: true, token: "t1", code: 200, published: true},
		{name: "status of a message to the end user", fields: canaryStatus("m-1", "read", business), token: "t1", dedupe: true,
			code: 200, published: true},
		{name: "failed status", fields: func() url.Values {
			v := canaryStatus("m-2", "failed", business)
			v.Set("ErrorCode", "1000")
			return v
		}(), token: "t1", code: 200, published: true},
		{name: "inbound to a number nobody onboarded", fields: canaryInbound("w-4", "+15550109999"), token: "t1", twice: true,
			code: 200, unrouted: true},
		{name: "status to a number nobody onboarded", fields: canaryStatus("m-3", "sent", "+15550109999"), token: "t1", code: 200, unrouted: true},
		{name: "inbound without a MessageUUID", fields: func() url.Values {
			v := canaryInbound("", business)
			v.Del("MessageUUID")
			return v
		}(), token: "t1", code: 200, unrouted: true},
		{name: "bad signature", fields: canaryInbound("w-5", business), token: "wrong", code: 403},
		{name: "bad signature by GET", fields: canaryInbound("w-6", business), get: true, token: "wrong", code: 403},
		{name: "bus fails", fields: canaryInbound("w-7", business), token: "t1", dedupe: true, pubFail: 1, code: 503},
		{name: "bus fails, no dedupe write", fields: canaryStatus("m-4", "delivered", business), token: "t1", pubFail: 1, code: 503},
		{name: "table fails", fields: canaryInbound("w-8", business), token: "t1", dirErr: errors.New("dynamodb: throttled"), code: 503},
		{name: "published, not marked", fields: canaryInbound("w-9", business), token: "t1", dedupe: true,
			markErr: errors.New("dynamodb: throttled"), code: 200, published: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs, lines bytes.Buffer
			f := newFixture(onboardedRec)
			f.dir.err = tt.dirErr
			f.pub.fail = tt.pubFail
			if tt.markErr != nil {
				f.led.FailNextMark(tt.markErr)
			}
			log := logging.New(&logs, "DEBUG")
			met := &emf.EMF{W: &lines, Namespace: "test", Function: "callbacks"}
			f.svc.Logger, f.svc.Metrics, f.svc.NoDedupeWrite = log, met, !tt.dedupe
			r := &apigw.PlivoCallbacks{Service: f.svc, URL: publicURL, Token: (&tokens{cached: "t1", fresh: "t1"}).get,
				Logger: log, Metrics: met, Nonces: &nonces{used: map[string]string{}}}
			req := signedEvent(tt.token, publicURL, tt.fields.Encode(), "", false)
			if tt.get {
				req = signedGet(tt.token, publicURL, tt.fields.Encode())
			}
			var answers []string
			for range map[bool]int{false: 1, true: 2}[tt.twice] {
				resp, err := r.Handle(context.Background(), req)
				if err != nil || resp.StatusCode != tt.code {
					t.Fatalf("Handle = %d %s, %v; want %d", resp.StatusCode, resp.Body, err, tt.code)
				}
				answers = append(answers, resp.Body)
			}

			if found := leaks(logs.String()); len(found) > 0 {
				t.Errorf("the logs hold the end user's %q:\n%s", found, logs.String())
			}
			if found := leaks(lines.String()); len(found) > 0 {
				t.Errorf("the metrics hold the end user's %q:\n%s", found, lines.String())
			}
			if found := leaks(strings.Join(answers, "\n")); len(found) > 0 {
				t.Errorf("the answers to Plivo hold the end user's %q: %v", found, answers)
			}
			for _, e := range f.led.Entries() {
				found := leaks(fmt.Sprintf("%+v", e))
				switch {
				case len(found) == 0:
				case tt.unrouted && e.State == callbacks.EntryUnrouted:
					if ttl := e.ExpiresAt.Sub(e.CreatedAt); ttl <= 0 || ttl > callbacks.DefaultUnroutedTTL {
						t.Errorf("an unrouted callback is kept %v, want at most %v", ttl, callbacks.DefaultUnroutedTTL)
					}
				default:
					t.Errorf("the dedup entry %s (%s) holds the end user's %q", e.Key, e.State, found)
				}
			}
			if tt.unrouted && f.led.Len() != 1 {
				t.Errorf("%d dedup entries, want the unrouted callback kept once for an operator", f.led.Len())
			}
			events := f.pub.published()
			if tt.published {
				if len(events) == 0 {
					t.Fatal("nothing published")
				}
				var d callbacks.Detail
				if err := json.Unmarshal(events[0].Detail, &d); err != nil {
					t.Fatal(err)
				}
				for k, want := range tt.fields {
					if got := fmt.Sprint(d.Callback[k]); got != want[0] {
						t.Errorf("the event's callback.%s = %q, want %q: the Tech Provider needs it", k, got, want[0])
					}
				}
			}
		})
	}
}

// TestUnroutedTTLIsDocumented ties the retention the personal data section
// of docs/callbacks.md states to the code's.
func TestUnroutedTTLIsDocumented(t *testing.T) {
	t.Parallel()
	if callbacks.DefaultUnroutedTTL != 30*24*time.Hour || callbacks.DefaultTTL != 7*24*time.Hour {
		t.Errorf("TTLs %v and %v: update docs/callbacks.md's Personal data section", callbacks.DefaultUnroutedTTL, callbacks.DefaultTTL)
	}
}
