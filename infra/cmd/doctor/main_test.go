package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/shared/doctor"
)

// TestMakeDoctor is `make doctor` end to end: against a running local stack
// (through its console) every check passes; against a stack broken on
// purpose each broken item fails by name. One test, in sequence: a local
// stack sets the process environment, so two cannot run at once.
func TestMakeDoctor(t *testing.T) {
	// Each phase starts a whole stack (DynamoDB Local's JVM among it), so
	// each has its own bound: on a loaded machine the first start must not
	// eat the second's time.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	st, err := stack.Start(ctx, stack.Options{ResumeEvery: -1, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code, err := run(ctx, []string{"-url", st.URL, "-json"}, &out, &errOut)
	_ = st.Close()
	if err != nil || code != 0 {
		t.Fatalf("doctor against the running stack: exit %d, %v\n%s%s", code, err, out.String(), errOut.String())
	}
	var rep doctor.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("-json output: %v\n%s", err, out.String())
	}
	if !rep.OK || rep.Passed != 13 || !strings.Contains(rep.Target, st.URL) || strings.Contains(errOut.String(), "starting one") {
		t.Fatalf("report of the running stack: %s", out.String())
	}

	out.Reset()
	errOut.Reset()
	brokenCtx, cancelBroken := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancelBroken()
	code, err = run(brokenCtx, []string{"-broken"}, &out, &errOut)
	if err != nil || code != 1 {
		t.Fatalf("doctor -broken: exit %d, %v\n%s%s", code, err, out.String(), errOut.String())
	}
	text := out.String()
	var failed []string
	for _, line := range strings.Split(text, "\n") {
		if title, ok := strings.CutPrefix(line, "  FAIL  "); ok {
			failed = append(failed, strings.TrimSpace(title[:strings.Index(title, "  ")]))
		}
	}
	want := []string{"Plivo credentials", "Meta app credentials", "App ID and Config ID", "Graph API version",
		"Embedded Signup version", "Plivo solution ID",
		"Point-in-time recovery", "Resume schedule", "Page origin", "Allowed origins"}
	if !slices.Equal(failed, want) {
		t.Fatalf("failed checks %q, want %q\n%s", failed, want, text)
	}
	for _, s := range []string{"Plivo answered 401", "code 190", "v19.0 reached its end of life", "is DISABLED", `"*" lets any site`,
		"Embedded Signup v2 was retired by Meta on 2026-10-15", "PLIVO_SOLUTION_ID is required",
		"FAILED: 10 of 13 checks failed"} {
		if !strings.Contains(text, s) {
			t.Errorf("report does not say %q:\n%s", s, text)
		}
	}
}
