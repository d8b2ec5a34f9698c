package binaries

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestDirectInvokesTakeAnyPayload: the functions an operator or a schedule
// invokes read nothing from their input, so no input may stop them: not
// the empty payload the runtime emulator passes through (Lambda itself
// sends {}), nor a schedule whose input is a string or an array, nor the
// scheduled event in the shapes AWS documents: an EventBridge rule's
// (detail {}, a resource ARN naming another rule) and one with fields
// added and an empty detail-type.
func TestDirectInvokesTakeAnyPayload(t *testing.T) {
	// The resume runs change the seeded records the events in events/
	// are checked against.
	freshStack(t)
	ctx := context.Background()
	for _, tc := range []struct {
		function, field string
	}{
		{"DoctorFunction", "checks"},
		{"ResumeFunction", "due"},
	} {
		f, err := stack.StartFunction(ctx, tc.function)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Stop)
		for _, payload := range []string{"", `"tick"`, `[]`, `{"time":"yesterday"}`, scheduledEvent,
			`{"version":"0","id":"x","detail-type":"","source":"aws.scheduler","time":null,"resources":null,"detail":"not an object","extra":[1]}`} {
			ictx, cancel := context.WithTimeout(ctx, time.Minute)
			out, err := f.Invoke(ictx, []byte(payload))
			cancel()
			var report map[string]any
			if err != nil || json.Unmarshal(out, &report) != nil || report[tc.field] == nil {
				t.Errorf("%s with payload %q: %s, %v; want its report", tc.function, payload, out, err)
			}
		}
	}
}

// scheduledEvent is an EventBridge scheduled rule's event as AWS's
// "Scheduled Event" example gives it, from a rule of another name.
const scheduledEvent = `{"version":"0","id":"89d1a02d-5ec7-412e-82f5-13505f849b41","detail-type":"Scheduled Event",` +
	`"source":"aws.events","account":"123456789012","time":"2026-12-08T10:00:00Z","region":"us-east-1",` +
	`"resources":["arn:aws:events:us-east-1:123456789012:rule/SomeOtherRule"],"detail":{}}`
