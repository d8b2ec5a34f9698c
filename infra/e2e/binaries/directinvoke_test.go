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
// sends {}), nor a schedule whose input is a string or an array.
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
		for _, payload := range []string{"", `"tick"`, `[]`, `{"time":"yesterday"}`} {
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
